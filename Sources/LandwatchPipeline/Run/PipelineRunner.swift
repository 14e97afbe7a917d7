import Foundation
import LandwatchGDAL
import Logging

/// Runs a pipeline file end to end: load, check, plan, execute, record.
public struct PipelineRunner: Sendable {
    public struct Settings: Sendable {
        /// Output root; every file the run writes goes under it.
        public var outputDirectory: String
        /// Bytes for GDAL's block cache and the blocks in flight together.
        public var memoryBudget: Int
        public var threads: Int
        /// Processing block edge; outputs are tiled the same way.
        public var blockSize: Int
        /// Run every stage, even those whose outputs an earlier run in the same folder completed under the same key.
        public var force: Bool

        public init(outputDirectory: String, memoryBudget: Int = 512 << 20,
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount, blockSize: Int = 512, force: Bool = false) {
            self.outputDirectory = outputDirectory
            self.memoryBudget = memoryBudget
            self.threads = threads
            self.blockSize = blockSize
            self.force = force
        }
    }

    /// The version recorded in run.json and printed by `landwatch --version`.
    public static let version = "0.1.0"

    public var registry: StageRegistry
    public var logger: Logger
    /// Folders pipeline files may read inputs from besides their own (see ``PipelineLoader/readRoots``); nil: anywhere.
    public var readRoots: [String]?

    public init(registry: StageRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Loads and fully checks a pipeline (what `landwatch validate` does): opens raster headers, reads no pixels.
    public func validate(path: String, overrides: [String: String] = [:]) throws(PipelineFileError) -> RunPlan {
        let pipeline = try PipelineLoader(registry: registry, readRoots: readRoots).load(path: path, overrides: overrides)
        return try RunPlan(pipeline: pipeline)
    }

    /// Runs a checked plan, writes `run.json`, and returns the record. Throws ``RunError`` after recording a failure.
    @discardableResult
    public func run(_ plan: RunPlan, settings: Settings, observer: (any RunObserver)? = nil) throws(RunError) -> RunRecord {
        let started = Date()
        let root = try OutputRoot(path: settings.outputDirectory)
        // GDAL's cache gets a quarter of the budget; blocks in flight get half; the rest is the program itself.
        GDALRuntime.configure(cacheBytes: settings.memoryBudget / 4, threads: settings.threads)
        let work = root.url.appendingPathComponent(".landwatch-work-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw RunError(.outputNotWritable, "cannot create the work directory \(work.path): \(OutputRoot.reason(error))")
        }
        PartialFiles.shared.registerDirectory(work.path)
        defer {
            try? FileManager.default.removeItem(at: work)
            PartialFiles.shared.unregisterDirectory(work.path)
        }

        let context = RunContext(outputRoot: root, workDirectory: work, logger: logger, memoryBudget: settings.memoryBudget,
                                 threads: max(settings.threads, 1), blockSize: settings.blockSize)
        var record = RunRecord(
            landwatchVersion: Self.version, gdalVersion: GDALRuntime.version, pipeline: plan.pipeline.path,
            pipelineName: plan.pipeline.name, pipelineSHA256: SHA256.hex(plan.pipeline.contents),
            parameters: plan.pipeline.params, inputs: RunRecord.inputFiles(plan.pipeline.inputFiles),
            grid: .init(crs: plan.grid.crsLabel, width: plan.grid.width, height: plan.grid.height,
                        geoTransform: plan.grid.geoTransform.coefficients),
            memoryBudgetBytes: settings.memoryBudget, threads: context.threads, started: started, finished: nil,
            status: "running", error: nil, stages: [], outputs: [])
        logger.info("run \(plan.pipeline.name): grid \(plan.grid), \(context.threads) threads, memory \(ByteCount.format(settings.memoryBudget))")

        // Resume: stages whose outputs an earlier run here completed under the same key are kept as they are.
        let keys = StageManifest.keys(for: plan, blockSize: settings.blockSize)
        let manifest = settings.force ? StageManifest() : StageManifest.load(from: root)
        let skipping = manifest.skippable(in: plan, keys: keys, root: root)
        let writer = StageManifestWriter(manifest: manifest, keys: keys, root: root)
        var reused: [StageTiming] = []
        for id in plan.pipeline.topologicalOrder where skipping.contains(id) {
            guard var timing = manifest.entries[id]?.timing else { continue }
            timing.reused = true
            reused.append(timing)
            logger.info("stage \(id): outputs complete from an earlier run with the same inputs, options and versions; kept (--force redoes them)")
        }

        var failure: RunError?
        do {
            record.stages = reused + (try Executor(plan: plan, context: context, observer: observer, skipping: skipping, manifest: writer).run())
            // Reports last, from the record of everything else.
            for id in plan.pipeline.topologicalOrder where !skipping.contains(id) {
                guard let declaration = plan.pipeline.stage(id), let report = declaration.instance as? any ReportStage else { continue }
                let started = Date()
                let written = try report.run(record: record, plan: plan, context: context)
                let timing = StageTiming(id: id, uses: declaration.uses, started: started, finished: Date(), outputs: written, fusedWith: [id])
                try writer.record([timing])
                record.stages.append(timing)
            }
            record.status = "succeeded"
        } catch let error as RunError {
            failure = error
        } catch {
            failure = RunError(.internal, "\(error)")
        }
        record.outputs = record.stages.flatMap(\.outputs).sorted()
        record.finished = Date()
        if let failure {
            record.status = "failed"
            record.error = failure.description
        }
        do {
            try root.writeAtomically(try record.encoded(), to: "run.json")
        } catch let error as RunError {
            throw failure ?? error
        } catch {
            throw failure ?? RunError(.io, "cannot encode run.json: \(error)")
        }
        if let failure { throw failure }
        return record
    }
}
