import Foundation
import GRDB
import PostgresNIO

/// One zone's metrics on one processed scene, as nightly records them from the run's metrics products: what the
/// history report charts over time. Shares are 0–1; temperatures °C; nil where the run did not measure it.
public struct ZoneMetricRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "zone_metric"
    public var scene_id: String
    /// The scene's date (YYYY-MM-DD).
    public var date: String
    /// The zone's id in the zone layer.
    public var zone: String
    public var name: String?
    public var green_coverage: Double?
    public var intensity: Double?
    public var eco_occupation: Double?
    public var suhi_c: Double?
    /// The heat-island proxy (built-up share, 0–1) when the run had no thermal band.
    public var suhi_proxy: Double?

    public init(sceneID: String, date: String, zone: String, name: String? = nil, greenCoverage: Double? = nil, intensity: Double? = nil,
                ecoOccupation: Double? = nil, suhiC: Double? = nil, suhiProxy: Double? = nil) {
        scene_id = sceneID
        self.date = date
        self.zone = zone
        self.name = name
        green_coverage = greenCoverage
        self.intensity = intensity
        eco_occupation = ecoOccupation
        suhi_c = suhiC
        suhi_proxy = suhiProxy
    }
}

extension Registry {
    /// Replaces the zone metrics of `scene` with `rows`, in one transaction.
    public func recordZoneMetrics(_ rows: [ZoneMetricRecord], scene: String) throws {
        try database.write { db in try Self.replaceZoneMetrics(rows, scene: scene, in: db) }
    }

    static func replaceZoneMetrics(_ rows: [ZoneMetricRecord], scene: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM zone_metric WHERE scene_id = ?", arguments: [scene])
        for row in rows { try row.insert(db) }
    }

    public func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run: RunEntry?, overlap: Double,
                       zoneMetrics: [ZoneMetricRecord]) throws -> NightOutcome {
        try database.write { db -> NightOutcome in
            let outcome = try Tracking.record(scene: scene, detections: detections, observations: observations, run: run, overlap: overlap,
                                              in: SQLiteTracking(db: db))
            try Self.replaceZoneMetrics(zoneMetrics, scene: scene.id, in: db)
            return outcome
        }
    }

    public func zoneMetrics(from: String?, to: String?) throws -> [ZoneMetricRecord] {
        try database.read { db in
            var request = ZoneMetricRecord.all()
            if let from { request = request.filter(Column("date") >= from) }
            if let to { request = request.filter(Column("date") <= to) }
            return try request.order(Column("date"), Column("zone")).fetchAll(db)
        }
    }

    public func events(from: String?, to: String?) throws -> [ViolationEvent] {
        try database.read { db in
            var request = ViolationEvent.all()
            if let from { request = request.filter(Column("date") >= from) }
            if let to { request = request.filter(Column("date") <= to) }
            return try request.order(Column("date"), Column("id")).fetchAll(db)
        }
    }
}

extension PostgresRegistry {
    public func recordZoneMetrics(_ rows: [ZoneMetricRecord], scene: String) throws {
        try transaction(lock: Self.trackingLock) { try replaceZoneMetrics(rows, scene: scene) }
    }

    func replaceZoneMetrics(_ rows: [ZoneMetricRecord], scene: String) throws {
        try run("DELETE FROM zone_metric WHERE scene_id = \(scene)")
        for r in rows {
            try run("""
                INSERT INTO zone_metric (scene_id, date, zone, name, green_coverage, intensity, eco_occupation, suhi_c, suhi_proxy)
                VALUES (\(r.scene_id), \(r.date), \(r.zone), \(r.name), \(r.green_coverage), \(r.intensity), \(r.eco_occupation),
                        \(r.suhi_c), \(r.suhi_proxy))
                """)
        }
    }

    public func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run entry: RunEntry?, overlap: Double,
                       zoneMetrics: [ZoneMetricRecord]) throws -> NightOutcome {
        try transaction(lock: Self.trackingLock) {
            let outcome = try Tracking.record(scene: scene, detections: detections, observations: observations, run: entry, overlap: overlap,
                                              in: PostgresTracking(registry: self))
            try replaceZoneMetrics(zoneMetrics, scene: scene.id)
            return outcome
        }
    }

    public func zoneMetrics(from: String?, to: String?) throws -> [ZoneMetricRecord] {
        try read {
            try run("""
                SELECT * FROM zone_metric WHERE (\(from)::text IS NULL OR date >= \(from)) AND (\(to)::text IS NULL OR date <= \(to))
                ORDER BY date, zone
                """).map { row in
                ZoneMetricRecord(sceneID: try row["scene_id"].decode(String.self), date: try row["date"].decode(String.self),
                                 zone: try row["zone"].decode(String.self), name: try row["name"].decode(String?.self),
                                 greenCoverage: try row["green_coverage"].decode(Double?.self), intensity: try row["intensity"].decode(Double?.self),
                                 ecoOccupation: try row["eco_occupation"].decode(Double?.self), suhiC: try row["suhi_c"].decode(Double?.self),
                                 suhiProxy: try row["suhi_proxy"].decode(Double?.self))
            }
        }
    }

    public func events(from: String?, to: String?) throws -> [ViolationEvent] {
        try read {
            try run("""
                SELECT * FROM violation_event WHERE (\(from)::text IS NULL OR date >= \(from)) AND (\(to)::text IS NULL OR date <= \(to))
                ORDER BY date, id
                """).map(Self.event)
        }
    }
}
