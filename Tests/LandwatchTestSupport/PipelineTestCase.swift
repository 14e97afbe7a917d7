import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest

/// A test case with a fresh work folder, and a way to run pipeline text in it with ``registry`` (the shipped stages;
/// the engine's tests add stages of their own).
open class PipelineTestCase: XCTestCase {
    public var work: URL!

    /// The stages the pipelines of this test case may use.
    open var registry: StageRegistry { standardRegistry }

    override open func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-\(type(of: self))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override open func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    /// Writes `text` to the work folder as a pipeline file, validates it and runs it into `work/out`.
    @discardableResult
    public func run(_ text: String, overrides: [String: String] = [:], out: String = "out", memory: Int = 256 << 20, threads: Int = 2,
                    blockSize: Int = 512, registry: StageRegistry? = nil) throws -> RunRecord {
        let file = work.appendingPathComponent("pipeline.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: registry ?? self.registry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: file.path, overrides: overrides)
        return try runner.run(plan, settings: .init(outputDirectory: work.appendingPathComponent(out).path,
                                                    memoryBudget: memory, threads: threads, blockSize: blockSize))
    }

    /// Band 1 of a raster, whole.
    public func readWhole(_ path: String) throws -> [Float] {
        let dataset = try Dataset.open(path)
        return try dataset.band(1).read(Window(width: dataset.width, height: dataset.height))
    }
}
