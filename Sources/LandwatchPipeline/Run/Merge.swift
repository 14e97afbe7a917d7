import Foundation
import LandwatchGDAL

/// The output folders of the shards of one `run --shard K/N`, read from their run.json and checked against each
/// other for `landwatch merge`: all N present once, same pipeline file, parameters and grid, each succeeded.
public struct ShardSet: Sendable {
    public struct Member: Sendable {
        public var directory: String
        public var record: RunRecord
        public var shard: ShardRecord
    }

    /// By shard number.
    public var members: [Member]

    public var first: Member { members[0] }
    public var count: Int { first.shard.layout.count }

    public init(directories: [String]) throws(RunError) {
        var members: [Member] = []
        for directory in directories {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("run.json").path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw RunError(.input, "\(directory): no run.json there; not the output folder of `landwatch run --shard`, or that shard has not run yet")
            }
            let record: RunRecord
            do { record = try RunRecord.decode(data) } catch {
                throw RunError(.input, "\(path): not a landwatch run record (\(error))")
            }
            guard let shard = record.shard else {
                throw RunError(.input, "\(directory): run.json is of a run without --shard; merge joins the output folders of `landwatch run --shard K/N`")
            }
            let name = "shard \(shard.layout.index)/\(shard.layout.count) (\(directory))"
            guard record.status == "succeeded" else {
                throw RunError(.input, "\(name) " + (record.status == "failed" ? "failed: \(record.error ?? "no reason recorded")" : "did not finish")
                               + "; run it again before merging")
            }
            if let other = members.first {
                let reference = "shard \(other.shard.layout.index)/\(other.shard.layout.count) (\(other.directory))"
                guard shard.layout.count == other.shard.layout.count else {
                    throw RunError(.input, "\(name) and \(reference) are shards of different splits: merge the N folders of one `run --shard K/N`")
                }
                guard record.pipelineSHA256 == other.record.pipelineSHA256 else {
                    throw RunError(.input, "\(name) ran another pipeline file than \(reference) (sha256 \(record.pipelineSHA256.prefix(12))… and \(other.record.pipelineSHA256.prefix(12))…)")
                }
                guard record.parameters == other.record.parameters else {
                    let differing = Set(record.parameters.keys).union(other.record.parameters.keys)
                        .filter { record.parameters[$0] != other.record.parameters[$0] }.sorted()
                    throw RunError(.input, "\(name) ran with other parameters than \(reference): \(differing.joined(separator: ", "))")
                }
                guard shard.grid == other.shard.grid, shard.haloRows == other.shard.haloRows, shard.handedOver == other.shard.handedOver else {
                    throw RunError(.input, "\(name) was split on another grid or with another halo than \(reference)")
                }
                if let twin = members.first(where: { $0.shard.layout.index == shard.layout.index }) {
                    throw RunError(.input, "shard \(shard.layout.index)/\(shard.layout.count) is given twice: \(twin.directory) and \(directory)")
                }
            }
            members.append(Member(directory: directory, record: record, shard: shard))
        }
        guard let any = members.first else { throw RunError(.input, "no shard folders given") }
        let given = Set(members.map(\.shard.layout.index))
        let missing = (1...any.shard.layout.count).filter { !given.contains($0) }
        if let gap = missing.first {
            let list = missing.map { "\($0)/\(any.shard.layout.count)" }.joined(separator: ", ")
            throw RunError(.input, "shard \(list) \(missing.count == 1 ? "is" : "are") missing (given: \(given.sorted().map(String.init).joined(separator: ", "))): "
                           + "run `landwatch run \(any.record.pipeline) --shard \(gap)/\(any.shard.layout.count)` and give its output folder too")
        }
        self.members = members.sorted { $0.shard.layout.index < $1.shard.layout.index }
    }

    /// The pipeline parameters the shards ran with.
    public var parameters: [String: String] { first.record.parameters }
    /// The pipeline file as the shards recorded it (absolute).
    public var pipelinePath: String { first.shard.pipelinePath }

    /// Each shard's copy of `relative`, with the rows it delivers; fails naming the first shard without it.
    func parts(of relative: String) throws(RunError) -> [RowMosaic.Part] {
        try members.map { member throws(RunError) in
            let path = URL(fileURLWithPath: member.directory).appendingPathComponent(relative).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw RunError(.input, "shard \(member.shard.layout.index)/\(member.shard.layout.count) (\(member.directory)): \(relative) is missing; "
                               + "run that shard again (with --force if its run.json says it finished)")
            }
            let layout = member.shard.layout
            return RowMosaic.Part(path: path, sourceRow: layout.rows[0] - layout.readRows[0], rows: layout.delivered)
        }
    }
}

