import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The registry in a PostgreSQL database, shared by the workers of a sharded night: the same tables and semantics as
/// the SQLite file. Each scene is recorded in one transaction that first takes a transaction-scoped advisory lock, so
/// that workers writing at once match patches against each other's violations, never duplicating or losing one;
/// the primary keys and the unique content hash back that up. Schema migrations run under another advisory lock.
public final class PostgresRegistry: RegistryStore, @unchecked Sendable {  // statements on `connection` run under `lock`
    public let location: String
    private let group: MultiThreadedEventLoopGroup
    private let connection: PostgresConnection
    private let logger = Logger(label: "landwatch.registry")
    /// One statement at a time on the connection (the nightly is one thread; exports too).
    private let lock = NSLock()

    /// Advisory lock keys: one for recording scenes, one for migrations.
    static let trackingLock: Int64 = 0x4c57_5452  // "LWTR"
    static let migrationLock: Int64 = 0x4c57_4d47  // "LWMG"

    /// The migrations this landwatch knows, oldest first (the same as the SQLite registry's).
    static let migrations: [(id: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE scene (id text PRIMARY KEY, sensor text NOT NULL, date text NOT NULL, footprint_wkt text,
              cloud_share double precision, content_hash text NOT NULL UNIQUE, path text NOT NULL, status text NOT NULL,
              failure_reason text, recorded_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE run (id bigserial PRIMARY KEY, scene_id text NOT NULL REFERENCES scene(id), baseline text,
              started timestamptz NOT NULL, finished timestamptz, pipeline_sha256 text NOT NULL, versions text NOT NULL,
              exit_status text NOT NULL, outputs text)
            """,
            """
            CREATE TABLE violation (id text PRIMARY KEY, geometry_wkt text NOT NULL, min_lon double precision NOT NULL,
              min_lat double precision NOT NULL, max_lon double precision NOT NULL, max_lat double precision NOT NULL,
              rules text NOT NULL, area_m2 double precision NOT NULL, first_seen text NOT NULL, last_seen text NOT NULL,
              first_scene text NOT NULL, last_scene text NOT NULL, status text NOT NULL, dismissed_by text,
              dismissed_reason text, dismissed_at timestamptz)
            """,
            "CREATE INDEX violation_box ON violation (min_lon, max_lon, min_lat, max_lat)",
        ]),
        ("v2", Schema.v2Postgres),
        ("v3", Schema.v3Postgres),
        ("v4", Schema.v4Postgres),
        ("v5", Schema.v5Postgres),
    ]

    /// Connects and migrates. The password comes from the URL only when it came from the environment
    /// (`LANDWATCH_DB_URL`), else from `PGPASSWORD`; messages never show it.
    public init(url text: String, passwordAllowedInURL: Bool, environment: [String: String]) throws(RegistryError) {
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw RegistryError("'\(Self.redacted(text))' is not a PostgreSQL URL: write postgres://USER@HOST:PORT/DATABASE")
        }
        if url.password != nil, !passwordAllowedInURL {
            throw RegistryError("the database URL on the command line holds a password, which every user of the machine can see; "
                                + "give the URL in LANDWATCH_DB_URL, or the password in PGPASSWORD")
        }
        let user = url.user ?? environment["PGUSER"] ?? "landwatch"
        let port = url.port ?? 5432
        let database = url.path.hasPrefix("/") && url.path.count > 1 ? String(url.path.dropFirst()) : user
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard mode == "disable" || mode == "prefer" || mode == "allow" else {
            throw RegistryError("sslmode=\(mode): TLS to the registry database is not built yet; use sslmode=disable inside the cluster's network")
        }
        location = "postgres://\(user)@\(host):\(port)/\(database)"
        let password = url.password ?? environment["PGPASSWORD"]
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                             database: database, tls: .disable)
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw RegistryError("cannot connect to the registry database at \(host):\(port) (database \(database), user \(user)): "
                                + Self.reason(error))
        }
        do {
            try migrate()
        } catch {
            throw RegistryError(error, registry: location)
        }
    }

    deinit {
        _ = try? connection.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Why a connection or statement failed, in one line, without the password.
    static func reason(_ error: Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            if let underlying = psql.underlying { return "\(underlying)" }
            return "\(psql.code)"
        }
        return "\(error)"
    }

    public static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? text
    }

    // MARK: - Statements

    @discardableResult
    func run(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
        do {
            return try connection.query(query, logger: logger).wait().rows.map { $0.makeRandomAccess() }
        } catch {
            throw RegistryError("the registry \(location): \(Self.reason(error))")
        }
    }

    /// Runs `body` in one transaction holding the advisory lock `key`; rolls back when it throws.
    func transaction<T>(lock key: Int64, _ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try run("BEGIN")
        do {
            try run("SELECT pg_advisory_xact_lock(\(key))")
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    func read<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func migrate() throws {
        try transaction(lock: Self.migrationLock) {
            try run("CREATE TABLE IF NOT EXISTS landwatch_schema (id text PRIMARY KEY, applied_at timestamptz NOT NULL)")
            let applied = try run("SELECT id FROM landwatch_schema ORDER BY id").map { try $0["id"].decode(String.self) }
            let known = Self.migrations.map(\.id)
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw RegistryError("\(location) was written by a newer landwatch (schema \(unknown); this one knows up to "
                                    + "\(known.last ?? "?")): refusing to migrate it down; use the newer landwatch")
            }
            for migration in Self.migrations where !applied.contains(migration.id) {
                for statement in migration.statements { try run(PostgresQuery(unsafeSQL: statement)) }
                try run("INSERT INTO landwatch_schema (id, applied_at) VALUES (\(migration.id), \(Date()))")
            }
        }
    }

    // MARK: - Rows

    static func scene(_ row: PostgresRandomAccessRow) throws -> SceneRecord {
        var scene = SceneRecord(id: try row["id"].decode(String.self), sensor: try row["sensor"].decode(String.self),
                                date: try row["date"].decode(String.self), footprintWKT: try row["footprint_wkt"].decode(String?.self),
                                cloudShare: try row["cloud_share"].decode(Double?.self), contentHash: try row["content_hash"].decode(String.self),
                                path: try row["path"].decode(String.self), status: try row["status"].decode(String.self),
                                failureReason: try row["failure_reason"].decode(String?.self))
        scene.recorded_at = try row["recorded_at"].decode(Date.self)
        scene.attempts = try row["attempts"].decode(Int.self)
        scene.stac_item = try row["stac_item"].decode(String?.self)
        return scene
    }

    static func status(_ text: String) throws -> ViolationStatus {
        guard let status = ViolationStatus(rawValue: text) else { throw RegistryError("unknown violation status '\(text)' in the registry") }
        return status
    }

    static func violation(_ row: PostgresRandomAccessRow) throws -> ViolationRecord {
        ViolationRecord(id: try row["id"].decode(String.self), geometry_wkt: try row["geometry_wkt"].decode(String.self),
                        min_lon: try row["min_lon"].decode(Double.self), min_lat: try row["min_lat"].decode(Double.self),
                        max_lon: try row["max_lon"].decode(Double.self), max_lat: try row["max_lat"].decode(Double.self),
                        rules: try row["rules"].decode(String.self), area_m2: try row["area_m2"].decode(Double.self),
                        first_seen: try row["first_seen"].decode(String.self), last_seen: try row["last_seen"].decode(String.self),
                        first_scene: try row["first_scene"].decode(String.self), last_scene: try row["last_scene"].decode(String.self),
                        status: try status(row["status"].decode(String.self)), dismissed_by: try row["dismissed_by"].decode(String?.self),
                        dismissed_reason: try row["dismissed_reason"].decode(String?.self),
                        dismissed_at: try row["dismissed_at"].decode(Date?.self),
                        before_class: try row["before_class"].decode(Int?.self), after_class: try row["after_class"].decode(Int?.self),
                        score: try row["score"].decode(Int?.self), resolved_date: try row["resolved_date"].decode(String?.self),
                        resolved_scene: try row["resolved_scene"].decode(String?.self),
                        attributes: try row["attributes"].decode(String?.self))
    }

    static func event(_ row: PostgresRandomAccessRow) throws -> ViolationEvent {
        guard let kind = ViolationEvent.Kind(rawValue: try row["event"].decode(String.self)) else { throw RegistryError("unknown event in the registry") }
        var event = ViolationEvent(violationID: try row["violation_id"].decode(String.self), sceneID: try row["scene_id"].decode(String?.self),
                                   date: try row["date"].decode(String.self), event: kind, status: try status(row["status"].decode(String.self)),
                                   areaM2: try row["area_m2"].decode(Double?.self), score: try row["score"].decode(Int?.self),
                                   by: try row["changed_by"].decode(String?.self), reason: try row["reason"].decode(String?.self),
                                   recordedAt: try row["recorded_at"].decode(Date.self))
        event.id = try row["id"].decode(Int64.self)
        event.reason_code = try row["reason_code"].decode(String?.self)
        return event
    }

    func save(scene s: SceneRecord) throws {
        try run("""
            INSERT INTO scene (id, sensor, date, footprint_wkt, cloud_share, content_hash, path, status, failure_reason, recorded_at, attempts,
              stac_item)
            VALUES (\(s.id), \(s.sensor), \(s.date), \(s.footprint_wkt), \(s.cloud_share), \(s.content_hash), \(s.path), \(s.status),
                    \(s.failure_reason), \(s.recorded_at), \(s.attempts), \(s.stac_item))
            ON CONFLICT (id) DO UPDATE SET sensor = EXCLUDED.sensor, date = EXCLUDED.date, footprint_wkt = EXCLUDED.footprint_wkt,
              cloud_share = EXCLUDED.cloud_share, content_hash = EXCLUDED.content_hash, path = EXCLUDED.path, status = EXCLUDED.status,
              failure_reason = EXCLUDED.failure_reason, recorded_at = EXCLUDED.recorded_at, attempts = EXCLUDED.attempts,
              stac_item = EXCLUDED.stac_item
            """)
    }

    func save(violation v: ViolationRecord) throws {
        try run("""
            INSERT INTO violation (id, geometry_wkt, min_lon, min_lat, max_lon, max_lat, rules, area_m2, first_seen, last_seen,
              first_scene, last_scene, status, dismissed_by, dismissed_reason, dismissed_at, before_class, after_class, score,
              resolved_date, resolved_scene, attributes)
            VALUES (\(v.id), \(v.geometry_wkt), \(v.min_lon), \(v.min_lat), \(v.max_lon), \(v.max_lat), \(v.rules), \(v.area_m2),
                    \(v.first_seen), \(v.last_seen), \(v.first_scene), \(v.last_scene), \(v.status.rawValue), \(v.dismissed_by),
                    \(v.dismissed_reason), \(v.dismissed_at), \(v.before_class), \(v.after_class), \(v.score), \(v.resolved_date),
                    \(v.resolved_scene), \(v.attributes))
            ON CONFLICT (id) DO UPDATE SET geometry_wkt = EXCLUDED.geometry_wkt, min_lon = EXCLUDED.min_lon, min_lat = EXCLUDED.min_lat,
              max_lon = EXCLUDED.max_lon, max_lat = EXCLUDED.max_lat, rules = EXCLUDED.rules, area_m2 = EXCLUDED.area_m2,
              first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, first_scene = EXCLUDED.first_scene,
              last_scene = EXCLUDED.last_scene, status = EXCLUDED.status, dismissed_by = EXCLUDED.dismissed_by,
              dismissed_reason = EXCLUDED.dismissed_reason, dismissed_at = EXCLUDED.dismissed_at, before_class = EXCLUDED.before_class,
              after_class = EXCLUDED.after_class, score = EXCLUDED.score, resolved_date = EXCLUDED.resolved_date,
              resolved_scene = EXCLUDED.resolved_scene, attributes = EXCLUDED.attributes
            """)
    }

    // MARK: - RegistryStore

    public func hasScene(contentHash: String) throws -> Bool {
        try read { try !run("SELECT 1 FROM scene WHERE content_hash = \(contentHash)").isEmpty }
    }

    public func scene(contentHash: String) throws -> SceneRecord? {
        try read { try run("SELECT * FROM scene WHERE content_hash = \(contentHash)").first.map(Self.scene) }
    }

    public func runs() throws -> [RunEntry] {
        try read {
            try run("SELECT * FROM run ORDER BY scene_id, id").map { row in
                var entry = RunEntry(sceneID: try row["scene_id"].decode(String.self), baseline: try row["baseline"].decode(String?.self),
                                     started: try row["started"].decode(Date.self), finished: try row["finished"].decode(Date?.self),
                                     pipelineSHA256: try row["pipeline_sha256"].decode(String.self),
                                     versions: try row["versions"].decode(String.self), exitStatus: try row["exit_status"].decode(String.self),
                                     outputs: [])
                entry.id = try row["id"].decode(Int64.self)
                entry.outputs = try row["outputs"].decode(String?.self)
                return entry
            }
        }
    }

    public func scenes() throws -> [SceneRecord] {
        try read { try run("SELECT * FROM scene ORDER BY date, id").map(Self.scene) }
    }

    public func recordFailure(_ scene: SceneRecord) throws {
        try transaction(lock: Self.trackingLock) { try save(scene: scene) }
    }

    public func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run entry: RunEntry?,
                       overlap: Double) throws -> NightOutcome {
        try transaction(lock: Self.trackingLock) {
            try Tracking.record(scene: scene, detections: detections, observations: observations, run: entry, overlap: overlap,
                                in: PostgresTracking(registry: self))
        }
    }

    public func setStatuses(_ changes: [StatusChange]) throws {
        try transaction(lock: Self.trackingLock) {
            for change in changes { try Tracking.setStatus(change, location: location, in: PostgresTracking(registry: self)) }
        }
    }

    public func violations(statuses: Set<ViolationStatus>?, since: String?) throws -> [ViolationRecord] {
        let list = statuses.map { $0.map(\.rawValue).sorted().joined(separator: ",") }
        return try read {
            try run("""
                SELECT * FROM violation WHERE (\(list)::text IS NULL OR status = ANY(string_to_array(\(list), ',')))
                  AND (\(since)::text IS NULL OR last_seen >= \(since))
                ORDER BY first_seen, id
                """).map(Self.violation)
        }
    }

    public func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord] {
        try read { try PostgresTracking(registry: self).violations(meeting: box) }
    }

    public func violation(id: String) throws -> ViolationRecord? {
        try read { try PostgresTracking(registry: self).violation(id: id) }
    }

    public func history(id: String) throws -> [ViolationEvent] {
        try read { try run("SELECT * FROM violation_event WHERE violation_id = \(id) ORDER BY date, id").map(Self.event) }
    }

    /// Tracking's statements, inside the transaction ``record(scene:detections:observations:run:overlap:)`` holds.
    struct PostgresTracking: TrackingTransaction {
        let registry: PostgresRegistry

        func save(scene: SceneRecord) throws { try registry.save(scene: scene) }

        func replaceRun(_ entry: RunEntry) throws {
            try registry.run("DELETE FROM run WHERE scene_id = \(entry.scene_id)")
            try registry.run("""
                INSERT INTO run (scene_id, baseline, started, finished, pipeline_sha256, versions, exit_status, outputs)
                VALUES (\(entry.scene_id), \(entry.baseline), \(entry.started), \(entry.finished), \(entry.pipeline_sha256),
                        \(entry.versions), \(entry.exit_status), \(entry.outputs))
                """)
        }

        func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord] {
            try registry.run("""
                SELECT * FROM violation WHERE min_lon <= \(box.maxX) AND max_lon >= \(box.minX) AND min_lat <= \(box.maxY)
                  AND max_lat >= \(box.minY) ORDER BY id
                """).map(PostgresRegistry.violation)
        }

        func violation(id: String) throws -> ViolationRecord? {
            try registry.run("SELECT * FROM violation WHERE id = \(id)").first.map(PostgresRegistry.violation)
        }

        func save(violation: ViolationRecord) throws { try registry.save(violation: violation) }

        func removeEvents(scene: String) throws {
            try registry.run("DELETE FROM violation_event WHERE scene_id = \(scene) AND event <> 'status'")
        }

        func add(event e: ViolationEvent) throws {
            try registry.run("""
                INSERT INTO violation_event (violation_id, scene_id, date, event, status, area_m2, score, changed_by, reason, reason_code,
                  recorded_at)
                VALUES (\(e.violation_id), \(e.scene_id), \(e.date), \(e.event.rawValue), \(e.status.rawValue), \(e.area_m2), \(e.score),
                        \(e.changed_by), \(e.reason), \(e.reason_code), \(e.recorded_at))
                """)
        }
    }
}
