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

final class MoreIndexTests: XCTestCase {
    func compute(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: 0, count: 3)
        out.withUnsafeMutableBufferPointer { body($0) }
        return out
    }

    func testBareSoilIndex() {
        let swir: [Float] = [0.3, 0.1, 0], red: [Float] = [0.2, 0.1, 0], nir: [Float] = [0.25, 0.3, 0], blue: [Float] = [0.05, 0.1, 0]
        let out = swir.withUnsafeBufferPointer { s in red.withUnsafeBufferPointer { r in nir.withUnsafeBufferPointer { n in
            blue.withUnsafeBufferPointer { b in compute { SpectralIndex.bareSoil(swir1: s, red: r, nir: n, blue: b, into: $0) } } } } }
        XCTAssertEqual(out[0], Float((0.5 - 0.3) / 0.8), accuracy: 1e-7)
        XCTAssertEqual(out[1], Float((0.2 - 0.4) / 0.6), accuracy: 1e-7)
        XCTAssertTrue(out[2].isNaN, "zero denominator")
    }

    func testSoilAdjustedAndEnhancedVegetation() {
        let nir: [Float] = [0.4, .nan, 0.3], red: [Float] = [0.1, 0.1, 0.05], blue: [Float] = [0.05, 0.05, 0.04]
        let savi = nir.withUnsafeBufferPointer { n in red.withUnsafeBufferPointer { r in
            compute { SpectralIndex.soilAdjusted(nir: n, red: r, l: 0.5, into: $0) } } }
        XCTAssertEqual(savi[0], Float(1.5 * 0.3 / 1.0), accuracy: 1e-6)
        XCTAssertTrue(savi[1].isNaN)
        let evi = nir.withUnsafeBufferPointer { n in red.withUnsafeBufferPointer { r in blue.withUnsafeBufferPointer { b in
            compute { SpectralIndex.enhancedVegetation(nir: n, red: r, blue: b, into: $0) } } } }
        XCTAssertEqual(evi[0], Float(2.5 * 0.3 / (0.4 + 0.6 - 0.375 + 1)), accuracy: 1e-6)
        XCTAssertEqual(evi[2], Float(2.5 * 0.25 / (0.3 + 0.3 - 0.3 + 1)), accuracy: 1e-6)
        XCTAssertTrue(evi[1].isNaN)
    }
}
