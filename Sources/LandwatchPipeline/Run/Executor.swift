import Dispatch
import Foundation
import LandwatchGDAL
import Synchronization

/// When each stage ran and what it wrote.
public struct StageTiming: Sendable, Codable {
    public var id: String
    public var uses: String
    public var started: Date
    public var finished: Date
    /// Output files, relative to the output root.
    public var outputs: [String]
    /// Stages evaluated in the same fused streaming pass (including this one), or just this one.
    public var fusedWith: [String]
    /// Pixel counts the stage reported (for example `masked`), summed over the run.
    public var counts: [String: Int]? = nil
    /// True when the stage's outputs were complete from an earlier run under the same key and were kept as they were.
    public var reused: Bool? = nil
    /// In a shard: true when no pixel of the stage's imagery was valid in its rows (the merge refuses the run when no
    /// shard had one, as an unsharded run refuses it).
    public var allNodata: Bool? = nil
    /// What a whole-raster stage found while it ran (a normalisation's fit, the no-change spread of the change
    /// evidence, warnings).
    public var findings: StageFindingsRecord? = nil
}

/// Schedules an ``ExecutionPlan``: evaluates each streaming pass block by block with blocks in parallel, runs each
/// whole-raster stage once the rasters it reads are materialised, and runs independent tasks concurrently on
/// Dispatch. What fuses with what, and what is materialised where, is the plan's (see ``Planner``), not decided here.
public final class Executor: Sendable {
    public let plan: RunPlan
    public let context: RunContext
    public let observer: (any RunObserver)?
    /// The tasks this executor schedules: passes, whole-raster stages, what is materialised where (see
    /// ``ExecutionPlan``; resume, shard and merge are transformations of it).
    public let execution: ExecutionPlan
    /// Records each stage that wrote files as soon as its task ends.
    let manifest: StageManifestWriter?
    private var handover: ExecutionPlan.Handover { execution.handover }

    /// A stage's tally of the part of a block that lies in `rows` of the grid.
    static func tally(_ stage: any PixelStage, inputs: [PixelBlock], output: PixelBlock, within rows: Range<Int>?) -> [String: Int] {
        let window = output.window
        guard let rows, rows.lowerBound > window.rowOffset || rows.upperBound < window.rowOffset + window.height else {
            return stage.tally(inputs: inputs, output: output)
        }
        let part = max(rows.lowerBound, window.rowOffset)..<min(rows.upperBound, window.rowOffset + window.height)
        guard !part.isEmpty else { return [:] }
        return stage.tally(inputs: inputs.map { $0.rows(part) }, output: output.rows(part))
    }

    /// Runs every stage of `plan`.
    public convenience init(plan: RunPlan, context: RunContext, observer: (any RunObserver)? = nil) {
        self.init(execution: ExecutionPlan(plan), context: context, observer: observer, manifest: nil)
    }

    /// Schedules the tasks of `execution`.
    public convenience init(execution: ExecutionPlan, context: RunContext, observer: (any RunObserver)? = nil) {
        self.init(execution: execution, context: context, observer: observer, manifest: nil)
    }

    init(execution: ExecutionPlan, context: RunContext, observer: (any RunObserver)?, manifest: StageManifestWriter?) {
        self.plan = execution.run
        self.execution = execution
        self.context = context
        self.observer = observer
        self.manifest = manifest
    }

    typealias SinkJob = ExecutionPlan.SinkJob
    typealias Pass = ExecutionPlan.Pass
    typealias Task = ExecutionPlan.Task

    /// Where each whole-raster output or materialised stream lands: the file's path, and its path relative to the
    /// output root when it is an output of the run (nil: scratch, or a mosaic read in a merge).
    private func materializedPath(_ id: String) -> (path: String, relative: String?) {
        path(of: execution.destination(of: id), id: id)
    }

    private func path(of destination: ExecutionPlan.Destination, id: String) -> (path: String, relative: String?) {
        switch destination {
        case .mosaic(let path): return (path, nil)
        case .kept(let relative), .handover(let relative):
            return ((try? context.outputRoot.resolve(relative).path) ?? context.scratchPath("\(id).tif"), relative)
        case .scratch: return (context.scratchPath("\(id).tif"), nil)
        }
    }

    private func evaluation(_ id: String) -> Evaluation { plan.pipeline.stage(id)!.descriptor.evaluation }

