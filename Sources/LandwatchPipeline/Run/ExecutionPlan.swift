import Foundation

/// How a checked pipeline runs: which stages fuse into streaming passes, which stages run whole, what is
/// materialised where, what a shard hands over and which task waits for which. Built once by the planner from a
/// ``RunPlan`` (no file is opened), printed by `landwatch validate --plan`, and scheduled by ``Executor``.
///
/// Resume, `run --shard` and `merge` are transformations of the whole run's plan (``resuming(skipping:)``,
/// ``sharded(_:countedRows:)``, ``merging(_:mosaics:)``): each leaves stages out or redirects products, and the
/// passes are planned again from what is left.
public struct ExecutionPlan: Sendable {
    /// Products passed between `run --shard` and `merge` (see ``ShardSplit``).
    public struct Handover: Sendable, Equatable {
        /// Stage id → path under the output root where a shard keeps the product for the merge.
        public var write: [String: String] = [:]
        /// Stage id → file holding the product on the whole grid (a mosaic): read, never computed.
        public var read: [String: String] = [:]
        /// Refuse imagery without a valid pixel (off in a shard: its band of rows may lie in the image's collar).
        public var checksValidPixels = true
        /// Rows of the grid whose pixels stages' tallies count: a shard's own rows, its halo left out, so that the
        /// merge's sums are the whole run's. Nil counts every row.
        public var countedRows: Range<Int>? = nil

        public init(write: [String: String] = [:], read: [String: String] = [:], checksValidPixels: Bool = true,
                    countedRows: Range<Int>? = nil) {
            self.write = write
            self.read = read
            self.checksValidPixels = checksValidPixels
            self.countedRows = countedRows
        }
    }

    /// Where a materialised product (a stream written whole, a whole-raster stage's output) lands.
    public enum Destination: Sendable, Hashable {
        /// The run's scratch folder, removed when the run ends.
        case scratch
        /// Under the output root (`keep: true`): `work/<id>.tif`.
        case kept(String)
        /// Under a shard's output root, for `landwatch merge`: `shard/<id>.tif`.
        case handover(String)
        /// In a merge: the mosaic of what the shards handed over; read, never computed.
        case mosaic(String)

        /// The path relative to the output root when the product is an output of the run (kept or handed over).
        public var relativePath: String? {
            switch self {
            case .kept(let path), .handover(let path): return path
            case .scratch, .mosaic: return nil
            }
        }
    }

    /// One sink fed by a pass: a stage of the file, or a raster materialised for a whole-raster stage, `keep` or a
    /// shard's handover.
    public struct SinkJob: Sendable, Equatable {
        public enum Target: Sendable, Hashable {
            case stage(String)
            case materialize(Destination)
        }
        /// The streamed stages the sink reads, in its port order.
        public var producers: [String]
        public var target: Target
        /// The stage the sink belongs to, for timings and messages.
        public var ownerID: String

        public var isStageSink: Bool { if case .stage = target { return true } else { return false } }
    }

    /// Stages streamed together block by block: every block of the grid is read once and passes through all of them.
    public struct Pass: Sendable, Equatable {
        public var index: Int
        /// Streaming nodes in evaluation order (sources, pixel stages, and whole-raster outputs read back).
        public var nodes: [String]
        public var sinks: [SinkJob]
        /// Whole-raster stages (or merged mosaics) whose outputs this pass reads.
        public var wholeInputs: Set<String>
        /// Sink stages whose products (models) this pass's stages use: the pass waits for them.
        public var sinkInputs: Set<String>
    }

    public enum Task: Sendable, Equatable {
        case pass(Pass)
        /// A whole-raster stage or whole-raster sink, run once its materialised inputs are written.
        case whole(String)
    }

    /// The checked pipeline the plan executes.
    public let run: RunPlan
    /// Stages left out: complete from an earlier run (resume), deferred to the merge (shard), or done by the
    /// shards (merge).
    public let skipping: Set<String>
    public let handover: Handover
    public let tasks: [Task]
    /// For each task, the tasks it waits for.
    public let dependencies: [[Int]]

