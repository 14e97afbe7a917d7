import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest

/// Radiometry a pipeline can state: read.scene's gain/offset/values, the refusal of digital numbers by stages that
/// need reflectance, statements the data contradicts, and Landsat 5 reflectance from radiance.
final class RadiometryTests: PipelineTestCase {
    static let kenya = LandsatStagesTests.sharedData.appendingPathComponent("marburg-landsat/kenya-pair")
    static let lt5 = kenya.appendingPathComponent("LT5")
    static let slovenia = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2")

    override func setUpWithError() throws {
        try super.setUpWithError()
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.lt5.path), "../shared/data is not beside the checkout (set LANDWATCH_SHARED_DATA)")
    }

    /// The real 2010 Landsat 5 digital numbers (Byte, 0–255) in read.scene, with `with` added to its options,
    /// classified by the default rules.
    func rules(_ with: String) -> String {
        let band = { (n: Int) in "\(Self.lt5.path)/LT51670552010352MLK00_B\(n).tif" }
        return """
            version: 1
            stages:
              - id: after-scene
                uses: read.scene
                with:
                  bands: {blue: "\(band(1))", green: "\(band(2))", red: "\(band(3))", nir: "\(band(4))", swir1: "\(band(5))", swir2: "\(band(7))"}
                  \(with)
              - id: rules
                uses: classify.rules
                inputs: [after-scene]
              - id: out
                uses: write.raster
                inputs: [rules]
                with: {path: classes.tif}
            """
    }

    /// Digital numbers without scaling are refused before any pixel is classified, in one line naming the stage,
    /// the band and the range seen; the same data with a gain and offset is classified.
    func testDigitalNumbersAreRefusedByTheRulesAndWorkWithAGain() throws {
        XCTAssertThrowsError(try run(rules("nodata: 0"))) { error in
            let text = "\(error)"
            XCTAssertEqual(text.split(separator: "\n").count, 1, text)
            XCTAssertTrue(text.contains("pipeline.yaml:9:11: rules: "), text)
            XCTAssertTrue(text.contains("rules: classify.rules needs reflectance: band '"), text)
            XCTAssertTrue(text.contains("of 'after-scene' holds digital numbers (Byte with no gain or offset, 99th percentile "), text)
            XCTAssertTrue(text.contains("not reflectance: give read.scene a gain and offset"), text)
        }
        // values: dn stated: refused the same way.
        XCTAssertThrowsError(try run(rules("values: dn"))) { error in
            XCTAssertTrue("\(error)".contains("holds digital numbers (values: dn, 99th percentile"), "\(error)")
        }
        // Per-band gains (the MTL's radiance gains, roughly to reflectance) and one offset: classified.
        let record = try run(rules("gain: {blue: 0.0036, green: 0.0074, red: 0.0063, nir: 0.0074, swir1: 0.0048, swir2: 0.0071}\n      offset: -0.01\n      nodata: 0"), out: "scaled")
        XCTAssertEqual(record.stages.first { $0.id == "out" }?.outputs.isEmpty, false)
        let classes = try readWhole(work.appendingPathComponent("scaled/classes.tif").path)
        XCTAssertEqual(classes.count, 101 * 101)
        XCTAssertGreaterThan(Set(classes.filter { $0.isFinite && $0 > 0 }).count, 1, "more than one class on a real scene")
    }

    /// A `values:` statement the data contradicts is one line: from the header (integers without scaling stated as
    /// reflectance) when the file is validated, from a reduced read when the run starts.
    func testValuesContradictingTheDataAreOneLine() throws {
        XCTAssertThrowsError(try run(rules("values: sr"))) { error in
            let text = "\(error)"
            XCTAssertEqual(text.split(separator: "\n").count, 1, text)
            XCTAssertTrue(text.contains("after-scene: values: sr contradicts band 'blue': it is Byte with no gain or offset, 99th percentile "), text)
        }
        XCTAssertThrowsError(try run(rules("values: toa\n      gain: 1.0001"), out: "toa")) { error in
            let text = "\(error)"
            XCTAssertEqual(text.split(separator: "\n").count, 1, text)
            XCTAssertTrue(text.contains("values: toa contradicts band 'blue': 99th percentile 73"), text)
            XCTAssertTrue(text.contains("but reflectance stays below 1.5"), text)
        }
        // Reflectance (Sentinel-2 L1C, Float32 0–1) stated as digital numbers.
        let slovenia = """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {path: "\(Self.slovenia.path)/S2L1C_20150711_13band.tif", bands: {red: 4, nir: 8}, values: dn}
              - id: out
                uses: write.raster
                inputs: [scene]
                with: {path: scene.tif}
            """
        XCTAssertThrowsError(try run(slovenia, out: "dn")) { error in
            XCTAssertTrue("\(error)".contains("values: dn contradicts band 'red': 99th percentile 0."), "\(error)")
            XCTAssertTrue("\(error)".contains("which is reflectance, not digital numbers"), "\(error)")
        }
    }

    /// Float data whose range is not reflectance (reflectance × 10000) passes validation but is refused at run start
    /// from a reduced read; the same file as it is classifies.
    func testFloatValuesOutsideReflectanceAreRefusedAtRunStart() throws {
        let text = { (gain: String) in """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {path: "\(Self.slovenia.path)/S2L1C_20150711_13band.tif", bands: {blue: 2, green: 3, red: 4, nir: 8, swir1: 12}, gain: \(gain)}
              - id: rules
                uses: classify.rules
                inputs: [scene]
              - id: out
                uses: write.raster
                inputs: [rules]
                with: {path: classes.tif}
            """ }
        XCTAssertThrowsError(try run(text("10000"), out: "big")) { error in
            let message = "\(error)"
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertTrue(message.contains("stage 'rules': classify.rules needs reflectance: band '"), message)
            XCTAssertTrue(message.contains("of 'scene' does not hold reflectance (99th percentile "), message)
        }
        try run(text("1"), out: "ok")
    }

    /// The rules see bands that passed through other stages (a stack): the check follows them by name.
    func testTheCheckFollowsBandsThroughAStack() throws {
        let band = { (n: Int) in "\(Self.lt5.path)/LT51670552010352MLK00_B\(n).tif" }
        let text = """
            version: 1
            stages:
              - {id: visible, uses: read.scene, with: {bands: {blue: "\(band(1))", green: "\(band(2))", red: "\(band(3))"}}}
              - {id: infrared, uses: read.scene, with: {bands: {nir: "\(band(4))"}}}
              - {id: stacked, uses: stack.bands, inputs: {first: visible, second: infrared}}
              - {id: rules, uses: classify.rules, inputs: [stacked]}
              - {id: out, uses: write.raster, inputs: [rules], with: {path: c.tif}}
            """
        XCTAssertThrowsError(try run(text)) { error in
            XCTAssertTrue("\(error)".contains("holds digital numbers (Byte with no gain or offset"), "\(error)")
        }
    }

    func testGainOptionsAreGivenOnce() throws {
        XCTAssertThrowsError(try run(rules("gain: 0.004\n      scale: 0.004"))) { error in
            XCTAssertTrue("\(error)".contains("give the gain once: 'gain' (one value or one per band) or its former name 'scale', not both"), "\(error)")
        }
        XCTAssertThrowsError(try run(rules("gain: {blue: 0.004, red: 0.004}"))) { error in
            XCTAssertTrue("\(error)".contains("a map of gains names every band: green, nir, swir1, swir2 have none"), "\(error)")
        }
        XCTAssertThrowsError(try run(rules("offset: {blue: 0, green: 0, red: 0, nir: 0, swir1: 0, swir2: 0, thermal: 0}"))) { error in
            XCTAssertTrue("\(error)".contains("'thermal' is not a band of this scene"), "\(error)")
        }
        XCTAssertThrowsError(try run(rules("gain: {blue: a lot}"))) { error in
            XCTAssertTrue("\(error)".contains("option 'gain' band 'blue' must map to a number (found 'a lot')"), "\(error)")
        }
    }

    /// read.landsat on the pre-collection 2010 MTL (radiance only, NUL padded): TOA reflectance, one pixel as
    /// computed by hand, and ranges like those of the Collection-1 product of 2000 over the same ground.
    func testLandsat5PreCollectionReadsAsReflectance() throws {
        let reading = { (mtl: String, out: String) in """
            version: 1
            stages:
              - {id: scene, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
              - {id: out, uses: write.raster, inputs: [scene], with: {path: \(out).tif}}
            """ }
        try run(reading(Self.lt5.appendingPathComponent("LT51670552010352MLK00_MTL.txt").path, "after"))
        let c1 = try FileManager.default.contentsOfDirectory(atPath: Self.kenya.appendingPathComponent("LT05").path).first { $0.hasSuffix("_MTL.txt") }!
        try run(reading(Self.kenya.appendingPathComponent("LT05/\(c1)").path, "before"))
        let after = try Dataset.open(work.appendingPathComponent("out/after.tif").path)
        let before = try Dataset.open(work.appendingPathComponent("out/before.tif").path)
        // Band 3 (red), pixel (50, 50): ρ = π (1.044 DN − 2.21398) d² / (1536 sin 49.25236°), d = 0.984012.
        let dn = try Dataset.open(Self.lt5.appendingPathComponent("LT51670552010352MLK00_B3.tif").path).band(1).read(Window(colOffset: 50, rowOffset: 50, width: 1, height: 1))[0]
        let red = try after.band(3).read(Window(colOffset: 50, rowOffset: 50, width: 1, height: 1))[0]
        let hand = Double.pi * (1.044 * Double(dn) - 2.21398) * 0.984012 * 0.984012 / (1536 * sin(49.25236265 * .pi / 180))
        XCTAssertEqual(Double(red), hand, accuracy: 1e-5)
        // Medians per band of the two dates within 35 % of each other (dry-season 2000-03 against 2010-12).
        for band in 1...6 {
            let a = try after.band(band).read(Window(width: 101, height: 101)).filter(\.isFinite).sorted()
            let b = try before.band(band).read(Window(width: 101, height: 101)).filter(\.isFinite).sorted()
            let ratio = Double(a[a.count / 2] / b[b.count / 2])
            XCTAssertTrue((0.65...1.35).contains(ratio), "band \(band): median \(a[a.count / 2]) (2010) against \(b[b.count / 2]) (2000)")
            XCTAssertLessThan(a[a.count * 99 / 100], 1.0, "band \(band)")
        }
    }
}