    // MARK: - Running

    /// Runs every task, independent ones concurrently. On the first failure the others stop at their next block,
    /// partial outputs are deleted, and the failure is thrown; outputs already completed stay.
    public func run() throws -> [StageTiming] {
        let tasks = execution.tasks, dependencies = execution.dependencies
        guard Self.isAcyclic(dependencies) else {
            throw RunError(.internal, "the stages' passes depend on each other in a circle; this is a bug in landwatch's scheduler")
        }
        let state = SchedulerState(taskCount: tasks.count, dependencies: dependencies)
        let group = DispatchGroup()
        let queue = DispatchQueue(label: "landwatch.tasks", attributes: .concurrent)
        let concurrency = Self.concurrentPasses(tasks: tasks, dependencies: dependencies)

        @Sendable func launch(_ index: Int) {
            group.enter()
            queue.async {
                defer { group.leave() }
                if !state.isCancelled {
                    do {
                        let timings: [StageTiming]
                        switch tasks[index] {
                        case .pass(let pass): timings = try self.runPass(pass, state: state, concurrentPasses: concurrency[index])
                        case .whole(let id): timings = try self.runWhole(id, state: state, concurrentPasses: concurrency[index])
                        }
                        try self.manifest?.record(timings)
                        state.record(timings)
                    } catch {
                        state.fail(error)
                    }
                }
                for next in state.complete(index) { launch(next) }
            }
        }
        for index in state.initiallyReady { launch(index) }
        group.wait()
        if let error = state.firstError { throw error }
        return state.timings.sorted { $0.started < $1.started }
    }

    private struct StreamNode {
        enum Role {
            case read(any BlockSource)
            /// `descriptions` describes every input port (models included), for per-worker set-up.
            case compute(any PixelStage, inputs: [Int], descriptions: [ProductDescription])
        }
        var id: String
        var bandNames: [String]
        var role: Role
    }

    /// A source read only to be materialised for whole-raster stages may write its file directly: its timing when it
    /// did, nil when the pass streams as usual.
    private func materializeDirectly(_ pass: Pass, started: Date) throws -> [StageTiming]? {
        let pipeline = plan.pipeline
        if pass.nodes.count == 1, pass.sinks.count == 1, case .materialize(.scratch) = pass.sinks[0].target,
           case .source(let source) = pipeline.stage(pass.nodes[0])!.role {
            let id = pass.nodes[0]
            let path = materializedPath(id).path
            observer?.passStarted(pass.index, stages: [id], blocks: 0)
            let done: Bool
            let stageContext = context.forStage()
            do { done = try source.materialize(onto: plan.grid, at: path, context: stageContext) } catch { throw Self.wrap(error, stage: id) }
            if done {
                let finished = Date()
                observer?.passFinished(pass.index, stages: [id], seconds: finished.timeIntervalSince(started))
                return [StageTiming(id: id, uses: pipeline.stage(id)!.uses, started: started, finished: finished, outputs: [], fusedWith: [id],
                                    findings: stageContext.findings?.record)]
            }
        }
        return nil
    }

    /// The pass's sources and computations, in evaluation order.
    private func streamNodes(_ pass: Pass, grid: RasterGrid) throws -> [StreamNode] {
        let pipeline = plan.pipeline
        var nodes: [StreamNode] = []
        for id in pass.nodes {
            let stage = pipeline.stage(id)!
            let product = plan.products[id]!
            do {
                switch stage.role {
                case _ where handover.read[id] != nil, .wholeRaster, .neighbourhood:
                    let path = materializedPath(id).path
                    let inputs = (0..<product.bandNames.count).map { RasterFileSource.BandInput(path: path, band: $0 + 1) }
                    let source = try RasterFileSource(bands: inputs, onto: grid, resampling: .nearest, context: context, stageID: id)
                    nodes.append(StreamNode(id: id, bandNames: product.bandNames, role: .read(source)))
                case .source(let source):
                    nodes.append(StreamNode(id: id, bandNames: product.bandNames,
                                            role: .read(try source.makeSource(onto: grid, context: context))))
                case .pixel(let pixel):
                    let inputs = stage.descriptor.inputs.compactMap { port in
                        stage.inputs.first { $0.port == port.name }.flatMap { ref in pass.nodes.firstIndex(of: ref.stageID) }
                    }
                    let descriptions = stage.descriptor.inputs.compactMap { port -> ProductDescription? in
                        guard let ref = stage.inputs.first(where: { $0.port == port.name }), var product = plan.products[ref.stageID] else { return nil }
                        product.port = ref.port
                        return product
                    }
                    nodes.append(StreamNode(id: id, bandNames: product.bandNames,
                                            role: .compute(pixel, inputs: inputs, descriptions: descriptions)))
                default:
                    preconditionFailure("stage \(id) cannot stream")
                }
            } catch {
                throw Self.wrap(error, stage: id)
            }
        }
        return nodes
    }

