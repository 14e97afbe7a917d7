import Foundation
import LandwatchPipeline
import LandwatchStages
import XCTest
import LandwatchTestSupport

/// Files with thousands of stages (issue 22 item 5): loading and planning are linear (no step copies a path or
/// searches the stage list per stage) and nothing recurses once per stage, so a chain of 15,000 stages declared
/// last-first neither hangs nor overflows the stack (the cycle check did at about 4,000). The time is measured in
/// the closing note with the release binary, not here.
final class ValidateScaleTests: XCTestCase {
    static let root = TestPaths.repository

    func load(_ text: String) throws(PipelineFileError) -> RunPlan {
        let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: "big.yaml", directory: Self.root)
        return try RunPlan(pipeline: pipeline)
    }

    /// A chain s_n <- s_(n-1) <- … <- s_0 of mask.apply stages on the real Marburg crop, written last stage first.
    func reversedChain(_ count: Int, closing: String? = nil) -> String {
        let folder = "testdata/marburg-landsat/LC08_L1TP_195025_20130707_20170503_01_T1"
        var lines = ["version: 1", "grid: {like: s0}", "stages:"]
        for index in stride(from: count, to: 0, by: -1) {
            lines += ["  - id: s\(index)", "    uses: mask.apply", "    inputs: [s\(index - 1), clouds]"]
        }
        lines += ["  - id: s0", "    uses: read.scene", "    with: {bands: {red: \(folder)_B4.TIF, nir: \(folder)_B5.TIF}}",
                  "  - id: clouds", "    uses: mask.clouds", "    with: {qa: \(folder)_BQA.TIF, layout: collection1}",
                  "  - id: out", "    uses: write.raster", "    inputs: [s\(count)]", "    with: {path: last.tif}"]
        if let closing { lines += closing.split(separator: "\n").map(String.init) }
        return lines.joined(separator: "\n") + "\n"
    }

    func testAChainOf15000StagesDeclaredLastFirstIsPlannedInOrder() throws {
        let plan = try load(reversedChain(14_997))
        let order = plan.pipeline.topologicalOrder
        XCTAssertEqual(order.count, 15_000)
        XCTAssertEqual(Set(order.prefix(2)), ["s0", "clouds"])
        XCTAssertEqual(order.suffix(2), ["s14997", "out"])
        XCTAssertEqual(plan.products["s14997"]?.bandNames, ["red", "nir"])
    }

    func testACycleAtTheEndOfALongChainIsOneLine() {
        // s0 reads s14997 as well: the inputs go round through 15,000 stages.
        var text = reversedChain(14_997)
        text = text.replacingOccurrences(of: "  - id: s1\n    uses: mask.apply\n    inputs: [s0, clouds]",
                                         with: "  - id: s1\n    uses: mask.apply\n    inputs: [s14997, clouds]")
        XCTAssertThrowsError(try load(text)) { error in
            let lines = (error as? PipelineFileError)?.diagnostics.map(\.description) ?? []
            XCTAssertEqual(lines.count, 1, "\(lines.prefix(3))")
            XCTAssertTrue(lines.first?.contains("inputs form a cycle (s") == true, "\(lines.first ?? "")")
        }
    }

    func testEveryStageWithItsOwnProblemIsReportedOnceWithoutFollowOns() {
        // 5,000 stages with a wrong option each, and a grid like one of them: 5,000 lines, none about the grid or the
        // inputs that name them.
        var lines = ["version: 1", "grid: {like: n0}", "stages:"]
        for index in 0..<5_000 {
            lines += ["  - id: n\(index)", "    uses: read.scene",
                      "    with: {bands: {red: testdata/zion-landsat8/landsat_b4.tif}, resampling: lanczos}",
                      "  - id: i\(index)", "    uses: index.ndvi", "    inputs: [n\(index)]"]
        }
        XCTAssertThrowsError(try load(lines.joined(separator: "\n") + "\n")) { error in
            let diagnostics = (error as? PipelineFileError)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.count, 5_000)
            XCTAssertTrue(diagnostics.allSatisfy { $0.message.hasPrefix("option 'resampling' must be one of") }, "\(diagnostics.first { !$0.message.hasPrefix("option 'resampling'") }?.description ?? "")")
        }
    }
}
