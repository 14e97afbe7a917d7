import Foundation
import LandwatchGDAL
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

/// A private PostgreSQL server on loopback for one test class: its own cluster in a temporary folder (initdb as the
/// `postgres` user, a password for the `landwatch` role), started on a free port and removed afterwards.
final class PostgresServer {
    let folder: URL
    let port: Int
    let password = "lw-\(UUID().uuidString.prefix(8))"
    let bin: String

    init() throws {
        guard getuid() == 0 else { throw XCTSkip("starting a private PostgreSQL cluster needs root (runuser -u postgres)") }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted() ?? []
        guard let version = versions.last else {
            throw NSError(domain: "PostgresServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "Debian's postgresql is not installed (make deps installs it)"])
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("landwatch-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try password.write(to: folder.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
        try Self.run("/bin/chown", ["-R", "postgres:postgres", folder.path])
        let data = folder.appendingPathComponent("data").path
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/initdb", "-D", data, "-U", "landwatch", "--auth=scram-sha-256",
                                           "--pwfile=\(folder.appendingPathComponent("pw").path)", "-E", "UTF8"])
        // A port below Linux's ephemeral range (32768-60999), where no outgoing connection takes one; another test's
        // server may still hold it: then the next.
        var started: Int?
        var failure: Error?
        for _ in 0..<6 where started == nil {
            let candidate = 20_000 + Int.random(in: 0..<12_000)
            do {
                try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-l", folder.appendingPathComponent("log").path,
                                                   "-w", "-o", "-p \(candidate) -k \(folder.path) -c listen_addresses=127.0.0.1", "start"])
                started = candidate
            } catch {
                failure = error
            }
        }
        guard let started else { throw failure! }
        port = started
        try asPostgres("\(bin)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "landwatch", "-d", "postgres", "-q", "-c",
                                       "CREATE DATABASE landwatch"], environment: ["PGPASSWORD": password])
    }

    /// The URL with the password, as a Secret would put it into LANDWATCH_DB_URL.
    var url: String { "postgres://landwatch:\(password)@127.0.0.1:\(port)/landwatch" }

    func stop() {
        _ = try? asPostgres("\(bin)/pg_ctl", ["-D", folder.appendingPathComponent("data").path, "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    /// Empties the database between tests.
    func reset() throws {
        try asPostgres("\(bin)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "landwatch", "-d", "landwatch", "-q", "-c",
                                       "DROP TABLE IF EXISTS zone_metric, violation_event, run, violation, scene, landwatch_schema CASCADE"], environment: ["PGPASSWORD": password])
    }

    func asPostgres(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "env"] + environment.map { "\($0)=\($1)" } + [program] + arguments)
    }

    /// Runs a program to its end with posix_spawn and waitpid, its messages going to a file. (Foundation's Process
    /// waits for a descriptor every descendant inherits, so it never returns once pg_ctl has started the server.)
    static func run(_ program: String, _ arguments: [String]) throws {
        let messages = "/tmp/landwatch-pg-run-\(UUID().uuidString.prefix(8)).txt"
        defer { unlink(messages) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, messages, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw NSError(domain: "PostgresServer", code: Int(spawned), userInfo: [NSLocalizedDescriptionKey: "cannot start \(program)"]) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: messages, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0, code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            throw NSError(domain: "PostgresServer", code: Int(code),
                          userInfo: [NSLocalizedDescriptionKey: "\(program) \(arguments.joined(separator: " ")): \(text)"])
        }
    }
}

/// The registry on a real PostgreSQL server: sharded workers at once, the same content as a SQLite run.
final class PostgresRegistryTests: XCTestCase {
    nonisolated(unsafe) static var server: PostgresServer?
    var work: URL!
    var inbox: URL { work.appendingPathComponent("inbox") }
    var pipeline: URL!

    override class func tearDown() {
        server?.stop()
        server = nil
    }

