import Foundation
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

final class RegistryTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = TestPaths.temporaryFolder("landwatch-registry")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A square patch in longitude/latitude, `size` degrees a side, as GeoJSON.
    func square(_ lon: Double, _ lat: Double, size: Double = 0.001) -> String {
        let ring = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat)]
        return "{\"type\":\"Polygon\",\"coordinates\":[[" + ring.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]]}"
    }

    let footprint = "POLYGON ((8.7 50.7,8.8 50.7,8.8 50.8,8.7 50.8,8.7 50.7))"

    func scene(_ date: String) -> SceneRecord {
        SceneRecord(id: "S-\(date)", sensor: "landsat8-c2-l2", date: date, footprintWKT: footprint, cloudShare: 0,
                    contentHash: "hash-\(date)", path: "/inbox/\(date).tif", status: "done")
    }

    func testThreeNightsNewThenPersistingAndADismissedPatchNeverReturns() throws {
        let registry = try Registry(path: folder.appendingPathComponent("registry.sqlite").path)
        XCTAssertEqual(try registry.record(scene: scene("2024-07-01"), detections: []), NightOutcome())

        let night2 = try registry.record(scene: scene("2024-07-17"), detections: [
            Detection(geoJSON: square(8.75, 50.75), rules: "UC", areaM2: 8000),
            Detection(geoJSON: square(8.72, 50.72), rules: "FL", areaM2: 8000),
        ])
        XCTAssertEqual(night2.new.count, 2)
        XCTAssertEqual(Set(night2.new).count, 2)

        // Night 3: the first patch again, shifted by a fifth of its size (misregistration): the same violation.
        // The second patch's place is seen restored (what the night's class raster showed there).
        let night3 = try registry.record(scene: scene("2024-08-02"), detections: [
            Detection(geoJSON: square(8.7502, 50.7501), rules: "UC", areaM2: 8100),
        ], observations: [SiteObservation(id: night2.new[1], kind: .restored, note: "16 of 16 clear pixels back to class 3")])
        XCTAssertEqual(night3.new, [])
        XCTAssertEqual(night3.persisting, [night2.new[0]])
        XCTAssertEqual(night3.resolved, [night2.new[1]])
        let resolved = try XCTUnwrap(registry.violation(id: night2.new[1]))
        XCTAssertEqual(resolved.status, .resolved)
        XCTAssertEqual(resolved.resolved_date, "2024-08-02")
        XCTAssertEqual(resolved.resolved_scene, "S-2024-08-02")

        try registry.dismiss(id: night2.new[0], by: "inspector Li", reason: "field check: approved greenhouse")
        let night4 = try registry.record(scene: scene("2024-08-18"), detections: [
            Detection(geoJSON: square(8.75, 50.75), rules: "UC", areaM2: 8000),
        ])
        XCTAssertEqual(night4.new, [])
        XCTAssertEqual(night4.dismissedSeenAgain, [night2.new[0]])
        XCTAssertEqual(try registry.violations(status: .new), [])
        let dismissed = try registry.violations(status: .dismissed)
        XCTAssertEqual(dismissed.map(\.id), [night2.new[0]])
        XCTAssertEqual(dismissed.first?.dismissed_reason, "field check: approved greenhouse")
        XCTAssertEqual(try registry.violations().count, 2, "no duplicate violation")
    }

    /// A night recorded twice (a rerun after a crash) gives the same ids and no duplicate.
    func testARerunOfANightChangesNothing() throws {
        let registry = try Registry(path: folder.appendingPathComponent("registry.sqlite").path)
        let detections = [Detection(geoJSON: square(8.75, 50.75), rules: "UC", areaM2: 8000)]
        let first = try registry.record(scene: scene("2024-07-17"), detections: detections)
        let again = try registry.record(scene: scene("2024-07-17"), detections: detections)
        XCTAssertEqual(first, again)
        XCTAssertEqual(try registry.violations().count, 1)
        XCTAssertTrue(try registry.hasScene(contentHash: "hash-2024-07-17"))
        XCTAssertFalse(try registry.hasScene(contentHash: "hash-2024-07-18"))
    }

    func testAFileThatIsNotSQLiteIsRefused() throws {
        let path = folder.appendingPathComponent("notes.sqlite").path
        try "scene,date\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Registry(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path) is not a landwatch registry: it is not an SQLite database")
        }
    }

    func testARegistryFromANewerLandwatchIsRefused() throws {
        let path = folder.appendingPathComponent("registry.sqlite").path
        _ = try Registry(path: path)
        // What a newer landwatch leaves: a migration this one does not know.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"insert into grdb_migrations values ('v99')\"); c.commit()", path]
        try sqlite.run()
        sqlite.waitUntilExit()
        XCTAssertEqual(sqlite.terminationStatus, 0)
        XCTAssertThrowsError(try Registry(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path) was written by a newer landwatch (schema v99; this one knows up to v5): refusing to migrate it down"), "\(error)")
        }
    }

    /// testdata/registry/registry-v1.sqlite, written by the landwatch of before issue 21 (schema v1), is migrated in
    /// place: every scene, run and violation kept, the dismissal with who and why, and a history made of what v1 knew.
    func testARegistryOfSchemaV1IsMigratedInPlaceNothingLost() throws {
        let fixture = TestPaths.repository
            .appendingPathComponent("testdata/registry/registry-v1.sqlite")
        let path = folder.appendingPathComponent("old.sqlite").path
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
        let registry = try Registry(path: path)
        let scenes = try registry.scenes()
        XCTAssertEqual(scenes.map(\.id), ["landsat8-toa-2024-06-30-dd0a5caa", "landsat8-toa-2024-07-16-0d9f6b82", "landsat8-toa-2024-07-16-b0d4f368"])
        XCTAssertEqual(scenes.map(\.status), ["done", "failed", "done"])
        XCTAssertTrue(scenes[1].failure_reason?.contains("broken.tif") == true)
        XCTAssertEqual(scenes.map(\.attempts), [1, 1, 1])
        XCTAssertEqual(try registry.runs().map(\.scene_id), ["landsat8-toa-2024-07-16-b0d4f368"])
        let violations = try registry.violations()
        XCTAssertEqual(violations.count, 1)
        let v = try XCTUnwrap(violations.first)
        XCTAssertEqual(v.id, "LW-20240716-8ad583e9")
        XCTAssertEqual(v.status, .dismissed)
        XCTAssertEqual(v.dismissed_by, "inspector Wang")
        XCTAssertEqual(v.dismissed_reason, "field check: approved forestry building")
        XCTAssertNotNil(v.dismissed_at)
        XCTAssertEqual(v.area_m2, 14400)
        XCTAssertEqual(v.rules, "UC-P;RL")
        XCTAssertNil(v.before_class, "v1 did not record the classes")
        let history = try registry.history(id: v.id)
        XCTAssertEqual(history.map(\.event), [.detected, .status])
        XCTAssertEqual(history.map(\.status), [.new, .dismissed])
        XCTAssertEqual(history.last?.changed_by, "inspector Wang")
        XCTAssertEqual(history.first?.scene_id, "landsat8-toa-2024-07-16-b0d4f368")
        // Opened again: nothing migrates twice.
        XCTAssertEqual(try Registry(path: path).history(id: v.id).count, 2)
        // The schema refuses a status that is not one of the enum's.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update violation set status='gone'\"); c.commit()", path]
        sqlite.standardError = FileHandle.nullDevice
        try sqlite.run()
        sqlite.waitUntilExit()
        XCTAssertNotEqual(sqlite.terminationStatus, 0, "CHECK (status IN (...)) refuses 'gone'")
    }

    /// The transitions written down on ``ViolationStatus``.
    func testStatusTransitions() {
        for status in ViolationStatus.allCases {
            let again = status.seenAgain(firstTonight: false)
            switch status {
            case .new, .persisting, .resolved, .demolished, .rectified: XCTAssertEqual(again, .persisting, "\(status)")
            case .confirmed, .dismissed, .approvedLate, .falseAlarm: XCTAssertEqual(again, status)
            }
            XCTAssertEqual(status.restored, [.new, .persisting, .confirmed].contains(status) ? .resolved : status, "\(status)")
            XCTAssertEqual(status.isDecided, [.dismissed, .approvedLate, .falseAlarm].contains(status))
        }
        XCTAssertEqual(ViolationStatus.persisting.seenAgain(firstTonight: true), .new, "a rerun of the first scene")
        XCTAssertEqual(ViolationStatus.open, [.new, .persisting])
    }

    /// A site is open while the ground says it is changed, unobserved under cloud, resolved only by a clear view of
    /// the land restored (naming date and scene), and reopened when the patch is detected again; a dismissed one never
    /// moves; a rerun of a night gives the same history.
    func testStatusComesFromWhatTheScenesSawAtThePlace() throws {
        let registry = try Registry(path: folder.appendingPathComponent("registry.sqlite").path)
        let night1 = try registry.record(scene: scene("2024-07-17"), detections: [
            Detection(id: "LW-a", geoJSON: square(8.75, 50.75), rules: "UC", areaM2: 8000, score: 80, beforeClass: 3, afterClass: 5),
            Detection(id: "LW-b", geoJSON: square(8.72, 50.72), rules: "UC", areaM2: 8000, score: 70, beforeClass: 3, afterClass: 5),
        ])
        XCTAssertEqual(night1.new, ["LW-a", "LW-b"], "the list's ids are the registry's")
        try registry.dismiss(id: "LW-b", by: "inspector Li", reason: "approved greenhouse")
        // Night 2 (a year-on-year pair: no patch); the class raster shows the place still built.
        let night2 = try registry.record(scene: scene("2024-08-02"), detections: [], observations: [
            SiteObservation(id: "LW-a", kind: .stillChanged, note: "16 of 16 clear pixels still not class 3"),
            SiteObservation(id: "LW-b", kind: .restored, note: "16 of 16 clear pixels back to class 3"),
        ])
        XCTAssertEqual(night2.persisting, ["LW-a"])
        XCTAssertEqual(night2.resolved, [], "a dismissed site never moves")
        // Night 3: cloud over the site.
        let night3 = try registry.record(scene: scene("2024-08-18"), detections: [], observations: [
            SiteObservation(id: "LW-a", kind: .notObserved, note: "16 of 16 pixels without a class"),
        ])
        XCTAssertEqual(night3.notObserved, ["LW-a"])
        XCTAssertEqual(try registry.violation(id: "LW-a")?.status, .persisting)
        XCTAssertEqual(try registry.violation(id: "LW-a")?.last_seen, "2024-08-02", "not seen on a cloudy night")
        // Night 4: clear, restored.
        let night4 = try registry.record(scene: scene("2024-09-03"), detections: [], observations: [
            SiteObservation(id: "LW-a", kind: .restored, note: "15 of 16 clear pixels back to class 3"),
        ])
        XCTAssertEqual(night4.resolved, ["LW-a"])
        var a = try XCTUnwrap(registry.violation(id: "LW-a"))
        XCTAssertEqual(a.status, .resolved)
        XCTAssertEqual(a.resolved_date, "2024-09-03")
        XCTAssertEqual(a.resolved_scene, "S-2024-09-03")
        // Night 5: built again, detected under another geohash (a slightly different outline): the same violation, reopened.
        let night5 = try registry.record(scene: scene("2024-09-19"), detections: [
            Detection(id: "LW-a2", geoJSON: square(8.7502, 50.7501), rules: "UC", areaM2: 8100, beforeClass: 3, afterClass: 5),
        ])
        XCTAssertEqual(night5.persisting, ["LW-a"])
        XCTAssertEqual(night5.renamed, ["LW-a2": "LW-a"], "told when the list's id was not the registry's")
        a = try XCTUnwrap(registry.violation(id: "LW-a"))
        XCTAssertEqual(a.status, .persisting)
        XCTAssertNil(a.resolved_date)
        let history = try registry.history(id: "LW-a")
        XCTAssertEqual(history.map(\.event), [.detected, .stillChanged, .notObserved, .restored, .detected])
        XCTAssertEqual(history.map(\.status), [.new, .persisting, .persisting, .resolved, .persisting])
        XCTAssertEqual(history.map(\.date), ["2024-07-17", "2024-08-02", "2024-08-18", "2024-09-03", "2024-09-19"])
        XCTAssertEqual(try registry.history(id: "LW-b").map(\.event), [.detected, .status])
        XCTAssertEqual(try registry.history(id: "LW-b").last?.changed_by, "inspector Li")
        // A rerun of night 5: the same registry, the same history.
        let before = try registry.violations()
        _ = try registry.record(scene: scene("2024-09-19"), detections: [
            Detection(id: "LW-a", geoJSON: square(8.7502, 50.7501), rules: "UC", areaM2: 8100, beforeClass: 3, afterClass: 5),
        ])
        XCTAssertEqual(try registry.violations(), before)
        XCTAssertEqual(try registry.history(id: "LW-a").map(\.event), history.map(\.event))
        XCTAssertEqual(try registry.violations().count, 2, "never a second violation")
    }

    /// Workers started at once on a registry that does not exist yet all create it and migrate it, one of them in
    /// fact, the others finding it done (one of four nightly shards failed with 'table "scene" already exists').
    func testWorkersOpeningANewRegistryAtOnceAllSucceed() throws {
        for attempt in 0..<20 {
            let path = folder.appendingPathComponent("registry-\(attempt).sqlite").path
            let failures = FailureList()
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do { _ = try Registry(path: path) } catch { failures.append("\(error)") }
            }
            XCTAssertEqual(failures.items, [], "attempt \(attempt)")
            XCTAssertFalse(try Registry(path: path).hasScene(contentHash: "none"))
        }
    }
}

/// Errors gathered from concurrent workers.
final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ item: String) { lock.withLock { list.append(item) } }
    var items: [String] { lock.withLock { list } }
}
