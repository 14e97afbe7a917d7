import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest

/// The execution plans of shipped pipelines: what fuses into which pass, what runs whole, what is materialised
/// where, and how resume, `run --shard` and `merge` transform the whole run's plan.
final class ExecutionPlanTests: XCTestCase {
    func plan(_ name: String) throws -> ExecutionPlan {
        let path = EngineTests.root.appendingPathComponent("pipelines/\(name)").path
        return ExecutionPlan(try RunPlan(pipeline: PipelineLoader(registry: standardRegistry).load(path: path)))
    }

    /// The pass that streams `id` (a computed node, not one read back from a whole-raster output).
    func pass(streaming id: String, in plan: ExecutionPlan) -> ExecutionPlan.Pass? {
        plan.passes.first { $0.nodes.contains(id) && !$0.wholeInputs.contains(id) }
    }

    func taskIndex(_ label: String, in plan: ExecutionPlan) -> Int? { plan.tasks.indices.first { plan.label($0) == label } }

    func testDemoIsThreeIndependentPassesWithNothingMaterialised() throws {
        let plan = try plan("demo.yaml")
        XCTAssertEqual(plan.passes.map(\.nodes), [["scene", "ndvi"], ["landcover"], ["park"]])
        XCTAssertEqual(plan.passes.map { $0.sinks.map(\.target) }, [[.stage("write-ndvi")], [.stage("write-landcover")], [.stage("write-park")]])
        XCTAssertEqual(plan.wholeStages, [])
        XCTAssertEqual(plan.dependencies, [[], [], []])
        XCTAssertEqual(plan.reports, [])
        let printed = plan.description.components(separatedBy: "\n")
        XCTAssertTrue(printed[0].hasPrefix("execution plan of demo ("), printed[0])
        XCTAssertTrue(printed[0].contains(": 3 tasks (3 streaming passes, 0 whole-raster stages), 0 reports; grid EPSG:32612 1128x1428 px"), printed[0])
        XCTAssertEqual(Array(printed.dropFirst()), [
            "pass 1: streams scene (read.scene) -> ndvi (index.ndvi)",
            "  sink: write-ndvi (write.raster) <- ndvi",
            "pass 2: streams landcover (read.scene)",
            "  sink: write-landcover (write.raster) <- landcover",
            "pass 3: streams park (read.vector)",
            "  sink: write-park (write.raster) <- park",
        ])
    }

    func testEnforcementFusesEachDateAndMaterialisesWhatTheDiffReads() throws {
        let plan = try plan("nightly-enforcement.yaml")
        XCTAssertEqual(plan.wholeStages, ["after-normalised", "changes", "violations"])
        XCTAssertEqual(plan.reports, ["report"])
        // The earlier date is read once: its mask, classes and the raster writer share one pass.
        let before = try XCTUnwrap(pass(streaming: "before-classes", in: plan))
        XCTAssertEqual(before.nodes, ["before-scene", "before-clouds", "before-clear", "before-classes"])
        XCTAssertEqual(Set(before.sinks.map(\.target)), [.stage("write-before-classes"), .materialize(.scratch)])
        XCTAssertEqual(Set(before.sinks.filter { !$0.isStageSink }.map(\.ownerID)), ["before-clear", "before-classes"])
        // The later classes stream from the normalisation's output, read back.
        let after = try XCTUnwrap(pass(streaming: "after-classes", in: plan))
        XCTAssertEqual(after.wholeInputs, ["after-normalised"])
        // The diff waits for every pass that materialises one of its inputs, and for the normalisation.
        let changes = try XCTUnwrap(taskIndex("changes", in: plan))
        let waited = Set(plan.dependencies[changes].map(plan.label))
        for id in ["before-classes", "after-classes", "redline", "basic-farmland", "urban-boundary", "zoning", "approvals", "zones", "before-clear"] {
            let materialising = try XCTUnwrap(plan.passes.first { $0.sinks.contains { $0.target == .materialize(.scratch) && $0.ownerID == id } }, id)
            XCTAssertTrue(waited.contains("pass \(materialising.index)"), id)
        }
        XCTAssertTrue(waited.contains("after-normalised"))
        let violations = try XCTUnwrap(taskIndex("violations", in: plan))
        XCTAssertTrue(plan.dependencies[violations].map(plan.label).contains("changes"))
        // Printed in an order the tasks can start: every `after:` names a task printed above it.
        var printed = Set<String>()
        for index in plan.scheduleOrder {
            for dependency in plan.dependencies[index] { XCTAssertTrue(printed.contains(plan.label(dependency)), plan.label(index)) }
            printed.insert(plan.label(index))
        }
        XCTAssertTrue(plan.description.contains("whole-raster sink: violations (write.violations) reads changes: changes"))
        XCTAssertTrue(plan.description.contains("reports, after every task: report (report.html)"))
    }

