import Foundation
import LandwatchAlgorithms
import XCTest
import LandwatchSensors
import LandwatchTestSupport

final class LandsatMetadataTests: XCTestCase {
    static let root = TestPaths.repository
    static let marburg = root.appendingPathComponent("testdata/marburg-landsat")

    func testCollection1MTLOfTheMarburgScene() throws {
        let product = try LandsatProduct(mtl: MTLFile(path: Self.marburg.appendingPathComponent(
            "LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt").path))
        XCTAssertEqual(product.spacecraft, "LANDSAT_8")
        XCTAssertEqual(product.collection, 1)
        XCTAssertEqual(product.qualityLayout, .collection1)
        XCTAssertEqual(product.acquisitionDate, "2013-07-07")
        XCTAssertEqual(product.sunElevation, 58.99675180)
        XCTAssertEqual(try product.mtl.number("K1_CONSTANT_BAND_10", purpose: "K1"), 774.8853)
        let plain = try product.reflectanceScaling(band: "4", sunCorrected: false)
        XCTAssertEqual(plain.scale, 2.0e-5)
        XCTAssertEqual(plain.offset, -0.1)
        let corrected = try product.reflectanceScaling(band: "4", sunCorrected: true)
        XCTAssertEqual(corrected.scale, 2.0e-5 / sin(58.99675180 * .pi / 180), accuracy: 1e-15)
        XCTAssertEqual(try product.file(band: "4", directory: Self.marburg),
                       Self.marburg.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF").path)
    }

    func testLandsat7BandsIncludeBothThermalGains() throws {
        let product = try LandsatProduct(mtl: MTLFile(path: Self.marburg.appendingPathComponent(
            "LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt").path))
        XCTAssertEqual(product.spacecraft, "LANDSAT_7")
        XCTAssertEqual(product.bandNumbers["red"], "3")
        XCTAssertEqual(product.bandNumbers["tir"], "6_VCID_1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: try product.file(band: "6_VCID_1", directory: Self.marburg)))
    }

    func testGarbledAndIncompleteMTLsNameTheLineAndTheKey() {
        XCTAssertThrowsError(try MTLFile(text: "GROUP = A\n  SPACECRAFT_ID = \"LANDSAT_8\n", file: "x_MTL.txt")) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt:2: unterminated quoted value for SPACECRAFT_ID")
        }
        XCTAssertThrowsError(try MTLFile(text: "GROUP = A\n  garbage line\nEND_GROUP = A\n", file: "x_MTL.txt")) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt:2: expected KEY = VALUE (found 'garbage line')")
        }
        XCTAssertThrowsError(try MTLFile(text: "GROUP = A\n  K = 1\n", file: "x_MTL.txt")) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt: 1 GROUP not closed by END_GROUP")
        }
        let text = """
            GROUP = L1_METADATA_FILE
              SPACECRAFT_ID = "LANDSAT_8"
              DATE_ACQUIRED = 2015-08-04
              REFLECTANCE_MULT_BAND_4 = 2.0000E-O5
            END_GROUP = L1_METADATA_FILE
            END
            """
        XCTAssertThrowsError(try LandsatProduct(mtl: MTLFile(text: text, file: "x_MTL.txt")).reflectanceScaling(band: "4", sunCorrected: false)) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt:4: REFLECTANCE_MULT_BAND_4 is not a number (found '2.0000E-O5')")
        }
        XCTAssertThrowsError(try LandsatProduct(mtl: MTLFile(text: text, file: "x_MTL.txt")).reflectanceScaling(band: "5", sunCorrected: false)) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt: no REFLECTANCE_MULT_BAND_5 (the reflectance scale of band 5)")
        }
        XCTAssertThrowsError(try LandsatProduct(mtl: MTLFile(text: text, file: "x_MTL.txt")).reflectanceScaling(band: "4", sunCorrected: true)) { error in
            XCTAssertEqual("\(error)", "x_MTL.txt:4: REFLECTANCE_MULT_BAND_4 is not a number (found '2.0000E-O5')")
        }
    }

    /// A Collection-2 Level-2 MTL names REFLECTANCE_MULT_BAND_n twice: surface reflectance, then Level 1.
    func testCollection2Level2UsesTheSurfaceReflectanceGroup() throws {
        let text = """
            GROUP = LANDSAT_METADATA_FILE
              GROUP = PRODUCT_CONTENTS
                COLLECTION_NUMBER = 02
                PROCESSING_LEVEL = "L2SP"
                FILE_NAME_BAND_4 = "LC08_L2SP_195025_20130707_20200912_02_T1_SR_B4.TIF"
                FILE_NAME_QUALITY_L1_PIXEL = "LC08_L2SP_195025_20130707_20200912_02_T1_QA_PIXEL.TIF"
              END_GROUP = PRODUCT_CONTENTS
              GROUP = IMAGE_ATTRIBUTES
                SPACECRAFT_ID = "LANDSAT_8"
                DATE_ACQUIRED = 2013-07-07
                SUN_ELEVATION = 58.99675180
              END_GROUP = IMAGE_ATTRIBUTES
              GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
                REFLECTANCE_MULT_BAND_4 = 2.75E-05
                REFLECTANCE_ADD_BAND_4 = -0.2
              END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
              GROUP = LEVEL1_RADIOMETRIC_RESCALING
                REFLECTANCE_MULT_BAND_4 = 2.0000E-05
                REFLECTANCE_ADD_BAND_4 = -0.100000
              END_GROUP = LEVEL1_RADIOMETRIC_RESCALING
            END_GROUP = LANDSAT_METADATA_FILE
            END
            """
        let product = try LandsatProduct(mtl: MTLFile(text: text, file: "LC08_L2SP_MTL.txt"))
        XCTAssertTrue(product.isLevel2)
        XCTAssertEqual(product.qualityLayout, .collection2)
        let scaling = try product.reflectanceScaling(band: "4", sunCorrected: true)
        XCTAssertEqual(scaling.scale, 2.75e-5, "surface reflectance, no sun correction")
        XCTAssertEqual(scaling.offset, -0.2)
        XCTAssertEqual(product.mtl.value("REFLECTANCE_MULT_BAND_4", group: "LEVEL1_RADIOMETRIC_RESCALING"), "2.0000E-05")
        // A Level-1 product of Collection 2 reads its own group.
        let level1 = try LandsatProduct(mtl: MTLFile(text: text.replacingOccurrences(of: "L2SP", with: "L1TP"), file: "x_MTL.txt"))
        XCTAssertEqual(try level1.reflectanceScaling(band: "4", sunCorrected: false).scale, 2.0e-5)
    }

    func testCollection2JSONMetadata() throws {
        let json = """
            {"LANDSAT_METADATA_FILE": {"IMAGE_ATTRIBUTES": {"SPACECRAFT_ID": "LANDSAT_9", "DATE_ACQUIRED": "2022-06-01",
             "SUN_ELEVATION": "61.5"}, "PRODUCT_CONTENTS": {"COLLECTION_NUMBER": "02"},
             "LEVEL1_RADIOMETRIC_RESCALING": {"REFLECTANCE_MULT_BAND_4": "2.0000E-05", "REFLECTANCE_ADD_BAND_4": "-0.100000"}}}
            """
        let product = try LandsatProduct(mtl: MTLFile(text: json, file: "x_MTL.json"))
        XCTAssertEqual(product.spacecraft, "LANDSAT_9")
        XCTAssertEqual(product.qualityLayout, .collection2)
        XCTAssertEqual(try product.reflectanceScaling(band: "4", sunCorrected: false).offset, -0.1)
    }
}

