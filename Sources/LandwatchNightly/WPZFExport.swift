import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRegistry

/// The `wpzf` export profile: the registry's violations with the attributes a 卫片执法 (satellite-image enforcement)
/// monitoring patch carries, under Chinese field names, in WGS84. The mapping is documented in docs/wpzf-export.md.
///
/// GeoPackage, CSV, GeoJSON and KML take the full names; a Shapefile's DBF allows 10 bytes per field name, so it takes
/// the short names (at most five Chinese characters in GBK) and is written in GBK with a `.cpg` saying so, which is
/// what ArcGIS and the bureaus' own tools read.
public enum WPZF {
    public struct Field: Sendable {
        /// The name in GeoPackage, CSV, GeoJSON and KML.
        public var name: String
        /// The name in a Shapefile (at most 10 bytes in GBK).
        public var shapefileName: String
        public var type: VectorWriter.FieldType
        /// Where the value comes from, for the documentation.
        public var source: String
        let value: @Sendable (ViolationRecord, ViolationAttributes?) -> VectorWriter.Value
    }

    static func mu(_ m2: Double?) -> VectorWriter.Value {
        m2.map { .real(($0 / Navigation.squareMetresPerMu * 100).rounded() / 100) } ?? .null
    }

    static func text(_ s: String?) -> VectorWriter.Value { s.map { .string($0) } ?? .null }

    static func round(_ value: Double?, _ digits: Int) -> VectorWriter.Value {
        guard let value else { return .null }
        let factor = pow(10.0, Double(digits))
        return .real((value * factor).rounded() / factor)
    }

    /// 核查结果: the field check's answer as the registry holds it (未核查 while nobody has checked).
    public static func checkResult(_ status: ViolationStatus) -> String {
        switch status {
        case .new, .persisting: return "未核查"
        case .resolved: return "已恢复（影像）"
        case .confirmed: return "违法"
        case .approvedLate: return "补办"
        case .falseAlarm: return "误报"
        case .dismissed: return "合法"
        case .demolished: return "已拆除"
        case .rectified: return "已整改"
        }
    }

    /// 状态 in Chinese.
    public static func statusName(_ status: ViolationStatus) -> String {
        switch status {
        case .new: return "新增"
        case .persisting: return "持续"
        case .resolved: return "已恢复"
        case .dismissed: return "已排除"
        case .confirmed: return "已确认"
        case .approvedLate: return "补办"
        case .falseAlarm: return "误报"
        case .demolished: return "已拆除"
        case .rectified: return "已整改"
        }
    }

    static func severityName(_ severity: String?) -> String? {
        switch severity {
        case "high": return "高"
        case "medium": return "中"
        case "low": return "低"
        default: return severity
        }
    }

