import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRegistry
import LandwatchProducts
import LandwatchSensors

/// The registry's violations in the formats an enforcement team opens: CSV for Excel (UTF-8 with BOM, CRLF),
/// GeoJSON, GeoPackage for QGIS and KML for Google Earth or a phone; every geometry in WGS84.
public enum ViolationExport {
    public enum Format: String, CaseIterable, Sendable {
        case csv, geojson, gpkg, kml, shp

        /// GeoPackage, KML and Shapefile are files GDAL writes; they cannot go to standard output.
        public var needsFile: Bool { self == .gpkg || self == .kml || self == .shp }
    }

    /// The attribute sets an export writes.
    public enum Profile: String, CaseIterable, Sendable {
        /// The registry's own fields, in English.
        case landwatch
        /// The fields of a 卫片执法 monitoring patch, in Chinese (docs/wpzf-export.md).
        case wpzf
    }

    /// What the registry keeps of a list entry's place in the plan; `folder` is where the list lies (for the chips).
    public static func attributes(of entry: ViolationList.Entry, list: ViolationList, folder: URL? = nil) -> ViolationAttributes {
        ViolationAttributes(before_date: list.before_date, after_date: list.after_date, before_class: entry.before_class_name,
                            after_class: entry.after_class_name, before_class_zh: entry.before_class_zh, after_class_zh: entry.after_class_zh,
                            rule_names_zh: entry.rule_names_zh, zone_code: entry.zone_code, zone_name: entry.zone_name,
                            plan_area_m2: entry.plan_area_m2 ?? [:], outside_urban_boundary_m2: entry.outside_urban_boundary_m2,
                            cropland_m2: entry.cropland_m2, approvals: entry.approvals ?? [], severity: entry.severity,
                            lon: entry.lon, lat: entry.lat, plan_features: entry.plan_features,
                            chip_before: entry.chip_before.flatMap { chip in folder.map { $0.appendingPathComponent(chip).path } },
                            chip_after: entry.chip_after.flatMap { chip in folder.map { $0.appendingPathComponent(chip).path } })
    }

    static let header = ["id", "status", "rules", "area_m2", "score", "first_seen", "last_seen", "first_scene", "last_scene",
                         "resolved_date", "resolved_scene", "west", "south", "east", "north", "dismissed_by", "dismissed_reason"]

    static func values(_ v: ViolationRecord) -> [String: VectorWriter.Value] {
        func text(_ s: String?) -> VectorWriter.Value { s.map { .string($0) } ?? .null }
        return ["id": .string(v.id), "status": .string(v.status.rawValue),
                "score": v.score.map { .integer($0) } ?? .null, "resolved_date": text(v.resolved_date), "resolved_scene": text(v.resolved_scene), "rules": .string(v.rules), "area_m2": .real(v.area_m2),
                "first_seen": .string(v.first_seen), "last_seen": .string(v.last_seen), "first_scene": .string(v.first_scene),
                "last_scene": .string(v.last_scene), "west": .real(v.min_lon), "south": .real(v.min_lat), "east": .real(v.max_lon),
                "north": .real(v.max_lat), "dismissed_by": text(v.dismissed_by), "dismissed_reason": text(v.dismissed_reason)]
    }