extension PipelineRunner {
    /// Joins the shards of a `run --shard K/N` into what an unsharded run of `plan` writes: the rasters the shards
    /// wrote become mosaics (each shard's halo left out), the products handed over are mosaicked in the work folder,
    /// and the stages that need the whole grid (violation patches, training, zonal figures, reports) run on them.
    @discardableResult
    public func merge(_ plan: RunPlan, shards: ShardSet, settings: Settings, observer: (any RunObserver)? = nil) throws(RunError) -> RunRecord {
        let started = Date()
        let split = ShardSplit(plan: plan)
        let first = shards.first
        guard SHA256.hex(plan.pipeline.contents) == first.record.pipelineSHA256 else {
            throw RunError(.input, "\(plan.pipeline.path) changed since the shards ran (they ran sha256 \(first.record.pipelineSHA256.prefix(12))…): run the shards again, or merge with the file they ran")
        }
        let grid = plan.grid
        guard first.shard.grid == RunRecord.GridRecord(crs: grid.crsLabel, width: grid.width, height: grid.height, geoTransform: grid.geoTransform.coefficients) else {
            throw RunError(.input, "the shards were cut from another run grid than \(plan.pipeline.path) gives now (an input changed?): run the shards again")
        }
        guard first.shard.deferred == plan.pipeline.topologicalOrder.filter(split.deferred.contains),
              Set(first.shard.handedOver.keys) == Set(split.handedOver) else {
            throw RunError(.internal, "the shards split the pipeline otherwise than this landwatch does (another version?): run the shards again with this one")
        }

        // The merge writes a folder of its own: never one of the shards' (it would replace what it reads).
        let target = OutputCheck.realPathAllowingMissing(URL(fileURLWithPath: settings.outputDirectory).standardizedFileURL.path)
        for member in shards.members {
            let shard = OutputCheck.realPathAllowingMissing(URL(fileURLWithPath: member.directory).standardizedFileURL.path)
            if target == shard || target.hasPrefix(shard + "/") || shard.hasPrefix(target + "/") {
                throw RunError(.outputNotWritable, "--out \(settings.outputDirectory) is \(target == shard ? "" : target.hasPrefix(shard + "/") ? "inside " : "the folder holding ")the output folder of shard \(member.shard.layout.index)/\(member.shard.layout.count) (\(member.directory)); merge into a folder of its own")
            }
        }
        ReadPolicy.shared.begin(roots: readPolicyRoots(pipelinePath: plan.pipeline.path).map { $0 + shards.members.map(\.directory) })
        defer { ReadPolicy.shared.end() }
        let (root, context, transaction) = try open(settings)
        defer {
            Self.removeWorkDirectory(context.workDirectory)
            transaction.close()
        }
        var record = RunRecord(
            landwatchVersion: Self.version, gdalVersion: GDALRuntime.version, pipeline: plan.pipeline.path,
            pipelineName: plan.pipeline.name, pipelineSHA256: first.record.pipelineSHA256,
            parameters: plan.pipeline.params, inputs: first.record.inputs,
            grid: first.shard.grid, memoryBudgetBytes: settings.memoryBudget, threads: context.threads, started: started, finished: nil,
            status: "running", error: nil, stages: [], outputs: [])
        record.mergedFrom = shards.members.map(\.directory)
        record.processID = Int(getpid())
        let marker = try Self.markRunning(record, root: root, transaction: transaction)
        defer { PartialFiles.shared.removeInterruptHandler(marker) }
        logger.info("merge \(plan.pipeline.name): \(shards.count) shards onto \(grid)")

        var failure: RunError?
        do {
            // 1. What the shards wrote, joined: their own outputs under the same names, handed-over products as scratch.
            let shardOutputs = first.record.outputs.filter { !$0.hasPrefix("shard/") }
            // Imagery without a valid pixel in any shard is refused, as the unsharded run refuses it.
            for id in plan.pipeline.topologicalOrder
            where shards.members.allSatisfy({ $0.record.stages.contains { $0.id == id && $0.allNodata == true } }) {
                throw Executor.nothingValid(stage: id, plan: plan, grid: grid)
            }
            // Every shard's files are there before anything is written.
            for relative in shardOutputs + split.handedOver.map(ShardSplit.handoverPath) { _ = try shards.parts(of: relative) }
            var mosaics: [String] = []
            for relative in shardOutputs {
                guard relative.lowercased().hasSuffix(".tif") || relative.lowercased().hasSuffix(".tiff") else {
                    throw RunError(.internal, "shard output \(relative) is not a raster; merge cannot join it")
                }
                let parts = try shards.parts(of: relative)
                let target = try root.resolve(relative)
                try AtomicOutput(target: target).write { path in
                    try RowMosaic.write(parts, grid: grid, to: path, stripBytes: max(settings.memoryBudget / 4, 1 << 20))
                }
                mosaics.append(relative)
                logger.info("merged \(relative) from \(parts.count) shards")
            }
            var handed: [String: String] = [:]
            for id in split.handedOver {
                let parts = try shards.parts(of: ShardSplit.handoverPath(id))
                let path = context.scratchPath("\(id).tif")
                do {
                    try RowMosaic.write(parts, grid: grid, to: path, stripBytes: max(settings.memoryBudget / 4, 1 << 20))
                } catch {
                    throw Executor.wrap(error, stage: id)
                }
                if let finishing = plan.pipeline.stage(id)?.mergeFinishing, let product = plan.products[id] {
                    do { try finishing.finishMerged(output: path, description: product, grid: grid, context: context) } catch {
                        throw Executor.wrap(error, stage: id)
                    }
                }
                handed[id] = path
            }
            // 2. The shards' stages, once each, with the merged files as their outputs.
            for id in plan.pipeline.topologicalOrder where !split.deferred.contains(id) {
                let timings = shards.members.compactMap { $0.record.stages.first { $0.id == id } }
                guard var timing = timings.first else { continue }
                timing.started = timings.map(\.started).min()!
                timing.finished = timings.map(\.finished).max()!
                timing.outputs = timing.outputs.filter(mosaics.contains)
                var counts: [String: Int] = [:]
                for other in timings { for (name, value) in other.counts ?? [:] { counts[name, default: 0] += value } }
                timing.counts = counts.isEmpty ? nil : counts
                timing.reused = nil
                record.stages.append(timing)
            }
            // 3. What needs the whole grid.
            let execution = ExecutionPlan(plan).merging(split, mosaics: handed)
            record.stages += try Executor(execution: execution, context: context, observer: observer).run()
            for id in execution.reports {
                guard let declaration = plan.pipeline.stage(id), let report = declaration.role.report else { continue }
                let started = Date()
                let written = try report.run(record: record, plan: plan, context: context)
                record.stages.append(StageTiming(id: id, uses: declaration.uses, started: started, finished: Date(), outputs: written, fusedWith: [id]))
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
}
