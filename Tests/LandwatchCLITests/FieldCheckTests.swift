import Foundation
import LandwatchGDAL
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

/// `violations import` and `violations stats`: the inspectors' answers as CSV and GeoPackage, bad rows one line each,
/// all or nothing, photos copied by id, and the precision the field saw per rule and month (hand-counted).
final class FieldCheckTests: XCTestCase {
    var work: URL!
    var db: String { work.appendingPathComponent("registry.sqlite").path }

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-fieldcheck")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // Five violations: LW-1..3 rule UC (July), LW-4 UC;FL and LW-5 FL (August).
        let registry = try Registry(path: db)
        let footprint = "POLYGON ((8.7 50.7,8.8 50.7,8.8 50.8,8.7 50.8,8.7 50.7))"
        func square(_ k: Int) -> String {
            let lon = 8.71 + Double(k) * 0.01, lat = 50.75
            return "{\"type\":\"Polygon\",\"coordinates\":[[[\(lon),\(lat)],[\(lon + 0.001),\(lat)],[\(lon + 0.001),\(lat + 0.001)],[\(lon),\(lat + 0.001)],[\(lon),\(lat)]]]}"
        }
        for (date, ids) in [("2024-07-16", [1, 2, 3]), ("2024-08-01", [4, 5])] {
            _ = try registry.record(scene: SceneRecord(id: "S-\(date)", sensor: "landsat8-toa", date: date, footprintWKT: footprint, cloudShare: 0,
                                                       contentHash: "h-\(date)", path: "/inbox/\(date).tif", status: "done"),
                                    detections: ids.map { Detection(id: "LW-\($0)", geoJSON: square($0), rules: $0 == 4 ? "UC;FL" : $0 == 5 ? "FL" : "UC",
                                                                    areaM2: 900) })
        }
        for name in ["p1.jpg", "p2.jpg"] { try Data("jpeg \(name)".utf8).write(to: work.appendingPathComponent(name)) }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func write(_ lines: [String], to name: String, encoding: String.Encoding = .utf8) throws -> String {
        let url = work.appendingPathComponent(name)
        try Data(("\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: url)
        return url.path
    }

    func testAFieldCheckFileUpdatesStatusesCopiesPhotosAndStatsGiveThePrecision() throws {
        let header = "id,result,date,inspector,note,photos,reason"
        // Bad rows: each one line naming the row; nothing applied.
        var bad = try write([header,
                             "LW-1,confirmed,2024-07-20,Wang,\"building, 2 floors\",p1.jpg;p2.jpg,",
                             "LW-9,confirmed,2024-07-20,Wang,,,",
                             "LW-2,illegal,2024-07-20,Wang,,,",
                             "LW-3,demolished,2024-07-01,Wang,,,",
                             "LW-1,confirmed,2024-07-21,Li,,,",
                             "LW-4,confirmed,2024-08-03,Li,,missing.jpg,",
                             "LW-5,false_alarm,2024-08-03,Li,,,",
                             "LW-2,误报,2024-07-22,Li,,,",
                            ], to: "bad.csv")
        var data = try Data(contentsOf: URL(fileURLWithPath: bad))
        // A row in GBK (已拆除 = D2 D1 B2 F0 B3 FD), as Excel on a Chinese Windows saves "CSV".
        data += Data("LW-3,".utf8) + Data([0xD2, 0xD1, 0xB2, 0xF0, 0xB3, 0xFD]) + Data(",2024-07-22,Li,,,\r\n".utf8)
        try data.write(to: URL(fileURLWithPath: bad))
        var result = try CLITests.landwatch(["violations", "import", bad, "--db", db])
        XCTAssertEqual(result.status, 65, result.stderr)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        for expected in ["row 3: unknown id LW-9", "row 4: result 'illegal' for LW-2 is not one of", "row 5: date 2024-07-01 for LW-3 is before its detection on 2024-07-16",
                         "row 6: LW-1 again (first on row 2)", "row 7: photo \(work.path)/missing.jpg for LW-4 does not exist",
                         "row 8: false_alarm for LW-5 needs a reason", "row 10: not UTF-8 (a GBK file read as UTF-8?"] {
            XCTAssertEqual(lines.filter { $0.contains("bad.csv \(expected)") }.count, 1, "\(expected)\n\(result.stderr)")
        }
        XCTAssertTrue(result.stderr.contains("8 bad rows in \(bad): nothing applied"), result.stderr)
        let registry = try Registry(path: db)
        XCTAssertEqual(try registry.violations().map(\.status), Array(repeating: .new, count: 5), "nothing applied")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("photos").path))

        // With --apply-good: the one good row (LW-1 confirmed, with two photos) is applied, the bad ones are not.
        result = try CLITests.landwatch(["violations", "import", bad, "--db", db, "--apply-good"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("1 field checks applied from \(bad) (2 photos into \(work.path)/photos); 8 bad rows not applied"), result.stderr)
        XCTAssertEqual(try registry.violation(id: "LW-1")?.status, .confirmed)
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("photos/LW-1/p2.jpg")), Data("jpeg p2.jpg".utf8))
        let event = try XCTUnwrap(registry.history(id: "LW-1").last)
        XCTAssertEqual(event.changed_by, "Wang")
        XCTAssertEqual(event.date, "2024-07-20")
        XCTAssertEqual(event.reason, "field check: confirmed; building, 2 floors; photos LW-1/p1.jpg, LW-1/p2.jpg")

