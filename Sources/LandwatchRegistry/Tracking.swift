import Foundation
import GRDB
import LandwatchGDAL

/// Where a violation stands. Transitions (tested in RegistryTests):
///
/// - a patch first detected is `new`;
/// - seen again on a later scene (detected, or its place still changed against the baseline it was first detected
///   on): `new` and `persisting` become `persisting`; `resolved`, `demolished` and `rectified` are reopened as
///   `persisting`; `confirmed` stays `confirmed`; on the scene that first detected it (a rerun, `--force`) it is `new`;
/// - a later clear observation showing the land restored (its class back to the one before): `new`, `persisting`
///   and `confirmed` become `resolved`, with the date and scene; a site under cloud or nodata is not observed and
///   keeps its status;
/// - decisions (`dismiss`, a field check): `dismissed`, `approved_late` (补办: approved afterwards) and `false_alarm`
///   never change by themselves again; `confirmed`, `demolished` (已拆除) and `rectified` are set by field checks.
public enum ViolationStatus: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    case new, persisting, resolved, dismissed, confirmed
    case approvedLate = "approved_late"
    case falseAlarm = "false_alarm"
    case demolished, rectified

    /// `--status open`: what the enforcement team still has to act on.
    public static let open: Set<ViolationStatus> = [.new, .persisting]

    /// Decided for good: nothing a satellite sees changes them.
    public var isDecided: Bool { self == .dismissed || self == .approvedLate || self == .falseAlarm }

    /// The status when the site is seen still changed (detected again, or observed unrestored).
    public func seenAgain(firstTonight: Bool) -> ViolationStatus {
        switch self {
        case .dismissed, .approvedLate, .falseAlarm, .confirmed: return self
        case .new, .persisting, .resolved, .demolished, .rectified: return firstTonight ? .new : .persisting
        }
    }

    /// The status when a clear observation shows the land restored.
    public var restored: ViolationStatus {
        switch self {
        case .new, .persisting, .confirmed: return .resolved
        case .resolved, .dismissed, .approvedLate, .falseAlarm, .demolished, .rectified: return self
        }
    }

    /// The SQL list of the values, for CHECK constraints.
    static var sqlList: String { allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") }
}

/// A patch in one night's violation list.
public struct Detection: Sendable {
    /// The id the night's list gave it (nil: the registry makes one).
    public var id: String?
    /// GeoJSON geometry in WGS84 (as violations.geojson carries it).
    public var geoJSON: String
    /// Rule codes, `;`-separated.
    public var rules: String
    public var areaM2: Double
    public var score: Int?
    /// Majority class codes before and after (nil: not known).
    public var beforeClass: Int?
    public var afterClass: Int?
    /// Where it lies in the plan (zone, areas per plan layer, dates), as the list gave it.
    public var attributes: ViolationAttributes?

    public init(id: String? = nil, geoJSON: String, rules: String, areaM2: Double, score: Int? = nil, beforeClass: Int? = nil,
                afterClass: Int? = nil, attributes: ViolationAttributes? = nil) {
        self.attributes = attributes
        self.id = id
        self.geoJSON = geoJSON
        self.rules = rules
        self.areaM2 = areaM2
        self.score = score
        self.beforeClass = beforeClass
        self.afterClass = afterClass
    }
}

/// What a scene showed at the place of a tracked violation that it did not detect as a patch.
public struct SiteObservation: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Cloud, nodata or outside the image over most of the site: nothing is concluded.
        case notObserved = "not_observed"
        /// Clear, and most of the site is still not back to its class before: the violation stays open.
        case stillChanged = "still_changed"
        /// Clear, and most of the site is back to its class before: resolved.
        case restored
    }
    public var id: String
    public var kind: Kind
    /// What was seen, in words, for the history.
    public var note: String

    public init(id: String, kind: Kind, note: String) {
        self.id = id
        self.kind = kind
        self.note = note
    }
}