    /// The pass's sinks, each with the nodes it takes; every one made so far is aborted when one cannot be made.
    private func makeSinks(_ pass: Pass, grid: RasterGrid, blockSize: Int) throws -> [(sink: any BlockSink, nodes: [Int], job: SinkJob)] {
        let pipeline = plan.pipeline
        var sinks: [(sink: any BlockSink, nodes: [Int], job: SinkJob)] = []
        do {
            for job in pass.sinks {
                let inputNodes = job.producers.map { pass.nodes.firstIndex(of: $0)! }
                let products = job.producers.map { plan.products[$0]! }
                let product = products[0]
                let sink: any BlockSink
                do {
                    switch job.target {
                    case .stage(let id):
                        let declaration = pipeline.stage(id)!
                        guard case .sink(let stage) = declaration.role else { preconditionFailure("stage \(id) is not a sink") }
                        // Each description carries the port it feeds, for sinks with optional ports.
                        let ports = declaration.descriptor.inputs.compactMap { port in declaration.inputs.first { $0.port == port.name }?.port }
                        let described = zip(products, ports).map { product, port -> ProductDescription in
                            var copy = product
                            copy.port = port
                            return copy
                        }
                        sink = try stage.makeSink(inputs: described, grid: grid, context: context)
                    case .materialize(let destination):
                        let (path, relative) = self.path(of: destination, id: job.ownerID)
                        var (dataType, noData) = Self.materializedType(product.kind)
                        var compression = Self.compression(destination, dataType)
                        var values: ValueTransform? = nil
                        if destination == .scratch, let stored = Self.wholeNumberStorage(product, readOnlyByNeighbourhoods: neighbourhoodsAloneRead(job.ownerID)) {
                            (dataType, noData, values) = (stored.type, stored.noData, ValueTransform(noData: stored.noData))
                            compression = .none
                        }
                        let options = GeoTIFFOptions(compression: compression, blockSize: blockSize)
                        if case .kept = destination {
                            // A kept product is an output like write.raster's: a Cloud-Optimized GeoTIFF (issue 25).
                            let resampling: OverviewResampling = [.classes, .mask, .plan].contains(product.kind) ? .nearest : .average
                            sink = try COGSink(target: URL(fileURLWithPath: path), relativePath: relative ?? path, grid: grid,
                                               bandNames: product.bandNames, dataType: dataType, noData: noData, options: options,
                                               resampling: resampling, metadata: ["LANDWATCH_STAGE": job.ownerID], categories: [],
                                               context: context)
                        } else {
                            sink = try GeoTIFFSink(target: URL(fileURLWithPath: path), relativePath: relative ?? path, grid: grid,
                                                   bandNames: product.bandNames, dataType: dataType, noData: noData, options: options,
                                                   metadata: ["LANDWATCH_STAGE": job.ownerID], values: values)
                        }
                    }
                } catch {
                    throw Self.wrap(error, stage: job.ownerID)
                }
                sinks.append((sink, inputNodes, job))
            }
        } catch {
            for entry in sinks { entry.sink.abort() }
            throw error
        }
        return sinks
    }

    /// Finishes every sink in order (the later ones aborted when one fails): the outputs each stage wrote.
    private func finishSinks(_ sinks: [(sink: any BlockSink, nodes: [Int], job: SinkJob)]) throws -> [String: [String]] {
        var outputs: [String: [String]] = [:]
        do {
            for (position, entry) in sinks.enumerated() {
                do {
                    let written = try entry.sink.finish()
                    // Rasters materialised only for a whole-raster stage are scratch, not outputs.
                    if case .materialize(let destination) = entry.job.target, destination.relativePath == nil { continue }
                    outputs[entry.job.ownerID, default: []] += written
                } catch {
                    for later in sinks[(position + 1)...] { later.sink.abort() }
                    throw Self.wrap(error, stage: entry.job.ownerID)
                }
            }
        }
        return outputs
    }