        // A good file: false alarms with reasons, a demolition, an approval afterwards (补办), in Chinese and English.
        let good = try write([header,
                              "LW-2,误报,2024-07-22,Li,tree shadow,,shadow",
                              "LW-3,已拆除,2024-07-25,Li,,p1.jpg,",
                              "LW-5,false_alarm,2024-08-05,Li,greenhouse film,,greenhouse",
                             ], to: "good.csv")
        result = try CLITests.landwatch(["violations", "import", good, "--db", db])
        XCTAssertEqual(result.status, 0, result.stderr)
        // And one row from a GeoPackage the inspectors filled in QGIS.
        let gpkg = work.appendingPathComponent("checks.gpkg").path
        let writer = try VectorWriter(path: gpkg, driver: "GPKG", layer: "checks", crs: .wgs84(), geometry: .polygon,
                                      fields: ["id", "result", "date", "inspector", "note", "photos", "reason"].map { ($0, .string) })
        try writer.add(Geometry(wkt: "POLYGON ((8.75 50.75,8.751 50.75,8.751 50.751,8.75 50.751,8.75 50.75))"),
                       values: ["id": .string("LW-4"), "result": .string("补办"), "date": .string("2024-08-10"), "inspector": .string("Zhao"),
                                "note": .string("批准文号 2024-17"), "photos": .null, "reason": .null])
        try writer.close()
        result = try CLITests.landwatch(["violations", "import", gpkg, "--db", db])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try registry.violations().map(\.status), [.confirmed, .falseAlarm, .demolished, .approvedLate, .falseAlarm])
        XCTAssertEqual(try registry.history(id: "LW-5").last?.reason_code, "greenhouse")

        // Hand count: all 5 checked; real = LW-1 confirmed, LW-3 demolished, LW-4 approved late (3); false alarms LW-2
        // (shadow), LW-5 (greenhouse): precision 3/5. UC (LW-1..4): 3 real, 1 false: 0.75. FL (LW-4, LW-5): 1/2.
        // July (LW-1..3): 2 real, 1 false: 0.667; August (LW-4, LW-5): 0.5. No zone layer made these: one zone row, (no zone).
        let stats = try CLITests.landwatch(["violations", "stats", "--db", db])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let rows = stats.stdout.replacingOccurrences(of: "\u{FEFF}", with: "").split(separator: "\r\n").map(String.init)
        XCTAssertEqual(rows.first, "group,value,sent,checked,confirmed,approved_late,demolished,rectified,false_alarm,false_alarm_shadow,false_alarm_harvest,false_alarm_cloud,false_alarm_misregistration,false_alarm_greenhouse,false_alarm_other,precision")
        XCTAssertEqual(Array(rows.dropFirst()), [
            "all,,5,5,1,1,1,0,2,1,0,0,0,1,0,0.600",
            "rule,FL,2,2,0,1,0,0,1,0,0,0,0,1,0,0.500",
            "rule,UC,4,4,1,1,1,0,1,1,0,0,0,0,0,0.750",
            "zone,(no zone),5,5,1,1,1,0,2,1,0,0,0,1,0,0.600",
            "month,2024-07,3,3,1,0,1,0,1,1,0,0,0,0,0,0.667",
            "month,2024-08,2,2,0,1,0,0,1,0,0,0,0,1,0,0.500",
        ])
    }
}