    /// The fields, in order.
    public static let fields: [Field] = [
        Field(name: "监测图斑编号", shapefileName: "图斑编号", type: .string, source: "id (the registry's, the same on every list)") { v, _ in .string(v.id) },
        Field(name: "行政区代码", shapefileName: "行政区代码", type: .string, source: "code of the zone (read.plan role zones, code_field, else id_field) holding most of the patch") { _, a in text(a?.zone_code) },
        Field(name: "行政区名称", shapefileName: "行政区名称", type: .string, source: "name of that zone (name_field)") { _, a in text(a?.zone_name) },
        Field(name: "前时相", shapefileName: "前时相", type: .string, source: "date of the earlier classification; 土地调查 against the land-use survey") { _, a in
            a.map { .string($0.before_date ?? "土地调查") } ?? .null
        },
        Field(name: "后时相", shapefileName: "后时相", type: .string, source: "date of the later classification") { _, a in text(a?.after_date) },
        Field(name: "变化类型", shapefileName: "变化类型", type: .string, source: "majority class before → after, Chinese names of the run's legend") { _, a in
            guard let a, let before = a.before_class_zh ?? a.before_class, let after = a.after_class_zh ?? a.after_class else { return .null }
            return .string("\(before)→\(after)")
        },
        Field(name: "图斑类型", shapefileName: "图斑类型", type: .string, source: "Chinese names of the rules broken (the run's rule set); rule codes when unknown") { v, a in
            .string(a?.rule_names_zh ?? v.rules)
        },
        Field(name: "规则代码", shapefileName: "规则代码", type: .string, source: "rule codes (UC-P, UC, FL-B, …)") { v, _ in .string(v.rules) },
        Field(name: "监测面积（亩）", shapefileName: "监测面积亩", type: .real, source: "area_m2 / 666.67, from the patch's pixels") { v, _ in mu(v.area_m2) },
        Field(name: "监测面积（平方米）", shapefileName: "面积平方米", type: .real, source: "area_m2") { v, _ in round(v.area_m2, 1) },
        Field(name: "占用耕地面积（亩）", shapefileName: "占耕地亩", type: .real, source: "pixels cropland on the earlier date (or in the survey) × pixel area") { _, a in mu(a?.cropland_m2) },
        Field(name: "占用永久基本农田面积（亩）", shapefileName: "占永农亩", type: .real, source: "pixels inside the basic_farmland layer × pixel area; empty when no such layer ran") { _, a in
            mu(a?.plan_area_m2["basic_farmland"])
        },
        Field(name: "占用生态保护红线面积（亩）", shapefileName: "占红线亩", type: .real, source: "pixels inside the redline layer × pixel area; empty when no such layer ran") { _, a in
            mu(a?.plan_area_m2["redline"])
        },
        Field(name: "突破城镇开发边界面积（亩）", shapefileName: "出边界亩", type: .real, source: "pixels outside the urban_boundary layer × pixel area; empty when no such layer ran") { _, a in
            mu(a?.outside_urban_boundary_m2)
        },
        Field(name: "批准文号", shapefileName: "批准文号", type: .string, source: "numbers of the approvals (role approvals, code_field, else id_field) the patch touches, ；-separated") { _, a in
            guard let approvals = a?.approvals, !approvals.isEmpty else { return .null }
            return .string(approvals.joined(separator: "；"))
        },
        Field(name: "核查结果", shapefileName: "核查结果", type: .string, source: "the field check recorded (violations import): 未核查, 违法, 补办, 误报, 已拆除, 已整改, 合法, 已恢复（影像）") { v, _ in
            .string(checkResult(v.status))
        },
        Field(name: "核查说明", shapefileName: "核查说明", type: .string, source: "who recorded the status and why") { v, _ in
            guard v.dismissed_by != nil || v.dismissed_reason != nil else { return .null }
            return .string([v.dismissed_by, v.dismissed_reason].compactMap { $0 }.joined(separator: "："))
        },
        Field(name: "状态", shapefileName: "状态", type: .string, source: "status (新增 new, 持续 persisting, 已恢复 resolved, …)") { v, _ in .string(statusName(v.status)) },
        Field(name: "严重程度", shapefileName: "严重程度", type: .string, source: "severity on the latest list (高, 中, 低)") { _, a in text(severityName(a?.severity)) },
        Field(name: "得分", shapefileName: "得分", type: .integer, source: "change score 0–100") { v, _ in v.score.map { .integer($0) } ?? .null },
        Field(name: "纬度", shapefileName: "纬度", type: .real, source: "navigation point, WGS84 latitude (a point inside the patch)") { _, a in round(a?.lat, 7) },
        Field(name: "经度", shapefileName: "经度", type: .real, source: "navigation point, WGS84 longitude") { _, a in round(a?.lon, 7) },
        Field(name: "GCJ02纬度", shapefileName: "GCJ纬度", type: .real, source: "the navigation point in GCJ-02 (Amap, Tencent), latitude") { _, a in
            guard let lat = a?.lat, let lon = a?.lon else { return .null }
            return round(Navigation.gcj02(longitude: lon, latitude: lat).latitude, 7)
        },
        Field(name: "GCJ02经度", shapefileName: "GCJ经度", type: .real, source: "the navigation point in GCJ-02, longitude") { _, a in
            guard let lat = a?.lat, let lon = a?.lon else { return .null }
            return round(Navigation.gcj02(longitude: lon, latitude: lat).longitude, 7)
        },
        Field(name: "涉及规划要素", shapefileName: "规划要素", type: .string, source: "plan features touched, role: id name; …") { _, a in
            guard let features = a?.plan_features, !features.isEmpty else { return .null }
            return .string(features.keys.sorted().filter { !(features[$0] ?? []).isEmpty }
                .map { "\($0)：\(features[$0]!.joined(separator: "、"))" }.joined(separator: "；"))
        },
        Field(name: "首次发现", shapefileName: "首次发现", type: .string, source: "first_seen (date of the scene that first showed it)") { v, _ in .string(v.first_seen) },
        Field(name: "最近发现", shapefileName: "最近发现", type: .string, source: "last_seen") { v, _ in .string(v.last_seen) },
        Field(name: "前时相影像", shapefileName: "前影像", type: .string, source: "before chip (PNG) of the latest list that drew one") { _, a in text(a?.chip_before) },
        Field(name: "后时相影像", shapefileName: "后影像", type: .string, source: "after chip (PNG)") { _, a in text(a?.chip_after) },
    ]

