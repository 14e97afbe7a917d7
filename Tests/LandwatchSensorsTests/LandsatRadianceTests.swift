import Foundation
import LandwatchAlgorithms
import XCTest
import LandwatchSensors
import LandwatchTestSupport

/// TOA reflectance from radiance for Landsat 4/5 products whose MTL has radiance constants only (pre-collection).
final class LandsatRadianceTests: XCTestCase {
    static let root = TestPaths.repository
    static let sharedData = TestPaths.sharedData
    static let lt5 = sharedData.appendingPathComponent("marburg-landsat/kenya-pair/LT5/LT51670552010352MLK00_MTL.txt")

    /// The real 2010 Kenya MTL (radiance only, NUL padding after END) gives band 3 reflectance as computed by hand:
    /// DN 100 → L = 1.044 · 100 − 2.21398 = 102.18602; day 352 → d = 1 − 0.01672 cos(0.9856° · 348) = 0.984012;
    /// ρ = π · 102.18602 · 0.984012² / (1536 · sin 49.25236°) = 0.267125.
    func testPreCollectionTMReflectanceFromRadianceMatchesAHandComputation() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.lt5.path), "../shared/data is not beside the checkout (set LANDWATCH_SHARED_DATA)")
        let data = try Data(contentsOf: Self.lt5)
        XCTAssertEqual(data.last, 0, "the real file ends in NUL padding")
        let product = try LandsatProduct(mtl: MTLFile(path: Self.lt5.path))
        XCTAssertNil(product.collection)
        XCTAssertEqual(product.spacecraft, "LANDSAT_5")
        let scaling = try product.reflectanceScaling(band: "3", sunCorrected: true)
        XCTAssertEqual(100 * scaling.scale + scaling.offset, 0.267125, accuracy: 2e-6)
        // Without the sun-angle correction the sine is left out, as REFLECTANCE_MULT/ADD leave it out.
        let flat = try product.reflectanceScaling(band: "3", sunCorrected: false)
        XCTAssertEqual(100 * flat.scale + flat.offset, 0.267125 * sin(49.25236265 * .pi / 180), accuracy: 2e-6)
        // Band 7 uses TM's 83.44.
        let swir2 = try product.reflectanceScaling(band: "7", sunCorrected: true)
        let expected = Double.pi * (0.066 * 100 - 0.21555) * 0.984012 * 0.984012 / (83.44 * sin(49.25236265 * .pi / 180))
        XCTAssertEqual(100 * swir2.scale + swir2.offset, expected, accuracy: 1e-5)
    }

    func testEarthSunDistanceAndDayOfYear() {
        XCTAssertEqual(LandsatProduct.dayOfYear("2010-12-18"), 352)
        XCTAssertEqual(LandsatProduct.dayOfYear("2000-03-09"), 69)  // leap year
        XCTAssertNil(LandsatProduct.dayOfYear("2010-13-01"))
        // Perihelion near 3 January, aphelion near 4 July; the Collection-1 MTL of 2000-03-09 gives 0.9929941.
        XCTAssertEqual(LandsatProduct.earthSunDistance(dayOfYear: 4), 0.98328, accuracy: 1e-4)
        XCTAssertEqual(LandsatProduct.earthSunDistance(dayOfYear: 186), 1.01672, accuracy: 1e-4)
        XCTAssertEqual(LandsatProduct.earthSunDistance(dayOfYear: 69), 0.9929941, accuracy: 5e-4)
    }

    /// NUL padding after the final END is not read; a file cut before its groups close still is an error.
    func testNULPaddingAfterENDIsIgnored() throws {
        let text = "GROUP = L1_METADATA_FILE\n  SPACECRAFT_ID = \"LANDSAT_5\"\nEND_GROUP = L1_METADATA_FILE\nEND\n" + String(repeating: "\0", count: 300)
        let mtl = try MTLFile(text: text, file: "x_MTL.txt")
        XCTAssertEqual(mtl["SPACECRAFT_ID"], "LANDSAT_5")
        XCTAssertThrowsError(try MTLFile(text: "GROUP = A\n  K = 1\nEND\n", file: "x_MTL.txt")) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt: 1 GROUP not closed by END_GROUP")
        }
    }

    /// A product of a mission without ESUN values (Landsat 8 has REFLECTANCE_MULT) keeps the old message.
    func testRadianceOnlyWithoutESUNNamesTheMissingConstant() throws {
        let text = """
            GROUP = L1_METADATA_FILE
              SPACECRAFT_ID = "LANDSAT_8"
              DATE_ACQUIRED = 2015-08-04
              SUN_ELEVATION = 60
              RADIANCE_MULT_BAND_4 = 0.01
              RADIANCE_ADD_BAND_4 = -50
            END_GROUP = L1_METADATA_FILE
            END
            """
        let product = try LandsatProduct(mtl: MTLFile(text: text, file: "l8_MTL.txt"))
        XCTAssertThrowsError(try product.reflectanceScaling(band: "4", sunCorrected: true)) { error in
            XCTAssertEqual("\(error)", "l8_MTL.txt: no REFLECTANCE_MULT_BAND_4 (the reflectance scale of band 4)")
        }
    }
}
