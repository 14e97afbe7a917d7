import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import LandwatchTestSupport
import XCTest

/// classify.model's confidence is calibrated: in every confidence bin with enough pixels, the mean reported
/// confidence is within 10 points of the share of those pixels classified right, on held-out cells the calibration
/// was not fitted on (classify.train fits it on the held-out cells of even cell columns; these are the odd ones).
final class CalibrationTests: PipelineTestCase {
    /// Reliability of `classes` (band 1 class, band 2 confidence) against `reference` on held-out cells of odd
    /// cell columns.
    func reliability(landcover: String, reference: [Float], map: [Int: Int], holdout: Int) throws -> (table: ReliabilityTable, pixels: Int) {
        let dataset = try Dataset.open(landcover)
        let window = Window(width: dataset.width, height: dataset.height)
        let classes = try dataset.band(1).read(window), confidence = try dataset.band(2).read(window)
        var reported: [Float] = [], right: [Bool] = []
        for row in 0..<dataset.height {
            for col in 0..<dataset.width {
                let cx = col / holdout, cy = row / holdout
                guard (cx + cy) % 2 == 1, cx % 2 == 1 else { continue }
                let i = row * dataset.width + col
                guard reference[i].isFinite, let truth = map[Int(reference[i])], classes[i] > 0, confidence[i].isFinite else { continue }
                reported.append(confidence[i])
                right.append(Int(classes[i]) == truth)
            }
        }
        return (ReliabilityTable(confidence: reported, correct: right), reported.count)
    }

    func assertCalibrated(_ table: ReliabilityTable, minimum: Int, file: StaticString = #filePath, line: UInt = #line) {
        let checked = table.bins.filter { $0.pixels >= minimum }
        XCTAssertGreaterThanOrEqual(checked.count, 2, table.markdown(), file: file, line: line)
        for bin in checked {
            XCTAssertLessThanOrEqual(abs(bin.meanConfidence - bin.accuracy), 10, "bin \(bin.lower)–\(bin.upper):\n" + table.markdown(), file: file, line: line)
        }
    }

    /// The shipped Sentinel-2 series pipeline (Slovenia, LULC reference): every pixel of the check half.
    func testSentinel2SeriesConfidenceMatchesObservedAccuracy() throws {
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let path = TestPaths.repository.appendingPathComponent("pipelines/landcover-sentinel2.yaml").path
        try runner.run(try runner.validate(path: path), settings: .init(outputDirectory: work.appendingPathComponent("s2").path, threads: 2))
        let reference = try readWhole(TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2/LULC_reference.tif").path)
        let (table, pixels) = try reliability(landcover: work.appendingPathComponent("s2/landcover.tif").path, reference: reference,
                                              map: [1: 1, 2: 2, 3: 3, 4: 3, 8: 5], holdout: 20)
        XCTAssertGreaterThan(pixels, 2000)
        assertCalibrated(table, minimum: 100)
        // The validation report carries the table, fitted and checked on separate cells.
        let markdown = try String(contentsOf: work.appendingPathComponent("s2/model.validation.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Confidence"), markdown)
        XCTAssertTrue(markdown.contains("| confidence | pixels | mean confidence | observed accuracy | gap |"), markdown)
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("s2/model.json.meta.json"))) as! [String: Any]
        XCTAssertEqual(metadata["formatVersion"] as? Int, 2)
        XCTAssertNotNil(metadata["calibration"])
    }

    /// The shipped Zion model pipeline (NLCD 2011), with the reference written on the run grid beside it.
    func testZionModelConfidenceMatchesObservedAccuracy() throws {
        let pipeline = TestPaths.repository.appendingPathComponent("pipelines/landcover-model.yaml")
        var text = try String(contentsOf: pipeline, encoding: .utf8)
        text += """

              - id: write-reference
                uses: write.raster
                inputs: [nlcd]
                with: {path: nlcd.tif}

            """
        let file = work.appendingPathComponent("landcover-model.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: file.path, overrides: ["data": TestPaths.repository.appendingPathComponent("testdata/zion-landsat8").path])
        try runner.run(plan, settings: .init(outputDirectory: work.appendingPathComponent("zion").path, threads: 2))
        let reference = try readWhole(work.appendingPathComponent("zion/nlcd.tif").path)
        let (table, pixels) = try reliability(landcover: work.appendingPathComponent("zion/landcover.tif").path, reference: reference,
                                              map: [1: 4, 8: 4, 2: 5, 3: 6, 4: 2, 5: 3, 6: 3, 7: 1], holdout: 128)
        XCTAssertGreaterThan(pixels, 300_000)
        assertCalibrated(table, minimum: 1000)
        let accuracy = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("zion/accuracy.json"))) as! [String: Any]
        XCTAssertGreaterThanOrEqual(accuracy["overall_accuracy"] as! Double, 0.78)
    }
}