    override func setUpWithError() throws {
        if Self.server == nil { Self.server = try PostgresServer() }
        try Self.server!.reset()
        work = TestPaths.temporaryFolder("landwatch-pg")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        pipeline = try NightlyTests.shortNightsPipeline(in: work)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func deliver(_ fixture: String, as name: String, date: String, sensor: String = "landsat8-toa") throws {
        let source = fixture.hasPrefix("/") ? fixture : CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        bytes.append(contentsOf: Array(name.utf8))  // other bytes, other content hash; GDAL ignores the tail
        try bytes.write(to: inbox.appendingPathComponent("\(name).tif"))
        try "{\"sensor\": \"\(sensor)\", \"date\": \"\(date)\"}".write(to: inbox.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
    }

    /// Scenes and violations as lines, store-independent.
    func snapshot(_ store: any RegistryStore) throws -> [String] {
        // Which plan layer is found not to overlap first depends on which stage finishes first: the reason is compared
        // by what it says, not by the layer it names.
        try store.scenes().map { "scene \($0.id) \($0.status) \($0.failure_reason.map { $0.contains("does not overlap the image") ? "a plan layer does not overlap" : $0 } ?? "")" }
            + store.violations().map { "violation \($0.id) \($0.status) \($0.first_seen) \($0.last_seen) \(Int($0.area_m2)) \($0.rules)" }
            // The plan attributes (schema v3) too, but for the chips' paths, which name each run's output root.
            + store.violations().map { v in
                var attributes = v.planAttributes
                attributes?.chip_before = nil
                attributes?.chip_after = nil
                return "attributes \(v.id) \(attributes?.json ?? "none")"
            }
            + store.runs().map { "run \($0.scene_id) \($0.baseline ?? "") \($0.exit_status)" }
            + store.violations().flatMap { v in
                try store.history(id: v.id).map { "event \(v.id) \($0.date) \($0.event.rawValue) \($0.status.rawValue) \($0.scene_id ?? "-") \($0.area_m2 ?? -1) \($0.reason ?? "")" }
            }
    }

    func testFourWorkersAtOnceOnPostgresEndAsOneSQLiteRun() throws {
        let server = try XCTUnwrap(Self.server)
        // Two places with planted changes: Marburg (three nights, the patch planted from night 2) and Slovenia.
        try deliver("before.tif", as: "m1", date: "2024-06-30")
        try deliver("after.tif", as: "m2", date: "2024-07-16")
        try deliver("after.tif", as: "m3", date: "2024-08-01")
        let slovenia = CLITests.root.appendingPathComponent("testdata/slovenia-sentinel2").path
        try deliver("\(slovenia)/S2L1C_20150731_13band.tif", as: "s1", date: "2015-07-31", sensor: "sentinel2-l1c")
        try deliver("\(slovenia)/S2L1C_20150830_13band.tif", as: "s2", date: "2015-08-30", sensor: "sentinel2-l1c")

        let single = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path,
                                             "--out", work.appendingPathComponent("sqlite").path, "--threads", "1"])
        XCTAssertTrue([0, 2].contains(single.status), single.stderr)
        let expected = try snapshot(Registry(path: work.appendingPathComponent("sqlite/registry.sqlite").path))
        XCTAssertTrue(expected.contains { $0.hasPrefix("violation ") && $0.contains(" persisting ") }, "\(expected)")

        let processes = try (1...4).map { k -> (Process, Pipe) in
            let process = Process(), errors = Pipe()
            process.executableURL = CLITests.binary
            process.arguments = ["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", work.appendingPathComponent("pg").path,
                                 "--threads", "1", "--shard", "auto/4"]
            var environment = ProcessInfo.processInfo.environment
            environment["LANDWATCH_DB_URL"] = server.url
            environment["JOB_COMPLETION_INDEX"] = String(k - 1)
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            return (process, errors)
        }
        for (k, (process, errors)) in processes.enumerated() {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertTrue([0, 1, 2].contains(process.terminationStatus), "worker \(k + 1): \(text)")
            XCTAssertFalse(text.contains(server.password), "the password never appears in a log")
        }
        let store = try Registries.open(server.url, fromEnvironment: true)
        XCTAssertEqual(try snapshot(store), expected)
        XCTAssertEqual(Set(try store.violations().map(\.id)).count, try store.violations().count, "no duplicate")

        // Export and dismiss through LANDWATCH_DB_URL.
        let new = try XCTUnwrap(store.violations().first)
        var environment = ["LANDWATCH_DB_URL": server.url]
        let export = try CLITests.landwatch(["violations", "export", "--format", "csv"], environment: environment)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains(new.id), export.stdout)
        let wpzf = work.appendingPathComponent("wpzf.gpkg").path
        let exportWPZF = try CLITests.landwatch(["violations", "export", "--profile", "wpzf", "--format", "gpkg", "--output", wpzf], environment: environment)
        XCTAssertEqual(exportWPZF.status, 0, exportWPZF.stderr)
        XCTAssertEqual(try VectorDataset.open(wpzf).attributes(layer: nil, fields: ["监测图斑编号"]).compactMap { $0.values["监测图斑编号"] }.sorted(),
                       try store.violations().map(\.id).sorted())
        let dismiss = try CLITests.landwatch(["violations", "dismiss", new.id, "--reason", "field check: approved"], environment: environment)
        XCTAssertEqual(dismiss.status, 0, dismiss.stderr)
        XCTAssertEqual(try store.violations(status: .dismissed).map(\.id), [new.id])
        environment["LANDWATCH_DB_URL"] = "postgres://landwatch@127.0.0.1:\(server.port)/landwatch"
        let noPassword = try CLITests.landwatch(["violations", "export"], environment: environment)
        XCTAssertEqual(noPassword.status, 66, noPassword.stderr)
        XCTAssertTrue(noPassword.stderr.contains("127.0.0.1:\(server.port)"), noPassword.stderr)
    }

    /// Four connections recording scenes of one place at the same moment: the patch is one violation, seen by all.
    func testConcurrentWritersNeverDuplicateAViolation() throws {
        let server = try XCTUnwrap(Self.server)
        let square = "{\"type\":\"Polygon\",\"coordinates\":[[[8.70,50.80],[8.71,50.80],[8.71,50.81],[8.70,50.81],[8.70,50.80]]]}"
        // The first night records the patch; then four workers record four later scenes of the place at once.
        let first = try Registries.open(server.url, fromEnvironment: true)
        let footprint = "POLYGON ((8.6 50.7,8.8 50.7,8.8 50.9,8.6 50.9,8.6 50.7))"
        _ = try first.record(scene: SceneRecord(id: "n0", sensor: "s", date: "2024-07-01", footprintWKT: footprint, cloudShare: nil,
                                                contentHash: "h0", path: "p", status: "done"),
                             detections: [Detection(geoJSON: square, rules: "UC", areaM2: 1000)])
        let group = DispatchGroup()
        let failures = Failures()
        let url = server.url
        for k in 1...4 {
            DispatchQueue.global().async(group: group) {
                do {
                    let store = try Registries.open(url, fromEnvironment: true)
                    _ = try store.record(scene: SceneRecord(id: "n\(k)", sensor: "s", date: "2024-07-0\(k + 1)", footprintWKT: footprint,
                                                            cloudShare: nil, contentHash: "h\(k)", path: "p", status: "done"),
                                         detections: [Detection(geoJSON: square, rules: "UC", areaM2: 1000)])
                } catch {
                    failures.add("\(error)")
                }
            }
        }
        group.wait()
        XCTAssertEqual(failures.all, [])
        let violations = try first.violations()
        XCTAssertEqual(violations.count, 1, "\(violations)")
        XCTAssertEqual(violations.first?.status, .persisting)
        XCTAssertEqual(violations.first?.last_seen, "2024-07-05")
        XCTAssertEqual(try first.scenes().count, 5)
    }

    /// Zone metrics (schema v4) round-trip through Postgres as through SQLite, and `landwatch report` draws the same
    /// history from either store.
    func testZoneMetricsAndTheHistoryReportAreTheSameOnPostgresAndSQLite() throws {
        let server = try XCTUnwrap(Self.server)
        let postgres = try PostgresRegistry(url: server.url, passwordAllowedInURL: true, environment: [:])
        let sqlitePath = work.appendingPathComponent("registry.sqlite").path
        let sqlite = try Registry(path: sqlitePath)
        for store in [postgres as any RegistryStore, sqlite] {
            for (night, date) in ["2024-07-16", "2024-08-01"].enumerated() {
                let scene = SceneRecord(id: "s\(night)", sensor: "landsat8-toa", date: date, footprintWKT: nil, cloudShare: nil,
                                        contentHash: "h\(night)", path: "/x", status: "done")
                // The scene with its zone metrics in one transaction, as nightly records them.
                _ = try store.record(scene: scene, detections: [], observations: [], run: nil, overlap: 0.25, zoneMetrics: [
                    ZoneMetricRecord(sceneID: scene.id, date: date, zone: "330102", name: "城西区", greenCoverage: 0.8 + Double(night) / 50,
                                     intensity: 0.17, ecoOccupation: 0.05, suhiProxy: 0.17),
                    ZoneMetricRecord(sceneID: scene.id, date: date, zone: "330103", name: nil, suhiC: 1.5),
                ])
            }
            // Recording a scene again replaces its rows.
            try store.recordZoneMetrics([ZoneMetricRecord(sceneID: "s1", date: "2024-08-01", zone: "330102", name: "城西区", greenCoverage: 0.9)], scene: "s1")
        }
        XCTAssertEqual(try postgres.zoneMetrics(from: nil, to: nil), try sqlite.zoneMetrics(from: nil, to: nil))
        XCTAssertEqual(try postgres.zoneMetrics(from: "2024-08-01", to: nil).count, 1)
        XCTAssertEqual(try postgres.zoneMetrics(from: nil, to: nil).count, 3)
        func summary(_ environment: [String: String], _ db: [String]) throws -> [String: Any] {
            let folder = work.appendingPathComponent("r-\(UUID().uuidString.prefix(6))")
            let result = try CLITests.landwatch(["report"] + db + ["--out", folder.path], environment: environment)
            XCTAssertEqual(result.status, 0, result.stderr)
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("summary.json"))) as! [String: Any]
            object["source"] = nil
            return object
        }
        let fromPostgres = try summary(["LANDWATCH_DB_URL": server.url], [])
        let fromSQLite = try summary([:], ["--db", sqlitePath])
        XCTAssertEqual(fromPostgres as NSDictionary, fromSQLite as NSDictionary)
        XCTAssertEqual(fromPostgres["dates"] as? [String], ["2024-07-16", "2024-08-01"])
    }

    func testBadDatabaseURLsAreOneLineWithoutThePassword() throws {
        let args = ["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", work.appendingPathComponent("out").path]
        let unreachable = try CLITests.landwatch(args + ["--db", "postgres://landwatch@127.0.0.1:1/landwatch"], environment: ["PGPASSWORD": "s3cret-pw"])
        XCTAssertEqual(unreachable.status, 66, unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains("cannot connect to the registry database at 127.0.0.1:1 (database landwatch, user landwatch)"),
                      unreachable.stderr)
        XCTAssertFalse(unreachable.stderr.contains("s3cret-pw"))
        let inURL = try CLITests.landwatch(args + ["--db", "postgres://landwatch:s3cret-pw@127.0.0.1:1/landwatch"])
        XCTAssertEqual(inURL.status, 66, inURL.stderr)
        XCTAssertTrue(inURL.stderr.contains("holds a password, which every user of the machine can see"), inURL.stderr)
        XCTAssertFalse(inURL.stderr.contains("s3cret-pw"))
        let wrongPassword = try CLITests.landwatch(args, environment: ["LANDWATCH_DB_URL": "postgres://landwatch:wrong@127.0.0.1:\(Self.server!.port)/landwatch"])
        XCTAssertEqual(wrongPassword.status, 66, wrongPassword.stderr)
        XCTAssertTrue(wrongPassword.stderr.contains("127.0.0.1:\(Self.server!.port)"), wrongPassword.stderr)
        XCTAssertFalse(wrongPassword.stderr.contains("wrong@"), wrongPassword.stderr)
    }
}

/// Errors collected from concurrent workers.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
