import Foundation
import GRDB
import LandwatchGDAL

/// A patch in one night's violation list.
public struct Detection: Sendable {
    /// GeoJSON geometry in WGS84 (as violations.geojson carries it).
    public var geoJSON: String
    /// Rule codes, `;`-separated.
    public var rules: String
    public var areaM2: Double

    public init(geoJSON: String, rules: String, areaM2: Double) {
        self.geoJSON = geoJSON
        self.rules = rules
        self.areaM2 = areaM2
    }
}

/// A scene as recorded.
public struct SceneRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "scene"
    public var id: String
    public var sensor: String
    public var date: String
    public var footprint_wkt: String?
    public var cloud_share: Double?
    public var content_hash: String
    public var path: String
    /// `done` or `failed`.
    public var status: String
    public var failure_reason: String?
    public var recorded_at: Date

    public init(id: String, sensor: String, date: String, footprintWKT: String?, cloudShare: Double?, contentHash: String,
                path: String, status: String, failureReason: String? = nil) {
        self.id = id
        self.sensor = sensor
        self.date = date
        footprint_wkt = footprintWKT
        cloud_share = cloudShare
        content_hash = contentHash
        self.path = path
        self.status = status
        failure_reason = failureReason
        recorded_at = Date()
    }
}

/// One pipeline run for a scene, as recorded with it.
public struct RunEntry: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"
    public var id: Int64?
    public var scene_id: String
    public var baseline: String?
    public var started: Date
    public var finished: Date?
    public var pipeline_sha256: String
    public var versions: String
    public var exit_status: String
    public var outputs: String?

    public init(sceneID: String, baseline: String?, started: Date, finished: Date?, pipelineSHA256: String, versions: String,
                exitStatus: String, outputs: [String]) {
        scene_id = sceneID
        self.baseline = baseline
        self.started = started
        self.finished = finished
        pipeline_sha256 = pipelineSHA256
        self.versions = versions
        exit_status = exitStatus
        self.outputs = outputs.joined(separator: "\n")
    }
}

/// A violation as tracked across nights.
public struct ViolationRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "violation"
    public var id: String
    public var geometry_wkt: String
    public var min_lon: Double, min_lat: Double, max_lon: Double, max_lat: Double
    public var rules: String
    public var area_m2: Double
    public var first_seen: String
    public var last_seen: String
    public var first_scene: String
    public var last_scene: String
    /// new, persisting, resolved or dismissed.
    public var status: String
    public var dismissed_by: String?
    public var dismissed_reason: String?
    public var dismissed_at: Date?
}

/// What one night changed.
public struct NightOutcome: Sendable, Equatable {
    public var new: [String] = []
    public var persisting: [String] = []
    public var resolved: [String] = []
    /// Dismissed patches detected again: they stay dismissed and are not reported as new.
    public var dismissedSeenAgain: [String] = []

    public init() {}
}

extension Registry {
    /// True when a scene with this content hash was already recorded (done or failed).
    public func hasScene(contentHash: String) throws -> Bool {
        try database.read { db in try SceneRecord.filter(Column("content_hash") == contentHash).fetchCount(db) > 0 }
    }

    public func runs() throws -> [RunEntry] {
        try database.read { db in try RunEntry.order(Column("scene_id")).fetchAll(db) }
    }

    public func scenes() throws -> [SceneRecord] {
        try database.read { db in try SceneRecord.order(Column("date"), Column("id")).fetchAll(db) }
    }

    /// Records a scene that could not be processed, with the reason.
    public func recordFailure(_ scene: SceneRecord) throws {
        try database.write { db in try scene.save(db) }
    }

    /// Records a processed scene and its detections in one transaction (see ``Tracking/record(scene:detections:run:overlap:in:)``).
    public func record(scene: SceneRecord, detections: [Detection], run: RunEntry?, overlap: Double) throws -> NightOutcome {
        try database.write { db -> NightOutcome in
            try Tracking.record(scene: scene, detections: detections, run: run, overlap: overlap, in: SQLiteTracking(db: db))
        }
    }

    /// Marks a violation as legal after a field check, so that it never comes back as new.
    public func dismiss(id: String, by: String, reason: String) throws {
        try database.write { db in
            guard var record = try ViolationRecord.fetchOne(db, key: id) else {
                throw RegistryError("no violation \(id) in \(path)")
            }
            record.status = "dismissed"
            record.dismissed_by = by
            record.dismissed_reason = reason
            record.dismissed_at = Date()
            try record.update(db)
        }
    }

    /// Violations with a status (all when nil) last seen on or after `since` (YYYY-MM-DD).
    public func violations(status: String?, since: String?) throws -> [ViolationRecord] {
        try database.read { db in
            var request = ViolationRecord.all()
            if let status { request = request.filter(Column("status") == status) }
            if let since { request = request.filter(Column("last_seen") >= since) }
            return try request.order(Column("first_seen"), Column("id")).fetchAll(db)
        }
    }

}

