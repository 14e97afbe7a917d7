import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchRegistry
import LandwatchStages
import XCTest

/// Issue 21, item 6: the `wpzf` export profile over two real nights of Marburg (a 4 x 4 construction planted in the
/// red line), checked against GDAL's own tools: the plan areas against `gdal_rasterize` of each plan layer onto the
/// scene's grid, the Chinese field names as `ogrinfo` reads them back from GeoPackage, Shapefile (GBK) and CSV. Then a
/// field check coming back as the KML it was sent as, and the statistics per zone.
final class WPZFExportTests: XCTestCase {
    var work: URL!
    var record: EnforcementRecordTests!
    var db: String { record.db }

    override func setUpWithError() throws {
        record = EnforcementRecordTests(name: "helper", testClosure: { _ in })
        try record.setUpWithError()
        work = record.work
    }

    override func tearDownWithError() throws { try record.tearDownWithError() }

    static let mu = 10000.0 / 15.0

    /// A real as ogrinfo prints it (shortest form: 21.6).
    static func number(_ value: Double) -> String { value == value.rounded() ? String(format: "%.0f", value) : "\(value)" }

    /// Runs a GDAL command-line tool; fails the test on a non-zero exit.
    @discardableResult
    func tool(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(name)")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(name) \(arguments.joined(separator: " "))")
        return String(decoding: data, as: UTF8.self)
    }

    /// Pixels of the planted patch (rows 33–36, columns 4–7 of the scene) that GDAL's rasteriser puts inside the
    /// features of `layer` (all of them, or those `whereClause` selects), onto the scene's own grid.
    func plantedPixelsInside(_ layer: String, where whereClause: String? = nil) throws -> Int {
        let grid = work.appendingPathComponent("burn-\(UUID().uuidString.prefix(6)).tif").path
        let scene = CLITests.root.appendingPathComponent("testdata/nightly/before.tif").path
        try tool("gdal_create", ["-if", scene, "-bands", "1", "-ot", "Byte", "-burn", "0", grid])
        try tool("gdal_rasterize", ["-q", "-burn", "1"] + (whereClause.map { ["-where", $0] } ?? [])
                 + [CLITests.root.appendingPathComponent("testdata/plan/\(layer)").path, grid])
        let dataset = try Dataset.open(grid)
        let pixels = try dataset.band(1).read(Window(colOffset: 4, rowOffset: 33, width: 4, height: 4))
        return pixels.filter { $0 == 1 }.count
    }

    func testTheWPZFExportCarriesThePlanAreasFromThePixelsUnderChineseNamesInEveryFormat() throws {
        try record.deliver("before.tif", as: "n1", date: "2024-06-30")
        XCTAssertEqual(try record.nightly().status, 0)
        try record.deliver("after.tif", as: "n2", date: "2024-07-16")
        let night = try record.nightly()
        XCTAssertEqual(night.status, 0, night.stderr)
        let registry = try Registry(path: db)
        let v = try XCTUnwrap(registry.violations().first)
        XCTAssertEqual(v.area_m2, 14400, accuracy: 1)
        let attributes = try XCTUnwrap(v.planAttributes, "the registry keeps the list's plan attributes (schema v3)")

        // The areas per plan layer, from the pixels, as GDAL's rasteriser sees the layers on the scene grid.
        let redline = try plantedPixelsInside("redline.geojson")
        let farmland = try plantedPixelsInside("basic_farmland.shp")
        let boundary = try plantedPixelsInside("urban_boundary.gpkg")
        XCTAssertGreaterThan(redline, 0, "the fixture plants the construction inside the red line")
        XCTAssertEqual(try XCTUnwrap(attributes.plan_area_m2["redline"]), Double(redline) * 900, accuracy: 0.1)
        XCTAssertEqual(try XCTUnwrap(attributes.plan_area_m2["basic_farmland"]), Double(farmland) * 900, accuracy: 0.1)
        XCTAssertEqual(try XCTUnwrap(attributes.outside_urban_boundary_m2), Double(16 - boundary) * 900, accuracy: 0.1)
        // The zone holding most of the patch, by GDAL.
        let zoneCodes = try VectorDataset.open(CLITests.root.appendingPathComponent("testdata/plan/zones.gpkg").path)
            .attributes(layer: nil, fields: ["code", "name"])
        let byZone = try zoneCodes.map { zone in (zone, try plantedPixelsInside("zones.gpkg", where: "code = '\(zone.values["code"]!)'")) }
        let majority = try XCTUnwrap(byZone.max { $0.1 < $1.1 })
        XCTAssertGreaterThan(majority.1, 0)
        XCTAssertEqual(attributes.zone_code, majority.0.values["code"])
        XCTAssertEqual(attributes.zone_name, majority.0.values["name"])
        XCTAssertEqual(attributes.before_date, "2024-06-30")
        XCTAssertEqual(attributes.after_date, "2024-07-16")
        XCTAssertNotNil(attributes.rule_names_zh)
        XCTAssertLessThanOrEqual(try XCTUnwrap(attributes.cropland_m2), v.area_m2)
        // The scene's own list has the same figures, as columns.
        let csv = try String(contentsOf: work.appendingPathComponent("out/scenes/\(v.first_scene)/violations/violations.csv"), encoding: .utf8)
        let header = csv.split(separator: "\r\n")[0]
        for column in ["redline_m2", "basic_farmland_m2", "outside_urban_boundary_m2", "cropland_m2", "zone_code", "zone_name"] {
            XCTAssertTrue(header.contains(column), "violations.csv has \(column): \(header)")
        }

        // Every format, read back by GDAL's ogrinfo: the Chinese field names intact, the values the registry's.
        let expected: [String: String] = [
            "监测图斑编号": v.id, "行政区名称": majority.0.values["name"] ?? "", "前时相": "2024-06-30", "后时相": "2024-07-16",
            "监测面积（亩）": Self.number((14400 / Self.mu * 100).rounded() / 100),
            "占用生态保护红线面积（亩）": Self.number((Double(redline) * 900 / Self.mu * 100).rounded() / 100),
            "核查结果": "未核查", "状态": "新增",
        ]
        let short: [String: String] = ["监测图斑编号": "图斑编号", "监测面积（亩）": "监测面积亩", "占用生态保护红线面积（亩）": "占红线亩"]
        for format in ["gpkg", "shp", "csv", "kml"] {
            let path = work.appendingPathComponent("wpzf.\(format)").path
            let export = try CLITests.landwatch(["violations", "export", "--db", db, "--profile", "wpzf", "--format", format, "--status", "open", "--output", path])
            XCTAssertEqual(export.status, 0, export.stderr)
            let info = try tool("ogrinfo", ["-ro", "-al", "-q", path])
            for (name, value) in expected {
                let field = format == "shp" ? short[name] ?? name : name
                if format == "kml" { continue }  // KML: the id is the placemark's name and the attributes its ExtendedData, checked below
                XCTAssertTrue(info.contains("\(field) (") && info.contains(value), "\(format): \(field) = \(value) in\n\(info)")
                let line = info.split(separator: "\n").first { $0.contains("  \(field) (") }
                let read = line.map { String($0.split(separator: "=", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
                if let number = Double(value) {  // a Shapefile's DBF keeps a fixed 7 decimals: 21.6000000
                    XCTAssertEqual(read.flatMap(Double.init) ?? .nan, number, accuracy: 1e-9, "\(format): \(line ?? "no \(field)") should be \(value)")
                } else {
                    XCTAssertEqual(read, value, "\(format): \(field)")
                }
            }
            if format == "shp" {
                XCTAssertEqual(try String(contentsOfFile: work.appendingPathComponent("wpzf.cpg").path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "GBK")
                // The DBF's bytes are GBK: 图斑编号 as GB 2312 bytes (CD BC B0 DF B1 E0 BA C5) in the first field descriptor.
                let dbf = try Data(contentsOf: work.appendingPathComponent("wpzf.dbf"))
                XCTAssertEqual(Array(dbf[32..<40]), [0xCD, 0xBC, 0xB0, 0xDF, 0xB1, 0xE0, 0xBA, 0xC5])
            }
            if format == "csv" {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                XCTAssertEqual(Array(bytes.prefix(3)), [0xEF, 0xBB, 0xBF], "a BOM for Excel")
                XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("wpzf.csvt").path))
            }
            if format == "kml" {
                let kml = try String(contentsOfFile: path, encoding: .utf8)
                XCTAssertTrue(kml.contains("<name>\(v.id)</name>"), kml)
                XCTAssertTrue(kml.contains("name=\"核查结果\""), kml)
            }
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: work.path).contains { $0.contains(".partial") },
                           "nothing half-written left beside the export")
        }
        // The profile's mapping is documented, field by field.
        let doc = try String(contentsOf: CLITests.root.appendingPathComponent("docs/wpzf-export.md"), encoding: .utf8)
        for field in WPZF.fields { XCTAssertTrue(doc.contains("| \(field.name) | \(field.shapefileName) |"), "docs/wpzf-export.md maps \(field.name)") }

        // Options that do not apply are refused.
        let shpLandwatch = try CLITests.landwatch(["violations", "export", "--db", db, "--format", "shp", "--output", work.appendingPathComponent("x.shp").path])
        XCTAssertNotEqual(shpLandwatch.status, 0)
        XCTAssertTrue(shpLandwatch.stderr.contains("--profile wpzf"), shpLandwatch.stderr)
        let unknown = try CLITests.landwatch(["violations", "export", "--db", db, "--profile", "gb", "--output", work.appendingPathComponent("x.csv").path])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("--profile gb: choose landwatch or wpzf"), unknown.stderr)

        // The field check comes back as the KML it was sent as (a field app adds result, date, inspector): applied.
        let kmlPath = work.appendingPathComponent("wpzf.kml").path
        var kml = try String(contentsOfFile: kmlPath, encoding: .utf8)
        let extended = "<ExtendedData><Data name=\"id\"><value>\(v.id)</value></Data><Data name=\"result\"><value>false_alarm</value></Data>"
            + "<Data name=\"reason\"><value>greenhouse</value></Data><Data name=\"date\"><value>2024-07-20</value></Data>"
            + "<Data name=\"inspector\"><value>李工</value></Data><Data name=\"note\"><value>大棚</value></Data></ExtendedData>"
        let range = try XCTUnwrap(kml.range(of: "<ExtendedData>[\\s\\S]*?</ExtendedData>", options: .regularExpression))
        kml.replaceSubrange(range, with: extended)
        let answers = work.appendingPathComponent("answers.kml").path
        try kml.write(toFile: answers, atomically: true, encoding: .utf8)
        let imported = try CLITests.landwatch(["violations", "import", answers, "--db", db])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(try registry.violation(id: v.id)?.status, .falseAlarm)

        // Statistics per zone: one violation sent in its zone, checked, a false alarm (greenhouse), precision 0.
        let stats = try CLITests.landwatch(["violations", "stats", "--db", db])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let zoneLine = [majority.0.values["code"], majority.0.values["name"]].compactMap { $0 }.joined(separator: " ")
        XCTAssertTrue(stats.stdout.contains("\r\nzone,\(zoneLine),1,1,0,0,0,0,1,0,0,0,0,1,0,0.000\r\n"), stats.stdout)
        let html = try CLITests.landwatch(["violations", "stats", "--db", db, "--format", "html", "--language", "zh"])
        XCTAssertEqual(html.status, 0, html.stderr)
        XCTAssertTrue(html.stdout.contains("<h3>按行政区</h3>") && html.stdout.contains("<tr class=\"low\">"), html.stdout)
        XCTAssertTrue(html.stdout.contains("误报：大棚"), html.stdout)
        let csvLanguage = try CLITests.landwatch(["violations", "stats", "--db", db, "--language", "zh"])
        XCTAssertNotEqual(csvLanguage.status, 0, "--language with the CSV does not apply: refused")
        // The wpzf export now says what the field found.
        let after = work.appendingPathComponent("after.gpkg").path
        XCTAssertEqual(try CLITests.landwatch(["violations", "export", "--db", db, "--profile", "wpzf", "--format", "gpkg", "--output", after]).status, 0)
        let info = try tool("ogrinfo", ["-ro", "-al", "-q", after])
        XCTAssertTrue(info.contains("核查结果 (String) = 误报"), info)
        XCTAssertTrue(info.contains("核查说明 (String) = 李工"), info)
    }
}