    private func runPass(_ pass: Pass, state: SchedulerState, concurrentPasses: Int) throws -> [StageTiming] {
        let started = Date()
        let pipeline = plan.pipeline
        if let timings = try materializeDirectly(pass, started: started) { return timings }
        let grid = plan.grid
        let blockSize = context.blockSize

        // Sources and computations, in evaluation order.
        let nodes = try streamNodes(pass, grid: grid)

        // Sinks.
        let sinks = try makeSinks(pass, grid: grid, blockSize: blockSize)

        // Memory: each worker holds one block per node and converts one block per sink band.
        // A grid smaller than a block needs buffers only as large as the grid.
        let bufferWidth = min(blockSize, grid.width), bufferHeight = min(blockSize, grid.height)
        let blockValues = bufferWidth * bufferHeight
        let perWorker = nodes.reduce(0) { $0 + $1.bandNames.count * blockValues * 4 }
            + sinks.reduce(0) { $0 + plan.products[$1.job.producers[0]]!.bandNames.count * blockValues * 8 }
        let windows = Window(width: grid.width, height: grid.height).subdivided(tileWidth: blockSize, tileHeight: blockSize)
        let blockBudget = context.memoryBudget / 2 / max(concurrentPasses, 1)
        let wanted = min(context.threads, windows.count)
        let workers = min(wanted, blockBudget / max(perWorker, 1))
        let stageIDs = pass.nodes.filter { evaluation($0) != .wholeRaster } + pass.sinks.compactMap {
            if case .stage(let id) = $0.target { return id } else { return nil }
        }
        guard workers >= 1 else {
            for entry in sinks { entry.sink.abort() }
            throw RunError(.resources, "the memory budget (\(ByteCount.format(context.memoryBudget))) cannot hold one "
                           + "\(blockSize)x\(blockSize) block of every stage in pass \(pass.index) (\(ByteCount.format(perWorker)) "
                           + "per worker, with \(concurrentPasses) passes at once); raise --memory", stage: stageIDs.first)
        }
        if workers < wanted {
            context.logger.warning("pass \(pass.index): lowering threads from \(wanted) to \(workers) to stay within the memory budget of \(ByteCount.format(context.memoryBudget))")
        }

        observer?.passStarted(pass.index, stages: stageIDs, blocks: windows.count)
        let progress = PassProgress(total: windows.count)
        let frozenNodes = UncheckedBox(nodes)
        let frozenSinks = UncheckedBox(sinks)
        let tallies = Tallies()
        // Imagery with no valid pixel on the run grid (all nodata, all cloud) is refused before any output is kept.
        let watched = nodes.map { plan.products[$0.id]?.kind == .scene && evaluation($0.id) != .wholeRaster }
        let validPixels = Tallies()
        // Each stage of the pass records what it finds (warnings, fits) under its own id in run.json.
        let stageContexts = Dictionary(nodes.map { ($0.id, context.forStage()) }, uniquingKeysWith: { first, _ in first })
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let nodes = frozenNodes.value, sinks = frozenSinks.value
            var current = ""
            do {
                var readers: [Int: any BlockReader] = [:]
                var workers: [Int: any PixelWorker] = [:]
                for (index, node) in nodes.enumerated() {
                    current = node.id
                    switch node.role {
                    case .read(let source):
                        readers[index] = try source.makeReader()
                    case .compute(let stage, _, let descriptions):
                        workers[index] = try stage.makeWorker(inputs: descriptions, context: stageContexts[node.id] ?? self.context)
                    }
                }
                var blocks = nodes.map { PixelBlock(bandNames: $0.bandNames, blockWidth: bufferWidth, blockHeight: bufferHeight) }
                var counts: [String: [String: Int]] = [:]
                var valid: [String: Int] = [:]
                defer {
                    tallies.merge(counts)
                    validPixels.merge(valid.mapValues { ["valid": $0] })
                }
                while !state.isCancelled {
                    let next = progress.claim()
                    guard next < windows.count else { break }
                    let window = windows[next]
                    for (index, node) in nodes.enumerated() {
                        current = node.id
                        switch node.role {
                        case .read:
                            try readers[index]!.read(window, into: &blocks[index])
                        case .compute(let stage, let inputs, _):
                            let inputBlocks = inputs.map { blocks[$0] }
                            blocks[index].window = window
                            if let worker = workers[index] {
                                try worker.apply(inputs: inputBlocks, into: &blocks[index])
                            } else {
                                stage.apply(inputs: inputBlocks, into: &blocks[index])
                            }
                            for (name, count) in Self.tally(stage, inputs: inputBlocks, output: blocks[index], within: handover.countedRows) {
                                counts[node.id, default: [:]][name, default: 0] += count
                            }
                        }
                        if watched[index], valid[node.id, default: 0] == 0, !blocks[index].bands.isEmpty {
                            valid[node.id, default: 0] += blocks[index].validCount(in: window)
                        }
                    }
                    for entry in sinks {
                        current = entry.job.ownerID
                        try entry.sink.write(entry.nodes.map { blocks[$0] })
                    }
                    let done = progress.finish()
                    // Freed block buffers stay in the allocator's arenas: the resident size of a zonal pass crept up
                    // with the scene (221 MB at 1x, 452 MB at 4x, live heap flat at 37 MB) until handed back.
                    if done % 32 == 0 { GDALRuntime.releaseFreeMemory() }
                    self.observer?.passProgress(pass.index, done: done, total: windows.count)
                }
            } catch {
                state.fail(Self.wrap(error, stage: current))
            }
        }

