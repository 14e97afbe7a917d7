import Foundation
import LandwatchRegistry
import XCTest

final class RegistryTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("landwatch-registry-\(UUID().uuidString)")
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
        let night3 = try registry.record(scene: scene("2024-08-02"), detections: [
            Detection(geoJSON: square(8.7502, 50.7501), rules: "UC", areaM2: 8100),
        ])
        XCTAssertEqual(night3.new, [])
        XCTAssertEqual(night3.persisting, [night2.new[0]])
        // The second patch's place was seen again without it: resolved.
        XCTAssertEqual(night3.resolved, [night2.new[1]])

        try registry.dismiss(id: night2.new[0], by: "inspector Li", reason: "field check: approved greenhouse")
        let night4 = try registry.record(scene: scene("2024-08-18"), detections: [
            Detection(geoJSON: square(8.75, 50.75), rules: "UC", areaM2: 8000),
        ])
        XCTAssertEqual(night4.new, [])
        XCTAssertEqual(night4.dismissedSeenAgain, [night2.new[0]])
        XCTAssertEqual(try registry.violations(status: "new"), [])
        let dismissed = try registry.violations(status: "dismissed")
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
            XCTAssertTrue("\(error)".hasPrefix("\(path) was written by a newer landwatch (schema v99; this one knows up to v1): refusing to migrate it down"), "\(error)")
        }
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