    /// The plan of the whole run: every stage, nothing handed over.
    public init(_ run: RunPlan) {
        self.init(run, skipping: [], handover: Handover())
    }

    init(_ run: RunPlan, skipping: Set<String>, handover: Handover) {
        self.run = run
        self.skipping = skipping
        self.handover = handover
        (tasks, dependencies) = Planner(run: run, skipping: skipping, handover: handover).tasks()
    }

    /// The plan with `ids` left out as well (their outputs are complete from an earlier run under the same key).
    public func resuming(skipping ids: Set<String>) -> ExecutionPlan {
        ExecutionPlan(run, skipping: skipping.union(ids), handover: handover)
    }

    /// The plan of one shard of `run --shard`: the stages `split` defers are left to the merge, the products it
    /// hands over are written under `shard/`, only `countedRows` (the shard's own rows, in the rows it computes)
    /// count in tallies, and imagery without a valid pixel is recorded rather than refused.
    public func sharded(_ split: ShardSplit, countedRows: Range<Int>?) -> ExecutionPlan {
        var shard = handover
        for id in split.handedOver { shard.write[id] = ShardSplit.handoverPath(id) }
        shard.checksValidPixels = false
        shard.countedRows = countedRows
        return ExecutionPlan(run, skipping: skipping.union(split.deferred), handover: shard)
    }

    /// The plan of `landwatch merge`: only the stages `split` defers run, reading the handed-over products from
    /// `mosaics` (stage id → the mosaic of the shards' files).
    public func merging(_ split: ShardSplit, mosaics: [String: String]) -> ExecutionPlan {
        var merge = handover
        merge.read.merge(mosaics) { _, new in new }
        let done = Set(run.pipeline.topologicalOrder).subtracting(split.deferred)
        return ExecutionPlan(run, skipping: skipping.union(done), handover: merge)
    }

    /// Where the product of stage `id` lands when it is materialised.
    public func destination(of id: String) -> Destination {
        Planner(run: run, skipping: skipping, handover: handover).destination(of: id)
    }

    /// Report stages that run, in order, once every task is done (from the run record).
    public var reports: [String] {
        run.pipeline.topologicalOrder.filter { !skipping.contains($0) && run.pipeline.stage($0)?.role.report != nil }
    }

    /// The passes, in task order.
    public var passes: [Pass] { tasks.compactMap { if case .pass(let pass) = $0 { return pass } else { return nil } } }

    /// The whole-raster stages (and whole-raster sinks), in task order.
    public var wholeStages: [String] { tasks.compactMap { if case .whole(let id) = $0 { return id } else { return nil } } }

    /// The tasks in an order the scheduler may start them one by one: each after the tasks it waits for, and
    /// otherwise in task order.
    public var scheduleOrder: [Int] {
        var done = Set<Int>(), order: [Int] = []
        while order.count < tasks.count {
            guard let next = tasks.indices.first(where: { !done.contains($0) && dependencies[$0].allSatisfy(done.contains) }) else {
                return order + tasks.indices.filter { !done.contains($0) }  // a cycle: the executor refuses to run it
            }
            done.insert(next)
            order.append(next)
        }
        return order
    }

    /// The name of a task in the printed plan and in messages: `pass N`, or the whole-raster stage's id.
    public func label(_ index: Int) -> String {
        switch tasks[index] {
        case .pass(let pass): return "pass \(pass.index)"
        case .whole(let id): return id
        }
    }
}

// MARK: - Planning

/// Fuses a run's stages into tasks: chains of pixel-wise stages into streaming passes (one read of each block
/// serves every sink of a pass), whole-raster stages as tasks of their own, with the rasters they need materialised
/// by the passes that make them.
struct Planner {
    let run: RunPlan
    let skipping: Set<String>
    let handover: ExecutionPlan.Handover

    private var pipeline: Pipeline { run.pipeline }
    private func evaluation(_ id: String) -> Evaluation { pipeline.stage(id)!.descriptor.evaluation }

