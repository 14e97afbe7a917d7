import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest

/// `features.focal` on the real Zion scene: the result does not depend on the tiling, and equals a direct count.
final class FocalStageTests: PipelineTestCase {
    static let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8").path

    func pipeline(statistics: String = "mean,std,dev") -> String {
        """
        version: 1
        grid: {like: scene}
        stages:
          - id: scene
            uses: read.scene
            with:
              bands: {red: "\(Self.zion)/landsat_b4.tif", nir: "\(Self.zion)/landsat_b5.tif"}
              scale: 2.0e-5
              offset: -0.1
              nodata: 65535
          - id: focal
            uses: features.focal
            inputs: {scene: scene}
            with: {features: "nir,ndvi", sizes: "15,5", statistics: "\(statistics)"}
          - id: out
            uses: write.raster
            inputs: [focal]
            with: {path: focal.tif}
        """
    }

    func testTilingDoesNotChangeTheResult() throws {
        try run(pipeline(), out: "big", blockSize: 512)
        try run(pipeline(), out: "small", blockSize: 64)
        let big = try Dataset.open(work.appendingPathComponent("big/focal.tif").path)
        let small = try Dataset.open(work.appendingPathComponent("small/focal.tif").path)
        XCTAssertEqual(big.bandCount, 2 + 2 * 2 * 3)
        let names = try (1...big.bandCount).map { try big.band($0).bandDescription }
        XCTAssertEqual(names, ["red", "nir", "nir_mean5", "nir_std5", "nir_dev5", "nir_mean15", "nir_std15", "nir_dev15",
                               "ndvi_mean5", "ndvi_std5", "ndvi_dev5", "ndvi_mean15", "ndvi_std15", "ndvi_dev15"])
        let window = Window(width: big.width, height: big.height)
        for band in 1...big.bandCount {
            let a = try big.band(band).read(window), b = try small.band(band).read(window)
            // Means and deviations are exact; a standard deviation comes from a difference of sums of squares whose
            // rounding depends on the tile's origin, so it agrees to within a millionth of reflectance or NDVI.
            let tolerance: Float = names[band - 1].contains("_std") ? 1e-6 : 0
            let worst = zip(a, b).map { $0.isNaN && $1.isNaN ? 0 : abs($0 - $1) }.max() ?? 0
            XCTAssertTrue(worst <= tolerance, "band \(names[band - 1]) differs by \(worst) with 64-pixel tiles")
        }
        // One pixel by hand: the 5 x 5 mean of NIR reflectance around (600, 700).
        let nir = try Dataset.open("\(Self.zion)/landsat_b5.tif").band(1).read(Window(colOffset: 598, rowOffset: 698, width: 5, height: 5))
        let mean = nir.map { Double($0) * 2.0e-5 - 0.1 }.reduce(0, +) / 25
        let computed = try big.band(3).read(Window(colOffset: 600, rowOffset: 700, width: 1, height: 1))[0]
        XCTAssertEqual(Double(computed), mean, accuracy: 1e-6)
    }

    func testBadOptionsNameTheOption() throws {
        XCTAssertThrowsError(try run(pipeline(statistics: "mean,median"))) { error in
            XCTAssertTrue("\(error)".hasSuffix("focal: 'median' is not a statistic (mean, std, dev)"), "\(error)")
        }
        let even = pipeline().replacingOccurrences(of: "sizes: \"15,5\"", with: "sizes: \"4\"")
        XCTAssertThrowsError(try run(even)) { error in
            XCTAssertTrue("\(error)".hasSuffix("focal: '4' is not an odd window size from 3 to 255 pixels"), "\(error)")
        }
        let missing = pipeline().replacingOccurrences(of: "features: \"nir,ndvi\"", with: "features: \"nir,ndbi\"")
        XCTAssertThrowsError(try run(missing)) { error in
            XCTAssertTrue("\(error)".contains("focal: ndbi needs band swir1, which the scene lacks"), "\(error)")
        }
    }
}
