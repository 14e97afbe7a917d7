import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchRegistry
import LandwatchStages
import XCTest
import LandwatchTestSupport
import LandwatchProducts

/// Issue 21 over six nights of the real Marburg scene (testdata/nightly: a 4 x 4 pixel construction planted inside the
/// red line): one id on every list, chip, export and history; the status from what the ground shows against the
/// baseline the site was first detected on; cloud is "not observed"; `--force` leaves the same registry.
final class EnforcementRecordTests: XCTestCase {
    var work: URL!
    var inbox: URL { work.appendingPathComponent("inbox") }
    var out: URL { work.appendingPathComponent("out") }
    var db: String { out.appendingPathComponent("registry.sqlite").path }
    var pipeline: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-record")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        pipeline = try NightlyTests.shortNightsPipeline(in: work)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// Delivers a copy of a fixture, each band changed by `edit(band values, width)`, under its own content hash.
    func deliver(_ fixture: String, as name: String, date: String, edit: ((inout [Float], Int) -> Void)? = nil) throws {
        let target = inbox.appendingPathComponent("\(name).tif").path
        try Dataset.open(CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path).copy(to: target, driver: "GTiff").close()
        unlink(target + ".aux.xml")
        if let edit {
            let copy = try Dataset.openForUpdate(target)
            let window = Window(width: copy.width, height: copy.height)
            for band in 1...copy.bandCount {
                var pixels = try copy.band(band).read(window)
                edit(&pixels, copy.width)
                try pixels.withUnsafeBufferPointer { try copy.band(band).write(window, from: $0) }
            }
            try copy.close()
            unlink(target + ".aux.xml")
        }
        // Other bytes, other content hash (GDAL ignores the tail).
        let url = URL(fileURLWithPath: target)
        try (Data(contentsOf: url) + Data(name.utf8)).write(to: url)
        try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(to: inbox.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
    }

    func nightly(_ extra: [String] = []) throws -> CLITests.Result {
        try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"] + extra)
    }

    /// The ids of a scene's lists: CSV, GeoJSON, KML, GeoPackage, the typed list and the chips.
    func listIDs(_ scene: String) throws -> [String: [String]] {
        let folder = out.appendingPathComponent("scenes/\(scene)/violations")
        var ids: [String: [String]] = [:]
        let csv = try String(contentsOf: folder.appendingPathComponent("violations.csv"), encoding: .utf8).split(separator: "\r\n")
        let header = csv[0].replacingOccurrences(of: "\u{FEFF}", with: "").split(separator: ",")
        let idColumn = try XCTUnwrap(header.firstIndex(of: "id"))
        ids["csv"] = csv.dropFirst().map { String($0.split(separator: ",", omittingEmptySubsequences: false)[idColumn]) }
        for (format, field) in [("geojson", "id"), ("gpkg", "id"), ("kml", "Name")] {
            let path = folder.appendingPathComponent("violations.\(format)").path
            ids[format] = try VectorDataset.open(path).attributes(layer: nil, fields: [field]).compactMap { $0.values[field] }
        }
        ids["json"] = try ViolationList.read(folder.appendingPathComponent(ViolationList.fileName)).violations.map(\.id)
        let chips = (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("chips").path)) ?? []
        ids["chips"] = Array(Set(chips.map { $0.replacingOccurrences(of: "-before.png", with: "").replacingOccurrences(of: "-after.png", with: "") })).sorted()
        return ids
    }

    /// The registry as lines: violations and their whole history (without the wall-clock time of recording).
    func snapshot() throws -> [String] {
        let registry = try Registry(path: db)
        return try registry.violations().flatMap { v in
            ["violation \(v.id) \(v.status.rawValue) \(v.first_seen) \(v.last_seen) \(v.area_m2) \(v.rules) \(v.resolved_date ?? "-") \(v.resolved_scene ?? "-")"]
                + (try registry.history(id: v.id)).map { "  \($0.date) \($0.event.rawValue) \($0.status.rawValue) \($0.scene_id ?? "-") \($0.reason ?? "")" }
        }
    }