        if state.isCancelled {
            for entry in sinks { entry.sink.abort() }
            throw state.firstError ?? RunError(.cancelled, "the run was cancelled")
        }
        let valid = validPixels.totals
        var allNodata: Set<String> = []
        for (index, node) in nodes.enumerated() where watched[index] && (valid[node.id]?["valid"] ?? 0) == 0 {
            // A shard's band of rows may lie in the image's collar: it records the fact and the merge decides.
            guard handover.checksValidPixels else { allNodata.insert(node.id); continue }
            for entry in sinks { entry.sink.abort() }
            throw Self.nothingValid(stage: node.id, plan: plan, grid: grid)
        }
        let outputs = try finishSinks(sinks)
        let finished = Date()
        observer?.passFinished(pass.index, stages: stageIDs, seconds: finished.timeIntervalSince(started))
        let counts = tallies.totals
        return stageIDs.map { id in
            StageTiming(id: id, uses: pipeline.stage(id)!.uses, started: started, finished: finished,
                        outputs: outputs[id] ?? [], fusedWith: stageIDs, counts: counts[id], allNodata: allNodata.contains(id) ? true : nil,
                        findings: stageContexts[id]?.findings?.record)
        }
    }

    /// The refusal of imagery without one valid pixel on the run grid, naming the file when the stage reads one.
    static func nothingValid(stage id: String, plan: RunPlan, grid: RasterGrid) -> RunError {
        if plan.pipeline.stage(id)?.role.isSource == true, let path = plan.products[id]?.sourcePath {
            return RunError(.input, "\(path): every pixel is nodata on the run grid (\(grid.width) x \(grid.height) px; nodata value, NaN, or 65535 in UInt16 bands): nothing to process", stage: id)
        }
        return RunError(.input, "every pixel of this stage's output is nodata (masked as cloud, or nodata in its inputs): nothing to process", stage: id)
    }

    private func runWhole(_ id: String, state: SchedulerState, concurrentPasses: Int) throws -> [StageTiming] {
        let started = Date()
        let stage = plan.pipeline.stage(id)!
        let inputs = stage.descriptor.inputs.compactMap { port -> MaterializedRaster? in
            guard let ref = stage.inputs.first(where: { $0.port == port.name }) else { return nil }
            var description = plan.products[ref.stageID]!
            description.port = ref.port
            return MaterializedRaster(path: materializedPath(ref.stageID).path, description: description)
        }
        observer?.passStarted(0, stages: [id], blocks: 0)
        let context = self.context.forStage()
        if case .wholeSink(let sink) = stage.role {
            let written: [String]
            do {
                written = try sink.run(inputs: inputs, grid: plan.grid, context: context)
            } catch {
                throw Self.wrap(error, stage: id)
            }
            let finished = Date()
            observer?.passFinished(0, stages: [id], seconds: finished.timeIntervalSince(started))
            var timing = StageTiming(id: id, uses: stage.uses, started: started, finished: finished, outputs: written, fusedWith: [id])
            timing.findings = context.findings?.record
            return [timing]
        }
        let target = materializedPath(id)
        do {
            switch stage.role {
            case .wholeRaster(let whole):
                try whole.run(inputs: inputs, output: target.path, grid: plan.grid, context: context)
            case .neighbourhood(let neighbourhood):
                let tiles = TileScheduler(grid: plan.grid, context: context, state: state, concurrentPasses: concurrentPasses, stageID: id)
                let kernel = try neighbourhood.prepare(inputs: inputs, grid: plan.grid, context: context, tiles: tiles)
                if execution.destination(of: id) == .scratch, let direct = kernel as? any DirectOutputKernel,
                   try direct.writeDirectly(to: target.path, grid: plan.grid) {
                    try kernel.finish(tiles: [], output: target.path, context: context)
                } else if execution.destination(of: id) == .scratch, !pixelsAreRead(id) {
                    // Nobody reads the raster's pixels: the tiles' reductions (and what finish leaves beside the path).
                    let reductions = try tiles.reduceOnly(kernel)
                    try kernel.finish(tiles: reductions, output: target.path, context: context)
                } else {
                    try tiles.run(kernel, output: target.path,
                                  compression: Self.compression(execution.destination(of: id), .float32, sparse: kernel.sparseOutput))
                }
            default:
                preconditionFailure("stage \(id) is not a whole-raster stage")
            }
            try cloudOptimizeIfKept(id, path: target.path)
        } catch {
            throw Self.wrap(error, stage: id)
        }
        let finished = Date()
        observer?.passFinished(0, stages: [id], seconds: finished.timeIntervalSince(started))
        var timing = StageTiming(id: id, uses: stage.uses, started: started, finished: finished,
                                 outputs: target.relative.map { [$0] } ?? [], fusedWith: [id])
        timing.findings = context.findings?.record
        return [timing]
    }

    /// Whether any stage that runs reads the pixels of stage `id`'s output: every stage reading it, except on a port
    /// of a ``SideProductReader`` that takes only what the stage left beside the raster.
    private func pixelsAreRead(_ id: String) -> Bool {
        let pipeline = plan.pipeline
        for other in pipeline.topologicalOrder where !execution.skipping.contains(other) {
            guard let stage = pipeline.stage(other) else { continue }
            for input in stage.inputs where input.stageID == id {
                guard let reader = type(of: stage.instance) as? any SideProductReader.Type,
                      reader.sideProductPorts.contains(input.port) else { return true }
            }
        }
        return false
    }

    /// How a materialised raster is compressed: none for Float32 scratch (ZSTD saved a quarter of reflectance floats
    /// and read them 4x slower: 59 % of the enforcement bench's CPU was libzstd), ZSTD for what stays under the output
    /// root or goes to the merge, for integer products and for sparse outputs.
    /// A kept raster that a whole-raster or neighbourhood stage wrote is made a Cloud-Optimized GeoTIFF in place, as
    /// every raster output is (issue 25): overviews with the file's own codec and tile size, nearest for classes,
    /// masks and plan layers, average for values.
    private func cloudOptimizeIfKept(_ id: String, path: String) throws {
        guard case .kept = execution.destination(of: id), let product = plan.products[id] else { return }
        let options: GeoTIFFOptions
        do {
            let dataset = try Dataset.open(path)
            let block = try dataset.band(1).blockSize
            let codec = dataset.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"].flatMap { GeoTIFFOptions.Compression(rawValue: $0.uppercased()) } ?? .none
            guard block.width == block.height, block.width % 16 == 0 else {
                throw RunError(.io, "kept raster \(path) is not tiled (blocks of \(block.width) x \(block.height)): it cannot be made a Cloud-Optimized GeoTIFF")
            }
            options = GeoTIFFOptions(compression: codec, blockSize: block.width)
        }
        let resampling: OverviewResampling = [.classes, .mask, .plan].contains(product.kind) ? .nearest : .average
        try Dataset.makeCloudOptimized(at: path, options: options, resampling: resampling, threads: context.threads)
    }

    static func compression(_ destination: ExecutionPlan.Destination, _ dataType: DataType, sparse: Bool = false) -> GeoTIFFOptions.Compression {
        destination == .scratch && dataType == .float32 && !sparse ? .none : .zstd
    }

    /// The integer type a scratch product of whole numbers is kept as (its nodata the type's largest number, read
    /// back as NaN through the file's ``ValueTransform``), when every stage that reads it is a neighbourhood stage
    /// (they read through ``Band/read(_:into:lineStride:)``, which applies the transform; GDAL's own algorithms in
    /// whole-raster stages would not). A rule classifier's class map is a quarter of its Float32 size.
    static func wholeNumberStorage(_ product: ProductDescription, readOnlyByNeighbourhoods: Bool) -> (type: DataType, noData: Double)? {
        guard readOnlyByNeighbourhoods, let range = product.wholeNumbers, range.lowerBound >= 0 else { return nil }
        if range.upperBound < 255 { return (.uint8, 255) }
        if range.upperBound < 65535 { return (.uint16, 65535) }
        return nil
    }

    /// True when every stage that runs and reads stage `id`'s product is a neighbourhood stage.
    private func neighbourhoodsAloneRead(_ id: String) -> Bool {
        let pipeline = plan.pipeline
        var readers = 0
        for other in pipeline.topologicalOrder where !execution.skipping.contains(other) {
            guard let stage = pipeline.stage(other), stage.inputs.contains(where: { $0.stageID == id }) else { continue }
            guard case .neighbourhood = stage.role else { return false }
            readers += 1
        }
        return readers > 0
    }

    /// The storage type of a materialised product.
    static func materializedType(_ kind: ProductKind) -> (DataType, Double) {
        switch kind {
        // Integer storage was measured slower (the conversion costs more than the smaller files save).
        default: return (.float32, .nan)
        }
    }

    /// For each task, how many passes may stream at the same time as it (itself included): the passes that neither
    /// wait for it nor are waited for by it. They share the memory budget; passes in a chain never meet.
    static func concurrentPasses(tasks: [Task], dependencies: [[Int]]) -> [Int] {
        var ancestors = dependencies.map { Set($0) }
        var changed = true
        while changed {
            changed = false
            for index in ancestors.indices {
                let grown = ancestors[index].reduce(into: ancestors[index]) { $0.formUnion(ancestors[$1]) }
                if grown.count != ancestors[index].count { ancestors[index] = grown; changed = true }
            }
        }
        let passes = tasks.indices.filter { if case .pass = tasks[$0] { return true } else { return false } }
        return tasks.indices.map { index in
            passes.filter { $0 == index || (!ancestors[index].contains($0) && !ancestors[$0].contains(index)) }.count
        }
    }

    /// True when the task graph has no cycle (every task can run once its dependencies have).
    static func isAcyclic(_ dependencies: [[Int]]) -> Bool {
        let remaining = dependencies.map { Set($0) }
        var done = Set<Int>()
        while done.count < dependencies.count {
            guard let next = remaining.indices.first(where: { !done.contains($0) && remaining[$0].isSubset(of: done) }) else { return false }
            done.insert(next)
        }
        return true
    }

    /// Gives every failure a category and the stage it happened in.
    static func wrap(_ error: Error, stage: String) -> RunError {
        switch error {
        case var runError as RunError:
            if runError.stageID == nil { runError.stageID = stage }
            return runError
        case let gdal as GDALError:
            let category: RunError.Category
            switch gdal.kind {
            case .cannotOpen, .outOfRange, .spatialReference: category = .input
            case .write: category = .io
            case .read: category = .io
            case .other: category = .io
            }
            return RunError(category, gdal.description, stage: stage)
        default:
            return RunError(.internal, "\(error)", stage: stage)
        }
    }
}

