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
        /// Compute only this shard's band of rows, and hand over what needs the whole grid to `landwatch merge`.
        public var shard: Shard?

        public init(outputDirectory: String, memoryBudget: Int = 512 << 20,
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount, blockSize: Int = 512, force: Bool = false,
                    shard: Shard? = nil) {
            self.outputDirectory = outputDirectory
            self.memoryBudget = memoryBudget
            self.threads = threads
            self.blockSize = blockSize
            self.force = force
            self.shard = shard
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
        // Every file GDAL opens while the stages check their inputs is checked against the read roots too.
        ReadPolicy.shared.begin(roots: readPolicyRoots(pipelinePath: path))
        defer { ReadPolicy.shared.end() }
        let pipeline = try PipelineLoader(registry: registry, readRoots: readRoots).load(path: path, overrides: overrides)
        return try RunPlan(pipeline: pipeline)
    }

    /// The folders GDAL may read from for a pipeline file: its own folder and the read roots; nil: anywhere.
    func readPolicyRoots(pipelinePath: String) -> [String]? {
        readRoots.map { [URL(fileURLWithPath: pipelinePath).standardizedFileURL.deletingLastPathComponent().path] + $0 }
    }

    /// Runs a checked plan, writes `run.json`, and returns the record. Throws ``RunError`` after recording a failure.
    @discardableResult
    public func run(_ plan: RunPlan, settings: Settings, observer: (any RunObserver)? = nil) throws(RunError) -> RunRecord {
        let started = Date()
        var plan = plan
        // A shard computes its band of rows (with the halo) on the part of the run grid they cover.
        var shardRecord: ShardRecord?
        var split: ShardSplit?
        var fullGrid: RasterGrid?
        if let shard = settings.shard {
            let shardSplit = ShardSplit(plan: plan)
            let layout = try ShardLayout(shard: shard, height: plan.grid.height, blockSize: settings.blockSize, haloRows: shardSplit.haloRows)
            let full = plan.grid
            fullGrid = full
            shardRecord = ShardRecord(
                layout: layout, haloRows: shardSplit.haloRows,
                pipelinePath: URL(fileURLWithPath: plan.pipeline.path).standardizedFileURL.path,
                grid: .init(crs: full.crsLabel, width: full.width, height: full.height, geoTransform: full.geoTransform.coefficients),
                handedOver: Dictionary(uniqueKeysWithValues: shardSplit.handedOver.map { ($0, ShardSplit.handoverPath($0)) }),
                deferred: plan.pipeline.topologicalOrder.filter(shardSplit.deferred.contains))
            plan.grid = full.rows(layout.computed)
            split = shardSplit
            logger.info("shard \(shard): rows \(layout.rows[0])..<\(layout.rows[1]) of \(full.height), computed with a halo of \(shardSplit.haloRows) rows as \(layout.readRows[0])..<\(layout.readRows[1]); left to the merge: \(shardRecord!.deferred.joined(separator: ", "))")
        }
        // Outputs that are inputs, records or inside each other are refused before anything is written.
        do { try checkOutputs(plan, outputDirectory: settings.outputDirectory) } catch {
            throw RunError(.outputNotWritable, error.diagnostics.map(\.description).joined(separator: "; "))
        }
        ReadPolicy.shared.begin(roots: readPolicyRoots(pipelinePath: plan.pipeline.path))
        defer { ReadPolicy.shared.end() }
        let (root, context, transaction) = try open(settings, fullGrid: fullGrid)
        defer {
            Self.removeWorkDirectory(context.workDirectory)
            transaction.close()
        }
        var record = RunRecord(
            landwatchVersion: Self.version, gdalVersion: GDALRuntime.version, pipeline: plan.pipeline.path,
            pipelineName: plan.pipeline.name, pipelineSHA256: SHA256.hex(plan.pipeline.contents),
            parameters: plan.pipeline.params, inputs: RunRecord.inputFiles(plan.pipeline.inputFiles),
            grid: .init(crs: plan.grid.crsLabel, width: plan.grid.width, height: plan.grid.height,
                        geoTransform: plan.grid.geoTransform.coefficients),
            memoryBudgetBytes: settings.memoryBudget, threads: context.threads, started: started, finished: nil,
            status: "running", error: nil, stages: [], outputs: [])
        record.processID = Int(getpid())
        let marker = try Self.markRunning(record, root: root, transaction: transaction)
        defer { PartialFiles.shared.removeInterruptHandler(marker) }
        logger.info("run \(plan.pipeline.name): grid \(plan.grid), \(context.threads) threads, memory \(ByteCount.format(settings.memoryBudget))")

        // Resume: stages whose outputs an earlier run here completed under the same key are kept as they are.
        let keys = StageManifest.keys(for: plan, blockSize: settings.blockSize, shard: settings.shard)
        let manifest = settings.force ? StageManifest() : StageManifest.load(from: root)
        let complete = manifest.skippable(in: plan, keys: keys, root: root, split: split)
        let skipping = complete.union(split?.deferred ?? [])
        record.shard = shardRecord
        let writer = StageManifestWriter(manifest: manifest, keys: keys, root: root)
        var reused: [StageTiming] = []
        for id in plan.pipeline.topologicalOrder where skipping.contains(id) && split?.deferred.contains(id) != true {
            guard var timing = manifest.entries[id]?.timing else { continue }
            timing.reused = true
            reused.append(timing)
            logger.info("stage \(id): outputs complete from an earlier run with the same inputs, options and versions; kept (--force redoes them)")
        }

        var failure: RunError?
        do {
            // What is in the way of an output and not landwatch's is refused before anything is computed.
            for output in OutputCheck.declared(plan) { try transaction.checkReplaceable(root.url.appendingPathComponent(output.path)) }
            // The whole run's plan, cut to this shard's part of it, less what an earlier run completed.
            var execution = ExecutionPlan(plan)
            if let split, let shardRecord {
                let layout = shardRecord.layout
                execution = execution.sharded(split, countedRows: layout.rows[0] - layout.readRows[0]..<layout.rows[1] - layout.readRows[0])
            }
            execution = execution.resuming(skipping: complete)
            record.stages = reused + (try Executor(execution: execution, context: context, observer: observer, manifest: writer).run())
            // Reports last, from the record of everything else.
            for id in execution.reports {
                guard let declaration = plan.pipeline.stage(id), let report = declaration.role.report else { continue }
                let started = Date()
                let written = try report.run(record: record, plan: plan, context: context)
                let timing = StageTiming(id: id, uses: declaration.uses, started: started, finished: Date(), outputs: written, fusedWith: [id])
                try writer.record([timing])
                record.stages.append(timing)
            }
            try describe(record, plan: plan, context: context)
            record.status = "succeeded"
        } catch let error as RunError {
            failure = error
        } catch {
            failure = RunError(.internal, "\(error)")
        }
        record.filesRead = Self.filesRead(plan)
        return try Self.close(record, failure: failure, root: root, transaction: transaction)
    }

    /// What the run read: the files the stages opened and what the pipeline's inputs lead to.
    static func filesRead(_ plan: RunPlan) -> [String] {
        let named = (plan.pipeline.inputFiles + StageManifest.indirectFiles(plan)).map { $0.hasPrefix("/vsi") ? $0 : ReadPolicy.realPath($0) }
        return Array(Set(ReadPolicy.shared.filesRead + named)).sorted()
    }

    /// Writes the record as `running` before anything else, so that run.json never says "succeeded" beside outputs
    /// of another run; on SIGINT/SIGTERM the record says `interrupted` (or goes, when the run published nothing and
    /// there was no record before). Returns the interrupt handler's token.
    static func markRunning(_ record: RunRecord, root: OutputRoot, transaction: OutputTransaction) throws(RunError) -> Int {
        let recordPath = root.url.appendingPathComponent("run.json").path
        let hadRecord = FileManager.default.fileExists(atPath: recordPath)
        do {
            try root.writeAtomically(try record.encoded(), to: "run.json")
        } catch let error as RunError {
            throw error
        } catch {
            throw RunError(.internal, "cannot encode run.json: \(error)")
        }
        var interrupted = record
        interrupted.status = "interrupted"
        interrupted.error = "interrupted by a signal before the run ended; nothing of this run was published (the outputs in the folder are an earlier run's)"
        let data = try? interrupted.encoded()
        return PartialFiles.shared.onInterrupt {
            // A publish under way is finished first (renames only); a run that published keeps its final record.
            if transaction.interrupt() { return }
            if !hadRecord && !transaction.publishedThisRun {
                unlink(recordPath)
            } else if let data {
                try? root.writeAtomically(data, to: "run.json")
            }
        }
    }

    /// The output root (locked for this run), GDAL configured for the budget, and the context with a fresh scratch
    /// folder (the caller removes it with ``removeWorkDirectory(_:)`` and then closes the transaction).
    func open(_ settings: Settings, fullGrid: RasterGrid? = nil) throws(RunError) -> (OutputRoot, RunContext, OutputTransaction) {
        let root = try OutputRoot(path: settings.outputDirectory)
        // GDAL's cache gets a quarter of the budget; blocks in flight get half; the rest is the program itself.
        GDALRuntime.configure(cacheBytes: settings.memoryBudget / 4, threads: settings.threads)
        let work = try Self.makeWorkDirectory(in: root)
        let transaction: OutputTransaction
        do { transaction = try OutputTransaction(root: root, workDirectory: work, publishesAtEnd: true) } catch {
            Self.removeWorkDirectory(work)
            throw error
        }
        for process in transaction.completedPublishes {
            logger.warning("completed the publish of the run (process \(process)) that was killed while it moved its outputs into \(root.url.path)")
        }
        ReadPolicy.shared.allowOwn(root.url.path)
        let context = RunContext(outputRoot: root, workDirectory: work, logger: logger, memoryBudget: settings.memoryBudget,
                                 threads: max(settings.threads, 1), blockSize: settings.blockSize, fullGrid: fullGrid)
        return (root, context, transaction)
    }

    /// The run's scratch folder in the output root (removed, with everything in it, by ``removeWorkDirectory(_:)``,
    /// or by the signal handler when the run is interrupted).
    static func makeWorkDirectory(in root: OutputRoot) throws(RunError) -> URL {
        let work = root.url.appendingPathComponent(".landwatch-work-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw RunError(.outputNotWritable, "cannot create the work directory \(work.path): \(OutputRoot.reason(error))")
        }
        PartialFiles.shared.registerDirectory(work.path)
        return work
    }

    static func removeWorkDirectory(_ work: URL) {
        try? FileManager.default.removeItem(at: work)
        PartialFiles.shared.unregisterDirectory(work.path)
    }

    /// Runs the registry's ``RunDescriber``s on the record as it will be published.
    func describe(_ record: RunRecord, plan: RunPlan, context: RunContext) throws {
        var described = record
        described.outputs = record.stages.flatMap(\.outputs).sorted()
        described.status = "succeeded"
        for describer in registry.describers { _ = try describer.describe(record: described, plan: plan, context: context) }
    }

    /// Completes the record (outputs, end time, failure). A run that succeeded publishes its outputs, the manifest and
    /// the record together (``OutputTransaction/publish(record:)``); one that failed publishes nothing but its record,
    /// and throws the failure.
    static func close(_ record: RunRecord, failure: RunError?, root: OutputRoot, transaction: OutputTransaction) throws(RunError) -> RunRecord {
        var record = record
        record.finished = Date()
        var failure = failure
        if failure == nil {
            record.outputs = record.stages.flatMap(\.outputs).sorted()
            do {
                try transaction.publish(record: try record.encoded())
                return record
            } catch let error as RunError {
                failure = error
            } catch {
                failure = RunError(.internal, "cannot encode run.json: \(error)")
            }
        }
        guard let failure else { return record }
        record.status = "failed"
        record.error = failure.description
        // Nothing of this run is in the folder: the outputs there (if any) are an earlier run's.
        record.outputs = []
        // The failure is what the caller hears of, even when its record cannot be written either.
        try? root.writeAtomically(try record.encoded(), to: "run.json")
        throw failure
    }
}
