import Foundation

/// The registry of scenes, runs and violations, wherever it is kept: a SQLite file (the default, ``Registry``) or a
/// PostgreSQL database shared by many workers (``PostgresRegistry``). Both have the same schema and semantics.
public protocol RegistryStore: AnyObject, Sendable {
    /// The file, or the database URL without its password, for messages.
    var location: String { get }
    /// True when a scene with this content hash was already recorded (done or failed).
    func hasScene(contentHash: String) throws -> Bool
    func runs() throws -> [RunEntry]
    func scenes() throws -> [SceneRecord]
    /// Records a scene that could not be processed, with the reason.
    func recordFailure(_ scene: SceneRecord) throws
    /// Records a processed scene, its run and its detections in one transaction.
    func record(scene: SceneRecord, detections: [Detection], run: RunEntry?, overlap: Double) throws -> NightOutcome
    /// Marks a violation as legal after a field check, so that it never comes back as new.
    func dismiss(id: String, by: String, reason: String) throws
    /// Violations with a status (all when nil) last seen on or after `since` (YYYY-MM-DD).
    func violations(status: String?, since: String?) throws -> [ViolationRecord]
}

extension RegistryStore {
    public func record(scene: SceneRecord, detections: [Detection], run: RunEntry? = nil) throws -> NightOutcome {
        try record(scene: scene, detections: detections, run: run, overlap: 0.25)
    }

    public func violations() throws -> [ViolationRecord] { try violations(status: nil, since: nil) }
    public func violations(status: String?) throws -> [ViolationRecord] { try violations(status: status, since: nil) }
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
