import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest

/// Which stages of the shipped pipelines run in `run --shard` and which are left to `merge`, and the halo.
final class ShardSplitTests: XCTestCase {
    func split(_ name: String) throws -> (ShardSplit, RunPlan) {
        let path = EngineTests.root.appendingPathComponent("pipelines/\(name)").path
        let plan = try RunPlan(pipeline: PipelineLoader(registry: standardRegistry).load(path: path))
        return (ShardSplit(plan: plan), plan)
    }

    func testEnforcementLeavesTheNormalisationAndWhatFollowsItToTheMerge() throws {
        let (split, _) = try split("nightly-enforcement.yaml")
        // normalize.relative fits the later date on pixels of the whole grid, and compliance.diff measures the
        // no-change spread of its evidence over the whole grid: both, and what follows them, run in the merge.
        XCTAssertEqual(split.deferred, ["after-normalised", "after-classes", "write-after-classes", "changes", "violations", "report"])
        // The two cloud-masked images, the earlier classes and the plan layers are handed over.
        XCTAssertEqual(Set(split.handedOver), ["before-clear", "after-clear", "before-classes", "redline", "basic-farmland",
                                               "urban-boundary", "zoning", "approvals", "zones"])
        XCTAssertEqual(split.haloRows, 0, "nothing row-local with a neighbourhood runs in the shards")
    }

    func testADiffWithoutImagesStaysInTheShards() throws {
        let path = EngineTests.root.appendingPathComponent("pipelines/nightly-enforcement.yaml").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "inputs: [after-normalised]", with: "inputs: [after-clear]")
            .replacingOccurrences(of: "      before_image: before-clear ", with: "      # ")
            .replacingOccurrences(of: "      after_image: after-normalised ", with: "      # ")
            .replacingOccurrences(of: "      min_evidence: 4 ", with: "      # ")
        let loaded = try PipelineLoader(registry: standardRegistry).load(text: text, path: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent())
        let split = ShardSplit(plan: try RunPlan(pipeline: loaded))
        XCTAssertTrue(split.deferred.isSuperset(of: ["violations", "report"]))
        XCTAssertFalse(split.deferred.contains("changes"))
        XCTAssertEqual(split.haloRows, 1, "compliance.diff's 3 x 3 neighbourhood")
    }

    func testTrainingAndWhatFollowsItAreLeftToTheMerge() throws {
        let (split, plan) = try split("landcover-model.yaml")
        for id in ["train", "landcover", "accuracy", "write-landcover", "accuracy-rules"] {
            XCTAssertTrue(split.deferred.contains(id), id)
        }
        for id in ["bands", "dem", "stacked", "scene", "nlcd", "rules"] { XCTAssertFalse(split.deferred.contains(id), id) }
        XCTAssertTrue(split.handedOver.contains("scene"), "the focal features feed the training")
        XCTAssertEqual(split.haloRows, 15, "features.focal's 31-pixel window")
        // Rows split by whole blocks when each shard gets one, else by rows; the halo is cut at the edges.
        let height = plan.grid.height
        let layouts = try (1...3).map { try ShardLayout(shard: Shard(parsing: "\($0)/3"), height: height, blockSize: 512, haloRows: 15) }
        XCTAssertEqual(layouts.map(\.delivered), [0..<512, 512..<1024, 1024..<height])
        XCTAssertEqual(layouts.map(\.computed), [0..<527, 497..<1039, 1009..<height])
        let fine = try (1...4).map { try ShardLayout(shard: Shard(parsing: "\($0)/4"), height: 1428, blockSize: 512, haloRows: 0) }
        XCTAssertEqual(fine.map(\.delivered), [0..<357, 357..<714, 714..<1071, 1071..<1428])
        XCTAssertThrowsError(try ShardLayout(shard: Shard(parsing: "1/9"), height: 8, blockSize: 512, haloRows: 0))
    }
}
