import LandwatchAlgorithms
import XCTest

final class ConfidenceCalibrationTests: XCTestCase {
    /// Pool-adjacent-violators by hand: 0.1 wrong, 0.2 right, 0.3 wrong (pooled with 0.2: 0.5), 0.4 right.
    func testIsotonicStepsPoolDecreasingNeighbours() throws {
        let calibration = try XCTUnwrap(ConfidenceCalibration(probabilities: [0.4, 0.1, 0.3, 0.2], correct: [true, false, false, true]))
        XCTAssertEqual(calibration.upper, [0.1, 0.3, 0.4])
        XCTAssertEqual(calibration.accuracy, [0, 0.5, 1])
        XCTAssertEqual(calibration.accuracy(for: 0.05), 0)
        XCTAssertEqual(calibration.accuracy(for: 0.25), 0.5)
        XCTAssertEqual(calibration.accuracy(for: 0.99), 1)
        XCTAssertNil(ConfidenceCalibration(probabilities: [], correct: []))
        // Runs of at least two pixels: (0.1, 0.2) = 0.5, (0.3, 0.4) = 0.5, pooled into one step.
        let coarse = try XCTUnwrap(ConfidenceCalibration(probabilities: [0.4, 0.1, 0.3, 0.2], correct: [true, false, false, true], minimumBlock: 2))
        XCTAssertEqual(coarse.accuracy, [0.5])
    }

    /// A class with too few pixels for a curve of its own follows the overall curve, moved by its shrunk residual.
    func testRareClassesShiftTheOverallCurve() throws {
        // 200 pixels of class 1 at p = 0.9, 90 % right; 10 of class 2 at p = 0.9, all wrong.
        let probabilities = [Float](repeating: 0.9, count: 210)
        let predicted = Array(repeating: 1, count: 200) + Array(repeating: 2, count: 10)
        let correct = (0..<200).map { $0 % 10 != 0 } + Array(repeating: false, count: 10)
        let calibration = try XCTUnwrap(ClassConfidenceCalibration(probabilities: probabilities, predicted: predicted, correct: correct))
        let overall: Float = 180 / 210
        XCTAssertEqual(calibration.accuracy(for: 0.9, predicted: 1), overall + (180 - 200 * overall) / 250, accuracy: 1e-5)
        XCTAssertEqual(calibration.accuracy(for: 0.9, predicted: 2), overall - 10 * overall / 60, accuracy: 1e-5)
        // A class never seen on calibration pixels gets the overall curve.
        XCTAssertEqual(calibration.accuracy(for: 0.9, predicted: 3), overall, accuracy: 1e-6)
    }

    func testReliabilityTableBinsConfidence() {
        let table = ReliabilityTable(confidence: [5, 15, 15, 95, 100], correct: [false, true, false, true, true])
        XCTAssertEqual(table.bins.map(\.lower), [0, 10, 90])
        XCTAssertEqual(table.bins.map(\.pixels), [1, 2, 2])
        XCTAssertEqual(table.bins[1].accuracy, 50)
        XCTAssertEqual(table.bins[2].meanConfidence, 97.5)
        XCTAssertEqual(table.largestGap(minimum: 2), 35)  // |15 − 50|
    }
}
