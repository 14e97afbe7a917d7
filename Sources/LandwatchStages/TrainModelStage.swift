import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchXGBoost

/// What a saved model needs beside XGBoost's own file: its features, its classes and their legend.
struct ModelMetadata: Codable, Sendable {
    var features: [String]
    /// Legend codes in the order of the model's outputs.
    var classes: [Int]
    var legend: Legend
    var xgboostVersion: String
    /// Classes in the reference that had too few samples to train, with their counts.
    var untrained: [String: Int]
    /// The format of this file: absent in models before calibration (classify.model then reports the raw top-class
    /// probability), 2 from calibration on.
    var formatVersion: Int?
    /// Raw top-class probability to observed accuracy per predicted class, fitted on half of the held-out cells
    /// (those in even cell columns); classify.model reports it as the confidence.
    var calibration: ClassConfidenceCalibration?
    /// Reported against observed, on the other half of the held-out cells: raw probability and calibrated.
    var reliabilityRaw: ReliabilityTable?
    var reliability: ReliabilityTable?

    static let currentFormat = 2

    static func path(for model: String) -> String { model + ".meta.json" }
}

/// `classify.train`: samples features and reference classes block by block, holds out every other block of a
/// checkerboard for validation, trains an XGBoost model and saves it with its feature list and legend.
public struct TrainModelStage: SinkStage {
    /// How classes are weighted in training.
    public enum Balance: String, OptionChoice {
        case none, sqrt, full
    }

    public static let modelPath = Option<String>(
        "model", .outputPath, default: "model.json",
        help: "model file under the output root; NAME.meta.json and NAME.validation.{json,csv,md} are written beside it")
    public static let featureList = Option<OptionList>(
        "features", default: OptionList(["blue", "green", "red", "nir", "ndvi", "ndwi"]),
        help: "features, comma-separated: scene bands and indices (" + Features.indexBands.keys.sorted().joined(separator: ", ") + ")")
    public static let referenceMap = Option<[Int: Int]?>("reference_map", help: "reference codes onto legend codes; unmapped codes are left out")
    public static let holdoutBlock = Option<Int>(
        "holdout_block", default: 128, range: 8...100_000,
        help: "checkerboard cell in pixels: cells where (column cell + row cell) is odd are kept for validation")
    public static let samplesPerClass = Option<Int>(
        "samples_per_class", default: 5000, range: 10...10_000_000,
        help: "training pixels per class, drawn evenly at random (balanced sampling, so rare classes such as built-up count)")
    public static let minSamples = Option<Int>(
        "min_samples", default: 50, range: 1...1_000_000, help: "a class with fewer training pixels is reported and left out of the model")
    public static let validationSamples = Option<Int>(
        "validation_samples", default: 200_000, range: 100...100_000_000, help: "validation pixels drawn uniformly from the held-out cells")
    public static let balanceChoice = Option<Balance>(
        "balance", default: .sqrt,
        help: "class weighting: none restores each class's share of the scene (best overall accuracy), full weighs classes equally (best for rare classes such as built-up), sqrt between")
    public static let rounds = Option<Int>("rounds", default: 60, range: 1...10_000, help: "boosting rounds")
    public static let maxDepth = Option<Int>("max_depth", default: 6, range: 1...32, help: "tree depth")
    public static let eta = Option<Double>("eta", default: 0.3, range: 0...1, excludesLowerBound: true, help: "learning rate")

    public static let descriptor = StageDescriptor(
        id: "classify.train",
        summary: "Train an XGBoost land-cover model on reference classes, validated on spatially separate blocks",
        evaluation: .sink,
        inputs: [InputPort("scene", kinds: [.scene], help: "the imagery the features come from"),
                 InputPort("reference", kinds: [.classes, .scene], help: "reference classes on the same grid")],
        output: .model,
        keys: [modelPath, featureList, referenceMap, holdoutBlock, samplesPerClass, minSamples, validationSamples, balanceChoice, rounds, maxDepth, eta])

