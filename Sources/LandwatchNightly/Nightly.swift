import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSTAC
import LandwatchRegistry
import Logging
import LandwatchOutputs
import LandwatchProducts
import LandwatchSensors

/// How a nightly run ended, for the exit code.
public enum NightlyResult: Sendable, Equatable {
    case nothingToDo
    case allDone
    case someFailed
}

/// What a night did: the summary's figures, the scenes that failed, and where each scene's list and report are.
public struct NightlySummary: Sendable, Equatable, Encodable {
    public var scenesNew = 0
    public var scenesDone = 0
    public var scenesFailed = 0
    /// Scenes that failed on an earlier night and were tried again tonight.
    public var scenesRetried = 0
    public var violationsNew = 0
    public var violationsPersisting = 0
    public var violationsResolved = 0
    public var violationsNotObserved = 0
    public var result: NightlyResult = .nothingToDo
    /// Failed scenes tonight: retried next night, or given up when they reached the retry limit.
    public var failed: [Failure] = []
    /// Each scene processed tonight with its outputs (paths relative to the output folder).
    public var scenes: [Scene] = []

    public struct Failure: Sendable, Equatable, Encodable {
        public var scene: String
        public var reason: String
        public var attempts: Int
        /// `retrying` (tried again next night) or `given_up`.
        public var state: String
    }

    public struct Scene: Sendable, Equatable, Encodable {
        public var scene: String
        public var date: String
        public var baseline: String?
        public var list: String?
        public var report: String?
        public var new: [String]
        public var persisting: [String]
        public var resolved: [String]
        public var not_observed: [String]
    }

    public var line: String {
        "nightly: scenes new \(scenesNew), done \(scenesDone), failed \(scenesFailed)"
            + (scenesRetried > 0 ? " (\(scenesRetried) retried)" : "")
            + "; violations new \(violationsNew), persisting \(violationsPersisting), resolved \(violationsResolved)"
            + (violationsNotObserved > 0 ? ", not observed \(violationsNotObserved)" : "")
            + (failed.isEmpty ? "" : "; failed: " + failed.map { "\($0.scene) (\($0.state == "given_up" ? "given up" : "retrying") after \($0.attempts) attempt\($0.attempts == 1 ? "" : "s"))" }.joined(separator: ", "))
    }