    func testAShardLeavesTheDeferredStagesOutAndHandsTheirInputsOver() throws {
        let whole = try plan("nightly-enforcement.yaml")
        let split = ShardSplit(plan: whole.run)
        let shard = whole.sharded(split, countedRows: 0..<10)
        XCTAssertEqual(shard.skipping, split.deferred)
        XCTAssertEqual(shard.wholeStages, [], "normalisation, diff and violations run in the merge")
        XCTAssertEqual(shard.reports, [])
        XCTAssertFalse(shard.handover.checksValidPixels)
        XCTAssertEqual(shard.handover.countedRows, 0..<10)
        // Each handed-over product is written once, under shard/, by the pass that streams it.
        let written = shard.passes.flatMap(\.sinks).filter { !$0.isStageSink }
        XCTAssertEqual(Set(written.map(\.ownerID)), Set(split.handedOver))
        XCTAssertEqual(written.count, split.handedOver.count)
        for job in written { XCTAssertEqual(job.target, .materialize(.handover("shard/\(job.ownerID).tif"))) }
        XCTAssertEqual(shard.passes.flatMap(\.sinks).filter(\.isStageSink).map(\.target), [.stage("write-before-classes")])
        XCTAssertFalse(shard.passes.flatMap(\.nodes).contains("after-classes"))
        XCTAssertTrue(shard.description.contains("materialises: before-classes -> shard/before-classes.tif (handed over to the merge)"))
    }

    func testTheMergeRunsOnlyTheDeferredStagesOnTheMosaics() throws {
        let whole = try plan("nightly-enforcement.yaml")
        let split = ShardSplit(plan: whole.run)
        let mosaics = Dictionary(uniqueKeysWithValues: split.handedOver.map { ($0, "/merge/\($0).tif") })
        let merge = whole.merging(split, mosaics: mosaics)
        XCTAssertEqual(Set(whole.run.pipeline.topologicalOrder).subtracting(merge.skipping), split.deferred)
        XCTAssertEqual(merge.wholeStages, ["after-normalised", "changes", "violations"])
        XCTAssertEqual(merge.reports, ["report"])
        // Nothing the shards made is computed again: no pass streams a source, and handed-over products are read.
        let computed = merge.passes.flatMap { pass in pass.nodes.filter { !pass.wholeInputs.contains($0) } }
        XCTAssertEqual(computed, ["after-classes"])
        XCTAssertEqual(merge.destination(of: "before-classes"), .mosaic("/merge/before-classes.tif"))
        XCTAssertFalse(merge.passes.flatMap(\.sinks).contains { split.handedOver.contains($0.ownerID) },
                       "a mosaic is not materialised again")
        let changes = try XCTUnwrap(taskIndex("changes", in: merge))
        XCTAssertEqual(Set(merge.dependencies[changes].map(merge.label)),
                       ["after-normalised", "pass \(try XCTUnwrap(pass(streaming: "after-classes", in: merge)).index)"])
    }

    func testResumingDropsCompletedSinksAndWhatOnlyTheyNeeded() throws {
        let whole = try plan("demo.yaml")
        let resumed = whole.resuming(skipping: ["write-landcover"])
        XCTAssertEqual(resumed.passes.map(\.nodes), [["scene", "ndvi"], ["park"]])
        XCTAssertEqual(resumed.resuming(skipping: ["write-park"]).passes.map(\.nodes), [["scene", "ndvi"]])
        XCTAssertTrue(resumed.description.hasSuffix("left out: write-landcover"))
    }

    func testTrainingWaitsForTheFocalFeaturesAndPredictionForTraining() throws {
        let plan = try plan("landcover-model.yaml")
        XCTAssertEqual(plan.wholeStages, ["scene"])
        let train = try XCTUnwrap(plan.passes.first { $0.sinks.contains { $0.target == .stage("train") } })
        let predict = try XCTUnwrap(pass(streaming: "landcover", in: plan))
        let focal = try XCTUnwrap(taskIndex("scene", in: plan))
        XCTAssertEqual(train.wholeInputs, ["scene"])
        XCTAssertEqual(predict.sinkInputs, ["train"])
        XCTAssertTrue(plan.dependencies[try XCTUnwrap(taskIndex("pass \(predict.index)", in: plan))].contains(try XCTUnwrap(taskIndex("pass \(train.index)", in: plan))))
        XCTAssertTrue(plan.dependencies[try XCTUnwrap(taskIndex("pass \(train.index)", in: plan))].contains(focal))
        // The stack the focal stage reads is materialised by the pass that also feeds the rule classes' accuracy.
        let stacked = try XCTUnwrap(pass(streaming: "stacked", in: plan))
        XCTAssertTrue(stacked.sinks.contains { $0.ownerID == "stacked" && $0.target == .materialize(.scratch) })
        XCTAssertTrue(stacked.sinks.contains { $0.target == .stage("accuracy-rules") })
    }

    func testEveryShippedPipelinePlansWithoutACycle() throws {
        let folder = EngineTests.root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for file in files {
            let plan: ExecutionPlan
            do { plan = try self.plan(file) } catch { XCTFail("\(file): \(error)"); continue }
            XCTAssertEqual(plan.scheduleOrder.sorted(), Array(plan.tasks.indices), file)
            var seen = Set<Int>()
            for index in plan.scheduleOrder {
                XCTAssertTrue(plan.dependencies[index].allSatisfy(seen.contains), "\(file): \(plan.label(index))")
                seen.insert(index)
            }
            // Every stage that is not a report is in exactly one task (a pass's computed node, a sink, or a whole task).
            for id in plan.run.pipeline.topologicalOrder where !plan.reports.contains(id) {
                let streamed = plan.passes.filter { $0.nodes.contains(id) && !$0.wholeInputs.contains(id) }.count
                let sunk = plan.passes.filter { $0.sinks.contains { $0.target == .stage(id) } }.count
                let whole = plan.wholeStages.filter { $0 == id }.count
                XCTAssertGreaterThanOrEqual(streamed + sunk + whole, 1, "\(file): \(id)")
                XCTAssertLessThanOrEqual(sunk + whole, 1, "\(file): \(id)")
            }
        }
    }
}
