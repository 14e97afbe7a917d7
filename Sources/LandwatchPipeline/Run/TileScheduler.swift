import Dispatch
import Foundation
import LandwatchGDAL
import Synchronization

/// Runs a neighbourhood stage's kernel over the tiles of the run grid: the run's block size, threads and memory
/// budget (shared with the passes that may stream at the same time), one dataset handle per worker and file, and
/// the run's cancellation (a failure elsewhere stops the tiles at the next one).
struct TileScheduler: TileRunner {
    let grid: RasterGrid
    let context: RunContext
    /// The run's scheduler, whose cancellation stops the tiles; nil outside a scheduled run (a merge's finishing).
    let state: SchedulerState?
    /// Passes that may stream while this stage runs: they share the memory budget.
    let concurrentPasses: Int
    let stageID: String

    /// Every tile's reduction of a kernel with output bands, the output not written (no stage reads its pixels);
    /// `finish` is left to the caller.
    func reduceOnly(_ kernel: any NeighbourhoodKernel) throws -> [TileReduction] {
        try compute(kernel, target: nil, skipping: false)
    }

    func reduce(_ kernel: any NeighbourhoodKernel) throws -> [TileReduction] {
        let tiles = try compute(kernel, target: nil)
        try kernel.finish(tiles: tiles, output: nil, context: context)
        return tiles
    }

    /// Computes the kernel's output into a tiled, compressed GeoTIFF at `output` (removed again when a tile fails),
    /// then hands the tiles' reductions to the kernel.
    func run(_ kernel: any NeighbourhoodKernel, output: String, compression: GeoTIFFOptions.Compression = .zstd) throws {
        let target = try Dataset.createGeoTIFF(at: output, grid: grid, bandCount: kernel.outputBands.count, dataType: .float32,
                                               options: GeoTIFFOptions(compression: compression, blockSize: context.blockSize))
        let reductions: [TileReduction]
        do {
            for (index, name) in kernel.outputBands.enumerated() { try target.band(index + 1).setDescription(name) }
            reductions = try compute(kernel, target: target)
            try target.close()
        } catch {
            try? target.close()
            try? FileManager.default.removeItem(atPath: output)
            throw error
        }
        try kernel.finish(tiles: reductions, output: output, context: context)
    }

    private func compute(_ kernel: any NeighbourhoodKernel, target: Dataset?, skipping: Bool = true) throws -> [TileReduction] {
        let blockSize = context.blockSize, grid = self.grid, state = self.state
        let every = Window(width: grid.width, height: grid.height).subdivided(tileWidth: blockSize, tileHeight: blockSize)
        // A kernel without output may leave tiles out (a sampler reads only the tiles its sample touches).
        let tiles = target == nil && skipping ? every.filter(kernel.computes(tile:)) : every
        let reads = kernel.reads, outputBands = kernel.outputBands
        // A padded tile is at most the block with its halo, and never more than the grid.
        let capacities = reads.map { min(blockSize + 2 * $0.halo, grid.width) * min(blockSize + 2 * $0.halo, grid.height) }
        let outputCapacity = min(blockSize, grid.width) * min(blockSize, grid.height)
        let perWorker = zip(reads, capacities).reduce(0) { $0 + $1.0.bands.count * $1.1 * 4 }
            + outputBands.count * outputCapacity * 4 + kernel.workerBytes(tile: blockSize)
        let budget = context.memoryBudget / 2 / max(concurrentPasses, 1)
        let workers = max(1, min(context.threads, tiles.count, budget / max(perWorker, 1)))

        let progress = PassProgress(total: tiles.count)
        let collected = Mutex<[TileReduction]>([])
        let failure = Mutex<(any Error)?>(nil)
        let outputLock = NSLock()
        let targetBox = UncheckedBox(target)  // written only under `outputLock`
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            do {
                let worker = try kernel.makeWorker()
                // This worker's own handles: one dataset per file, never shared with another thread.
                var datasets: [String: Dataset] = [:]
                var handles: [[Band]] = []
                for read in reads {
                    let dataset = try datasets[read.path] ?? Dataset.open(read.path)
                    datasets[read.path] = dataset
                    handles.append(try read.bands.map { try dataset.band($0) })
                }
                var buffers = zip(reads, capacities).map { read, capacity in
                    Array(repeating: [Float](repeating: .nan, count: capacity), count: read.bands.count)
                }
                var outputBuffers = Array(repeating: [Float](repeating: .nan, count: outputCapacity), count: outputBands.count)
                var local: [TileReduction] = []
                while state?.isCancelled != true, failure.withLock({ $0 == nil }) {
                    let next = progress.claim()
                    guard next < tiles.count else { break }
                    let tile = tiles[next]
                    var blocks: [PixelBlock] = []
                    for (position, read) in reads.enumerated() {
                        let window = tile.padded(by: read.halo, width: grid.width, height: grid.height)
                        for (band, handle) in handles[position].enumerated() {
                            try buffers[position][band].withUnsafeMutableBufferPointer { try handle.read(window, into: $0) }
                        }
                        blocks.append(PixelBlock(window: window, stride: window.width, capacityRows: capacities[position] / window.width,
                                                 bands: buffers[position], bandNames: read.names))
                    }
                    // The output's buffers move into the block and back, so that the worker's writes copy nothing.
                    var output = PixelBlock(window: tile, stride: tile.width, capacityRows: outputCapacity / tile.width,
                                            bands: outputBuffers, bandNames: outputBands)
                    outputBuffers = []
                    let reduced = try worker.apply(inputs: blocks, into: &output)
                    blocks = []
                    if let target = targetBox.value {
                        try outputLock.withLock {
                            for band in outputBands.indices {
                                try output.bands[band].withUnsafeBufferPointer { try target.band(band + 1).write(tile, from: $0) }
                            }
                        }
                    }
                    outputBuffers = output.bands
                    if let reduced { local.append(TileReduction(tile: tile, value: reduced)) }
                    if progress.finish() % 32 == 0 { GDALRuntime.releaseFreeMemory() }
                }
                collected.withLock { $0 += local }
            } catch {
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        if let state, state.isCancelled { throw state.firstError ?? RunError(.cancelled, "the run was cancelled") }
        return collected.withLock { $0 }
    }
}

extension RunContext {
    /// Runs kernels over the tiles of `grid` outside a scheduled run (what `landwatch merge` rebuilds from a mosaic):
    /// the context's block size, threads and memory budget.
    public func tileRunner(grid: RasterGrid) -> any TileRunner {
        TileScheduler(grid: grid, context: self, state: nil, concurrentPasses: 1, stageID: "")
    }
}