    func destination(of id: String) -> ExecutionPlan.Destination {
        if let path = handover.read[id] { return .mosaic(path) }
        if let relative = handover.write[id] { return .handover(relative) }
        if pipeline.stage(id)?.keep == true { return .kept("work/\(id).tif") }
        return .scratch
    }

    typealias SinkJob = ExecutionPlan.SinkJob

    func tasks() -> (tasks: [ExecutionPlan.Task], dependencies: [[Int]]) {
        var jobs: [SinkJob] = []
        func materialize(_ id: String) -> SinkJob { SinkJob(producers: [id], target: .materialize(destination(of: id)), ownerID: id) }
        for id in pipeline.topologicalOrder where !skipping.contains(id) {
            let stage = pipeline.stage(id)!
            switch stage.descriptor.evaluation {
            case .sink:
                let producers = stage.descriptor.inputs.compactMap { port in stage.inputs.first { $0.port == port.name }?.stageID }
                jobs.append(SinkJob(producers: producers, target: .stage(id), ownerID: id))
            case .wholeRaster:
                for input in stage.inputs where evaluation(input.stageID) != .wholeRaster && handover.read[input.stageID] == nil {
                    if !jobs.contains(where: { $0.producers == [input.stageID] && !$0.isStageSink }) {
                        jobs.append(materialize(input.stageID))
                    }
                }
            case .report:
                break  // run by the runner once the passes are done
            case .source, .pixelwise:
                if stage.keep, !jobs.contains(where: { $0.producers == [id] && !$0.isStageSink }) {
                    jobs.append(materialize(id))
                }
            }
        }
        // Streamed products a shard hands over to the merge are written like kept ones.
        for id in pipeline.topologicalOrder where handover.write[id] != nil && !skipping.contains(id) {
            guard evaluation(id) == .source || evaluation(id) == .pixelwise,
                  !jobs.contains(where: { $0.producers == [id] && !$0.isStageSink }) else { continue }
            jobs.append(materialize(id))
        }

        // The streaming nodes each job needs, stopping at whole-raster outputs (read back from their files).
        // Inputs produced by sinks (models) are not streamed: the pass waits for the sink's pass instead.
        // Walked with a stack of its own, not by recursion: a chain of 15,000 stages overflowed the thread's stack.
        func upstream(_ id: String, into nodes: inout Set<String>, wholes: inout Set<String>, sinks: inout Set<String>) {
            var stack = [id]
            while let next = stack.popLast() {
                guard nodes.insert(next).inserted else { continue }
                if evaluation(next) == .wholeRaster || handover.read[next] != nil { wholes.insert(next); continue }
                for input in pipeline.stage(next)!.inputs {
                    if evaluation(input.stageID) == .sink { sinks.insert(input.stageID) } else { stack.append(input.stageID) }
                }
            }
        }
        // Everything that must be written before the whole-raster stages can run: the streams they read (materialised
        // by a pass), the sinks upstream of them (models), and the same for the whole-raster stages upstream.
        func prerequisites(of wholes: Set<String>) -> Set<String> {
            var found = Set<String>(), visited = Set<String>()
            var stack = Array(wholes)
            while let id = stack.popLast() {
                guard visited.insert(id).inserted else { continue }
                for input in pipeline.stage(id)!.inputs where handover.read[input.stageID] == nil {
                    switch evaluation(input.stageID) {
                    case .wholeRaster: stack.append(input.stageID)
                    case .sink: found.insert(input.stageID)
                    case .report: break
                    case .source, .pixelwise:
                        if evaluation(id) == .wholeRaster { found.insert(input.stageID) }
                        stack.append(input.stageID)
                    }
                }
            }
            return found
        }
        // A scene that whole-raster stages read and that is materialised without streaming a pixel (a value VRT of its
        // own file) has a pass of its own: fused with the stages that stream it, it would be written out as Float32.
        let unstreamed = Set(jobs.filter { job in
            guard job.target == .materialize(.scratch), case .source(let source)? = pipeline.stage(job.ownerID)?.role else { return false }
            return source.materializesWithoutStreaming(onto: run.grid)
        }.map(\.ownerID))
        func alone(_ jobs: [SinkJob]) -> Bool { jobs.contains { !$0.isStageSink && unstreamed.contains($0.ownerID) } }
        var groups: [(nodes: Set<String>, wholes: Set<String>, sinks: Set<String>, jobs: [SinkJob])] = []
        for job in jobs {
            var nodes = Set<String>(), wholes = Set<String>(), sinkInputs = Set<String>()
            for producer in job.producers { upstream(producer, into: &nodes, wholes: &wholes, sinks: &sinkInputs) }
            var merged = (nodes: nodes, wholes: wholes, sinks: sinkInputs, jobs: [job])
            // Merge with every group that shares a streaming node: one read of each input block serves all sinks.
            func sinkIDs(_ jobs: [SinkJob]) -> Set<String> {
                Set(jobs.compactMap { if case .stage(let id) = $0.target { return id } else { return nil } })
            }
            groups.removeAll { group in
                guard !alone(group.jobs), !alone(merged.jobs) else { return false }
                let streaming = group.nodes.subtracting(group.wholes)
                guard !streaming.isDisjoint(with: merged.nodes.subtracting(merged.wholes)) else { return false }
                // A pass that uses a model cannot also be the pass that trains it: it must run after. Nor can a pass
                // materialise what a whole-raster stage it reads from needs, however far upstream.
                guard group.sinks.isDisjoint(with: sinkIDs(merged.jobs)), merged.sinks.isDisjoint(with: sinkIDs(group.jobs)) else {
                    return false
                }
                let needed = prerequisites(of: group.wholes.union(merged.wholes))
                guard needed.isDisjoint(with: (group.jobs + merged.jobs).map(\.ownerID)) else { return false }
                merged.nodes.formUnion(group.nodes)
                merged.wholes.formUnion(group.wholes)
                merged.sinks.formUnion(group.sinks)
                merged.jobs = group.jobs + merged.jobs
                return true
            }
            groups.append(merged)
        }

        var tasks: [ExecutionPlan.Task] = []
        let order = pipeline.topologicalOrder
        for (index, group) in groups.enumerated() {
            tasks.append(.pass(ExecutionPlan.Pass(index: index + 1, nodes: order.filter(group.nodes.contains), sinks: group.jobs,
                                                  wholeInputs: group.wholes, sinkInputs: group.sinks)))
        }
        for id in order where evaluation(id) == .wholeRaster && !skipping.contains(id) { tasks.append(.whole(id)) }

        var dependencies = Array(repeating: [Int](), count: tasks.count)
        func wholeTaskIndex(_ id: String) -> Int? {
            tasks.firstIndex { if case .whole(let w) = $0 { return w == id } else { return false } }
        }
        for (index, task) in tasks.enumerated() {
            switch task {
            case .pass(let pass):
                dependencies[index] = pass.wholeInputs.compactMap(wholeTaskIndex)
                for sinkID in pass.sinkInputs {
                    if let producer = tasks.firstIndex(where: {
                        if case .pass(let p) = $0 { return p.sinks.contains { if case .stage(sinkID) = $0.target { return true } else { return false } } }
                        return false
                    }) {
                        dependencies[index].append(producer)
                    }
                }
            case .whole(let id):
                for input in pipeline.stage(id)!.inputs {
                    if evaluation(input.stageID) == .wholeRaster {
                        if let dep = wholeTaskIndex(input.stageID) { dependencies[index].append(dep) }
                    } else if let dep = tasks.firstIndex(where: {
                        if case .pass(let p) = $0 { return p.sinks.contains { $0.producers == [input.stageID] && !$0.isStageSink } }
                        return false
                    }) {
                        dependencies[index].append(dep)
                    }
                }
            }
        }
        return (tasks, dependencies)
    }
}