    /// Writes the rows in `format` (every format but `csv` and `geojson` needs a file; those two are written through
    /// OGR here too). The files are written in a private folder beside `path` and moved into place when complete.
    public static func write(_ rows: [ViolationRecord], format: ViolationExport.Format, to path: String) throws(RunError) {
        let target = URL(fileURLWithPath: path)
        let directory = target.deletingLastPathComponent()
        let staging = directory.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw RunError(.outputNotWritable, "cannot write beside \(path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        let staged = staging.appendingPathComponent(target.lastPathComponent).path
        let driver: String, datasetOptions: [String], layerOptions: [String]
        switch format {
        case .gpkg: (driver, datasetOptions, layerOptions) = ("GPKG", [], [])
        case .shp: (driver, datasetOptions, layerOptions) = ("ESRI Shapefile", [], ["ENCODING=GBK"])
        case .csv: (driver, datasetOptions, layerOptions) = ("CSV", [], ["GEOMETRY=AS_WKT", "WRITE_BOM=YES", "LINEFORMAT=CRLF", "CREATE_CSVT=YES"])
        case .geojson: (driver, datasetOptions, layerOptions) = ("GeoJSON", [], ["RFC7946=YES", "WRITE_NAME=NO"])
        case .kml: (driver, datasetOptions, layerOptions) = ("KML", ["NameField=监测图斑编号"], [])
        }
        let shapefile = format == .shp
        do {
            let writer = try VectorWriter(path: staged, driver: driver, layer: "wpzf", crs: .wgs84(), geometry: .polygon,
                                          fields: fields.map { (shapefile ? $0.shapefileName : $0.name, $0.type) },
                                          datasetOptions: datasetOptions, layerOptions: layerOptions, realPrecision: shapefile ? 7 : nil)
            for v in rows {
                let attributes = v.planAttributes
                var values: [String: VectorWriter.Value] = [:]
                for field in fields { values[shapefile ? field.shapefileName : field.name] = field.value(v, attributes) }
                try writer.add(Geometry(wkt: v.geometry_wkt), values: values)
            }
            try writer.close()
        } catch {
            throw RunError(.io, "cannot write \(path): \(error)")
        }
        // Move every file of the dataset (a Shapefile's .shp, .shx, .dbf, .prj, .cpg; a CSV's .csvt) into place, the
        // main file last.
        let stem = target.deletingPathExtension().lastPathComponent
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).filter { $0.hasPrefix(stem + ".") }
        let files = all.filter { $0 != target.lastPathComponent }.sorted() + all.filter { $0 == target.lastPathComponent }
        for file in files {
            let destination = directory.appendingPathComponent(file).path
            if rename(staging.appendingPathComponent(file).path, destination) != 0 {
                throw RunError(.io, "cannot move \(file) to \(destination): \(String(cString: strerror(errno)))")
            }
        }
    }
}
