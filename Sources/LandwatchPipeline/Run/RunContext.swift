import Foundation
import LandwatchGDAL
import Logging

/// What a stage may use while a run executes: where to write, the budget, the grid, the log.
public final class RunContext: Sendable {
    public let outputRoot: OutputRoot
    /// Scratch folder for warped VRTs and materialised rasters; removed when the run ends.
    public let workDirectory: URL
    public let logger: Logger
    /// Bytes the run may use in all: GDAL's cache plus the blocks in flight.
    public let memoryBudget: Int
    /// Worker threads for block processing.
    public let threads: Int
    /// Processing block edge in pixels; outputs are tiled with the same size.
    public let blockSize: Int
    /// The grid of the whole run when this run computes one shard of its rows (the grid stages are given is then that
    /// band of rows, halo included); nil when the run is not sharded. Checks of "does this input reach the image" go
    /// against it: a plan layer may well lie in another shard's rows.
    public let fullGrid: RasterGrid?

    public init(outputRoot: OutputRoot, workDirectory: URL, logger: Logger, memoryBudget: Int, threads: Int, blockSize: Int,
                fullGrid: RasterGrid? = nil) {
        self.outputRoot = outputRoot
        self.workDirectory = workDirectory
        self.logger = logger
        self.memoryBudget = memoryBudget
        self.threads = threads
        self.blockSize = blockSize
        self.fullGrid = fullGrid
    }

    /// A fresh path in the work directory.
    public func scratchPath(_ name: String) -> String {
        workDirectory.appendingPathComponent(name).path
    }
}
