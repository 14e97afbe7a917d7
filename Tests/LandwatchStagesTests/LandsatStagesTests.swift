import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest
import LandwatchTestSupport

/// `read.landsat`, `mask.clouds` and `mask.apply` on real Landsat products.
final class LandsatStagesTests: PipelineTestCase {
    /// The shared real data: `LANDWATCH_SHARED_DATA` when set, else `../shared/data` beside the checkout.
    static let sharedData = TestPaths.sharedData
    static let mobile = sharedData.appendingPathComponent("mobile-landsat8")
    static let marburg = TestPaths.repository.appendingPathComponent("testdata/marburg-landsat")
    /// The pre-collection Mobile scene: about a third of the pixels are high-confidence cirrus under the layout its
    /// MTL implies, and almost none when its BQA is read with the Collection-1 layout.
    func testCirrusShareDependsOnTheLayoutReadFromTheMTL() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.mobile.path), "../shared/data is not beside the checkout (set LANDWATCH_SHARED_DATA)")
        let text = """
            version: 1
            params: {layout: auto}
            stages:
              - id: clouds
                uses: mask.clouds
                with: {mtl: "\(Self.mobile.path)/l8_MTL.txt", flags: cirrus, layout: "${layout}"}
              - id: scene
                uses: read.landsat
                with: {mtl: "\(Self.mobile.path)/l8_MTL.txt", bands: "red,nir"}
              - id: clear
                uses: mask.apply
                inputs: {scene: scene, mask: clouds}
              - id: ndvi
                uses: index.ndvi
                inputs: [clear]
              - id: out
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """
        let right = try run(text)
        let counts = try XCTUnwrap(right.stages.first { $0.id == "clear" }?.counts)
        let total = 627 * 603
        XCTAssertEqual(counts["masked", default: 0] + counts["clear", default: 0] + counts["fill", default: 0], total)
        XCTAssertEqual(Double(counts["masked", default: 0]) / Double(total), 0.3117, accuracy: 0.001)
        // The NDVI is nodata exactly where the pixels were masked.
        let ndvi = try Dataset.open(work.appendingPathComponent("out/ndvi.tif").path).band(1).read(Window(width: 627, height: 603))
        XCTAssertEqual(ndvi.filter(\.isNaN).count, counts["masked"])

        let wrong = try run(text, overrides: ["layout": "collection1"], out: "wrong")
        let wrongCounts = try XCTUnwrap(wrong.stages.first { $0.id == "clear" }?.counts)
        XCTAssertLessThan(Double(wrongCounts["masked", default: 0]) / Double(total), 0.001)
        // run.json carries the counts.
        let record = try RunRecord.decode(Data(contentsOf: work.appendingPathComponent("out/run.json")))
        XCTAssertEqual(record.stages.first { $0.id == "clear" }?.counts?["masked"], counts["masked"])
    }

    func testReflectanceUsesTheMTLConstantsAndTheSunElevation() throws {
        let mtl = Self.marburg.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt").path
        _ = try run("""
            version: 1
            stages:
              - id: scene
                uses: read.landsat
                with: {mtl: "\(mtl)", bands: "red,swir2"}
              - id: out
                uses: write.raster
                inputs: [scene]
                with: {path: toa.tif}
            """)
        let output = try Dataset.open(work.appendingPathComponent("out/toa.tif").path)
        XCTAssertEqual(output.bandCount, 2)
        XCTAssertEqual(try output.band(2).bandDescription, "swir2")
        let sine = sin(58.99675180 * Double.pi / 180)
        for (band, file) in [(1, "B4"), (2, "B7")] {
            let values = try output.band(band).read(Window(width: 41, height: 41))
            let dn = try Dataset.open(Self.marburg.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_\(file).TIF").path)
                .band(1).read(Window(width: 41, height: 41))
            for i in values.indices {
                XCTAssertEqual(Double(values[i]), (2.0e-5 * Double(dn[i]) - 0.1) / sine, accuracy: 1e-6)
            }
        }
    }

    func testBadLandsatOptionsAreNamed() throws {
        let mtl = Self.marburg.appendingPathComponent("LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt").path
        let text = """
            version: 1
            stages:
              - id: scene
                uses: read.landsat
                with: {mtl: "\(mtl)", bands: "red,cirrus"}
              - id: clouds
                uses: mask.clouds
                with: {qa: "\(mtl)", flags: "cloud,haze", layout: collection1}
              - id: nolayout
                uses: mask.clouds
                with: {qa: "\(mtl)"}
            """
        XCTAssertThrowsError(try PipelineLoader(registry: standardRegistry).load(text: text, path: "l.yaml", directory: work)) { error in
            let lines = "\(error)".split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, "\(error)")
            XCTAssertTrue(lines[0].hasSuffix("scene: LANDSAT_7 has no band 'cirrus' (its bands: blue, green, red, nir, swir1, tir, tir_high_gain, swir2, pan)"), lines[0])
            XCTAssertTrue(lines[1].hasSuffix("clouds: unknown flag 'haze' (known: cloud, shadow, snow, cirrus)"), lines[1])
            XCTAssertTrue(lines[2].hasSuffix("nolayout: layout 'auto' reads the quality layout from the MTL: give 'mtl', or name the layout"), lines[2])
        }
    }
}
