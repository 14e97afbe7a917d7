import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest
import LandwatchTestSupport

/// Every index stage on the real Marburg Landsat 8 scene (all bands), against the formula computed independently.
final class IndexStagesTests: XCTestCase {
    static let marburg = TestPaths.repository.appendingPathComponent("testdata/marburg-landsat")
    static let prefix = "LC08_L1TP_195025_20130707_20170503_01_T1_"

    func testAllIndicesMatchTheirFormulas() throws {
        let work = TestPaths.temporaryFolder("landwatch-indices")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let indices = ["ndvi", "ndwi", "mndwi", "ndbi", "bsi", "savi", "evi"]
        var text = """
            version: 1
            params:
              d: \(Self.marburg.path)/\(Self.prefix)
            stages:
              - id: scene
                uses: read.scene
                with:
                  bands: {blue: "${d}B2.TIF", green: "${d}B3.TIF", red: "${d}B4.TIF", nir: "${d}B5.TIF", swir1: "${d}B6.TIF"}
                  scale: 2.0e-5
                  offset: -0.1

            """
        for index in indices {
            text += """
                  - id: \(index)
                    uses: index.\(index)
                    inputs: [scene]
                  - id: write-\(index)
                    uses: write.raster
                    inputs: [\(index)]
                    with: {path: \(index).tif}

                """
        }
        let file = work.appendingPathComponent("indices.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let record = try runner.run(try runner.validate(path: file.path),
                                    settings: .init(outputDirectory: work.appendingPathComponent("out").path, threads: 2))
        XCTAssertEqual(record.outputs.count, indices.count)
        // One pass: the scene is read once for all seven indices.
        XCTAssertEqual(Set(record.stages.map { $0.fusedWith.count }), [1 + 2 * indices.count])

        func reflectance(_ band: String) throws -> [Double] {
            let values = try Dataset.open(Self.marburg.appendingPathComponent(Self.prefix + band + ".TIF").path)
                .band(1).read(Window(width: 41, height: 41))
            return values.map { Double($0) * 2.0e-5 - 0.1 }
        }
        let blue = try reflectance("B2"), green = try reflectance("B3"), red = try reflectance("B4")
        let nir = try reflectance("B5"), swir = try reflectance("B6")
        let formulas: [String: (Int) -> Double] = [
            "ndvi": { (nir[$0] - red[$0]) / (nir[$0] + red[$0]) },
            "ndwi": { (green[$0] - nir[$0]) / (green[$0] + nir[$0]) },
            "mndwi": { (green[$0] - swir[$0]) / (green[$0] + swir[$0]) },
            "ndbi": { (swir[$0] - nir[$0]) / (swir[$0] + nir[$0]) },
            "bsi": { ((swir[$0] + red[$0]) - (nir[$0] + blue[$0])) / ((swir[$0] + red[$0]) + (nir[$0] + blue[$0])) },
            "savi": { 1.5 * (nir[$0] - red[$0]) / (nir[$0] + red[$0] + 0.5) },
            "evi": { 2.5 * (nir[$0] - red[$0]) / (nir[$0] + 6 * red[$0] - 7.5 * blue[$0] + 1) },
        ]
        for index in indices {
            let output = try Dataset.open(work.appendingPathComponent("out/\(index).tif").path)
            XCTAssertEqual(try output.band(1).bandDescription, index)
            let values = try output.band(1).read(Window(width: 41, height: 41))
            var maxError = 0.0
            for i in values.indices { maxError = max(maxError, abs(Double(values[i]) - formulas[index]!(i))) }
            XCTAssertLessThan(maxError, 1e-6, index)
            XCTAssertFalse(values.contains { $0.isNaN }, "\(index): the Marburg crop has no nodata")
        }
    }

    func testAnIndexNamesTheBandItLacks() throws {
        let text = """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: "\(Self.marburg.path)/\(Self.prefix)B4.TIF", nir: "\(Self.marburg.path)/\(Self.prefix)B5.TIF"}}
              - id: bsi
                uses: index.bsi
                inputs: [scene]
                with: {swir1: b6}
            """
        let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: "x.yaml", directory: Self.marburg)
        XCTAssertThrowsError(try RunPlan(pipeline: pipeline)) { error in
            XCTAssertEqual("\(error)", "x.yaml:9:19: bsi: the input scene has no band 'b6' (its bands: red, nir)")
        }
    }
}
