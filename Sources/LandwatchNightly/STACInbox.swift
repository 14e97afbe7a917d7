import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSTAC

/// Deliveries from STAC (`nightly --stac`): each Item of an ItemCollection or of a STAC API search is one delivery.
/// Its id and date are the Item's, its footprint the Item's geometry, its content identity the asset hrefs with the
/// ETag (else Last-Modified and size) each answers a HEAD with; the pipeline gets the Item, written with absolute
/// hrefs under `out/stac-items/`.
public enum STACInbox {
    /// The feed's Items as deliveries, and lines about what was left out (Items listed twice, pages not read).
    /// An Item whose asset cannot be reached, or whose href lies outside `readRoots`, is a delivery with its problem
    /// (recorded failed, retried on a later night).
    public static func scan(_ feed: STACFeed, out: String, readRoots: ReadRoots?) throws(RunError) -> (deliveries: [Delivery], skipped: [String]) {
        let read: STACFeed.Result
        do { read = try feed.read() } catch { throw RunError(.input, error.description) }
        var skipped = read.warnings
        var deliveries: [Delivery] = []
        var seen: [String: String] = [:]
        for (id, problem) in read.broken {
            guard let id else {
                skipped.append(problem)
                continue
            }
            var delivery = Delivery(id: sceneID(id), path: feed.location, sensor: "stac", date: "unknown",
                                    contentHash: "stac-broken-\(digest(id + problem))", problem: problem)
            delivery.stacItem = id
            deliveries.append(delivery)
        }
        let folder = URL(fileURLWithPath: out).appendingPathComponent("stac-items")
        for item in read.items {
            if let earlier = seen[item.id] {
                skipped.append("\(item.source): Item \(item.id) is listed twice (first in \(earlier)); it is one scene")
                continue
            }
            seen[item.id] = item.source
            deliveries.append(delivery(item, folder: folder, readRoots: readRoots))
        }
        return (deliveries, skipped)
    }

    /// A scene id from an Item id (a folder name under `out/scenes/`).
    static func sceneID(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }

    static func digest(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func delivery(_ item: STACInputItem, folder: URL, readRoots: ReadRoots?) -> Delivery {
        let sensor = item.collection ?? "stac"
        var delivery = Delivery(id: sceneID(item.id), path: item.source, sensor: sensor, date: item.date, contentHash: "")
        delivery.stacItem = item.id
        if let geometry = item.geometry {
            do {
                delivery.footprintWKT = try Geometry(geoJSON: geometry).wkt
                delivery.place = delivery.footprintWKT.flatMap(Inbox.cell(ofFootprint:))
            } catch {
                delivery.problem = "\(item.source): Item \(item.id): its geometry cannot be read: \(error)"
            }
        }
        // Identity: each content asset's href with what the server says of its version.
        var identity = "stac-item \(item.id)\n"
        for asset in item.contentAssets {
            if delivery.problem == nil, let readRoots, !readRoots.allows(asset.href) {
                delivery.problem = "\(item.source): Item \(item.id): asset '\(asset.key)' href \(asset.written) is outside the folders and prefixes this run may read (allowed: \(readRoots.list)); allow it with --allow-read PREFIX"
            }
            guard delivery.problem == nil else { continue }
            switch VirtualFiles.statusOrReason(asset.href) {
            case .success(let status):
                let etag = VirtualFiles.headers(asset.href).first { $0.key.lowercased() == "etag" }?.value
                identity += "\(asset.key) \(asset.href) " + (etag.map { "etag \($0)" } ?? "size \(status.size) modified \(status.modified)") + "\n"
            case .failure(let error):
                delivery.problem = "\(item.source): Item \(item.id): asset '\(asset.key)' (\(asset.href)) cannot be read: \(error.gdalMessage ?? error.description); tried again on a later night"
            }
        }
        let hash = digest(identity)
        delivery.contentHash = delivery.problem == nil ? "stac-" + hash : "stac-unavailable-" + digest(identity + (delivery.problem ?? ""))
        guard delivery.problem == nil else { return delivery }
        // The Item on its own, hrefs absolute: what the pipeline's read.stac reads, tonight and as a later baseline.
        let file = folder.appendingPathComponent("\(delivery.id)-\(hash.prefix(8)).json")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try item.resolvedJSON.write(to: file, options: .atomic)
            delivery.path = file.path
        } catch {
            delivery.problem = "cannot write \(file.path): \(error.localizedDescription)"
        }
        return delivery
    }
}
