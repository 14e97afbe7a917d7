import Foundation
import GRDB
import LandwatchGDAL

/// Why the registry could not be used.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// True when another process held the registry longer than the busy timeout: worth retrying later.
    public var isLocked = false
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Seconds a writer waits for another process's transaction before giving up.
    public static let busySeconds: TimeInterval = 5

    /// True for the errors registry operations throw (this type and SQLite's).
    public static func concerns(_ error: Error) -> Bool { error is RegistryError || error is DatabaseError }

    /// Any failure of a registry operation as one line naming the registry; a lock held by another process is told
    /// apart (retry later) from everything else.
    public init(_ error: Error, registry path: String) {
        if let error = error as? RegistryError {
            self = error
        } else if let database = error as? DatabaseError, database.resultCode == .SQLITE_BUSY || database.resultCode == .SQLITE_LOCKED {
            self.init("the registry \(path) is locked by another process (a nightly run or an export writing it?) and stayed locked "
                      + "for \(Int(Self.busySeconds)) s; nothing was changed, try again when it is done")
            isLocked = true
        } else if let database = error as? DatabaseError {
            self.init("the registry \(path) cannot be used: \(database.message ?? "\(database.resultCode)")")
        } else {
            self.init("the registry \(path) cannot be used: \(error)")
        }
    }
}

/// The registry of scenes, runs and violations: one SQLite file (GRDB), created on first use and migrated forward;
/// a file written by a newer landwatch is refused, never migrated down.
public final class Registry: Sendable {
    public let path: String
    let database: DatabaseQueue

    /// The migrations this landwatch knows, oldest first.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "scene") { t in
                t.primaryKey("id", .text)
                t.column("sensor", .text).notNull()
                t.column("date", .text).notNull()
                t.column("footprint_wkt", .text)
                t.column("cloud_share", .double)
                t.column("content_hash", .text).notNull().unique()
                t.column("path", .text).notNull()
                t.column("status", .text).notNull()
                t.column("failure_reason", .text)
                t.column("recorded_at", .datetime).notNull()
            }
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("scene_id", .text).notNull().references("scene")
                t.column("baseline", .text)
                t.column("started", .datetime).notNull()
                t.column("finished", .datetime)
                t.column("pipeline_sha256", .text).notNull()
                t.column("versions", .text).notNull()
                t.column("exit_status", .text).notNull()
                t.column("outputs", .text)
            }
            try db.create(table: "violation") { t in
                t.primaryKey("id", .text)
                t.column("geometry_wkt", .text).notNull()
                t.column("min_lon", .double).notNull()
                t.column("min_lat", .double).notNull()
                t.column("max_lon", .double).notNull()
                t.column("max_lat", .double).notNull()
                t.column("rules", .text).notNull()
                t.column("area_m2", .double).notNull()
                t.column("first_seen", .text).notNull()
                t.column("last_seen", .text).notNull()
                t.column("first_scene", .text).notNull()
                t.column("last_scene", .text).notNull()
                t.column("status", .text).notNull()
                t.column("dismissed_by", .text)
                t.column("dismissed_reason", .text)
                t.column("dismissed_at", .datetime)
            }
            try db.create(index: "violation_box", on: "violation", columns: ["min_lon", "max_lon", "min_lat", "max_lat"])
        }
        // v2 (issue 21): statuses as a checked enum, the classes and score a site was first detected with, the clear
        // observation that resolved it, every night and decision in violation_event, attempts of failed scenes.
        migrator.registerMigration("v2") { db in
            for statement in Schema.v2SQLite { try db.execute(sql: statement) }
        }
        // v3: the plan attributes of the latest detection, for the wpzf export.
        migrator.registerMigration("v3") { db in
            for statement in Schema.v3SQLite { try db.execute(sql: statement) }
        }
        // v4: each zone's metrics per scene, for the history report.
        migrator.registerMigration("v4") { db in
            for statement in Schema.v4SQLite { try db.execute(sql: statement) }
        }
        // v5: the STAC Item of a scene.
        migrator.registerMigration("v5") { db in
            for statement in Schema.v5SQLite { try db.execute(sql: statement) }
        }
        return migrator
    }

    /// Opens (creating and migrating when needed) the registry at `path`.
    public init(path: String) throws(RegistryError) {
        self.path = path
        if let handle = FileHandle(forReadingAtPath: path) {
            let header = (try? handle.read(upToCount: 16)) ?? Data()
            try? handle.close()
            if !header.isEmpty && header != Data("SQLite format 3\0".utf8) {
                throw RegistryError("\(path) is not a landwatch registry: it is not an SQLite database")
            }
        }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(RegistryError.busySeconds)
            database = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw RegistryError(error, registry: path)
        }
        let migrator = Self.migrator
        // GRDB reads which migrations are applied outside the transaction of each migration, so workers creating the
        // same new registry at once race: the losers fail on the tables the winner is making. They look again a
        // moment later, when what the winner committed is there; a real failure fails every attempt.
        for attempt in 1... {
            do {
                let superseded = try database.read { db in try migrator.hasBeenSuperseded(db) }
                if superseded {
                    let applied = (try? database.read { db in try migrator.appliedIdentifiers(db) }) ?? []
                    throw RegistryError("\(path) was written by a newer landwatch (schema \(applied.sorted().last ?? "?"); this one knows up to \(migrator.migrations.last ?? "?")): refusing to migrate it down; use the newer landwatch")
                }
                try migrator.migrate(database)
                return
            } catch let error as RegistryError {
                throw error
            } catch where attempt < 5 && !RegistryError(error, registry: path).isLocked {
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            } catch {
                throw RegistryError(error, registry: path)
            }
        }
    }
}