    /// CSV text: one row per violation, Excel-ready.
    public static func csv(_ rows: [ViolationRecord]) -> String {
        func field(_ value: VectorWriter.Value?) -> String {
            switch value {
            case .string(let s)?:
                return s.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            case .real(let d)?: return String(d)
            case .integer(let i)?: return String(i)
            case .null?, nil: return ""
            }
        }
        var lines = [header.joined(separator: ",")]
        for row in rows {
            let values = values(row)
            lines.append(header.map { field(values[$0]) }.joined(separator: ","))
        }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A GeoJSON FeatureCollection.
    public static func geoJSON(_ rows: [ViolationRecord]) throws -> String {
        let features = try rows.map { v -> String in
            let geometry = try Geometry(wkt: v.geometry_wkt).geoJSON
            var properties: [String: Any] = [:]
            for (name, value) in values(v) {
                switch value {
                case .string(let s): properties[name] = s
                case .real(let d): properties[name] = d
                case .integer(let i): properties[name] = i
                case .null: properties[name] = NSNull()
                }
            }
            let data = try JSONSerialization.data(withJSONObject: properties, options: [.sortedKeys])
            return "{\"type\":\"Feature\",\"properties\":\(String(decoding: data, as: UTF8.self)),\"geometry\":\(geometry)}"
        }
        return "{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "\n]}\n"
    }

    /// Writes the rows to `path` in `format`, under a temporary name renamed when complete; an existing file is
    /// replaced only then.
    public static func write(_ rows: [ViolationRecord], format: Format, profile: Profile = .landwatch, to path: String) throws(RunError) {
        if profile == .wpzf { return try WPZF.write(rows, format: format, to: path) }
        if format == .shp {
            throw RunError(.input, "--format shp: the landwatch profile's field names are longer than a Shapefile allows; use gpkg, or --profile wpzf")
        }
        let partial = AtomicOutput(target: URL(fileURLWithPath: path), keepingExtension: true)
        unlink(partial.temporaryPath)
        try partial.write { temporary in
            switch format {
            case .csv:
                try Data(csv(rows).utf8).write(to: URL(fileURLWithPath: temporary))
            case .geojson:
                try Data(geoJSON(rows).utf8).write(to: URL(fileURLWithPath: temporary))
            case .shp:
                throw RunError(.internal, "shapefile export without the wpzf profile")
            case .gpkg, .kml:
                var fields: [(String, VectorWriter.FieldType)] = header.map { ($0, ["area_m2", "west", "south", "east", "north"].contains($0) ? .real : $0 == "score" ? .integer : .string) }
                if format == .kml { fields += [("Name", .string), ("Description", .string)] }
                let writer = try VectorWriter(path: temporary, driver: format == .gpkg ? "GPKG" : "KML", layer: "violations",
                                              crs: .wgs84(), geometry: .polygon, fields: fields)
                for v in rows {
                    var row = values(v)
                    if format == .kml {
                        row["Name"] = .string(v.id)
                        row["Description"] = .string("\(v.status.rawValue): \(v.rules); \(Int(v.area_m2.rounded())) m²; first seen \(v.first_seen), last seen \(v.last_seen)"
                                                     + (v.dismissed_reason.map { "; dismissed: \($0)" } ?? ""))
                    }
                    try writer.add(Geometry(wkt: v.geometry_wkt), values: row)
                }
                try writer.close()
            }
        }
    }
}

/// `landwatch violations show`: a violation and its whole history as text.
public enum ViolationHistory {
    public static func text(_ v: ViolationRecord, _ history: [ViolationEvent]) -> String {
        var lines = ["\(v.id)  \(v.status.rawValue)  rules \(v.rules)  \(String(format: "%.0f", v.area_m2)) m²"
                     + (v.score.map { "  score \($0)" } ?? ""),
                     "  first seen \(v.first_seen) (\(v.first_scene)), last seen \(v.last_seen) (\(v.last_scene))"
                     + String(format: "; box %.6f, %.6f – %.6f, %.6f", v.min_lon, v.min_lat, v.max_lon, v.max_lat)]
        if let date = v.resolved_date { lines.append("  resolved on \(date) by scene \(v.resolved_scene ?? "?")") }
        lines.append("  history:")
        for event in history {
            var line = "  \(event.date)  \(event.event.rawValue.replacingOccurrences(of: "_", with: " ")) → \(event.status.rawValue)"
            if let scene = event.scene_id { line += "  scene \(scene)" }
            if let area = event.area_m2 { line += String(format: "  %.0f m²", area) }
            if let score = event.score { line += "  score \(score)" }
            if let by = event.changed_by { line += "  by \(by)" }
            if let reason = event.reason { line += "  (\(reason))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `landwatch nightly status` as text.
public enum NightlyReport {
    /// The state of a scene for operators: done, failed (tried once, retried next night), retrying (failed again,
    /// retried next night) or given up.
    public static func state(_ scene: SceneRecord) -> String {
        switch scene.status {
        case "done": return "done"
        case "given_up": return "given up"
        default: return scene.attempts > 1 ? "retrying" : "failed"
        }
    }

    public static func status(scenes: [SceneRecord], violations: [ViolationRecord]) -> String {
        let states = ["done", "failed", "retrying", "given up"]
        var counts = Dictionary(uniqueKeysWithValues: states.map { ($0, 0) })
        for scene in scenes { counts[state(scene), default: 0] += 1 }
        var lines = ["scenes: " + states.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")]
        for scene in scenes where scene.status != "done" {
            lines.append("  \(state(scene))  \(scene.id)  \(scene.date)  attempts \(scene.attempts)  \(scene.failure_reason ?? "")")
        }
        let byStatus = Dictionary(grouping: violations, by: \.status)
        lines.append("violations: " + ViolationStatus.allCases.map { "\($0.rawValue) \(byStatus[$0]?.count ?? 0)" }.joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }
}
