import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchXGBoost
import Logging
import LandwatchTestSupport
import XCTest

/// `classify.train` and `classify.model` on the real Zion scene against NLCD 2011.
final class ModelStagesTests: PipelineTestCase {
    static let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8").path

    func pipeline(minSamples: Int = 50) -> String {
        """
        version: 1
        grid: {like: scene}
        stages:
          - id: scene
            uses: read.scene
            with:
              bands: {blue: "\(Self.zion)/landsat_b2.tif", green: "\(Self.zion)/landsat_b3.tif", red: "\(Self.zion)/landsat_b4.tif", nir: "\(Self.zion)/landsat_b5.tif"}
              scale: 2.0e-5
              offset: -0.1
              nodata: 65535
          - id: nlcd
            uses: read.scene
            with: {bands: {class: "\(Self.zion)/nlcd.tif"}, resampling: nearest}
          - id: train
            uses: classify.train
            inputs: {scene: scene, reference: nlcd}
            with:
              features: blue,green,red,nir,ndvi,ndwi
              reference_map: {1: 4, 8: 4, 2: 5, 3: 6, 4: 2, 5: 3, 6: 3, 7: 1}
              samples_per_class: 2000
              min_samples: \(minSamples)
              rounds: 15
          - id: landcover
            uses: classify.model
            inputs: {scene: scene, model: train}
          - id: out
            uses: write.raster
            inputs: [landcover]
            with: {path: landcover.tif}
        """
    }