/// Hands values that are only read across `concurrentPerform`'s worker closures.
/// Unchecked: the values (stream nodes holding stage instances and sources, sinks, a GDAL dataset) are only read by
/// the workers, never mutated; what a worker mutates it makes itself (readers, workers, blocks), and the dataset of a
/// neighbourhood stage's output is written only under its lock.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Pixel counts reported by stages, merged from the workers of one pass.
final class Tallies: Sendable {
    private let values = Mutex<[String: [String: Int]]>([:])

    func merge(_ counts: [String: [String: Int]]) {
        values.withLock { values in
            for (stage, named) in counts {
                for (name, count) in named { values[stage, default: [:]][name, default: 0] += count }
            }
        }
    }

    var totals: [String: [String: Int]] { values.withLock { $0 } }
}

/// Block counters of one pass: which block a worker takes next, and how many are done.
final class PassProgress: Sendable {
    private let next = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    let total: Int

    init(total: Int) { self.total = total }

    func claim() -> Int { next.add(1, ordering: .relaxed).oldValue }
    func finish() -> Int { done.add(1, ordering: .relaxed).newValue }
}

/// Which tasks are ready, what failed first, and the timings collected; shared by the task closures.
final class SchedulerState: @unchecked Sendable {  // state guarded by `lock` (`cancelled` is atomic)
    private let lock = NSLock()
    private var remaining: [Int]
    private let dependents: [[Int]]
    private var error: Error?
    private var collected: [StageTiming] = []
    private let cancelled = Atomic<Bool>(false)
    let initiallyReady: [Int]

