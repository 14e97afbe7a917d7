import Foundation
import LandwatchPipeline

/// The STAC Collection of a nightly output folder: `stac/collection.json`, linking the Item of every scene run under
/// `scenes/` (`scenes/ID/stac/item.json`), with the union of their footprints and the span of their dates as its
/// extent. Rewritten (atomically) after each night.
public enum STACCollectionWriter {
    public static let path = "stac/collection.json"

    /// Writes `folder/stac/collection.json`; returns how many Items it links (none: no file is written).
    @discardableResult
    public static func write(folder: String, id: String, description: String) throws -> Int {
        let root = URL(fileURLWithPath: folder)
        let scenes = root.appendingPathComponent("scenes")
        var links: [[String: Any]] = []
        var west = Double.infinity, south = Double.infinity, east = -Double.infinity, north = -Double.infinity
        var times: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: scenes.path)) ?? []).filter { !$0.hasSuffix(".partial") }.sorted()
        for name in names {
            let itemURL = scenes.appendingPathComponent(name).appendingPathComponent(STACItemWriter.path)
            guard let data = FileManager.default.contents(atPath: itemURL.path),
                  let item = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            if let bbox = item["bbox"] as? [Double], bbox.count == 4 {
                west = min(west, bbox[0]); south = min(south, bbox[1]); east = max(east, bbox[2]); north = max(north, bbox[3])
            }
            let properties = item["properties"] as? [String: Any] ?? [:]
            for key in ["datetime", "start_datetime", "end_datetime"] { if let time = properties[key] as? String { times.append(time) } }
            links.append(["rel": "item", "href": "../scenes/\(name)/\(STACItemWriter.path)", "type": "application/geo+json",
                          "title": (item["id"] as? String) ?? name])
        }
        guard !links.isEmpty else { return 0 }
        times.sort()
        let collection: [String: Any] = [
            "type": "Collection",
            "stac_version": STAC.version,
            "stac_extensions": [String](),
            "id": id,
            "description": description,
            "license": "proprietary",
            "extent": [
                "spatial": ["bbox": [[west, south, east, north]]],
                "temporal": ["interval": [[times.first!, times.last!]]],
            ],
            "links": links,
        ]
        let data = try STAC.encode(collection)
        try AtomicOutput(target: root.appendingPathComponent(path)).write { temporary in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("stac"), withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: temporary))
        }
        return links.count
    }
}
