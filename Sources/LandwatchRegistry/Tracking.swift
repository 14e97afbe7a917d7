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

    /// Records a processed scene and its detections in one transaction: a patch overlapping a tracked violation (by
    /// area: the overlap covers at least `overlap` of the smaller of the two) is that violation, persisting; others
    /// are new; tracked violations inside the scene's footprint that were not detected again are resolved.
    public func record(scene: SceneRecord, detections: [Detection], run: RunEntry? = nil, overlap: Double = 0.25) throws -> NightOutcome {
        let footprint = try scene.footprint_wkt.map { try Geometry(wkt: $0) }
        return try database.write { db -> NightOutcome in
            var outcome = NightOutcome()
            try scene.save(db)
            if let run {
                // A rerun of the same scene replaces its run row.
                try RunEntry.filter(Column("scene_id") == scene.id).deleteAll(db)
                try run.insert(db)
            }
            var matched = Set<String>()
            for detection in detections {
                let geometry = try Geometry(geoJSON: detection.geoJSON)
                let box = geometry.envelope
                let candidates = try ViolationRecord
                    .filter(Column("min_lon") <= box.maxX && Column("max_lon") >= box.minX
                            && Column("min_lat") <= box.maxY && Column("max_lat") >= box.minY)
                    .fetchAll(db)
                var best: (record: ViolationRecord, share: Double)?
                for candidate in candidates {
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
                    try record.update(db)
                } else {
                    let wkt = geometry.wkt
                    let id = "LW-\(scene.date.replacingOccurrences(of: "-", with: ""))-\(Self.stableHash(wkt).prefix(8))"
                    let record = ViolationRecord(id: id, geometry_wkt: wkt, min_lon: box.minX, min_lat: box.minY, max_lon: box.maxX,
                                                 max_lat: box.maxY, rules: detection.rules, area_m2: detection.areaM2,
                                                 first_seen: scene.date, last_seen: scene.date, first_scene: scene.id,
                                                 last_scene: scene.id, status: "new")
                    try record.save(db)
                    matched.insert(id)
                    outcome.new.append(id)
                }
            }
            // Tracked patches whose place this scene saw again without the change: resolved.
            if let footprint {
                for var record in try ViolationRecord.filter(["new", "persisting"].contains(Column("status"))).fetchAll(db)
                where !matched.contains(record.id) && record.last_scene != scene.id {
                    let geometry = try Geometry(wkt: record.geometry_wkt)
                    guard let inside = geometry.intersection(footprint), inside.area >= 0.99 * geometry.area else { continue }
                    record.status = "resolved"
                    record.last_seen = scene.date
                    record.last_scene = scene.id
                    try record.update(db)
                    outcome.resolved.append(record.id)
                }
            }
            return outcome
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
    public func violations(status: String? = nil, since: String? = nil) throws -> [ViolationRecord] {
        try database.read { db in
            var request = ViolationRecord.all()
            if let status { request = request.filter(Column("status") == status) }
            if let since { request = request.filter(Column("last_seen") >= since) }
            return try request.order(Column("first_seen"), Column("id")).fetchAll(db)
        }
    }

    /// FNV-1a, 64 bits, as hex: a stable id from a geometry, the same on a rerun.
    static func stableHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