/// FNV-1a, 64 bits: a hash that is the same on every machine and every run (Swift's Hasher is seeded per process),
/// for violation ids and for choosing shards.
public enum StableHash {
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// The hash as 16 hex digits.
    public static func hex(_ text: String) -> String { String(fnv1a(text), radix: 16).leftPadded(to: 16) }
}

/// What tracking needs from a registry store, inside one transaction.
protocol TrackingTransaction {
    func save(scene: SceneRecord) throws
    /// Replaces the scene's run row (a rerun of the same scene).
    func replaceRun(_ run: RunEntry) throws
    /// Violations whose bounding boxes meet the box.
    func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord]
    /// Violations that are new or persisting.
    func activeViolations() throws -> [ViolationRecord]
    /// Inserts the violation or updates the one with its id.
    func save(violation: ViolationRecord) throws
}

/// Tracking violations across nights, the same on every store.
enum Tracking {
    /// Records a processed scene and its detections: a patch overlapping a tracked violation (by area: the overlap
    /// covers at least `overlap` of the smaller of the two) is that violation, persisting; others are new; tracked
    /// violations inside the scene's footprint that were not detected again are resolved. Call inside one transaction.
    static func record(scene: SceneRecord, detections: [Detection], run: RunEntry?, overlap: Double,
                       in store: some TrackingTransaction) throws -> NightOutcome {
        let footprint = try scene.footprint_wkt.map { try Geometry(wkt: $0) }
        var outcome = NightOutcome()
        try store.save(scene: scene)
        if let run { try store.replaceRun(run) }
        var matched = Set<String>()
        for detection in detections {
            let geometry = try Geometry(geoJSON: detection.geoJSON)
            let box = geometry.envelope
            var best: (record: ViolationRecord, share: Double)?
            for candidate in try store.violations(meeting: box) {
                let other = try Geometry(wkt: candidate.geometry_wkt)
                guard let common = geometry.intersection(other) else { continue }
                let share = common.area / max(min(geometry.area, other.area), 1e-18)
                if share >= overlap, share > (best?.share ?? 0) { best = (candidate, share) }
            }
            if var record = best?.record {
                matched.insert(record.id)
                record.last_seen = scene.date
                record.last_scene = scene.id
                if record.status == "dismissed" {
                    outcome.dismissedSeenAgain.append(record.id)
                } else {
                    // Seen on an earlier night (or earlier on a rerun of this one): persisting.
                    let firstTonight = record.first_scene == scene.id
                    record.status = firstTonight ? "new" : "persisting"
                    record.geometry_wkt = geometry.wkt
                    record.area_m2 = detection.areaM2
                    record.rules = detection.rules
                    if firstTonight { outcome.new.append(record.id) } else { outcome.persisting.append(record.id) }
                }
                try store.save(violation: record)
            } else {
                let wkt = geometry.wkt
                let id = "LW-\(scene.date.replacingOccurrences(of: "-", with: ""))-\(StableHash.hex(wkt).prefix(8))"
                let record = ViolationRecord(id: id, geometry_wkt: wkt, min_lon: box.minX, min_lat: box.minY, max_lon: box.maxX,
                                             max_lat: box.maxY, rules: detection.rules, area_m2: detection.areaM2,
                                             first_seen: scene.date, last_seen: scene.date, first_scene: scene.id,
                                             last_scene: scene.id, status: "new")
                try store.save(violation: record)
                matched.insert(id)
                outcome.new.append(id)
            }
        }
        // Tracked patches whose place this scene saw again without the change: resolved.
        if let footprint {
            for var record in try store.activeViolations() where !matched.contains(record.id) && record.last_scene != scene.id {
                let geometry = try Geometry(wkt: record.geometry_wkt)
                guard let inside = geometry.intersection(footprint), inside.area >= 0.99 * geometry.area else { continue }
                record.status = "resolved"
                record.last_seen = scene.date
                record.last_scene = scene.id
                try store.save(violation: record)
                outcome.resolved.append(record.id)
            }
        }
        return outcome
    }
}

/// Tracking on the SQLite registry (GRDB), inside its write transaction.
struct SQLiteTracking: TrackingTransaction {
    let db: Database

    func save(scene: SceneRecord) throws { try scene.save(db) }

    func replaceRun(_ run: RunEntry) throws {
        try RunEntry.filter(Column("scene_id") == run.scene_id).deleteAll(db)
        try run.insert(db)
    }

    func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord] {
        try ViolationRecord
            .filter(Column("min_lon") <= box.maxX && Column("max_lon") >= box.minX && Column("min_lat") <= box.maxY && Column("max_lat") >= box.minY)
            .order(Column("id"))
            .fetchAll(db)
    }

    func activeViolations() throws -> [ViolationRecord] {
        try ViolationRecord.filter(["new", "persisting"].contains(Column("status"))).order(Column("id")).fetchAll(db)
    }

    func save(violation: ViolationRecord) throws { try violation.save(db) }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
