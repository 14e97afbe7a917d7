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
    /// What the stage being run found (fits, thresholds chosen from the data, warnings): recorded in run.json under
    /// the stage. Nil outside a stage's run; see ``forStage()``.
    public let findings: StageFindings?

    public init(outputRoot: OutputRoot, workDirectory: URL, logger: Logger, memoryBudget: Int, threads: Int, blockSize: Int,
                fullGrid: RasterGrid? = nil, findings: StageFindings? = nil) {
        self.findings = findings
        self.outputRoot = outputRoot
        self.workDirectory = workDirectory
        self.logger = logger
        self.memoryBudget = memoryBudget
        self.threads = threads
        self.blockSize = blockSize
        self.fullGrid = fullGrid
    }

    /// The same context with a fresh record of findings, for one stage's run.
    public func forStage() -> RunContext {
        RunContext(outputRoot: outputRoot, workDirectory: workDirectory, logger: logger, memoryBudget: memoryBudget, threads: threads,
                   blockSize: blockSize, fullGrid: fullGrid, findings: StageFindings())
    }

    /// A fresh path in the work directory.
    public func scratchPath(_ name: String) -> String {
        workDirectory.appendingPathComponent(name).path
    }
}

/// What one stage found while it ran, for run.json: named values (a fit's gains, a threshold, a count) and
/// warnings in words. Safe to use from the stage's worker threads.
public final class StageFindings: @unchecked Sendable {  // state guarded by `lock`
    private let lock = NSLock()
    private var values: [String: Double] = [:]
    private var notes: [String] = []

    public init() {}

    public func set(_ name: String, _ value: Double) { lock.withLock { values[name] = value } }
    public func note(_ text: String) { lock.withLock { notes.append(text) } }

    /// What was found, or nil when nothing was.
    public var record: StageFindingsRecord? {
        lock.withLock { values.isEmpty && notes.isEmpty ? nil : StageFindingsRecord(values: values, notes: notes) }
    }
}

/// The findings of a stage as written to run.json.
public struct StageFindingsRecord: Sendable, Codable, Equatable {
    public var values: [String: Double]
    public var notes: [String]
}