    func testBlockwiseApplicationEqualsTheWholeArray() throws {
        let record = try run(pipeline(), blockSize: 256)
        XCTAssertEqual(record.outputs, ["landcover.tif", "model.json", "model.json.meta.json", "model.validation.csv",
                                        "model.validation.json", "model.validation.md"])
        // The model stage ran after the training pass finished.
        let train = record.stages.first { $0.id == "train" }!, apply = record.stages.first { $0.id == "landcover" }!
        XCTAssertGreaterThanOrEqual(apply.started, train.finished)

        // Whole arrays: the same features computed for every pixel at once, one prediction call.
        let window = Window(width: 1128, height: 1428)
        func band(_ name: String) throws -> [Float] {
            var values = try Dataset.open("\(Self.zion)/landsat_\(name).tif").band(1).read(window)
            values.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 2.0e-5, offset: -0.1, noData: 65535) }
            return values
        }
        let blue = try band("b2"), green = try band("b3"), red = try band("b4"), nir = try band("b5")
        let ndvi = SpectralIndex.normalizedDifference(nir, red), ndwi = SpectralIndex.normalizedDifference(green, nir)
        let columns = [blue, green, red, nir, ndvi, ndwi]
        let rows = (0..<window.pixelCount).filter { i in columns.allSatisfy { $0[i].isFinite } }
        let features = rows.flatMap { i in columns.map { $0[i] } }
        let booster = try Booster.load(from: work.appendingPathComponent("out/model.json").path, threads: 2)
        let probabilities = try booster.predictProbabilities(features: features, rows: rows.count, columns: 6)
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/model.json.meta.json"))) as! [String: Any]
        let classes = metadata["classes"] as! [Int]
        XCTAssertEqual(metadata["features"] as? [String], ["blue", "green", "red", "nir", "ndvi", "ndwi"])

        // The confidence is the calibration's accuracy at the raw top-class probability, per predicted class.
        let calibrationJSON = try JSONSerialization.data(withJSONObject: try XCTUnwrap(metadata["calibration"]))
        let calibration = try JSONDecoder().decode(ClassConfidenceCalibration.self, from: calibrationJSON)
        XCTAssertEqual(metadata["formatVersion"] as? Int, 2)

        let output = try Dataset.open(work.appendingPathComponent("out/landcover.tif").path)
        let blockwise = try output.band(1).read(window)
        let confidence = try output.band(2).read(window)
        var mismatches = 0
        for (n, i) in rows.enumerated() {
            let scores = probabilities[(n * classes.count)..<((n + 1) * classes.count)]
            let best = scores.indices.max { scores[$0] < scores[$1] }! - n * classes.count
            if Float(classes[best]) != blockwise[i] { mismatches += 1 }
            XCTAssertEqual(confidence[i], (calibration.accuracy(for: scores.max()!, predicted: classes[best]) * 100).rounded(), accuracy: 0.5)
        }
        XCTAssertEqual(mismatches, 0)
        // Pixels without features (nodata) are nodata in the class band (0 in the Byte GeoTIFF).
        XCTAssertEqual(blockwise.filter { $0 == 0 }.count, window.pixelCount - rows.count)

        // A later run applies the saved model by its path and gets the same classes.
        let model = work.appendingPathComponent("out/model.json").path
        let later = pipeline().components(separatedBy: "\n  - id: train")[0] + """

              - id: landcover
                uses: classify.model
                inputs: {scene: scene}
                with: {path: "\(model)"}
              - id: out
                uses: write.raster
                inputs: [landcover]
                with: {path: landcover.tif}
            """
        try run(later, out: "later")
        XCTAssertEqual(try readWhole(work.appendingPathComponent("later/landcover.tif").path), blockwise)
    }

    /// Worker threads deliver blocks in any order; what the model learns must not depend on it. It did: the class
    /// weights came from counts of the pixels that passed the sampler's threshold at the time a block arrived, and a
    /// class with fewer samples than asked for stayed in arrival order (one run in five of landcover-model.yaml
    /// trained another model). Here the same blocks reach the sink in three orders.
    func testTheModelDoesNotDependOnTheOrderBlocksArrive() throws {
        let size = 256, block = 32
        let grid = RasterGrid(width: size, height: size, geoTransform: GeoTransform(originX: 0, pixelWidth: 30, originY: 0, pixelHeight: -30),
                              crsWKT: "", crsLabel: "none")
        var windows: [Window] = []
        for row in stride(from: 0, to: size, by: block) {
            for col in stride(from: 0, to: size, by: block) { windows.append(Window(colOffset: col, rowOffset: row, width: block, height: block)) }
        }
        // Three classes of uneven size with overlapping features; class 3 has fewer pixels than samples_per_class.
        func blocks(_ window: Window) -> [PixelBlock] {
            var scene = PixelBlock(bandNames: ["red", "nir"], blockWidth: block, blockHeight: block)
            var reference = PixelBlock(bandNames: ["class"], blockWidth: block, blockHeight: block)
            scene.window = window
            reference.window = window
            for row in 0..<block {
                for col in 0..<block {
                    let x = window.colOffset + col, y = window.rowOffset + row, i = row * block + col
                    let noise = Float((x &* 7919 &+ y &* 104_729) % 1000) / 1000
                    let label = (x * x + y) % 97 == 0 ? 3 : (x + 2 * y < size ? 1 : 2)
                    scene.bands[0][i] = Float(label) * 0.1 + noise * 0.3
                    scene.bands[1][i] = Float(3 - label) * 0.1 + Float(y) / Float(size) * 0.2 + noise * 0.1
                    reference.bands[0][i] = Float(label)
                }
            }
            return [scene, reference]
        }
        let stage = try TrainModelStage(options: StageOptions(values: [
            "features": .string("red,nir,ndvi"), "samples_per_class": .integer(400), "min_samples": .integer(5),
            "holdout_block": .integer(16), "rounds": .integer(8), "validation_samples": .integer(2000)]))
        let inputs = [ProductDescription(kind: .scene, bandNames: ["red", "nir"]), ProductDescription(kind: .classes, bandNames: ["class"])]
        func train(_ order: [Window], into folder: String) throws -> (model: Data, validation: Data) {
            let root = try OutputRoot(path: work.appendingPathComponent(folder).path)
            let context = RunContext(outputRoot: root, workDirectory: work, logger: Logger(label: "test"), memoryBudget: 64 << 20,
                                     threads: 1, blockSize: block)
            let sink = try stage.makeSink(inputs: inputs, grid: grid, context: context)
            for window in order { try sink.write(blocks(window)) }
            _ = try sink.finish()
            return (try Data(contentsOf: root.url.appendingPathComponent("model.json")),
                    try Data(contentsOf: root.url.appendingPathComponent("model.validation.csv")))
        }
        let forward = try train(windows, into: "forward")
        var generator = SplitMix(seed: 42)
        for (name, order) in [("reversed", Array(windows.reversed())), ("shuffled", windows.shuffled(using: &generator))] {
            let other = try train(order, into: name)
            XCTAssertEqual(other.model, forward.model, "model trained on blocks \(name)")
            XCTAssertEqual(other.validation, forward.validation, "validation on blocks \(name)")
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A model the native evaluator cannot run (XGBoost's dart booster) is classified by XGBoost instead, with the
    /// same classes as XGBoost gives; a model whose description lists other features is one line.
    func testUnsupportedModelsGoToXGBoostAndMismatchedOnesAreRefused() throws {
        try run(pipeline())
        let out = work.appendingPathComponent("out")
        let meta = try Data(contentsOf: out.appendingPathComponent("model.json.meta.json"))
        let classes = (try JSONSerialization.jsonObject(with: meta) as! [String: Any])["classes"] as! [Int]
        let scene = try NativeTreeEvaluatorTests.zion()
        let rows = (0..<scene.columns[0].count).filter { i in scene.columns.allSatisfy { $0[i].isFinite } && scene.reference[i] > 0 }
        let training = Array(rows.prefix(5000))
        let dart = try Booster.train(features: training.flatMap { i in scene.columns.map { $0[i] } }, rows: training.count, columns: 6,
                                     labels: training.map { Float(scene.reference[$0] % classes.count) }, weights: nil,
                                     classCount: classes.count, rounds: 4,
                                     parameters: ["booster": "dart", "rate_drop": "0.1", "max_depth": "4", "nthread": "2", "seed": "1"])
        let dartPath = out.appendingPathComponent("dart.json").path
        try dart.save(to: dartPath)
        try meta.write(to: URL(fileURLWithPath: dartPath + ".meta.json"))
        let apply = pipeline().components(separatedBy: "\n  - id: train")[0] + """

              - id: landcover
                uses: classify.model
                inputs: {scene: scene}
                with: {path: "\(dartPath)"}
              - id: out
                uses: write.raster
                inputs: [landcover]
                with: {path: landcover.tif}
            """
        let record = try run(apply, out: "dart")
        let notes = record.stages.flatMap { $0.findings?.notes ?? [] }
        XCTAssertTrue(notes.contains { $0.contains("the native tree evaluator cannot run \(dartPath) (its booster is dart, not gbtree); XGBoost's predictor classifies it instead") },
                      "run.json notes: \(notes)")
        let classified = try readWhole(work.appendingPathComponent("dart/landcover.tif").path)
        let probabilities = try Booster.load(from: dartPath, threads: 2)
            .predictProbabilities(features: rows.flatMap { i in scene.columns.map { $0[i] } }, rows: rows.count, columns: 6)
        var differing = 0
        for (n, i) in rows.enumerated() {
            let p = probabilities[(n * classes.count)..<((n + 1) * classes.count)]
            if Float(classes[p.firstIndex(of: p.max()!)! - n * classes.count]) != classified[i] { differing += 1 }
        }
        XCTAssertEqual(differing, 0, "the dart model through XGBoost's predictor")

        // A description listing five of the model's six features.
        var description = try JSONSerialization.jsonObject(with: meta) as! [String: Any]
        description["features"] = ["blue", "green", "red", "nir", "ndvi"]
        let model = out.appendingPathComponent("model.json").path
        try JSONSerialization.data(withJSONObject: description).write(to: URL(fileURLWithPath: model + ".meta.json"))
        XCTAssertThrowsError(try run(apply.replacingOccurrences(of: dartPath, with: model), out: "mismatch")) { error in
            XCTAssertTrue("\(error)".contains("model \(model) reads 6 features into \(classes.count) classes, but its description \(model).meta.json lists 5 features"), "\(error)")
        }
    }

    func testTheModelIsGivenOnce() throws {
        let text = pipeline().replacingOccurrences(of: "inputs: {scene: scene, model: train}", with: "inputs: {scene: scene}")
        let plan = { (text: String) throws -> RunPlan in
            try RunPlan(pipeline: PipelineLoader(registry: standardRegistry).load(text: text, path: "m.yaml", directory: self.work))
        }
        XCTAssertThrowsError(try plan(text)) { error in
            XCTAssertEqual("\(error)", "m.yaml:24:11: landcover: give the model: the input 'model' (a classify.train stage) or the option 'path'")
        }
    }

    func testClassesWithTooFewSamplesAreReportedNotTrained() throws {
        try run(pipeline(minSamples: 6000))
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/model.json.meta.json"))) as! [String: Any]
        let untrained = metadata["untrained"] as! [String: Int]
        // Cropland (9626 pixels in all) and water (8506) are rare in Zion: their training halves hold fewer than 6000
        // pixels, so they are left out and named; built-up (19473) is trained.
        XCTAssertEqual(Set(untrained.keys), ["cropland", "water"], "\(untrained)")
        XCTAssertTrue(untrained.values.allSatisfy { $0 > 3000 && $0 < 6000 }, "\(untrained)")
        let classes = metadata["classes"] as! [Int]
        for name in untrained.keys { XCTAssertFalse(classes.contains(Legend.standard.code(for: name)!)) }
        let report = try String(contentsOf: work.appendingPathComponent("out/model.validation.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("Not trained (fewer than 6000 training pixels): cropland ("), report)
    }

    /// The shipped Sentinel-2 series pipeline: five dates given, the cloudy 2015-08-20 left out by the pipeline, the
    /// four others as features, 20-pixel hold-out cells, the rare class named.
    func testSentinel2SeriesPipeline() throws {
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let path = TestPaths.repository.appendingPathComponent("pipelines/landcover-sentinel2.yaml").path
        try runner.run(try runner.validate(path: path), settings: .init(outputDirectory: work.appendingPathComponent("s2").path, threads: 2))
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("s2/model.json.meta.json"))) as! [String: Any]
        // Cropland has 11 pixels in all; in the training half, 7 are clear on every date.
        XCTAssertEqual(metadata["untrained"] as? [String: Int], ["cropland": 7])
        let features = try XCTUnwrap(metadata["features"] as? [String])
        XCTAssertEqual(features.count, 20)
        XCTAssertEqual(Set(features.map { $0.split(separator: "_").last! }), ["20150711", "20150731", "20150830", "20150909"])
        let accuracy = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("s2/accuracy.json"))) as! [String: Any]
        // Held-out cells only: about half of the 9935 labelled pixels.
        XCTAssertEqual(Double(accuracy["pixels"] as! Int), 4790, accuracy: 100)
        XCTAssertGreaterThan(accuracy["overall_accuracy"] as! Double, 0.85)
    }
}

/// The native tree evaluator (TreeEnsemble) against XGBoost's predictor on models XGBoost trains on real scenes:
/// depth 2 to 10, 2 to 8 classes, with missing values. Every pixel's class must be XGBoost's and every probability
/// within 1e-5 of it.
final class NativeTreeEvaluatorTests: XCTestCase {
    /// Feature columns of a real scene (every pixel, in order) and a real reference class per pixel.
    struct Scene {
        var columns: [[Float]]
        var reference: [Int]
    }

    static func zion() throws -> Scene {
        let directory = ModelStagesTests.zion
        let window = Window(width: 1128, height: 1428)
        func band(_ name: String) throws -> [Float] {
            var values = try Dataset.open("\(directory)/\(name).tif").band(1).read(window)
            values.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 2.0e-5, offset: -0.1, noData: 65535) }
            return values
        }
        let blue = try band("landsat_b2"), green = try band("landsat_b3"), red = try band("landsat_b4"), nir = try band("landsat_b5")
        // NLCD is on a grid of its own: warped (nearest) onto the Landsat grid, as read.scene does.
        let vrt = FileManager.default.temporaryDirectory.appendingPathComponent("nlcd-\(UUID().uuidString).vrt").path
        defer { try? FileManager.default.removeItem(atPath: vrt) }
        let grid = try Dataset.open("\(directory)/landsat_b2.tif").grid()
        try Dataset.open("\(directory)/nlcd.tif").writeWarpedVRT(to: vrt, onto: grid, resampling: .nearest, sourceNoData: nil)
        let nlcd = try Dataset.open(vrt).band(1).read(window)
        return Scene(columns: [blue, green, red, nir, SpectralIndex.normalizedDifference(nir, red), SpectralIndex.normalizedDifference(green, nir)],
                     reference: nlcd.map { $0.isFinite ? Int($0) : 0 })
    }

    /// Slovenia's Sentinel-2 scene: 13 bands on two dates (26 features) and its land-use reference.
    static func slovenia() throws -> Scene {
        let directory = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2").path
        let window = Window(width: 100, height: 101)
        var columns: [[Float]] = []
        for date in ["20150711", "20150820"] {
            let dataset = try Dataset.open("\(directory)/S2L1C_\(date)_13band.tif")
            for index in 1...13 { columns.append(try dataset.band(index).read(window)) }
        }
        let reference = try Dataset.open("\(directory)/LULC_reference.tif").band(1).read(window)
        return Scene(columns: columns, reference: reference.map { $0.isFinite ? Int($0) : 0 })
    }

    /// Trains XGBoost on `scene` (classes: the reference codes folded onto `classCount`), saves it as JSON, and
    /// compares the two predictors on `evaluated` pixels, a share of them with missing features.
    func compare(_ scene: Scene, depth: Int, classCount: Int, rounds: Int, missing: Double, seed: UInt64,
                 file: StaticString = #filePath, line: UInt = #line) throws {
        var random = ModelStagesTests.SplitMix(seed: seed)
        var columns = scene.columns
        let pixels = columns[0].count
        // Missing values: NaN in a share of the values of every feature (the same pixels for training and evaluation).
        for f in columns.indices {
            for i in 0..<pixels where random.unit() < missing { columns[f][i] = .nan }
        }
        let usable = (0..<pixels).filter { i in scene.reference[i] > 0 && columns.contains { !$0[i].isNaN } && columns.allSatisfy { !$0[i].isInfinite } }
        let training = Array(usable.shuffled(using: &random).prefix(20_000))
        let features = training.flatMap { i in columns.map { $0[i] } }
        let labels = training.map { Float(scene.reference[$0] % classCount) }
        let booster = try Booster.train(features: features, rows: training.count, columns: columns.count, labels: labels, weights: nil,
                                        classCount: classCount, rounds: rounds,
                                        parameters: ["max_depth": String(depth), "eta": "0.3", "nthread": "2", "seed": String(seed)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("native-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try booster.save(to: path)
        let ensemble = try TreeEnsemble.loadXGBoostJSON(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(ensemble.classCount, classCount, file: file, line: line)
        XCTAssertEqual(ensemble.featureCount, columns.count, file: file, line: line)
        XCTAssertEqual(ensemble.treeCount, rounds * classCount, file: file, line: line)
        XCTAssertLessThanOrEqual(ensemble.depth, depth, file: file, line: line)

        let evaluated = Array(usable.prefix(200_000))
        let reference = try Booster.load(from: path, threads: 2)
            .predictProbabilities(features: evaluated.flatMap { i in columns.map { $0[i] } }, rows: evaluated.count, columns: columns.count)
        let packed = columns.map { column in evaluated.map { column[$0] } }
        var native = [Float](repeating: .nan, count: evaluated.count * classCount)
        packed.withPointers { pointers in
            native.withUnsafeMutableBufferPointer { ensemble.predictProbabilities(columns: pointers, count: evaluated.count, into: $0.baseAddress!) }
        }
        var differentClasses = 0, largest: Float = 0
        for n in 0..<evaluated.count {
            let a = native[(n * classCount)..<((n + 1) * classCount)], b = reference[(n * classCount)..<((n + 1) * classCount)]
            if a.firstIndex(of: a.max()!) != b.firstIndex(of: b.max()!) { differentClasses += 1 }
            for (x, y) in zip(a, b) { largest = max(largest, abs(x - y)) }
        }
        XCTAssertEqual(differentClasses, 0, "depth \(depth), \(classCount) classes: pixels whose class differs from XGBoost's", file: file, line: line)
        XCTAssertLessThanOrEqual(largest, 1e-5, "depth \(depth), \(classCount) classes: largest probability difference", file: file, line: line)
        XCTAssertGreaterThan(evaluated.count, 1000, file: file, line: line)
    }

    func testZionDepthsAndClassCountsWithMissingValues() throws {
        let scene = try Self.zion()
        for (depth, classes, rounds) in [(2, 2, 12), (4, 3, 10), (6, 6, 20), (8, 8, 8), (10, 5, 6)] {
            try compare(scene, depth: depth, classCount: classes, rounds: rounds, missing: 0.03, seed: UInt64(depth * 10 + classes))
        }
    }

    func testZionWithoutMissingValues() throws {
        try compare(try Self.zion(), depth: 6, classCount: 6, rounds: 15, missing: 0, seed: 7)
    }

    func testSloveniaSentinel2TwentySixFeatures() throws {
        let scene = try Self.slovenia()
        for (depth, classes) in [(3, 4), (7, 7)] {
            try compare(scene, depth: depth, classCount: classes, rounds: 10, missing: 0.05, seed: UInt64(depth))
        }
    }
}

extension ModelStagesTests.SplitMix {
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension Array where Element == [Float] {
    /// Pointers to every column, for the native evaluator.
    func withPointers(_ body: ([UnsafePointer<Float>]) -> Void) {
        var pointers: [UnsafePointer<Float>] = []
        func nest(_ index: Int) {
            guard index < count else { return body(pointers) }
            self[index].withUnsafeBufferPointer { buffer in
                pointers.append(buffer.baseAddress!)
                nest(index + 1)
            }
        }
        nest(0)
    }
}

/// A model that never saw built-up land cannot find new construction: classify.model says so in the log and in run.json.
extension ModelStagesTests {
    func testAModelWithoutBuiltUpIsNamedInTheRunRecord() throws {
        // NLCD's developed code (2) left unmapped: the model never sees built-up land.
        let text = pipeline().replacingOccurrences(of: "2: 5, ", with: "")
        XCTAssertFalse(text.contains("2: 5"))
        try run(text)
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/model.json.meta.json"))) as! [String: Any]
        XCTAssertFalse((metadata["classes"] as! [Int]).contains(Legend.standard.code(for: "built-up")!))
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/run.json"))) as! [String: Any]
        let stages = record["stages"] as! [[String: Any]]
        let landcover = try XCTUnwrap(stages.first { $0["id"] as? String == "landcover" })
        let notes = ((landcover["findings"] as? [String: Any])?["notes"] as? [String]) ?? []
        XCTAssertTrue(notes.contains { $0.contains("has no built-up class") && $0.contains("misses all new construction") }, "\(landcover)")
    }
}

/// A model trained without some classes (too few or no training pixels) takes them from a fallback classification.
extension ModelStagesTests {
    func testClassesTheModelWasNotTrainedOnComeFromTheFallback() throws {
        // Water and cropland have too few training pixels at min_samples 6000: the model cannot give them. The rule
        // classifier (4 bands: water where NDWI > 0.1 and NDVI < 0) is connected as the fallback.
        let plain = pipeline(minSamples: 6000)
        let text = plain.replacingOccurrences(of: """
              - id: landcover
                uses: classify.model
                inputs: {scene: scene, model: train}
            """, with: """
              - id: rules
                uses: classify.rules
                inputs: [scene]
              - id: landcover
                uses: classify.model
                inputs: {scene: scene, model: train, fallback: rules}
              - id: rules-out
                uses: write.raster
                inputs: [rules]
                with: {path: rules.tif}
            """)
        XCTAssertNotEqual(text, plain)
        try run(plain, out: "plain")
        let record = try run(text)
        let window = Window(width: 1128, height: 1428)
        let without = try Dataset.open(work.appendingPathComponent("plain/landcover.tif").path)
        let with = try Dataset.open(work.appendingPathComponent("out/landcover.tif").path)
        let rules = try Dataset.open(work.appendingPathComponent("out/rules.tif").path).band(1).read(window)
        let (classes0, confidence0) = (try without.band(1).read(window), try without.band(2).read(window))
        let (classes1, confidence1) = (try with.band(1).read(window), try with.band(2).read(window))
        let water = Float(Legend.standard.code(for: "water")!)
        var taken = 0
        for i in 0..<window.pixelCount where classes0[i] != 0 {
            if rules[i] == water {
                XCTAssertEqual(classes1[i], water)
                XCTAssertEqual(confidence1[i], 100)
                taken += 1
            } else {
                XCTAssertEqual(classes1[i], classes0[i], "a class the model knows stays the model's")
                XCTAssertEqual(confidence1[i], confidence0[i])
            }
        }
        XCTAssertGreaterThan(taken, 1000)
        XCTAssertFalse(classes0.contains(water), "the model alone never gives water")
        let landcover = try XCTUnwrap(record.stages.first { $0.id == "landcover" })
        XCTAssertTrue((landcover.findings?.notes ?? []).contains { $0.contains("taken from the fallback classification: cropland, water") },
                      "\(String(describing: landcover.findings))")
    }
}
