import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchProducts
import LandwatchRender

/// The rows of a violation list, and the files made of them: one row per patch, in the list's order.
package struct ViolationTable {
    package let violations: [Violation]
    package let compliance: ComplianceDescription
    package let legend: Legend
    package let gcj02: Bool
    package let planRoles: [String]
    package let planCRS: String
    /// Decimals of `plan_x` / `plan_y`: what the plan CRS's unit needs (``planDigits(geographic:)``).
    package var planDigits: Int = 2
    /// Registry statuses by id, when the run was given the tracked violations: a `status` column after `id`.
    package var statuses: [String: String]? = nil

    package init(violations: [Violation], compliance: ComplianceDescription, legend: Legend, gcj02: Bool, planRoles: [String],
                 planCRS: String, planDigits: Int = 2, statuses: [String: String]? = nil) {
        self.violations = violations
        self.compliance = compliance
        self.legend = legend
        self.gcj02 = gcj02
        self.planRoles = planRoles
        self.planCRS = planCRS
        self.planDigits = planDigits
        self.statuses = statuses
    }

    /// Column names and types, in order; every format uses the same.
    package var columns: [(String, VectorWriter.FieldType)] {
        var columns: [(String, VectorWriter.FieldType)] = [
            ("rank", .integer), ("id", .string), ("severity", .string), ("severity_zh", .string), ("score", .integer), ("evidence", .real), ("rules", .string),
            ("rule_names", .string), ("rule_names_zh", .string), ("area_m2", .real), ("area_mu", .real), ("pixels", .integer),
            ("lat", .real), ("lon", .real),
        ]
        if statuses != nil { columns.insert(("status", .string), at: 2) }
        if gcj02 { columns += [("gcj02_lat", .real), ("gcj02_lon", .real)] }
        columns += [("plan_x", .real), ("plan_y", .real), ("plan_crs", .string),
                    ("west", .real), ("south", .real), ("east", .real), ("north", .real),
                    ("before_class", .string), ("before_class_zh", .string), ("after_class", .string), ("after_class_zh", .string),
                    ("confidence", .real)]
        columns += planRoles.map { ($0, .string) }
        // Areas from the patch's pixels: inside each plan layer (outside, for the urban boundary), cropland taken.
        columns += planRoles.filter { $0 != "zones" }.map { ($0 == "urban_boundary" ? "outside_urban_boundary_m2" : "\($0)_m2", .real) }
        columns.append(("cropland_m2", .real))
        if planRoles.contains("zones") { columns += [("zone_code", .string), ("zone_name", .string)] }
        columns += [("before_date", .string), ("before_source", .string), ("after_date", .string), ("chip_before", .string), ("chip_after", .string)]
        return columns
    }

    package func values(_ v: Violation) -> [String: VectorWriter.Value] {
        let box = v.wgs84.envelope
        let beforeClass = legend.class(code: v.patch.majorityBefore), afterClass = legend.class(code: v.patch.majorityAfter)
        var values: [String: VectorWriter.Value] = [
            "rank": .integer(v.number), "id": .string(v.id), "severity": .string(v.severity.name), "severity_zh": .string(v.severity.nameZH),
            "score": .integer(v.score), "evidence": v.patch.meanEvidence.map { .real(($0 * 100).rounded() / 100) } ?? .null,
            "rules": .string(v.rules.map(\.code).joined(separator: ";")),
            "rule_names": .string(v.rules.map(\.name).joined(separator: "; ")),
            "rule_names_zh": .string(v.rules.map(\.nameZH).joined(separator: "；")),
            "area_m2": .real((v.areaM2 * 10).rounded() / 10), "area_mu": .real((v.areaM2 / Navigation.squareMetresPerMu * 100).rounded() / 100),
            "pixels": .integer(v.patch.pixelCount),
            "lon": .real(Self.round(v.point.lon, 7)), "lat": .real(Self.round(v.point.lat, 7)),
            "plan_x": .real(Self.round(v.planPoint.x, planDigits)), "plan_y": .real(Self.round(v.planPoint.y, planDigits)), "plan_crs": .string(planCRS),
            "west": .real(Self.round(box.minX, 7)), "south": .real(Self.round(box.minY, 7)),
            "east": .real(Self.round(box.maxX, 7)), "north": .real(Self.round(box.maxY, 7)),
            "before_class": .string(beforeClass?.name ?? (compliance.beforeSource == "land-use survey" ? "unmapped" : "none")),
            "before_class_zh": .string(beforeClass?.nameZH ?? ""),
            "after_class": .string(afterClass?.name ?? ""), "after_class_zh": .string(afterClass?.nameZH ?? ""),
            "confidence": .real((v.patch.meanConfidence * 10).rounded() / 10),
            // A date or empty, never a word; before_source says where the earlier state came from.
            "before_date": compliance.beforeDate.map { .string($0) } ?? .null, "before_source": .string(compliance.beforeSource),
            "after_date": compliance.afterDate.map { .string($0) } ?? .null,
            "chip_before": v.chips.map { .string($0.before) } ?? .null, "chip_after": v.chips.map { .string($0.after) } ?? .null,
        ]
        if let statuses { values["status"] = .string(statuses[v.id] ?? "new") }
        if let gcj = v.gcj {
            values["gcj02_lon"] = .real(Self.round(gcj.lon, 7))
            values["gcj02_lat"] = .real(Self.round(gcj.lat, 7))
        }
        for role in planRoles where role != "zones" {
            values[role == "urban_boundary" ? "outside_urban_boundary_m2" : "\(role)_m2"] =
                .real(role == "urban_boundary" ? v.outsideUrbanBoundary ?? 0 : v.planAreas[role] ?? 0)
        }
        values["cropland_m2"] = v.croplandArea.map { .real($0) } ?? .null
        if let zone = v.zone {
            values["zone_code"] = .string(zone.code)
            values["zone_name"] = .string(zone.name)
        }
        for (role, features) in v.plan {
            values[role] = .string(features.map { $0.name.isEmpty ? $0.id : "\($0.id) \($0.name)" }.joined(separator: "; "))
        }
        return values
    }

    /// Decimals a plan coordinate needs: 1e-7 degree (about 1 cm) in a geographic CRS, 0.01 of a metre (or foot)
    /// in a projected one. Three decimals of a degree were up to 55 m off.
    package static func planDigits(geographic: Bool) -> Int { geographic ? 7 : 2 }

    package static func round(_ value: Double, _ digits: Int) -> Double {
        let factor = pow(10.0, Double(digits))
        return (value * factor).rounded() / factor
    }

    package static func text(_ value: VectorWriter.Value?) -> String {
        switch value {
        case .string(let s)?: return s
        case .integer(let i)?: return String(i)
        case .real(let d)?: return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
        case .null?, nil: return ""
        }
    }

    /// RFC 4180 quoting.
    package static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// UTF-8 with a byte-order mark, so that Excel shows the Chinese columns; CRLF line ends as Excel writes them.
    package func csv() -> String {
        let names = columns.map(\.0)
        var lines = [names.joined(separator: ",")]
        for v in violations {
            let row = values(v)
            lines.append(names.map { Self.csvField(Self.text(row[$0])) }.joined(separator: ","))
        }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    package func writeVector(to path: String, driver: String, crs: SpatialReference,
                     geometry: KeyPath<Violation, Geometry>,
                     datasetOptions: [String] = [], layerOptions: [String] = []) throws {
        let writer = try VectorWriter(path: path, driver: driver, layer: "violations", crs: crs, geometry: .polygon,
                                      fields: columns, datasetOptions: datasetOptions, layerOptions: layerOptions)
        for v in violations { try writer.add(v[keyPath: geometry], values: values(v)) }
        try writer.close()
    }

    /// The list as KML 2.2, written directly (GDAL's LIBKML driver, the one that keeps feature styles, took 4 minutes
    /// to close a list of 1,628 patches; its serialiser is quadratic): per patch one placemark named by its id, holding
    /// the outline and the navigation point (a point a navigation app can go to), styled by severity (red / orange /
    /// yellow), a description with "lat, lon" (and GCJ-02 when the list has it), and every column as ExtendedData
    /// (SchemaData, which GDAL's KML and LIBKML drivers read back as fields). Coordinates are WGS84 lon,lat.
    package func writeKML(to path: String) throws {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<kml xmlns=\"http://www.opengis.net/kml/2.2\">", "<Document id=\"root_doc\">",
                     "<name>violations</name>"]
        let fields = columns
        lines.append("<Schema name=\"violations\" id=\"violations\">" + fields.map { name, type in
            let kmlType: String
            switch type {
            case .integer: kmlType = "int"
            case .real: kmlType = "double"
            default: kmlType = "string"
            }
            return "<SimpleField name=\"\(FieldPack.xml(name))\" type=\"\(kmlType)\"></SimpleField>"
        }.joined() + "</Schema>")
        for severity in ["high", "medium", "low", "unknown"] {
            let rgb = FieldPack.severityColor(severity)
            lines.append("<Style id=\"\(severity)\"><LineStyle><color>\(FieldPack.kmlColor(rgb, alpha: 255))</color><width>\(severity == "high" ? 4 : 3)</width></LineStyle>"
                         + "<PolyStyle><color>\(FieldPack.kmlColor(rgb, alpha: 64))</color></PolyStyle></Style>")
        }
        lines.append("<Folder><name>violations</name>")
        for v in violations {
            let row = values(v)
            let gcj = v.gcj.map { String(format: "; GCJ-02 (Amap, Tencent) %.6f, %.6f", $0.lat, $0.lon) } ?? ""
            let description = "\(v.severity.name) (\(v.severity.nameZH)): " + v.rules.map { "\($0.code) \($0.name) \($0.nameZH)" }.joined(separator: "; ")
                + String(format: "; %.0f m² (%.2f mu); ", v.areaM2, v.areaM2 / Navigation.squareMetresPerMu)
                + "\(Self.text(row["before_class"])) → \(Self.text(row["after_class"])); "
                + String(format: "navigate to (lat, lon) %.6f, %.6f", v.point.lat, v.point.lon) + gcj
            let style = ["high", "medium", "low"].contains(v.severity.name) ? v.severity.name : "unknown"
            let data = fields.map { name, _ in
                "<SimpleData name=\"\(FieldPack.xml(name))\">\(FieldPack.xml(Self.text(row[name])))</SimpleData>"
            }.joined()
            let outline = FieldPack.kmlPolygons(v.wgs84)
            let parts = outline.hasPrefix("<MultiGeometry>") ? String(outline.dropFirst(15).dropLast(16)) : outline
            lines.append("<Placemark><name>\(FieldPack.xml(v.id))</name><description>\(FieldPack.xml(description))</description>"
                         + "<styleUrl>#\(style)</styleUrl><ExtendedData><SchemaData schemaUrl=\"#violations\">\(data)</SchemaData></ExtendedData>"
                         + "<MultiGeometry>\(parts)<Point><coordinates>\(String(format: "%.7f,%.7f,0", v.point.lon, v.point.lat))</coordinates></Point></MultiGeometry>"
                         + "</Placemark>")
        }
        lines += ["</Folder>", "</Document>", "</kml>"]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Count and area per rule (a patch breaking two rules counts under each), and the total of patches.
    package func summaryRows() -> [(rule: ChangeRule?, count: Int, area: Double)] {
        var rows: [(ChangeRule?, Int, Double)] = compliance.ruleSet.rules.map { rule in
            let matching = violations.filter { $0.rules.contains { $0.kind == rule.kind } }
            return (rule, matching.count, matching.reduce(0) { $0 + $1.areaM2 })
        }
        rows.append((nil, violations.count, violations.reduce(0) { $0 + $1.areaM2 }))
        return rows
    }

    package func summaryCSV() -> String {
        var lines = ["rule,name,name_zh,severity,patches,area_m2,area_mu"]
        for row in summaryRows() {
            let fields = [row.rule?.code ?? "total", row.rule?.name ?? "all patches", row.rule?.nameZH ?? "全部图斑",
                          row.rule?.severity.name ?? "", String(row.count), String(format: "%.1f", row.area),
                          String(format: "%.2f", row.area / Navigation.squareMetresPerMu)]
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    package func summaryJSON(pixelArea: Double, patchesFound: Int) throws -> Data {
        typealias Rule = ViolationSummary.Rule
        let rows = summaryRows()
        let rules = rows.compactMap { row -> Rule? in
            guard let rule = row.rule else { return nil }
            return Rule(code: rule.code, name: rule.name, name_zh: rule.nameZH, severity: rule.severity.name, min_area_m2: rule.minArea,
                        min_pixels: rule.minPixels, exempt_if_approved: rule.exemptIfApproved, patches: row.count,
                        area_m2: Self.round(row.area, 1), area_mu: Self.round(row.area / Navigation.squareMetresPerMu, 2))
        }
        let total = rows.last!.area
        let summary = ViolationSummary(before: compliance.beforeDate, after: compliance.afterDate, before_source: compliance.beforeSource,
                              pixel_area_m2: pixelArea, patches_of_change: patchesFound, violations: violations.count,
                              area_m2: Self.round(total, 1), area_mu: Self.round(total / Navigation.squareMetresPerMu, 2), rules: rules,
                              settings: Dictionary(compliance.settings, uniquingKeysWith: { first, _ in first }))
        return try summary.encoded()
    }
}