final class LandsatQualityTests: XCTestCase {
    func testEachLayoutReadsItsOwnBits() {
        // Pre-collection: cirrus high (bits 12-13 = 3) and cloud medium (bits 14-15 = 2).
        let pre = LandsatQualityMask(layout: .preCollection, flags: [.cirrus], minimumConfidence: .high)
        XCTAssertEqual(pre.confidence(of: .cirrus, in: 0b1011_0000_0000_0000), .high)
        XCTAssertEqual(pre.confidence(of: .cloud, in: 0b1011_0000_0000_0000), .medium)
        XCTAssertTrue(pre.isMasked(0b1011_0000_0000_0000))
        // The same word read as Collection 1: cirrus bits 11-12 = 0b10 (medium), not high.
        let c1 = LandsatQualityMask(layout: .collection1, flags: [.cirrus], minimumConfidence: .high)
        XCTAssertEqual(c1.confidence(of: .cirrus, in: 0b1011_0000_0000_0000), .medium)
        XCTAssertFalse(c1.isMasked(0b1011_0000_0000_0000))
        // Collection 2: cloud bit 3, shadow bit 4, fill bit 0.
        let c2 = LandsatQualityMask(layout: .collection2, flags: [.cloud, .shadow], minimumConfidence: .high)
        XCTAssertTrue(c2.isMasked(1 << 3))
        XCTAssertTrue(c2.isMasked(1 << 4))
        XCTAssertFalse(c2.isMasked(1 << 5), "snow is not asked for")
        XCTAssertTrue(c2.isFill(1))
        XCTAssertEqual(c2.confidence(of: .cirrus, in: 3 << 14), .high)
        XCTAssertEqual(LandsatQualityMask(layout: .preCollection, flags: [.shadow, .cloud], minimumConfidence: .high).unsupportedFlags, [.shadow])
    }

    func testTableClassifiesFillMaskedAndClear() {
        let mask = LandsatQualityMask(layout: .collection2, flags: [.cloud], minimumConfidence: .medium)
        let table = mask.makeTable()
        let words: [Float] = [1, 8, 0, 512, 256, .nan]
        var out = [Float](repeating: -1, count: words.count)
        words.withUnsafeBufferPointer { w in out.withUnsafeMutableBufferPointer { mask.classify(w, into: $0, table: table) } }
        XCTAssertTrue(out[0].isNaN)
        XCTAssertEqual(Array(out[1...4]), [1, 0, 1, 0])
        XCTAssertTrue(out[5].isNaN)
    }
}