/// A status set by someone: a dismissal, a field check.
public struct StatusChange: Sendable, Equatable {
    public var id: String
    public var status: ViolationStatus
    public var by: String
    public var reason: String
    /// YYYY-MM-DD; nil: today.
    public var date: String?
    /// A false alarm's reason code.
    public var checkReason: String?

    public init(id: String, status: ViolationStatus, by: String, reason: String, date: String?, checkReason: String? = nil) {
        self.id = id
        self.status = status
        self.by = by
        self.reason = reason
        self.date = date
        self.checkReason = checkReason
    }
}

/// One entry of a violation's history: a night that saw (or could not see) it, or a status change by someone.
public struct ViolationEvent: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "violation_event"
    public enum Kind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case detected, stillChanged = "still_changed", restored, notObserved = "not_observed", status
        static var sqlList: String { allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") }
    }
    public var id: Int64?
    public var violation_id: String
    /// The scene that saw it (nil for a status set by someone).
    public var scene_id: String?
    /// The scene's date, or the day of the decision (YYYY-MM-DD).
    public var date: String
    public var event: Kind
    /// The status after the event.
    public var status: ViolationStatus
    public var area_m2: Double?
    public var score: Int?
    /// Who set the status (nil for what a scene showed).
    public var changed_by: String?
    public var reason: String?
    /// A false alarm's reason code from a field check (shadow, harvest, cloud, misregistration, greenhouse, other).
    public var reason_code: String?
    public var recorded_at: Date

    public init(violationID: String, sceneID: String?, date: String, event: Kind, status: ViolationStatus, areaM2: Double? = nil,
                score: Int? = nil, by: String? = nil, reason: String? = nil, recordedAt: Date = Date()) {
        violation_id = violationID
        scene_id = sceneID
        self.date = date
        self.event = event
        self.status = status
        area_m2 = areaM2
        self.score = score
        changed_by = by
        self.reason = reason
        recorded_at = recordedAt
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
    /// How many nights tried it (a failed scene is retried up to the pipeline's `retries`).
    public var attempts: Int = 1
    /// The STAC Item the scene came from (`nightly --stac`); nil for an inbox delivery.
    public var stac_item: String?

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
    public var status: ViolationStatus
    /// Who set the last decided status (dismissed, a field check), why and when.
    public var dismissed_by: String?
    public var dismissed_reason: String?
    public var dismissed_at: Date?
    /// Majority classes of the patch when first detected: the baseline its place is compared with later.
    public var before_class: Int?
    public var after_class: Int?
    public var score: Int?
    /// The clear observation that showed the land restored.
    public var resolved_date: String?
    public var resolved_scene: String?
    /// The plan attributes of the latest detection, as JSON (``ViolationAttributes``); nil before schema v3.
    public var attributes: String? = nil

    /// ``attributes`` decoded (nil when absent or unreadable).
    public var planAttributes: ViolationAttributes? {
        attributes.flatMap { try? JSONDecoder().decode(ViolationAttributes.self, from: Data($0.utf8)) }
    }
}

/// What a detection says of a violation's place in the plan, kept with the violation (the latest detection's):
/// the attributes a 卫片执法 monitoring patch carries (see docs/wpzf-export.md).
public struct ViolationAttributes: Codable, Sendable, Equatable {
    /// Dates of the two classifications compared (before: nil against the land-use survey).
    public var before_date: String?
    public var after_date: String?
    /// Majority class names before and after, English and Chinese, from the run's legend.
    public var before_class: String?
    public var after_class: String?
    public var before_class_zh: String?
    public var after_class_zh: String?
    /// The Chinese names of the rules broken, from the run's rule set (`；`-separated).
    public var rule_names_zh: String?
    /// The zone holding most of the patch.
    public var zone_code: String?
    public var zone_name: String?
    /// m² inside each plan layer's features, by role.
    public var plan_area_m2: [String: Double]
    /// m² outside the urban development boundary (nil: no boundary connected).
    public var outside_urban_boundary_m2: Double?
    /// m² that was cropland before.
    public var cropland_m2: Double?
    /// Numbers of the approvals the patch touches.
    public var approvals: [String]
    /// Severity on the scene's list; the navigation point (WGS84).
    public var severity: String?
    public var lon: Double?
    public var lat: Double?
    /// The plan features touched, by role ("id name" each).
    public var plan_features: [String: [String]]?
    /// The before and after chips of the latest list that drew them (absolute paths).
    public var chip_before: String?
    public var chip_after: String?

