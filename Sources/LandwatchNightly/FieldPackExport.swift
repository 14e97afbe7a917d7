import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRegistry
import LandwatchProducts
import LandwatchOutputs
import LandwatchSensors

/// `landwatch violations fieldpack`: the field package (``FieldPack``) of the registry's violations — those still
/// open, say, in one zone — for the team that drives out tomorrow. Each violation's attributes come from the scene
/// list that last detected it (kept in the registry); its plan coordinates, GCJ-02 point and chips from that list
/// when its folder is still where the registry saw it.
public enum FieldPackExport {
    static let severityOrder = ["high": 0, "medium": 1, "low": 2]

    /// The sites of `records`, gravest first, and the overview image of the list most of them come from.
    public static func sites(_ records: [ViolationRecord]) -> (sites: [FieldPack.Site], overview: (path: String, transform: [Double]?, crs: String?)?) {
        var lists: [String: ViolationList] = [:]
        func list(for chip: String?) -> (folder: URL, list: ViolationList)? {
            guard let chip else { return nil }
            let folder = URL(fileURLWithPath: chip).deletingLastPathComponent().deletingLastPathComponent()
            if let cached = lists[folder.path] { return (folder, cached) }
            guard let read = try? ViolationList.read(folder.appendingPathComponent(ViolationList.fileName)) else { return nil }
            lists[folder.path] = read
            return (folder, read)
        }
        let ordered = records.sorted { a, b in
            let sa = severityOrder[a.planAttributes?.severity ?? ""] ?? 3, sb = severityOrder[b.planAttributes?.severity ?? ""] ?? 3
            return (sa, -(a.score ?? 0), -a.area_m2, a.id) < (sb, -(b.score ?? 0), -b.area_m2, b.id)
        }
        var folders: [String: Int] = [:]
        var sites: [FieldPack.Site] = []
        for (index, record) in ordered.enumerated() {
            let attributes = record.planAttributes
            let outline = try? Geometry(wkt: record.geometry_wkt)
            let inside = outline?.pointOnSurface()
            let lat = attributes?.lat ?? inside?.y ?? (record.min_lat + record.max_lat) / 2
            let lon = attributes?.lon ?? inside?.x ?? (record.min_lon + record.max_lon) / 2
            let source = list(for: attributes?.chip_after)
            let entry = source?.list.violations.first { $0.id == record.id }
            if let source { folders[source.folder.path, default: 0] += 1 }
            let gcj = Navigation.gcj02(longitude: lon, latitude: lat)
            func existing(_ path: String?) -> String? { path.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil } }
            var site = FieldPack.Site(
                rank: index + 1, id: record.id, status: record.status.rawValue, severity: attributes?.severity ?? "unknown",
                rules: record.rules, ruleNamesZH: attributes?.rule_names_zh, score: record.score, areaM2: record.area_m2,
                zoneCode: attributes?.zone_code, zoneName: attributes?.zone_name, planFeatures: attributes?.plan_features ?? [:],
                beforeDate: attributes?.before_date, afterDate: attributes?.after_date ?? record.last_seen,
                beforeClass: attributes?.before_class, afterClass: attributes?.after_class, lat: lat, lon: lon,
                gcjLat: entry?.gcj02_lat ?? gcj.latitude, gcjLon: entry?.gcj02_lon ?? gcj.longitude,
                planX: entry?.plan_x, planY: entry?.plan_y, planCRS: entry?.plan_crs, outlineWKT: record.geometry_wkt,
                chipBefore: existing(attributes?.chip_before), chipAfter: existing(attributes?.chip_after))
            site.chipTransform = entry?.chip_transform
            site.chipCRS = source?.list.crs_wkt
            sites.append(site)
        }
        let overview = folders.max { $0.value < $1.value }.flatMap { folder, _ -> (path: String, transform: [Double]?, crs: String?)? in
            guard let list = lists[folder], let name = list.overview else { return nil }
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            return FileManager.default.fileExists(atPath: path) ? (path, list.overview_transform, list.crs_wkt) : nil
        }
        return (sites, overview)
    }

    /// Whether a violation lies in `zone` (its code or its name, as the list recorded the zone holding most of it).
    public static func isIn(zone: String, _ record: ViolationRecord) -> Bool {
        guard let attributes = record.planAttributes else { return false }
        return attributes.zone_code == zone || attributes.zone_name == zone
    }

    /// Writes the field package of `records` into the folder `output` (built beside it, moved in when complete).
    public static func write(_ records: [ViolationRecord], title: String, notes: [String] = [], to output: String) throws(RunError) {
        let (sites, overview) = sites(records)
        let pack = FieldPack(title: title, notes: notes, overview: overview?.path, overviewTransform: overview?.transform,
                             overviewCRS: overview?.crs, sites: sites)
        let folder = try AtomicDirectory(target: URL(fileURLWithPath: output))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("landwatch-fieldpack-\(UUID().uuidString.prefix(8))")
        do {
            _ = try pack.write(into: folder, scratch: scratch)
            try folder.commit()
        } catch let error as RunError {
            folder.abort()
            throw error
        } catch {
            folder.abort()
            throw RunError(.io, "cannot write the field package \(output): \(error)")
        }
    }
}
