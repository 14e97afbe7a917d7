import Foundation

/// The registry of scenes, runs and violations, wherever it is kept: a SQLite file (the default, ``Registry``) or a
/// PostgreSQL database shared by many workers (``PostgresRegistry``). Both have the same schema and semantics.
public protocol RegistryStore: AnyObject, Sendable {
    /// The file, or the database URL without its password, for messages.
    var location: String { get }
    /// True when a scene with this content hash was already recorded (done or failed).
    func hasScene(contentHash: String) throws -> Bool
    /// The scene recorded with this content hash.
    func scene(contentHash: String) throws -> SceneRecord?
    func runs() throws -> [RunEntry]
    func scenes() throws -> [SceneRecord]
    /// Records a scene that could not be processed (`failed`, or `given_up` after its last retry), with the reason and attempts.
    func recordFailure(_ scene: SceneRecord) throws
    /// Records a processed scene, its run, its detections and what it saw at tracked places, in one transaction.
    func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run: RunEntry?, overlap: Double) throws -> NightOutcome
    /// Sets violations' statuses by someone's decision (a dismissal, field checks), into their histories, all in one
    /// transaction: all are applied or none (an unknown id throws).
    func setStatuses(_ changes: [StatusChange]) throws
    /// Violations with one of the statuses (all when nil) last seen on or after `since` (YYYY-MM-DD).
    func violations(statuses: Set<ViolationStatus>?, since: String?) throws -> [ViolationRecord]
    /// Violations whose bounding boxes meet the box (longitude/latitude), any status.
    func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord]
    func violation(id: String) throws -> ViolationRecord?
    /// Every night that saw the violation (or could not) and every status change, oldest first.
    func history(id: String) throws -> [ViolationEvent]
    /// ``record(scene:detections:observations:run:overlap:)`` and the scene's zone metrics, in one transaction (a
    /// night killed between the two would leave a scene done without its metrics, never redone).
    func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run: RunEntry?, overlap: Double,
                zoneMetrics: [ZoneMetricRecord]) throws -> NightOutcome
    /// Replaces the zone metrics recorded for `scene` (``ZoneMetricRecord``), in one transaction.
    func recordZoneMetrics(_ rows: [ZoneMetricRecord], scene: String) throws
    /// Zone metrics of scenes dated within the period (YYYY-MM-DD, both ends included; nil: open), by date and zone.
    func zoneMetrics(from: String?, to: String?) throws -> [ZoneMetricRecord]
    /// Every violation event dated within the period, by date.
    func events(from: String?, to: String?) throws -> [ViolationEvent]
}

extension RegistryStore {
    public func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation] = [], run: RunEntry? = nil) throws -> NightOutcome {
        try record(scene: scene, detections: detections, observations: observations, run: run, overlap: 0.25)
    }

    public func setStatus(id: String, to status: ViolationStatus, by: String, reason: String, date: String?) throws {
        try setStatuses([StatusChange(id: id, status: status, by: by, reason: reason, date: date)])
    }

    /// Marks a violation as legal after a field check, so that it never comes back as new.
    public func dismiss(id: String, by: String, reason: String) throws {
        try setStatus(id: id, to: .dismissed, by: by, reason: reason, date: nil)
    }

    public func violations() throws -> [ViolationRecord] { try violations(statuses: nil, since: nil) }
    public func violations(status: ViolationStatus?) throws -> [ViolationRecord] { try violations(statuses: status.map { [$0] }, since: nil) }
}

public enum Registries {
    /// True when `location` names a PostgreSQL database rather than a file.
    public static func isDatabaseURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Opens the registry at `location`: `postgres://USER@HOST:PORT/DATABASE` (the password from the environment:
    /// inside `LANDWATCH_DB_URL`, or `PGPASSWORD`), or a SQLite file, created on first use.
    /// - Parameter fromEnvironment: true when the URL came from `LANDWATCH_DB_URL`, the only place a password may be
    ///   written into it (a command line is visible to every user of the machine).
    public static func open(_ location: String, fromEnvironment: Bool = false,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any RegistryStore {
        if isDatabaseURL(location) {
            return try PostgresRegistry(url: location, passwordAllowedInURL: fromEnvironment, environment: environment)
        }
        return try Registry(path: location)
    }
}

extension Registry: RegistryStore {
    public var location: String { path }
}
