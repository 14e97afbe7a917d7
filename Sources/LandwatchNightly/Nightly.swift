import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRegistry
import Logging

/// How a nightly run ended, for the exit code.
public enum NightlyResult: Sendable, Equatable {
    case nothingToDo
    case allDone
    case someFailed
}

/// What a night did: the summary line's figures.
public struct NightlySummary: Sendable, Equatable {
    public var scenesNew = 0
    public var scenesDone = 0
    public var scenesFailed = 0
    public var violationsNew = 0
    public var violationsPersisting = 0
    public var violationsResolved = 0
    public var result: NightlyResult = .nothingToDo

    public var line: String {
        "nightly: scenes new \(scenesNew), done \(scenesDone), failed \(scenesFailed); violations new \(violationsNew), persisting \(violationsPersisting), resolved \(violationsResolved)"
    }
}

/// Another nightly run holds the lock.
public struct NightlyLocked: Error, CustomStringConvertible {
    public var description: String
}

/// `landwatch nightly`: new deliveries in the inbox, each run through the pipeline against its baseline, everything
/// recorded in the registry, under a lock so that two runs never overlap.
public struct Nightly {
    public var inbox: String
    public var pipelinePath: String
    public var out: String
    public var database: String
    public var settings: PipelineRunner.Settings
    public var registry: StageRegistry
    public var logger: Logger
    /// Redo every delivery of the inbox, processed or not, and rerun their pipelines.
    public var force = false
    /// Folders the pipeline may read inputs from besides its own; nil: anywhere.
    public var readRoots: [String]?
    /// This worker's share of the inbox; nil: all of it.
    public var shard: Shard?
    /// True when `database` came from `LANDWATCH_DB_URL` (the only place a password may stand in the URL).
    public var databaseFromEnvironment = false

    public init(inbox: String, pipelinePath: String, out: String, database: String?, threads: Int, memoryBudget: Int,
                registry: StageRegistry, logger: Logger) {
        self.inbox = inbox
        self.pipelinePath = pipelinePath
        self.out = out
        self.database = database ?? URL(fileURLWithPath: out).appendingPathComponent("registry.sqlite").path
        settings = PipelineRunner.Settings(outputDirectory: out, memoryBudget: memoryBudget, threads: threads)
        self.registry = registry
        self.logger = logger
    }