    init(taskCount: Int, dependencies: [[Int]]) {
        remaining = dependencies.map(\.count)
        var dependents = Array(repeating: [Int](), count: taskCount)
        for (task, deps) in dependencies.enumerated() { for dep in deps { dependents[dep].append(task) } }
        self.dependents = dependents
        initiallyReady = (0..<taskCount).filter { dependencies[$0].isEmpty }
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    var firstError: Error? { lock.withLock { error } }
    var timings: [StageTiming] { lock.withLock { collected } }

    func fail(_ error: Error) {
        lock.withLock { if self.error == nil { self.error = error } }
        cancelled.store(true, ordering: .relaxed)
    }

    func record(_ timings: [StageTiming]) { lock.withLock { collected += timings } }

    /// Marks a task done and returns the tasks that became ready.
    func complete(_ task: Int) -> [Int] {
        lock.withLock {
            var ready: [Int] = []
            for next in dependents[task] {
                remaining[next] -= 1
                if remaining[next] == 0 { ready.append(next) }
            }
            return ready
        }
    }
}

/// Byte sizes as people write them.
public enum ByteCount {
    /// The largest budget taken (1 PiB): anything above is a typo, and would not fit the arithmetic of the budget.
    public static let largest = 1 << 50

    /// Parses `512M`, `2G`, `256MB`, `1048576` (bytes); nil when it is not a size, or not a finite one from 1 byte to
    /// ``largest``.
    public static func parse(_ text: String) -> Int? {
        guard case .success(let bytes) = check(text) else { return nil }
        return bytes
    }

