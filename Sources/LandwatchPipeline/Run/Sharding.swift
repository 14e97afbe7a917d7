import Foundation
import LandwatchGDAL

/// How a pipeline divides between `landwatch run --shard K/N` (each shard computes a band of rows) and
/// `landwatch merge` (which joins the bands and runs what needs the whole grid).
///
/// Sources and pixel stages run in the shards; so do whole-raster stages and sinks that declare themselves
/// ``RowLocalStage`` (their rows depend on input rows within a halo: focal statistics, the compliance diff, raster
/// writers). Every other stage (training, zonal metrics, violation patches, reports) and everything after one is
/// deferred to the merge, which reads its inputs from the mosaics of what the shards handed over.
public struct ShardSplit: Sendable, Equatable {
    /// Stages that run in `merge`.
    public var deferred: Set<String>
    /// Products the shards write for the merge, in run order: the inputs of deferred stages made in the shards.
    public var handedOver: [String]
    /// Rows each shard computes above and below its band so that its rows come out as in an unsharded run.
    public var haloRows: Int

    public init(plan: RunPlan) {
        let pipeline = plan.pipeline
        var deferred = Set<String>()
        var halo: [String: Int] = [:]
        for id in pipeline.topologicalOrder {
            guard let stage = pipeline.stage(id) else { continue }
            let own: Int?
            switch stage.descriptor.evaluation {
            case .source, .pixelwise: own = 0
            case .report: own = nil
            case .sink, .wholeRaster:
                let ports = Set(stage.inputs.map(\.port))
                own = stage.rowLocal.flatMap { $0.isRowLocal(connectedPorts: ports) ? $0.haloRows : nil }
            }
            let inputs = stage.inputs.map(\.stageID)
            guard let own, !inputs.contains(where: deferred.contains) else {
                deferred.insert(id)
                continue
            }
            halo[id] = own + (inputs.compactMap { halo[$0] }.max() ?? 0)
        }
        let handedOver = pipeline.topologicalOrder.filter { id in
            !deferred.contains(id) && plan.products[id].map { ProductKind.rasters.contains($0.kind) } == true
                && deferred.contains { pipeline.stage($0)?.inputs.contains { $0.stageID == id } == true }
        }
        self.deferred = deferred
        self.handedOver = handedOver
        haloRows = halo.values.max() ?? 0
    }

    /// Where a shard keeps a handed-over product, relative to its output root.
    public static func handoverPath(_ id: String) -> String { "shard/\(id).tif" }
}

/// The rows one shard delivers and the rows it computes (with the halo).
public struct ShardLayout: Sendable, Equatable, Codable {
    public var index: Int
    public var count: Int
    /// Rows of the whole grid this shard delivers, `[first, end)`.
    public var rows: [Int]
    /// Rows it computes: `rows` with the halo around them, cut at the grid's edges.
    public var readRows: [Int]

    public var delivered: Range<Int> { rows[0]..<rows[1] }
    public var computed: Range<Int> { readRows[0]..<readRows[1] }

    /// Bands of whole processing blocks when every shard gets at least one, else of rows; fails when there are more
    /// shards than rows.
    public init(shard: Shard, height: Int, blockSize: Int, haloRows: Int) throws(RunError) {
        guard shard.count <= height else {
            throw RunError(.input, "--shard \(shard): the run grid has \(height) rows, so it splits into at most \(height) shards")
        }
        func boundary(_ k: Int) -> Int {
            let blocks = (height + blockSize - 1) / blockSize
            if blocks >= shard.count { return min(height, (k * blocks / shard.count) * blockSize) }
            return k * height / shard.count
        }
        let first = boundary(shard.index - 1), end = boundary(shard.index)
        index = shard.index
        count = shard.count
        rows = [first, end]
        readRows = [max(0, first - haloRows), min(height, end + haloRows)]
    }
}

/// What `run --shard` records in its run.json for `landwatch merge`.
public struct ShardRecord: Codable, Sendable, Equatable {
    public var layout: ShardLayout
    public var haloRows: Int
    /// The pipeline file, absolute, so that the merge can load it from anywhere.
    public var pipelinePath: String
    /// The whole run grid (the record's own grid is the shard's band).
    public var grid: RunRecord.GridRecord
    /// Stage id → handed-over file, relative to the shard's output root.
    public var handedOver: [String: String]
    /// Stages the merge runs.
    public var deferred: [String]
}

extension RunRecord.GridRecord: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.crs == b.crs && a.width == b.width && a.height == b.height && a.geoTransform == b.geoTransform
    }
}