    public init(before_date: String? = nil, after_date: String? = nil, before_class: String? = nil, after_class: String? = nil,
                before_class_zh: String? = nil, after_class_zh: String? = nil, rule_names_zh: String? = nil, zone_code: String? = nil, zone_name: String? = nil, plan_area_m2: [String: Double] = [:],
                outside_urban_boundary_m2: Double? = nil, cropland_m2: Double? = nil, approvals: [String] = [],
                severity: String? = nil, lon: Double? = nil, lat: Double? = nil, plan_features: [String: [String]]? = nil,
                chip_before: String? = nil, chip_after: String? = nil) {
        self.plan_features = plan_features
        self.chip_before = chip_before
        self.chip_after = chip_after
        self.before_date = before_date
        self.after_date = after_date
        self.before_class = before_class
        self.after_class = after_class
        self.before_class_zh = before_class_zh
        self.after_class_zh = after_class_zh
        self.rule_names_zh = rule_names_zh
        self.zone_code = zone_code
        self.zone_name = zone_name
        self.plan_area_m2 = plan_area_m2
        self.outside_urban_boundary_m2 = outside_urban_boundary_m2
        self.cropland_m2 = cropland_m2
        self.approvals = approvals
        self.severity = severity
        self.lon = lon
        self.lat = lat
    }

    /// As stored in the registry.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// What one night changed.
public struct NightOutcome: Sendable, Equatable {
    public var new: [String] = []
    public var persisting: [String] = []
    public var resolved: [String] = []
    /// Decided patches (dismissed, approved late, false alarm) detected again: they keep their status.
    public var dismissedSeenAgain: [String] = []
    /// Open violations whose place this scene could not see (cloud, nodata).
    public var notObserved: [String] = []
    /// Patches the night's list named otherwise than the registry: list id → registry id (should stay empty when the
    /// run was given the tracked violations).
    public var renamed: [String: String] = [:]

    public init() {}
}

extension Registry {
    /// True when a scene with this content hash was already recorded (done or failed).
    public func hasScene(contentHash: String) throws -> Bool {
        try database.read { db in try SceneRecord.filter(Column("content_hash") == contentHash).fetchCount(db) > 0 }
    }

    public func scene(contentHash: String) throws -> SceneRecord? {
        try database.read { db in try SceneRecord.filter(Column("content_hash") == contentHash).fetchOne(db) }
    }

    public func runs() throws -> [RunEntry] {
        try database.read { db in try RunEntry.order(Column("scene_id")).fetchAll(db) }
    }

    public func scenes() throws -> [SceneRecord] {
        try database.read { db in try SceneRecord.order(Column("date"), Column("id")).fetchAll(db) }
    }

    /// Records a scene that could not be processed, with the reason and its attempts.
    public func recordFailure(_ scene: SceneRecord) throws {
        try database.write { db in try scene.save(db) }
    }

    /// Records a processed scene and its detections in one transaction (see ``Tracking``).
    public func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run: RunEntry?,
                       overlap: Double) throws -> NightOutcome {
        try database.write { db -> NightOutcome in
            try Tracking.record(scene: scene, detections: detections, observations: observations, run: run, overlap: overlap,
                                in: SQLiteTracking(db: db))
        }
    }

    public func setStatuses(_ changes: [StatusChange]) throws {
        try database.write { db in
            for change in changes { try Tracking.setStatus(change, location: path, in: SQLiteTracking(db: db)) }
        }
    }

    public func violations(statuses: Set<ViolationStatus>?, since: String?) throws -> [ViolationRecord] {
        try database.read { db in
            var request = ViolationRecord.all()
            if let statuses { request = request.filter(statuses.map(\.rawValue).contains(Column("status"))) }
            if let since { request = request.filter(Column("last_seen") >= since) }
            return try request.order(Column("first_seen"), Column("id")).fetchAll(db)
        }
    }