    /// The size in bytes, or why the text is not one (for the one-line refusal of `--memory`).
    public static func check(_ text: String) -> Result<Int, SizeProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("GB", 1 << 30), ("G", 1 << 30), ("MB", 1 << 20), ("M", 1 << 20),
                                      ("KB", 1 << 10), ("K", 1 << 10), ("B", 1)]
        var number = trimmed, factor = 1
        if let unit = units.first(where: { trimmed.hasSuffix($0.0) }) {
            number = String(trimmed.dropLast(unit.0.count))
            factor = unit.1
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), !number.isEmpty else {
            return .failure(SizeProblem("is not a size (write for example 256M or 2G)"))
        }
        guard value.isFinite else { return .failure(SizeProblem("is not a finite size (write for example 256M or 2G)")) }
        guard value > 0 else { return .failure(SizeProblem("must be more than 0 bytes")) }
        let bytes = value * Double(factor)
        guard bytes <= Double(largest) else {
            return .failure(SizeProblem("is more than any machine has (at most \(largest >> 30)G)"))
        }
        guard bytes >= 1 else { return .failure(SizeProblem("is less than one byte")) }
        if factor == 1, !number.allSatisfy(\.isNumber) { return .failure(SizeProblem("is not a whole number of bytes (write for example 256M or 2G)")) }
        return .success(Int(bytes))
    }

    /// Why a text is not a size.
    public struct SizeProblem: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static func format(_ bytes: Int) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.0f MB", Double(bytes) / Double(1 << 20)) }
        if bytes >= 1 << 10 { return String(format: "%.0f KB", Double(bytes) / Double(1 << 10)) }
        return "\(bytes) B"
    }
}
