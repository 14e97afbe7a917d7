import Foundation
import XCTest

/// `landwatch validate --plan`: the execution plan printed by the binary, after the usual check.
final class ValidatePlanTests: XCTestCase {
    func testThePlanOfTheDemoIsPrintedAfterTheCheck() throws {
        let result = try CLITests.landwatch(["validate", "--plan", "pipelines/demo.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("pipelines/demo.yaml: ok: 7 stages") == true, result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("execution plan of demo (") && $0.contains(": 3 tasks (3 streaming passes, 0 whole-raster stages), 0 reports") },
                      result.stdout)
        XCTAssertTrue(lines.contains("pass 1: streams scene (read.scene) -> ndvi (index.ndvi)"), result.stdout)
        XCTAssertTrue(lines.contains("  sink: write-ndvi (write.raster) <- ndvi"), result.stdout)
        XCTAssertEqual(lines.last, "sharded (run --shard K/N, then merge): halo 0 rows; handed over to the merge: nothing; run by the merge: nothing")
    }

    func testTheEnforcementPlanShowsTheNeighbourhoodStagesAndWhatTheMergeRuns() throws {
        let result = try CLITests.landwatch(["validate", "--plan", "pipelines/nightly-enforcement.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\nneighbourhood: changes (compliance.diff) reads before: before-classes, after: after-classes,"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nwhole-raster sink: violations (write.violations) reads changes: changes"), result.stdout)
        XCTAssertTrue(result.stdout.contains("run by the merge: after-normalised, after-classes, changes, violations, write-after-classes, report"), result.stdout)
    }

    func testWithoutTheFlagNoPlanIsPrinted() throws {
        let result = try CLITests.landwatch(["validate", "pipelines/demo.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("execution plan"), result.stdout)
    }
}
