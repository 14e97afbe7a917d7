import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest
import LandwatchTestSupport

/// The shipped land-cover pipeline on the real Zion scene against NLCD 2011.
final class LandCoverTests: XCTestCase {
    func testRuleClassifierAccuracyMatchesAnIndependentCount() throws {
        let work = TestPaths.temporaryFolder("landwatch-landcover")
        defer { try? FileManager.default.removeItem(at: work) }
        let pipeline = TestPaths.repository.appendingPathComponent("pipelines/landcover-rules.yaml").path
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let record = try runner.run(try runner.validate(path: pipeline),
                                    settings: .init(outputDirectory: work.path, threads: 2))
        XCTAssertEqual(record.outputs, ["accuracy.csv", "accuracy.json", "accuracy.md", "landcover.tif"])

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("accuracy.json"))) as! [String: Any]
        let reported = json["overall_accuracy"] as! Double

        // Independent: the class raster against NLCD warped by GDAL (nearest), mapped by hand.
        let classes = try Dataset.open(work.appendingPathComponent("landcover.tif").path)
        let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8")
        let vrt = "/vsimem/nlcd-\(UUID().uuidString).vrt"
        defer { VirtualFiles.remove(vrt) }
        try Dataset.open(zion.appendingPathComponent("nlcd.tif").path)
            .writeWarpedVRT(to: vrt, onto: classes.grid(), resampling: .nearest, sourceNoData: 255)
        let window = Window(width: classes.width, height: classes.height)
        let predicted = try classes.band(1).read(window)
        let reference = try Dataset.open(vrt).band(1).read(window)
        let map: [Float: Float] = [1: 4, 8: 4, 2: 5, 3: 6, 4: 2, 5: 3, 6: 3, 7: 1]
        var agree = 0, total = 0
        for i in predicted.indices {
            guard let r = map[reference[i]], predicted[i] > 0 else { continue }
            total += 1
            if predicted[i] == r { agree += 1 }
        }
        XCTAssertEqual(json["pixels"] as? Int, total)
        XCTAssertEqual(reported, Double(agree) / Double(total), accuracy: 1e-4)
        // What the default rules reach on this arid scene (reported in the issue note): about 0.57.
        XCTAssertGreaterThan(reported, 0.5)
        // The class raster carries the legend: QGIS shows the classes in their colours, with their names.
        let categories = try classes.band(1).categories
        XCTAssertEqual(categories.map(\.value), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(categories[1].name, "forest 林地")
        XCTAssertEqual([categories[1].red, categories[1].green, categories[1].blue], [0x2d, 0x7f, 0x3b])
        let markdown = try String(contentsOf: work.appendingPathComponent("accuracy.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| forest (2) |"), markdown)
    }

    /// The shipped model pipeline: XGBoost on bands, indices, elevation and their moving-window statistics, trained
    /// on one half of a 128-pixel checkerboard and assessed on every pixel of the other half, reaches the issue's
    /// target of 0.78; the rule classifier is assessed on the same half.
    func testModelPipelineReachesTheAccuracyTarget() throws {
        let work = TestPaths.temporaryFolder("landwatch-model")
        defer { try? FileManager.default.removeItem(at: work) }
        let pipeline = TestPaths.repository.appendingPathComponent("pipelines/landcover-model.yaml").path
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        try runner.run(try runner.validate(path: pipeline), settings: .init(outputDirectory: work.path, threads: 2))
        func report(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent(name))) as! [String: Any]
        }
        let model = try report("accuracy.json"), rules = try report("accuracy-rules.json")
        let overall = model["overall_accuracy"] as! Double
        XCTAssertGreaterThanOrEqual(overall, 0.78)
        XCTAssertGreaterThan(model["kappa"] as! Double, 0.6)
        // Held-out half only: about half of the 1.6 million labelled pixels.
        XCTAssertEqual(Double(model["pixels"] as! Int), 790_000, accuracy: 20_000)
        let classes = model["classes"] as! [[String: Any]]
        let builtUp = classes.first { $0["name"] as? String == "built-up" }!
        // Built-up is 1 % of the scene: a plain model (no weights, no window features) reaches F1 0.07 on it.
        XCTAssertGreaterThan(builtUp["f1"] as! Double, 0.1)
        XCTAssertLessThan(rules["overall_accuracy"] as! Double, overall)
        XCTAssertEqual(Double(rules["pixels"] as! Int), 790_000, accuracy: 20_000)
    }

    func testBadRulesPointIntoTheList() throws {
        let text = """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: "\(TestPaths.repository.path)/testdata/zion-landsat8/landsat_b4.tif"}}
              - id: lc
                uses: classify.rules
                inputs: [scene]
                with:
                  rules:
                    - {class: water, when: {ndwi: "> 0.1"}}
                    - {class: forest, when: {ndvi: "about 0.4"}}
            """
        XCTAssertThrowsError(try PipelineLoader(registry: standardRegistry).load(text: text, path: "r.yaml", directory: TestPaths.repository)) { error in
            XCTAssertEqual("\(error)", "r.yaml:12:40: lc: condition on 'ndvi' must be '> x', '>= x', '< x', '<= x' or 'a..b' (found 'about 0.4')")
        }
        let missingBand = text.replacingOccurrences(of: "\n        - {class: forest, when: {ndvi: \"about 0.4\"}}", with: "")
        let pipeline = try PipelineLoader(registry: standardRegistry).load(text: missingBand, path: "r.yaml", directory: TestPaths.repository)
        XCTAssertThrowsError(try RunPlan(pipeline: pipeline)) { error in
            XCTAssertEqual("\(error)", "r.yaml:11:9: lc: ndwi needs bands green, nir, which the scene lacks (its bands: red)")
        }
    }
}
