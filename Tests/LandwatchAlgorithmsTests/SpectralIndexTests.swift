import LandwatchAlgorithms
import XCTest

final class SpectralIndexTests: XCTestCase {
    func testNormalizedDifferenceFormulaAndNodata() {
        let nir: [Float] = [0.5, 0.3, .nan, 0.2, 0, .infinity, 0.1]
        let red: [Float] = [0.1, 0.3, 0.2, -0.2, 0, 0.1, 0.3]
        let ndvi = SpectralIndex.normalizedDifference(nir, red)
        XCTAssertEqual(ndvi[0], Float((0.5 - 0.1) / (0.5 + 0.1)), accuracy: 1e-7)
        XCTAssertEqual(ndvi[1], 0)
        XCTAssertTrue(ndvi[2].isNaN, "a nodata input gives nodata")
        XCTAssertTrue(ndvi[3].isNaN, "a zero denominator gives nodata")
        XCTAssertTrue(ndvi[4].isNaN, "0/0 gives nodata")
        XCTAssertTrue(ndvi[5].isNaN, "infinite input gives nodata")
        XCTAssertEqual(ndvi[6], -0.5, accuracy: 1e-7)
    }

    func testRescaleAppliesScaleOffsetAndNodata() {
        var values: [Float] = [10000, 65535, 0, .nan]
        values.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 2.0e-5, offset: -0.1, noData: 65535) }
        XCTAssertEqual(values[0], 0.1, accuracy: 1e-7)
        XCTAssertTrue(values[1].isNaN)
        XCTAssertEqual(values[2], -0.1, accuracy: 1e-7)
        XCTAssertTrue(values[3].isNaN)
    }

    func testRescaleWithoutNodataKeepsZeros() {
        var values: [Float] = [0, 3]
        values.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 1, offset: 0, noData: nil) }
        XCTAssertEqual(values, [0, 3])
    }
}