// MARK: - Printing

extension ExecutionPlan: CustomStringConvertible {
    /// The plan as `landwatch validate --plan` prints it: one block per task, in the order they are listed to the
    /// scheduler (tasks with no `after:` between them may run at the same time).
    public var description: String {
        let pipeline = run.pipeline
        func named(_ id: String) -> String { "\(id) (\(pipeline.stage(id)?.uses ?? "?"))" }
        func place(_ destination: Destination) -> String {
            switch destination {
            case .scratch: return "scratch (removed when the run ends)"
            case .kept(let path): return "\(path) (keep: true)"
            case .handover(let path): return "\(path) (handed over to the merge)"
            case .mosaic(let path): return "\(path) (the shards' mosaic)"
            }
        }
        func count(_ n: Int, _ noun: String, _ plural: String? = nil) -> String { "\(n) " + (n == 1 ? noun : plural ?? noun + "s") }
        var lines = ["execution plan of \(pipeline.name) (\(pipeline.path)): \(count(tasks.count, "task")) (\(count(passes.count, "streaming pass", "streaming passes")), "
                     + "\(count(wholeStages.count, "whole-raster stage"))), \(count(reports.count, "report")); grid \(run.grid)"]
        for index in scheduleOrder {
            let task = tasks[index]
            switch task {
            case .pass(let pass):
                let computed = pass.nodes.filter { !pass.wholeInputs.contains($0) }
                lines.append("pass \(pass.index): streams \(computed.map(named).joined(separator: " -> "))")
                if !pass.wholeInputs.isEmpty {
                    let read = pass.nodes.filter(pass.wholeInputs.contains).map { id -> String in
                        if case .mosaic(let path) = destination(of: id) { return "\(id) from \(path)" }
                        return "\(id) from its whole-raster output"
                    }
                    lines.append("  reads back: " + read.joined(separator: ", "))
                }
                for job in pass.sinks {
                    switch job.target {
                    case .stage(let id):
                        lines.append("  sink: \(named(id)) <- \(job.producers.joined(separator: ", "))")
                    case .materialize(let destination):
                        let users = pipeline.topologicalOrder.filter { user in
                            !skipping.contains(user) && pipeline.stage(user)?.descriptor.evaluation == .wholeRaster
                                && pipeline.stage(user)?.inputs.contains { $0.stageID == job.ownerID } == true
                        }
                        lines.append("  materialises: \(job.ownerID) -> \(place(destination))"
                                     + (users.isEmpty ? "" : " for \(users.joined(separator: ", "))"))
                    }
                }
            case .whole(let id):
                let stage = pipeline.stage(id)!
                let kind = stage.role.kind == .wholeSink ? "whole-raster sink" : stage.role.kind == .neighbourhood ? "neighbourhood" : "whole-raster"
                let inputs = stage.inputs.map { "\($0.port): \($0.stageID)" }
                lines.append("\(kind): \(named(id)) reads \(inputs.isEmpty ? "nothing" : inputs.joined(separator: ", "))")
                if stage.role.kind != .wholeSink { lines.append("  output: \(place(destination(of: id)))") }
            }
            if !dependencies[index].isEmpty {
                lines.append("  after: " + Set(dependencies[index]).sorted().map(label).joined(separator: ", "))
            }
        }
        if !reports.isEmpty { lines.append("reports, after every task: " + reports.map(named).joined(separator: ", ")) }
        let left = pipeline.topologicalOrder.filter(skipping.contains)
        if !left.isEmpty { lines.append("left out: " + left.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }
}

extension ExecutionPlan {
    /// How `run --shard K/N` and `merge` divide this pipeline, as `landwatch validate --plan` prints it.
    public var shardSummary: String {
        let split = ShardSplit(plan: run)
        let order = run.pipeline.topologicalOrder
        return "sharded (run --shard K/N, then merge): halo \(split.haloRows) rows; handed over to the merge: "
            + (split.handedOver.isEmpty ? "nothing" : split.handedOver.joined(separator: ", "))
            + "; run by the merge: " + (split.deferred.isEmpty ? "nothing" : order.filter(split.deferred.contains).joined(separator: ", "))
    }
}