    public func violations(meeting box: (minX: Double, minY: Double, maxX: Double, maxY: Double)) throws -> [ViolationRecord] {
        try database.read { db in try SQLiteTracking(db: db).violations(meeting: box) }
    }

    public func violation(id: String) throws -> ViolationRecord? {
        try database.read { db in try ViolationRecord.fetchOne(db, key: id) }
    }

    public func history(id: String) throws -> [ViolationEvent] {
        try database.read { db in
            try ViolationEvent.filter(Column("violation_id") == id).order(Column("date"), Column("id")).fetchAll(db)
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
    func violation(id: String) throws -> ViolationRecord?
    /// Inserts the violation or updates the one with its id.
    func save(violation: ViolationRecord) throws
    /// Removes what a scene's earlier recording wrote into the history (not the decisions people made).
    func removeEvents(scene: String) throws
    func add(event: ViolationEvent) throws
}

/// Tracking violations across nights, the same on every store.
enum Tracking {
    /// Records a processed scene: each detection carrying the id of a tracked violation (the run was given the
    /// tracked violations) is that violation; one without, or with an id the registry does not know, is the tracked
    /// violation it overlaps most (the overlap covers at least `overlap` of the smaller outline), else new under the
    /// id the list gave it. Tracked violations the scene did not detect change only by what `observations` say of
    /// their place (see ``ViolationStatus``). A rerun of the scene replaces what its earlier recording wrote. Call
    /// inside one transaction.
    static func record(scene: SceneRecord, detections: [Detection], observations: [SiteObservation], run: RunEntry?,
                       overlap: Double, in store: some TrackingTransaction) throws -> NightOutcome {
        var outcome = NightOutcome()
        try store.save(scene: scene)
        if let run { try store.replaceRun(run) }
        try store.removeEvents(scene: scene.id)
        var matched = Set<String>()
        for detection in detections {
            let geometry = try Geometry(geoJSON: detection.geoJSON)
            let box = geometry.envelope
            var found = try detection.id.flatMap { try store.violation(id: $0) }
            if found == nil {
                var best: (record: ViolationRecord, share: Double)?
                for candidate in try store.violations(meeting: box) where !matched.contains(candidate.id) {
                    let other = try Geometry(wkt: candidate.geometry_wkt)
                    guard let common = geometry.intersection(other) else { continue }
                    let share = common.area / max(min(geometry.area, other.area), 1e-18)
                    if share >= overlap, share > (best?.share ?? 0) { best = (candidate, share) }
                }
                found = best?.record
            }
            if var record = found {
                matched.insert(record.id)
                if let listed = detection.id, listed != record.id { outcome.renamed[listed] = record.id }
                if scene.date >= record.last_seen {
                    record.last_seen = scene.date
                    record.last_scene = scene.id
                }
                let status = record.status.seenAgain(firstTonight: record.first_scene == scene.id)
                if record.status.isDecided {
                    outcome.dismissedSeenAgain.append(record.id)
                } else {
                    record.geometry_wkt = geometry.wkt
                    (record.min_lon, record.min_lat, record.max_lon, record.max_lat) = (box.minX, box.minY, box.maxX, box.maxY)
                    record.area_m2 = detection.areaM2
                    record.rules = detection.rules
                    record.score = detection.score ?? record.score
                    record.attributes = detection.attributes?.json ?? record.attributes
                    if record.before_class == nil { record.before_class = detection.beforeClass }
                    if record.after_class == nil { record.after_class = detection.afterClass }
                    if status != record.status, record.status == .resolved || record.first_scene == scene.id {
                        record.resolved_date = nil
                        record.resolved_scene = nil
                    }
                    if status == .new { outcome.new.append(record.id) } else { outcome.persisting.append(record.id) }
                }
                record.status = status
                try store.save(violation: record)
                try store.add(event: ViolationEvent(violationID: record.id, sceneID: scene.id, date: scene.date, event: .detected,
                                                    status: status, areaM2: detection.areaM2, score: detection.score))
            } else {
                let wkt = geometry.wkt
                let base = detection.id ?? "LW-\(scene.date.replacingOccurrences(of: "-", with: ""))-\(StableHash.hex(wkt).prefix(8))"
                var id = base, suffix = 2
                while try store.violation(id: id) != nil {
                    id = "\(base)-\(suffix)"
                    suffix += 1
                }
                if let listed = detection.id, listed != id { outcome.renamed[listed] = id }
                let record = ViolationRecord(id: id, geometry_wkt: wkt, min_lon: box.minX, min_lat: box.minY, max_lon: box.maxX,
                                             max_lat: box.maxY, rules: detection.rules, area_m2: detection.areaM2,
                                             first_seen: scene.date, last_seen: scene.date, first_scene: scene.id,
                                             last_scene: scene.id, status: .new, before_class: detection.beforeClass,
                                             after_class: detection.afterClass, score: detection.score,
                                             attributes: detection.attributes?.json)
                try store.save(violation: record)
                try store.add(event: ViolationEvent(violationID: id, sceneID: scene.id, date: scene.date, event: .detected, status: .new,
                                                    areaM2: detection.areaM2, score: detection.score))
                matched.insert(id)
                outcome.new.append(id)
            }
        }
        // Tracked violations the scene did not detect: what it saw at their place.
        for observation in observations where !matched.contains(observation.id) {
            guard var record = try store.violation(id: observation.id), !record.status.isDecided, record.first_scene != scene.id else { continue }
            let before = record.status
            switch observation.kind {
            case .notObserved:
                outcome.notObserved.append(record.id)
                try store.add(event: ViolationEvent(violationID: record.id, sceneID: scene.id, date: scene.date, event: .notObserved,
                                                    status: before, reason: observation.note))
                continue
            case .stillChanged:
                guard before != .resolved && before != .demolished && before != .rectified else { continue }
                record.status = before.seenAgain(firstTonight: false)
                outcome.persisting.append(record.id)
            case .restored:
                guard before != .resolved && before != .demolished && before != .rectified else { continue }
                record.status = before.restored
                record.resolved_date = scene.date
                record.resolved_scene = scene.id
                outcome.resolved.append(record.id)
            }
            if scene.date >= record.last_seen {
                record.last_seen = scene.date
                record.last_scene = scene.id
            }
            try store.save(violation: record)
            try store.add(event: ViolationEvent(violationID: record.id, sceneID: scene.id, date: scene.date,
                                                event: observation.kind == .restored ? .restored : .stillChanged, status: record.status,
                                                reason: observation.note))
        }
        return outcome
    }

    /// A status set by someone (a dismissal, a field check), with who, why and the day.
    static func setStatus(_ change: StatusChange, location: String, in store: some TrackingTransaction) throws {
        guard var record = try store.violation(id: change.id) else { throw RegistryError("no violation \(change.id) in \(location)") }
        let now = Date()
        record.status = change.status
        record.dismissed_by = change.by
        record.dismissed_reason = change.reason
        record.dismissed_at = now
        try store.save(violation: record)
        var event = ViolationEvent(violationID: change.id, sceneID: nil, date: change.date ?? Self.day(now), event: .status, status: change.status,
                                   by: change.by, reason: change.reason, recordedAt: now)
        event.reason_code = change.checkReason
        try store.add(event: event)
    }

    /// YYYY-MM-DD in UTC.
    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: date)
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

    func violation(id: String) throws -> ViolationRecord? { try ViolationRecord.fetchOne(db, key: id) }

    func save(violation: ViolationRecord) throws { try violation.save(db) }

    func removeEvents(scene: String) throws {
        try ViolationEvent.filter(Column("scene_id") == scene && Column("event") != ViolationEvent.Kind.status.rawValue).deleteAll(db)
    }

    func add(event: ViolationEvent) throws { try event.insert(db) }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