    /// Takes the lock on `out/nightly.lock` (`out/nightly-shard-K-of-N.lock` for a shard); throws `NightlyLocked` at
    /// once when another run holds it.
    public static func lock(_ out: String, shard: Shard? = nil) throws -> Int32 {
        if let reason = OutputRoot.makeDirectories(out) {
            throw RunError(.outputNotWritable, "the output folder \(out) cannot be created: \(reason)")
        }
        let name = shard.map { "nightly-shard-\($0.index)-of-\($0.count).lock" } ?? "nightly.lock"
        let path = URL(fileURLWithPath: out).appendingPathComponent(name).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw RunError(.outputNotWritable, "cannot open the lock \(path): \(String(cString: strerror(errno)))") }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            close(descriptor)
            throw NightlyLocked(description: "another nightly run holds \(path); this one exits without touching anything")
        }
        return descriptor
    }

    public func run() throws -> NightlySummary {
        let lock = try Self.lock(out, shard: shard)
        defer { close(lock) }
        var (deliveries, skipped) = try Inbox.scan(inbox)
        if let shard {
            let all = deliveries.count
            deliveries = deliveries.filter { shard.owns($0.place ?? $0.contentHash) }
            logger.info("nightly: shard \(shard) takes \(deliveries.count) of the \(all) deliveries in \(inbox)")
        }
        for line in skipped where shard == nil || shard!.owns(line) { logger.warning("nightly: skipped \(line)") }
        let registry = try Registries.open(database, fromEnvironment: databaseFromEnvironment)
        // Validate the pipeline once, before any scene.
        var runner = PipelineRunner(registry: self.registry, logger: logger)
        runner.readRoots = readRoots
        let declared = try runner.validate(path: pipelinePath).pipeline.params
        let baselineDays = Int(declared["baseline_days"] ?? "") ?? 365
        let window = Int(declared["season_window"] ?? "") ?? 45
        // `baseline: landuse`: every scene is compared with the land-use survey the pipeline reads, not with an
        // earlier scene (harvested cropland looks bare weeks later; the survey says what the land legally is).
        let againstLanduse: Bool
        switch declared["baseline"] ?? "scene" {
        case "scene": againstLanduse = false
        case "landuse": againstLanduse = true
        case let other: throw RunError(.input, "\(pipelinePath): param baseline: '\(other)' must be scene (an earlier scene over the same footprint) or landuse (the land-use survey the pipeline reads)")
        }

        var summary = NightlySummary()
        var fresh: [Delivery] = []
        for delivery in deliveries where try force || !registry.hasScene(contentHash: delivery.contentHash) { fresh.append(delivery) }
        summary.scenesNew = fresh.count
        if fresh.isEmpty {
            logger.info("nightly: nothing new in \(inbox)")
            return summary
        }
        for var delivery in fresh.sorted(by: { ($0.date, $0.id) < ($1.date, $1.id) }) {
            if delivery.problem == nil, let archive = delivery.archive {
                // Unpacked where later nights find it as their baseline; the inbox may be cleaned after processing.
                let folder = URL(fileURLWithPath: out).appendingPathComponent("unpacked").appendingPathComponent(delivery.id)
                do {
                    delivery.path = try Inbox.unpack(archive, into: folder)
                } catch where error.category == .io || error.category == .outputNotWritable {
                    logger.error("nightly: scene \(delivery.id) could not be unpacked, the night stops and the scene is retried next time: \(error)")
                    throw error
                } catch {
                    delivery.problem = error.description
                }
            }
            if let problem = delivery.problem {
                try registry.recordFailure(SceneRecord(id: delivery.id, sensor: delivery.sensor, date: delivery.date, footprintWKT: nil,
                                                       cloudShare: nil, contentHash: delivery.contentHash, path: delivery.path,
                                                       status: "failed", failureReason: problem))
                logger.error("nightly: scene \(delivery.id) failed: \(problem)")
                summary.scenesFailed += 1
                continue
            }
            let scene = SceneRecord(id: delivery.id, sensor: delivery.sensor, date: delivery.date, footprintWKT: delivery.footprintWKT,
                                    cloudShare: nil, contentHash: delivery.contentHash, path: delivery.path, status: "done")
            let baseline = againstLanduse ? nil : try Self.baseline(for: delivery, in: registry.scenes(), days: baselineDays, window: window)
            if baseline == nil, !againstLanduse {
                // The first scene over a place: the baseline of later nights.
                _ = try registry.record(scene: scene, detections: [])
                logger.info("nightly: scene \(delivery.id) recorded as a baseline (no earlier scene over its footprint within \(window) days of \(baselineDays) days before)")
                summary.scenesDone += 1
                continue
            }
            do {
                let folder = try process(delivery, baseline: baseline, runner: runner, declared: declared)
                let detections = try Self.detections(in: folder)
                let run = try RunRecord.decode(Data(contentsOf: folder.appendingPathComponent("run.json")))
                let against = baseline?.id ?? "landuse"
                let entry = RunEntry(sceneID: scene.id, baseline: against, started: run.started, finished: run.finished,
                                     pipelineSHA256: run.pipelineSHA256, versions: "landwatch \(run.landwatchVersion), GDAL \(run.gdalVersion)",
                                     exitStatus: run.status, outputs: run.outputs)
                let outcome = try registry.record(scene: scene, detections: detections, run: entry)
                summary.scenesDone += 1
                summary.violationsNew += outcome.new.count
                summary.violationsPersisting += outcome.persisting.count
                summary.violationsResolved += outcome.resolved.count
                logger.info("nightly: scene \(delivery.id) against \(against): \(outcome.new.count) new, \(outcome.persisting.count) persisting, \(outcome.resolved.count) resolved")
            } catch let error as RunError where error.category == .outputNotWritable || error.category == .io {
                // The machine, not the scene (a full disk, a read-only mount): stop the night with the registry as it
                // was for this scene, so that the next night retries it.
                try? FileManager.default.removeItem(at: URL(fileURLWithPath: out).appendingPathComponent("scenes/\(delivery.id).partial"))
                logger.error("nightly: scene \(delivery.id) could not be written, the night stops and the scene is retried next time: \(error)")
                throw error
            } catch {
                var failed = scene
                failed.status = "failed"
                failed.failure_reason = "\(error)"
                try registry.recordFailure(failed)
                logger.error("nightly: scene \(delivery.id) failed: \(error)")
                summary.scenesFailed += 1
            }
        }
        summary.result = summary.scenesFailed > 0 ? .someFailed : .allDone
        return summary
    }

    /// The processed scene over the same footprint closest to `days` before, within `window` days of it.
    static func baseline(for delivery: Delivery, in scenes: [SceneRecord], days: Int, window: Int) throws -> SceneRecord? {
        guard let wkt = delivery.footprintWKT, let date = day(delivery.date) else { return nil }
        let footprint = try Geometry(wkt: wkt)
        let target = date - days
        var best: (scene: SceneRecord, distance: Int)?
        for scene in scenes where scene.status == "done" && scene.date < delivery.date {
            guard let other = scene.footprint_wkt.flatMap({ try? Geometry(wkt: $0) }), let common = footprint.intersection(other),
                  common.area >= 0.5 * min(footprint.area, other.area), let when = day(scene.date) else { continue }
            let distance = abs(when - target)
            if distance <= window, distance < (best?.distance ?? .max) { best = (scene, distance) }
        }
        return best?.scene
    }

    /// Days since 1970 of a YYYY-MM-DD date.
    static func day(_ text: String) -> Int? {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.isLenient = false
        return formatter.date(from: text).map { Int($0.timeIntervalSince1970 / 86400) }
    }

    /// Runs the pipeline for one pair into `out/scenes/ID`, published whole: written under `ID.partial` and renamed.
    /// A folder already published for the scene (a rerun after a crash between publishing and recording) is reused.
    func process(_ delivery: Delivery, baseline: SceneRecord?, runner: PipelineRunner, declared: [String: String]) throws -> URL {
        let scenes = URL(fileURLWithPath: out).appendingPathComponent("scenes")
        let target = scenes.appendingPathComponent(delivery.id)
        if force { try? FileManager.default.removeItem(at: target) }
        if FileManager.default.fileExists(atPath: target.appendingPathComponent("run.json").path) {
            logger.info("nightly: scene \(delivery.id): outputs already published, reused")
            return target
        }
        // A folder a killed run left is resumed: its completed stages are kept when nothing they depend on changed.
        let partial = scenes.appendingPathComponent(delivery.id + ".partial")
        if force { try? FileManager.default.removeItem(at: partial) }
        var overrides: [String: String] = [:]
        var values = ["after": delivery.path, "after_date": delivery.date]
        if let baseline {
            values["before"] = baseline.path
            values["before_date"] = baseline.date
        }
        for (name, value) in values where declared[name] != nil { overrides[name] = value }
        let plan = try runner.validate(path: pipelinePath, overrides: overrides)
        var settings = self.settings
        settings.outputDirectory = partial.path
        settings.force = force
        _ = try runner.run(plan, settings: settings)
        guard rename(partial.path, target.path) == 0 else {
            throw RunError(.io, "cannot publish \(partial.path) as \(target.path): \(String(cString: strerror(errno)))")
        }
        return target
    }

    /// The patches of the night's violations.geojson (anywhere under the scene's folder).
    static func detections(in folder: URL) throws -> [Detection] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        for case let relative as String in enumerator where relative.hasSuffix("violations.geojson") {
            let data = try Data(contentsOf: folder.appendingPathComponent(relative))
            guard let collection = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw RunError(.io, "\(relative) is not a GeoJSON object")
            }
            return try ((collection["features"] as? [[String: Any]]) ?? []).map { feature in
                let geometry = try JSONSerialization.data(withJSONObject: feature["geometry"] ?? [:])
                let properties = feature["properties"] as? [String: Any] ?? [:]
                return Detection(geoJSON: String(decoding: geometry, as: UTF8.self), rules: properties["rules"] as? String ?? "",
                                 areaM2: (properties["area_m2"] as? NSNumber)?.doubleValue ?? 0)
            }
        }
        return []
    }
}