    public let model: String
    public let features: [String]
    public let referenceMap: [Int: Int]?
    public let holdoutBlock: Int
    public let samplesPerClass: Int
    public let minSamples: Int
    public let validationSamples: Int
    public let rounds: Int
    public let maxDepth: Int
    public let eta: Double
    public let balance: String
    public let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        model = options[Self.modelPath]
        features = options[Self.featureList].items
        referenceMap = options[Self.referenceMap]
        holdoutBlock = options[Self.holdoutBlock]
        samplesPerClass = options[Self.samplesPerClass]
        minSamples = options[Self.minSamples]
        validationSamples = options[Self.validationSamples]
        rounds = options[Self.rounds]
        maxDepth = options[Self.maxDepth]
        eta = options[Self.eta]
        balance = options[Self.balanceChoice].rawValue
        legend = options.legend
        if features.isEmpty { throw StageProblem(option: Self.featureList, "name at least one feature") }
        if Set(features).count != features.count { throw StageProblem(option: Self.featureList, "a feature is named twice") }
    }

    /// The features with their patterns (`nir_*`, `*`) expanded over the scene's bands.
    func resolvedFeatures(bands: [String]) throws(StageProblem) -> [String] {
        try Features.expand(features, bands: bands)
    }

    private var base: String { model.hasSuffix(".json") ? String(model.dropLast(5)) : model }
    private var reportPaths: [String] { ["json", "csv", "md"].map { "\(base).validation.\($0)" } }
    public var outputPaths: [String] { [model, ModelMetadata.path(for: model)] + reportPaths }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        for feature in try resolvedFeatures(bands: inputs[0].bandNames) {
            if let problem = Features.problem(with: feature, bands: inputs[0].bandNames) { throw StageProblem(option: Self.featureList, problem) }
        }
        if inputs[1].bandNames.count != 1 {
            throw StageProblem("the reference must have one band (it has \(inputs[1].bandNames.count))")
        }
    }

    /// The model, described by its features (so that a consumer can check its scene provides them) and its path.
    public func describeOutput(inputs: [ProductDescription]) -> ProductDescription? {
        ProductDescription(kind: .model, bandNames: (try? resolvedFeatures(bands: inputs[0].bandNames)) ?? features, sourcePath: model)
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        Sink(stage: self, features: try resolvedFeatures(bands: inputs[0].bandNames), referencePath: inputs[1].sourcePath,
             gridWidth: grid.width, context: context)
    }

    /// A sample kept by bottom-k sampling: the `k` pixels with the smallest position hash are a uniform random
    /// sample, and the result does not depend on the order in which worker threads deliver blocks.
    struct Sample {
        var hash: UInt64
        var label: Int
        var features: [Float]
        /// For held-out samples: in an even cell column, whose pixels fit the confidence calibration (the others
        /// check it).
        var calibrates = false
    }

    struct BottomK {
        let k: Int
        var samples: [Sample] = []
        var threshold = UInt64.max

        mutating func add(_ sample: Sample) {
            guard sample.hash < threshold else { return }
            samples.append(sample)
            if samples.count >= 2 * k { trim() }
        }

        /// Keeps the `k` smallest hashes, in hash order: fewer than `k` samples are sorted too, so that what the
        /// model is trained on never depends on the order in which worker threads delivered blocks.
        mutating func trim() {
            samples.sort { $0.hash < $1.hash }
            guard samples.count > k else { return }
            samples.removeLast(samples.count - k)
            threshold = samples.last!.hash
        }
    }

    static func positionHash(_ index: Int) -> UInt64 {
        var z = UInt64(truncatingIfNeeded: index) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    final class Sink: BlockSink, @unchecked Sendable {  // the samples and counts guarded by `lock`; the rest immutable
        let stage: TrainModelStage
        /// The features, patterns expanded.
        let features: [String]
        /// Where the reference classes come from, for messages.
        let referencePath: String?
        let gridWidth: Int
        let context: RunContext
        private let lock = NSLock()
        private var training: [Int: BottomK] = [:]
        private var trainingCounts: [Int: Int] = [:]
        private var validation: BottomK

        init(stage: TrainModelStage, features: [String], referencePath: String?, gridWidth: Int, context: RunContext) {
            self.stage = stage
            self.features = features
            self.referencePath = referencePath
            self.gridWidth = gridWidth
            self.context = context
            validation = BottomK(k: stage.validationSamples)
        }

        func write(_ blocks: [PixelBlock]) throws {
            let scene = blocks[0], reference = blocks[1]
            let used = scene.usedCount
            let columns = features.map { Features.values($0, scene, used) }
            var local: [(train: Bool, sample: Sample)] = []
            var counts: [Int: Int] = [:]
            let window = scene.window
            // Pixels whose hash is above a reservoir's current threshold can never be kept: skip them early.
            let (thresholds, validationThreshold) = lock.withLock { (training.mapValues(\.threshold), validation.threshold) }
            for row in 0..<window.height {
                for col in 0..<window.width {
                    let i = row * scene.stride + col
                    let value = reference.bands[0][i]
                    guard value.isFinite, value > 0 else { continue }
                    var label = Int(value)
                    if let map = stage.referenceMap {
                        guard let mapped = map[label] else { continue }
                        label = mapped
                    }
                    guard columns.allSatisfy({ $0[i].isFinite }) else { continue }
                    let x = window.colOffset + col, y = window.rowOffset + row
                    let isTraining = ((x / stage.holdoutBlock) + (y / stage.holdoutBlock)) % 2 == 0
                    // Every usable training pixel counts (the class's share of the scene), kept as a sample or not.
                    if isTraining { counts[label, default: 0] += 1 }
                    let hash = TrainModelStage.positionHash(y * gridWidth + x)
                    guard hash < (isTraining ? thresholds[label] ?? .max : validationThreshold) else { continue }
                    local.append((isTraining, Sample(hash: hash, label: label, features: columns.map { $0[i] },
                                                     calibrates: (x / stage.holdoutBlock) % 2 == 0)))
                }
            }
            lock.withLock {
                trainingCounts.merge(counts, uniquingKeysWith: +)
                for entry in local {
                    if entry.train {
                        training[entry.sample.label, default: BottomK(k: stage.samplesPerClass)].add(entry.sample)
                    } else {
                        validation.add(entry.sample)
                    }
                }
            }
        }

        func finish() throws -> [String] {
            var training = lock.withLock { self.training }
            var validation = lock.withLock { self.validation }
            for key in training.keys { training[key]!.trim() }
            validation.trim()
            var untrained: [String: Int] = [:]
            var classes: [Int] = []
            let available = lock.withLock { trainingCounts }
            if training.isEmpty && validation.samples.isEmpty {
                throw RunError(.input, "classify.train: no reference sample falls on the image with valid features (\(referencePath ?? "the reference"): every pixel under the scene is background, nodata or unmapped); check that the samples overlap the scene and that reference_map names their classes")
            }
            for code in training.keys.sorted() {
                let pixels = available[code] ?? 0
                if pixels < stage.minSamples {
                    untrained[stage.legend.name(of: code)] = pixels
                    context.logger.warning("classify.train: class \(stage.legend.name(of: code)) (\(code)) has \(pixels) training pixels, fewer than min_samples \(stage.minSamples): not trained")
                } else {
                    classes.append(code)
                }
            }
            guard classes.count >= 2 else {
                throw RunError(.io, "classify.train: only \(classes.count) class\(classes.count == 1 ? "" : "es") with at least \(stage.minSamples) training pixels; a model needs two")
            }
            let columns = features.count
            // Each class is sampled evenly; weights (pixels of the class per sample)^α give it back its share of the
            // scene (α = 1, balance: none), leave classes equal (α = 0, full) or meet between (α = 0.5, sqrt).
            let alpha = stage.balance == "none" ? 1.0 : (stage.balance == "full" ? 0.0 : 0.5)
            let counts = available
            var values: [Float] = [], labels: [Float] = [], weights: [Float] = []
            for (index, code) in classes.enumerated() {
                let samples = training[code]!.samples
                let weight = Float(pow(Double(counts[code] ?? samples.count) / Double(samples.count), alpha))
                for sample in samples {
                    values += sample.features
                    labels.append(Float(index))
                    weights.append(weight)
                }
            }
            let booster = try Booster.train(
                features: values, rows: labels.count, columns: columns, labels: labels, weights: weights, classCount: classes.count,
                rounds: stage.rounds,
                parameters: ["max_depth": String(stage.maxDepth), "eta": String(stage.eta), "nthread": String(context.threads),
                             "seed": "0", "tree_method": "hist"])
            context.logger.info("classify.train: \(labels.count) training pixels, \(classes.count) classes, \(stage.rounds) rounds")

            // Validation on the held-out cells.
            var matrix = ConfusionMatrix()
            let held = validation.samples.filter { sample in classes.contains(sample.label) || untrained.keys.contains(stage.legend.name(of: sample.label)) }
            var top: [Float] = [], correct: [Bool] = [], predicted: [Int] = []
            if !held.isEmpty {
                let probabilities = try booster.predictProbabilities(features: held.flatMap(\.features), rows: held.count, columns: columns)
                for (row, sample) in held.enumerated() {
                    let scores = probabilities[(row * classes.count)..<((row + 1) * classes.count)]
                    let best = scores.indices.max { scores[$0] < scores[$1] }!
                    matrix.add(reference: sample.label, predicted: classes[best - row * classes.count])
                    top.append(scores[best])
                    correct.append(classes[best - row * classes.count] == sample.label)
                    predicted.append(classes[best - row * classes.count])
                }
            }
            // Confidence calibration: fitted on the held-out cells of even cell columns, checked on the others.
            let fit = held.indices.filter { held[$0].calibrates }, check = held.indices.filter { !held[$0].calibrates }
            let calibration = ClassConfidenceCalibration(probabilities: fit.map { top[$0] }, predicted: fit.map { predicted[$0] },
                                                         correct: fit.map { correct[$0] })
            let reliabilityRaw = ReliabilityTable(confidence: check.map { top[$0] * 100 }, correct: check.map { correct[$0] })
            let reliability = calibration.map { calibration in
                ReliabilityTable(confidence: check.map { (calibration.accuracy(for: top[$0], predicted: predicted[$0]) * 100).rounded() },
                                 correct: check.map { correct[$0] })
            }
            if let reliability {
                context.logger.info("classify.train: confidence calibrated on \(fit.count) held-out pixels; on \(check.count) others the largest gap between reported confidence and observed accuracy is \(String(format: "%.1f", reliability.largestGap(minimum: 200))) points (raw probability: \(String(format: "%.1f", reliabilityRaw.largestGap(minimum: 200))))")
            }

            // Write the model and its metadata under temporary names, then move them into place.
            let modelURL = try context.outputRoot.resolve(stage.model)
            let modelOutput = AtomicOutput(target: modelURL, keepingExtension: true)
            do {
                try booster.save(to: modelOutput.temporaryPath)
                try modelOutput.commit()
            } catch {
                modelOutput.abort()
                throw error
            }
            let metadata = ModelMetadata(features: features, classes: classes, legend: stage.legend,
                                         xgboostVersion: Booster.version, untrained: untrained,
                                         formatVersion: ModelMetadata.currentFormat, calibration: calibration,
                                         reliabilityRaw: check.isEmpty ? nil : reliabilityRaw, reliability: check.isEmpty ? nil : reliability)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try context.outputRoot.writeAtomically(try encoder.encode(metadata), to: ModelMetadata.path(for: stage.model))
            if matrix.total > 0 {
                let report = AccuracyReport(matrix: matrix, legend: stage.legend)
                try context.outputRoot.writeAtomically(try report.json(), to: stage.reportPaths[0])
                try context.outputRoot.writeAtomically(Data(report.csv().utf8), to: stage.reportPaths[1])
                var markdown = report.markdown().replacingOccurrences(of: "# Accuracy\n", with: "# Validation on held-out blocks\n")
                if let reliability, !check.isEmpty {
                    markdown += "\n## Confidence\n\nclassify.model reports the observed accuracy of pixels with the same raw top-class probability "
                        + "(isotonic calibration fitted on \(fit.count) held-out pixels in even cell columns). Checked on the \(check.count) "
                        + "held-out pixels of odd cell columns, by reported confidence:\n\n" + reliability.markdown()
                        + "\nLargest gap in bins of 200 pixels or more: \(String(format: "%.1f", reliability.largestGap(minimum: 200))) points; "
                        + "expected calibration error \(String(format: "%.1f", reliability.expectedError)) points.\n\n"
                        + "By predicted class (mean reported confidence against the share right):\n\n"
                        + "| class | pixels | mean confidence | observed accuracy |\n|---|---:|---:|---:|\n"
                        + classes.compactMap { code -> String? in
                            let rows = check.filter { predicted[$0] == code }
                            guard !rows.isEmpty, let calibration else { return nil }
                            let mean = rows.reduce(0.0) { $0 + Double((calibration.accuracy(for: top[$1], predicted: code) * 100).rounded()) } / Double(rows.count)
                            let right = 100 * Double(rows.filter { correct[$0] }.count) / Double(rows.count)
                            return "| \(stage.legend.name(of: code)) | \(rows.count) | \(String(format: "%.1f", mean)) | \(String(format: "%.1f", right)) |\n"
                        }.joined()
                        + "\nThe raw top-class probability, for comparison:\n\n" + reliabilityRaw.markdown()
                        + "\nLargest gap: \(String(format: "%.1f", reliabilityRaw.largestGap(minimum: 200))) points; expected calibration error "
                        + "\(String(format: "%.1f", reliabilityRaw.expectedError)) points.\n"
                }
                if !untrained.isEmpty {
                    markdown += "\nNot trained (fewer than \(stage.minSamples) training pixels): "
                        + untrained.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + ".\n"
                }
                try context.outputRoot.writeAtomically(Data(markdown.utf8), to: stage.reportPaths[2])
            }
            return [stage.model, ModelMetadata.path(for: stage.model)] + (matrix.total > 0 ? stage.reportPaths : [])
        }

        func abort() {}
    }
}