    enum CodingKeys: String, CodingKey {
        case scenesNew = "scenes_new", scenesDone = "scenes_done", scenesFailed = "scenes_failed", scenesRetried = "scenes_retried"
        case violationsNew = "violations_new", violationsPersisting = "violations_persisting"
        case violationsResolved = "violations_resolved", violationsNotObserved = "violations_not_observed"
        case failed, scenes, result
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenesNew, forKey: .scenesNew)
        try c.encode(scenesDone, forKey: .scenesDone)
        try c.encode(scenesFailed, forKey: .scenesFailed)
        try c.encode(scenesRetried, forKey: .scenesRetried)
        try c.encode(violationsNew, forKey: .violationsNew)
        try c.encode(violationsPersisting, forKey: .violationsPersisting)
        try c.encode(violationsResolved, forKey: .violationsResolved)
        try c.encode(violationsNotObserved, forKey: .violationsNotObserved)
        try c.encode(failed, forKey: .failed)
        try c.encode(scenes, forKey: .scenes)
        let result: String
        switch self.result {
        case .nothingToDo: result = "nothing_new"
        case .allDone: result = "all_done"
        case .someFailed: result = "some_failed"
        }
        try c.encode(result, forKey: .result)
    }

    /// The summary as one JSON object (sorted keys), for `--log-format json`.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
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
    /// `--set NAME=VALUE`: params of the pipeline file overridden for every scene (nightly still sets before, after,
    /// before_date and after_date per scene).
    public var overrides: [String: String] = [:]
    /// `--stac FILE|URL`: the deliveries are the Items of this ItemCollection or STAC API search instead of the inbox's.
    public var stac: String?

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
        // The inbox is read-only to us: GDAL would otherwise leave a .properties file (the uncompressed size of a
        // .tar.gz it seeked in) beside the delivery.
        setenv("CPL_VSIL_GZIP_WRITE_PROPERTIES", "NO", 1)
        var isInbox: ObjCBool = false
        guard stac != nil || (FileManager.default.fileExists(atPath: inbox, isDirectory: &isInbox) && isInbox.boolValue) else {
            throw RunError(.input, "the inbox \(inbox) does not exist or is not a folder")
        }
        // Validate the pipeline once, before any scene (its params say how long a delivery must settle).
        var runner = PipelineRunner(registry: self.registry, logger: logger)
        runner.readRoots = readRoots
        let declared = try runner.validate(path: pipelinePath, overrides: overrides).pipeline.params
        let settle = try Self.seconds(declared["settle_seconds"], name: "settle_seconds", path: pipelinePath)
        var (deliveries, skipped) = try stac.map { location throws(RunError) in
            try STACInbox.scan(Self.feed(location, declared: declared, path: pipelinePath), out: out,
                               readRoots: readRoots.map { ReadRoots(folders: [URL(fileURLWithPath: pipelinePath).standardizedFileURL.deletingLastPathComponent().path] + $0) })
        } ?? Inbox.scan(inbox, settleSeconds: settle)
        if let shard {
            let all = deliveries.count
            deliveries = deliveries.filter { shard.owns($0.place ?? $0.contentHash) }
            logger.info("nightly: shard \(shard) takes \(deliveries.count) of the \(all) deliveries in \(inbox)")
        }
        for line in skipped where shard == nil || shard!.owns(line) { logger.warning("nightly: skipped \(line)") }
        let registry = try Registries.open(database, fromEnvironment: databaseFromEnvironment)
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

        // A scene that failed is tried again on later nights, `retries` times at most.
        let retries = Int(declared["retries"] ?? "") ?? 3
        let siteClasses = declared["site_classes"] ?? "landcover-after.tif"

        var summary = NightlySummary()
        var fresh: [(delivery: Delivery, attempts: Int)] = []
        for delivery in deliveries {
            var earlier = try registry.scene(contentHash: delivery.contentHash)
            if earlier == nil, delivery.stacItem != nil, let known = try registry.scenes().first(where: { $0.id == delivery.id }) {
                // The same Item with other content (an asset now answering, or replaced): a failed one is retried; a
                // processed one is not redone unless --force.
                if known.status == "done", !force {
                    logger.warning("nightly: skipped STAC Item \(delivery.id): processed on \(known.recorded_at), its assets changed since (--force redoes it)")
                    continue
                }
                earlier = known
            }
            if force || earlier == nil {
                fresh.append((delivery, (earlier?.attempts ?? 0) + 1))
            } else if let earlier, earlier.status == "failed", earlier.attempts <= retries {
                fresh.append((delivery, earlier.attempts + 1))
                summary.scenesRetried += 1
                logger.info("nightly: scene \(delivery.id) failed on an earlier night (\(earlier.failure_reason ?? "")): attempt \(earlier.attempts + 1) of \(retries + 1)")
            }
        }
        summary.scenesNew = fresh.count
        if fresh.isEmpty {
            logger.info("nightly: nothing new in \(stac ?? inbox)")
            return summary
        }
        func failed(_ scene: SceneRecord, _ reason: String, attempts: Int) throws {
            var scene = scene
            scene.status = "failed"
            scene.failure_reason = reason
            let state = attempts > retries ? "given_up" : "retrying"
            // `given_up`: never tried again (--force still redoes it).
            if state == "given_up" { scene.status = "given_up" }
            try registry.recordFailure(scene)
            summary.failed.append(.init(scene: scene.id, reason: reason, attempts: attempts, state: state))
            logger.error("nightly: scene \(scene.id) failed (attempt \(attempts) of \(retries + 1), \(state == "given_up" ? "given up" : "retried next night")): \(reason)")
            summary.scenesFailed += 1
        }
        for (var delivery, attempts) in fresh.sorted(by: { ($0.delivery.date, $0.delivery.id) < ($1.delivery.date, $1.delivery.id) }) {
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
            var scene = SceneRecord(id: delivery.id, sensor: delivery.sensor, date: delivery.date, footprintWKT: delivery.footprintWKT,
                                    cloudShare: nil, contentHash: delivery.contentHash, path: delivery.path, status: "done")
            scene.attempts = attempts
            scene.stac_item = delivery.stacItem
            if delivery.problem == nil, delivery.stacItem != nil {
                // An Item the pipeline cannot read (a band without asset, assets on different grids) fails before it
                // can become a baseline: its read.stac stages are checked with it now.
                do {
                    var overrides = self.overrides
                    for (name, value) in ["after": delivery.path, "after_date": delivery.date] where declared[name] != nil { overrides[name] = value }
                    _ = try runner.validate(path: pipelinePath, overrides: overrides)
                } catch {
                    delivery.problem = "\(error)"
                }
            }
            if let problem = delivery.problem {
                scene.footprint_wkt = nil
                try failed(scene, problem, attempts: attempts)
                continue
            }
            let baseline = againstLanduse ? nil : try Self.baseline(for: delivery, in: registry.scenes(), days: baselineDays, window: window)
            if baseline == nil, !againstLanduse {
                // The first scene over a place: the baseline of later nights.
                _ = try registry.record(scene: scene, detections: [])
                logger.info("nightly: scene \(delivery.id) recorded as a baseline (no earlier scene over its footprint within \(window) days of \(baselineDays) days before)")
                summary.scenesDone += 1
                continue
            }
            do {
                // The violations tracked over the scene, handed to the run so that its list carries their ids.
                let box = try delivery.footprintWKT.map { try Geometry(wkt: $0).envelope } ?? (-180, -90, 180, 90)
                let tracked = try registry.violations(meeting: box)
                let handed = TrackedViolations(overlap: 0.25, violations: tracked.map {
                    .init(id: $0.id, statusIfSeen: $0.status.seenAgain(firstTonight: $0.first_scene == scene.id).rawValue, geometryWKT: $0.geometry_wkt)
                })
                let folder = try process(delivery, baseline: baseline, runner: runner, declared: declared, tracked: handed,
                                         history: try History.rows(from: registry))
                let run = try RunRecord.decode(Data(contentsOf: folder.appendingPathComponent("run.json")))
                guard let listPath = run.outputs.first(where: { $0 == ViolationList.fileName || $0.hasSuffix("/" + ViolationList.fileName) }) else {
                    throw RunError(.input, "\(pipelinePath): the run wrote no \(ViolationList.fileName): nightly needs a write.violations stage")
                }
                let list = try ViolationList.read(folder.appendingPathComponent(listPath))
                let detections = list.violations.map {
                    Detection(id: $0.id, geoJSON: (try? Geometry(wkt: $0.geometry_wkt).geoJSON) ?? "", rules: $0.rules, areaM2: $0.area_m2,
                              score: $0.score, beforeClass: $0.before_class, afterClass: $0.after_class,
                              attributes: ViolationExport.attributes(of: $0, list: list,
                                                                      folder: folder.appendingPathComponent(listPath).deletingLastPathComponent()))
                }
                let listed = Set(list.violations.map(\.id))
                let watched = tracked.filter { !listed.contains($0.id) && !$0.status.isDecided && $0.first_scene != scene.id }
                let observations = SiteObserver.observe(watched, classes: folder.appendingPathComponent(siteClasses), logger: logger)
                let against = baseline?.id ?? "landuse"
                let entry = RunEntry(sceneID: scene.id, baseline: against, started: run.started, finished: run.finished,
                                     pipelineSHA256: run.pipelineSHA256, versions: "landwatch \(run.landwatchVersion), GDAL \(run.gdalVersion)",
                                     exitStatus: run.status, outputs: run.outputs)
                // With each zone's metrics tonight (when the pipeline has metrics stages), for the history report.
                let zoneMetrics = try History.zoneMetrics(run: run, folder: folder, scene: scene.id, date: scene.date)
                let outcome = try registry.record(scene: scene, detections: detections, observations: observations, run: entry, overlap: 0.25,
                                                  zoneMetrics: zoneMetrics)
                for (listedID, registryID) in outcome.renamed.sorted(by: { $0.key < $1.key }) {
                    logger.warning("nightly: scene \(delivery.id): the list names \(listedID) what the registry tracks as \(registryID) (the registry changed while the scene ran)")
                }
                summary.scenesDone += 1
                summary.violationsNew += outcome.new.count
                summary.violationsPersisting += outcome.persisting.count
                summary.violationsResolved += outcome.resolved.count
                summary.violationsNotObserved += outcome.notObserved.count
                let scenes = URL(fileURLWithPath: out).appendingPathComponent("scenes").lastPathComponent
                let report = run.outputs.first { $0.hasSuffix(".html") }
                summary.scenes.append(.init(scene: scene.id, date: scene.date, baseline: against, list: "\(scenes)/\(scene.id)/\(listPath)",
                                            report: report.map { "\(scenes)/\(scene.id)/\($0)" }, new: outcome.new, persisting: outcome.persisting,
                                            resolved: outcome.resolved, not_observed: outcome.notObserved))
                let unseen = outcome.notObserved.isEmpty ? "" : ", \(outcome.notObserved.count) not observed (cloud or nodata over the site)"
                logger.info("nightly: scene \(delivery.id) against \(against): \(outcome.new.count) new, \(outcome.persisting.count) persisting, \(outcome.resolved.count) resolved\(unseen)")
            } catch let error as RunError where error.category == .io && Self.concernsDelivery(error, delivery, baseline: baseline) {
                // Reading the delivery failed (truncated, still being copied, corrupt): the scene, not the machine.
                // Recorded failed and retried on a later night; the night goes on with the others.
                try failed(scene, "\(error)", attempts: attempts)
            } catch let error as RunError where error.category == .outputNotWritable || error.category == .io {
                // The machine, not the scene (a full disk, a read-only mount): stop the night with the registry as it
                // was for this scene, so that the next night retries it.
                try? FileManager.default.removeItem(at: URL(fileURLWithPath: out).appendingPathComponent("scenes/\(delivery.id).partial"))
                logger.error("nightly: scene \(delivery.id) could not be written, the night stops and the scene is retried next time: \(error)")
                throw error
            } catch {
                try failed(scene, "\(error)", attempts: attempts)
            }
        }
        summary.result = summary.scenesFailed > 0 ? .someFailed : .allDone
        // The history of everything the registry holds, beside the scenes (issue 24): out/history, out/history-zh.
        for (language, name) in [("en", "history"), ("zh", "history-zh")] {
            do {
                try History.writeReport(registry: registry, zone: nil, from: nil, to: nil, language: language,
                                        folder: URL(fileURLWithPath: out).appendingPathComponent(name).path)
            } catch let problem as History.Problem {
                logger.info("nightly: no \(name)/ report: \(problem)")
            } catch {
                logger.warning("nightly: \(name)/index.html not written: \(error)")
            }
        }
        // The folder's STAC Collection links every scene run's Item (issue 25).
        do {
            try STACCollectionWriter.write(folder: out, id: URL(fileURLWithPath: out).standardizedFileURL.lastPathComponent,
                                           description: "landwatch nightly runs of \(URL(fileURLWithPath: pipelinePath).lastPathComponent): one Item per scene")
        } catch {
            logger.warning("nightly: \(STACCollectionWriter.path) not written: \(error)")
        }
        return summary
    }

    /// The STAC feed of `--stac`: a `/search` endpoint is queried with the pipeline's params stac_bbox (west,south,east,
    /// north), stac_datetime (an interval, `2024-06-01/2024-09-01`), stac_collections (comma-separated) and stac_limit
    /// (Items per page); stac_max_pages (default 10) bounds the pages read, for an ItemCollection too.
    static func feed(_ location: String, declared: [String: String], path: String) throws(RunError) -> STACFeed {
        var search = STACFeed.Search()
        if let text = declared["stac_bbox"], !text.isEmpty {
            let numbers = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 4, numbers[0] < numbers[2], numbers[1] < numbers[3] else {
                throw RunError(.input, "\(path): param stac_bbox: '\(text.prefix(60))' must be west,south,east,north in degrees")
            }
            search.bbox = numbers
        }
        if let text = declared["stac_datetime"], !text.isEmpty {
            let ends = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard ends.count == 2, ends.allSatisfy({ $0 == ".." || $0.isEmpty || day(String($0.prefix(10))) != nil }) else {
                throw RunError(.input, "\(path): param stac_datetime: '\(text.prefix(60))' must be an interval START/END (dates or RFC 3339 times, '..' for open)")
            }
            // Bare dates become the whole days' RFC 3339 times, as STAC APIs want them.
            let full = ends.enumerated().map { index, end in
                end.count == 10 ? end + (index == 0 ? "T00:00:00Z" : "T23:59:59Z") : end
            }
            search.datetime = full.joined(separator: "/")
        }
        search.collections = (declared["stac_collections"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let text = declared["stac_limit"], !text.isEmpty {
            guard let limit = Int(text), (1...10000).contains(limit) else {
                throw RunError(.input, "\(path): param stac_limit: '\(text.prefix(40))' must be a whole number of Items per page from 1 to 10000")
            }
            search.limit = limit
        }
        var pages = 10
        if let text = declared["stac_max_pages"], !text.isEmpty {
            guard let value = Int(text), (1...10000).contains(value) else {
                throw RunError(.input, "\(path): param stac_max_pages: '\(text.prefix(40))' must be a whole number of pages from 1 to 10000")
            }
            pages = value
        }
        return STACFeed(location: location, search: STACFeed.isSearch(location) ? search : nil, maxPages: pages)
    }

    /// True when a failure names a file of the delivery (or of its baseline): a broken input, not a broken machine.
    static func concernsDelivery(_ error: RunError, _ delivery: Delivery, baseline: SceneRecord?) -> Bool {
        var places = [delivery.path, URL(fileURLWithPath: delivery.path).deletingLastPathComponent().path]
        if let archive = delivery.archive { places.append(archive) }
        if let baseline { places += [baseline.path, URL(fileURLWithPath: baseline.path).deletingLastPathComponent().path] }
        let message = error.description
        // A STAC Item's assets are read where its hrefs point (/vsicurl/ URLs).
        if delivery.stacItem != nil, message.contains("/vsi") || message.contains("Item \(delivery.id)") { return true }
        return places.contains { !$0.isEmpty && $0 != "/" && $0 != "." && message.contains($0) }
            && !message.contains("No space left") && !message.contains("Read-only file system")
            && !message.lowercased().contains("cannot write") && !message.lowercased().contains("cannot create")
    }

    /// A params value in seconds (nil: 0), or a one-line refusal naming the param.
    static func seconds(_ text: String?, name: String, path: String) throws(RunError) -> Double {
        guard let text, !text.isEmpty else { return 0 }
        guard let value = Double(text), value.isFinite, value >= 0, value <= 7 * 86400 else {
            throw RunError(.input, "\(path): param \(name): '\(text.prefix(40))' must be a number of seconds from 0 to 604800")
        }
        return value
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
    func process(_ delivery: Delivery, baseline: SceneRecord?, runner: PipelineRunner, declared: [String: String],
                 tracked: TrackedViolations, history: HistoryRows) throws -> URL {
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
        // The tracked violations go into the run's folder, where write.violations reads them; a folder a killed run
        // left with other tracked violations (the registry changed since) starts again.
        let trackedFile = partial.appendingPathComponent(TrackedViolations.fileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let trackedData = try encoder.encode(tracked)
        if let earlier = FileManager.default.contents(atPath: trackedFile.path), earlier != trackedData {
            try? FileManager.default.removeItem(at: partial)
        }
        do {
            try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
            try trackedData.write(to: trackedFile)
            // The registry's nights so far, for the scene report's "over time" (report.html reads it).
            try encoder.encode(history).write(to: partial.appendingPathComponent(HistoryRows.fileName))
        } catch {
            throw RunError(.outputNotWritable, "cannot write \(trackedFile.path): \(error.localizedDescription)")
        }
        var overrides = self.overrides
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
}