    // The planted patch: rows 33–36, columns 4–7 of the 41 x 41 scene; the donor built-up pixel at row 0, column 12.
    static func plant(columns: Range<Int>) -> (inout [Float], Int) -> Void {
        { pixels, width in for row in 33..<37 { for col in columns { pixels[row * width + col] = pixels[12] } } }
    }

    func testSixNightsOneIdAndTheStatusFromTheGround() throws {
        // Night 1: the baseline. Night 2 (against night 1): the construction, new.
        try deliver("before.tif", as: "n1", date: "2024-06-30")
        XCTAssertEqual(try nightly().status, 0)
        try deliver("after.tif", as: "n2", date: "2024-07-16")
        var result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        let registry = try Registry(path: db)
        let v = try XCTUnwrap(registry.violations().first)
        XCTAssertEqual(try registry.violations().count, 1)
        XCTAssertEqual(v.status, .new)
        XCTAssertEqual(v.first_scene, try registry.runs().last?.scene_id)
        XCTAssertTrue(v.id.hasPrefix("LW-u"), "the geohash id of write.violations: \(v.id)")
        for (format, ids) in try listIDs(v.first_scene) { XCTAssertEqual(ids, [v.id], "night 2, \(format)") }
        let csv2 = try String(contentsOf: out.appendingPathComponent("scenes/\(v.first_scene)/violations/violations.csv"), encoding: .utf8)
        XCTAssertTrue(csv2.contains("rank,id,status,"), "a status column when a registry is involved")
        XCTAssertTrue(csv2.contains("1,\(v.id),new,"), csv2)

        // Night 3 (against night 1): the construction has grown by a column: another outline, another geohash, the same id.
        try deliver("before.tif", as: "n3", date: "2024-08-01", edit: Self.plant(columns: 4..<9))
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0, persisting 1, resolved 0"), result.stderr)
        let scene3 = try XCTUnwrap(registry.runs().map(\.scene_id).first { $0.contains("2024-08-01") })
        let list3 = try ViolationList.read(out.appendingPathComponent("scenes/\(scene3)/violations/\(ViolationList.fileName)"))
        XCTAssertEqual(list3.violations.map(\.id), [v.id])
        XCTAssertEqual(list3.violations.first?.status, "persisting")
        XCTAssertEqual(list3.violations.first?.pixels, 20)
        for (format, ids) in try listIDs(scene3) { XCTAssertEqual(ids, [v.id], "night 3, \(format)") }
        XCTAssertEqual(try registry.violations().count, 1)
        XCTAssertEqual(try registry.violation(id: v.id)?.area_m2, 18000)

        // Night 4 against night 2, which already shows the building: no patch, but the place is still built against
        // the baseline it was first detected on: persisting (it was resolved before issue 21).
        try deliver("after.tif", as: "n4", date: "2024-08-17")
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0, persisting 1, resolved 0"), result.stderr)
        XCTAssertEqual(try registry.violation(id: v.id)?.status, .persisting)

        // Night 5: cloud (no data) over the site: not observed, nothing changes.
        try deliver("after.tif", as: "n5", date: "2024-09-02") { pixels, width in
            for row in 31..<39 { for col in 2..<11 { pixels[row * width + col] = .nan } }
        }
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0, persisting 0, resolved 0, not observed 1"), result.stderr)
        XCTAssertEqual(try registry.violation(id: v.id)?.status, .persisting)
        XCTAssertEqual(try registry.violation(id: v.id)?.last_seen, "2024-08-17")
        let open = try CLITests.landwatch(["violations", "export", "--db", db, "--status", "open"])
        XCTAssertTrue(open.stdout.contains("\(v.id),persisting,"), open.stdout)

        // Night 6: the original pixels back (demolished and replanted): resolved on this night, naming its scene.
        try deliver("before.tif", as: "n6", date: "2024-09-18")
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0, persisting 0, resolved 1"), result.stderr)
        let resolved = try XCTUnwrap(registry.violation(id: v.id))
        let scene6 = try XCTUnwrap(registry.scenes().first { $0.date == "2024-09-18" }).id
        XCTAssertEqual(resolved.status, .resolved)
        XCTAssertEqual(resolved.resolved_date, "2024-09-18")
        XCTAssertEqual(resolved.resolved_scene, scene6)
        XCTAssertFalse(try CLITests.landwatch(["violations", "export", "--db", db, "--status", "open"]).stdout.contains(v.id))

        // The whole history, under the same id everywhere.
        let show = try CLITests.landwatch(["violations", "show", v.id, "--db", db])
        XCTAssertEqual(show.status, 0, show.stderr)
        let lines = show.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("\(v.id)  resolved  rules "), show.stdout)
        XCTAssertTrue(show.stdout.contains("resolved on 2024-09-18 by scene \(scene6)"), show.stdout)
        let events = lines.filter { $0.hasPrefix("  2024-") }.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        XCTAssertEqual(events.count, 5, show.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  2024-07-16  detected → new  scene \(v.first_scene)  14400 m²") }, show.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  2024-08-01  detected → persisting  scene \(scene3)  18000 m²") }, show.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  2024-08-17  still changed → persisting") }, show.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  2024-09-02  not observed → persisting") && $0.contains("without a class") }, show.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  2024-09-18  restored → resolved  scene \(scene6)") }, show.stdout)
        let export = try CLITests.landwatch(["violations", "export", "--db", db, "--format", "csv"])
        XCTAssertTrue(export.stdout.contains("\r\n\(v.id),resolved,"), export.stdout)
        let missing = try CLITests.landwatch(["violations", "show", "LW-nothing", "--db", db])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("no violation LW-nothing in \(db)"), missing.stderr)

        // --force redoes all six nights: the same registry, ids, statuses and history.
        let expected = try snapshot()
        result = try nightly(["--force"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("scenes new 6, done 6, failed 0"), result.stderr)
        XCTAssertEqual(try snapshot(), expected)

        // The inspector's id is the list's: dismissing it works, it is in the history with who and why, and it stays
        // dismissed whatever the satellite sees, --force included.
        let dismiss = try CLITests.landwatch(["violations", "dismiss", v.id, "--db", db, "--reason", "field check: demolished", "--by", "inspector Wang",
                                              "--date", "2024-09-20"])
        XCTAssertEqual(dismiss.status, 0, dismiss.stderr)
        let dismissedLine = "  2024-09-20  status → dismissed  by inspector Wang  (field check: demolished)"
        XCTAssertTrue(try CLITests.landwatch(["violations", "show", v.id, "--db", db]).stdout.contains(dismissedLine))
        result = try nightly(["--force"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try registry.violations().map(\.id), [v.id])
        XCTAssertEqual(try registry.violation(id: v.id)?.status, .dismissed)
        XCTAssertTrue(try CLITests.landwatch(["violations", "show", v.id, "--db", db]).stdout.contains(dismissedLine))
        // The scene list of a night shows the dismissed site with its status.
        let scene2 = out.appendingPathComponent("scenes/\(v.first_scene)/violations/violations.csv")
        XCTAssertTrue(try String(contentsOf: scene2, encoding: .utf8).contains("1,\(v.id),dismissed,"))
    }

    /// The JSON objects of stderr under --log-format json with this event.
    func events(_ stderr: String, _ event: String) throws -> [[String: Any]] {
        try stderr.split(separator: "\n").map { line -> [String: Any] in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try XCTUnwrap(object, "every line is one JSON object: \(line)")
        }.filter { $0["event"] as? String == event }
    }

    /// A failed scene is retried on later nights up to the param retries (here 1, then 2 by --set), listed in the
    /// night's JSON summary, and shown by `nightly status`; the lock message is JSON too.
    func testFailedScenesAreRetriedUpToTheLimitAndListed() throws {
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: "  baseline_days:", with: "  retries: \"1\"\n  baseline_days:")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        try deliver("before.tif", as: "n1", date: "2024-06-30")
        try Data("not a tiff".utf8).write(to: inbox.appendingPathComponent("broken.tif"))
        try "{\"sensor\": \"landsat8-toa\", \"date\": \"2024-07-16\"}".write(to: inbox.appendingPathComponent("broken.json"), atomically: true, encoding: .utf8)
        var result = try nightly(["--log-format", "json"])
        XCTAssertEqual(result.status, 2, result.stderr)
        var summary = try XCTUnwrap(events(result.stderr, "nightly.summary").first, result.stderr)
        XCTAssertEqual(summary["scenes_new"] as? Int, 2)
        XCTAssertEqual(summary["scenes_done"] as? Int, 1)
        XCTAssertEqual(summary["scenes_failed"] as? Int, 1)
        XCTAssertEqual(summary["result"] as? String, "some_failed")
        var failed = try XCTUnwrap((summary["failed"] as? [[String: Any]])?.first)
        XCTAssertEqual(failed["attempts"] as? Int, 1)
        XCTAssertEqual(failed["state"] as? String, "retrying")
        XCTAssertTrue((failed["reason"] as? String ?? "").contains("broken.tif"), "\(failed)")
        var status = try CLITests.landwatch(["nightly", "status", "--out", out.path])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.hasPrefix("scenes: done 1, failed 1, retrying 0, given up 0\n"), status.stdout)

        // Night 2, nothing new: the failed scene is tried again (the limit raised to 2 by --set), and fails again.
        result = try nightly(["--set", "retries=2"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("scenes new 1, done 0, failed 1 (1 retried)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("(retrying after 2 attempts)"), result.stderr)
        status = try CLITests.landwatch(["nightly", "status", "--out", out.path])
        XCTAssertTrue(status.stdout.hasPrefix("scenes: done 1, failed 0, retrying 1, given up 0\n"), status.stdout)
        XCTAssertTrue(status.stdout.contains("  retrying  landsat8-toa-2024-07-16-"), status.stdout)
        XCTAssertTrue(status.stdout.contains("attempts 2"), status.stdout)

        // Night 3, the same limit: the third attempt fails, the scene is given up.
        result = try nightly(["--log-format", "json", "--set", "retries=2"])
        XCTAssertEqual(result.status, 2, result.stderr)
        summary = try XCTUnwrap(events(result.stderr, "nightly.summary").first, result.stderr)
        XCTAssertEqual(summary["scenes_retried"] as? Int, 1)
        failed = try XCTUnwrap((summary["failed"] as? [[String: Any]])?.first)
        XCTAssertEqual(failed["attempts"] as? Int, 3)
        XCTAssertEqual(failed["state"] as? String, "given_up")
        // Night 4: nothing new, nothing to retry.
        XCTAssertEqual(try nightly(["--set", "retries=2"]).status, 1)
        status = try CLITests.landwatch(["nightly", "status", "--out", out.path])
        XCTAssertTrue(status.stdout.hasPrefix("scenes: done 1, failed 0, retrying 0, given up 1\n"), status.stdout)

        // An unknown param for --set: refused before anything is touched.
        let unknown = try nightly(["--set", "no_such_param=1"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no_such_param"), unknown.stderr)

        // The lock, under --log-format json: one JSON object.
        let lock = open(out.appendingPathComponent("nightly.lock").path, O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(lock, LOCK_EX | LOCK_NB), 0)
        defer { close(lock) }
        let locked = try nightly(["--log-format", "json"])
        XCTAssertEqual(locked.status, 75, locked.stderr)
        let message = try XCTUnwrap(events(locked.stderr, "nightly.locked").first, locked.stderr)
        XCTAssertEqual(message["exit"] as? Int, 75)
        XCTAssertTrue((message["message"] as? String ?? "").contains("another nightly run holds"), "\(message)")
    }

    /// GDAL writes nothing into the inbox: no .properties beside a .tar.gz it read, no .aux.xml beside a GeoTIFF.
    func testNothingIsWrittenIntoTheInbox() throws {
        try deliver("before.tif", as: "n1", date: "2024-06-30")
        try deliver("after.tif", as: "n2", date: "2024-07-16")
        let product = work.appendingPathComponent("product")
        try FileManager.default.createDirectory(at: product, withIntermediateDirectories: true)
        let source = CLITests.root.appendingPathComponent("testdata/marburg-landsat")
        let prefix = "LC08_L1TP_195025_20130707_20170503_01_T1"
        let names = try FileManager.default.contentsOfDirectory(atPath: source.path).filter { $0.hasPrefix(prefix) }.sorted()
        for name in names { try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: product.appendingPathComponent(name)) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", inbox.appendingPathComponent("\(prefix).tar.gz").path, "-C", product.path] + names
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: inbox.path).sorted()
        let result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("scenes new 3, done 3, failed 0"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: inbox.path).sorted(), before)
    }
}
