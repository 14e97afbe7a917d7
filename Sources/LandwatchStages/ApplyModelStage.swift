import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchXGBoost
import Synchronization

/// `classify.model`: applies a trained model block by block; writes the class and its confidence (percent) as two
/// bands: the accuracy observed on held-out cells at the model's top-class probability (its calibration), or the raw
/// probability for models saved before calibration.
public struct ApplyModelStage: PixelStage {
    /// Which predictor evaluates the trees.
    public enum PredictorChoice: String, OptionChoice {
        case native, xgboost
    }

    public static let path = Option<String?>(
        "path", .inputPath, help: "a model file written by an earlier run (its NAME.meta.json beside it), instead of the model input")
    public static let predictor = Option<PredictorChoice>(
        "predictor", default: .native,
        help: "native: landwatch's own tree evaluator (the same classes and probabilities as XGBoost's, faster); "
            + "xgboost: XGBoost's predictor. A model the native evaluator cannot run (dart booster, categorical splits, "
            + "trees deeper than \(TreeEnsemble.maximumDepth)) goes to XGBoost with a warning")

    public static let descriptor = StageDescriptor(
        id: "classify.model",
        summary: "Classify a scene with a trained model, block by block: class and calibrated confidence (observed accuracy on held-out cells, %)",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "imagery with the model's feature bands"),
                 InputPort("model", kinds: [.model], help: "a classify.train stage of this pipeline", optional: true),
                 InputPort("fallback", kinds: [.classes],
                           help: "a classification (classify.rules) for the classes the model was not trained on (too few or no training pixels): where it gives one of them, that class is taken, at confidence 100 like every rule class",
                           optional: true)],
        output: .classes,
        keys: [path, predictor])

    /// A model file from an earlier run, with its description.
    let saved: (path: String, metadata: ModelMetadata)?
    /// Evaluate the trees natively (the default) rather than through XGBoost.
    let native: Bool

    public init(options: StageOptions) throws(StageProblem) {
        native = options[Self.predictor] == .native
        guard let path = options[Self.path] else {
            saved = nil
            return
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: ModelMetadata.path(for: path)))
            saved = (path, try JSONDecoder().decode(ModelMetadata.self, from: data))
        } catch {
            throw StageProblem(option: Self.path, "cannot read the model description \(ModelMetadata.path(for: path)) (\(error.localizedDescription)); a model is saved by classify.train with it")
        }
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let features: [String]
        switch (inputs.dropFirst().first { $0.kind == .model }, saved) {
        case (nil, nil): throw StageProblem("give the model: the input 'model' (a classify.train stage) or the option 'path'")
        case (_?, _?): throw StageProblem(option: Self.path, "give the model once: the input 'model' or the option 'path', not both")
        case (let model?, nil): features = model.bandNames
        case (nil, let saved?): features = saved.metadata.features
        }
        for feature in features {
            if let problem = Features.problem(with: feature, bands: inputs[0].bandNames) {
                throw StageProblem(option: saved == nil ? nil : "path", "the model's feature \(problem)")
            }
        }
        return ProductDescription(kind: .classes, bandNames: ["class", "confidence"])
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        preconditionFailure("classify.model runs through its per-worker model (makeWorker)")
    }

    public func makeWorker(inputs: [ProductDescription], context: RunContext) throws -> (any PixelWorker)? {
        let path: String
        if let saved {
            path = saved.path
        } else {
            guard let relative = inputs.dropFirst().first(where: { $0.kind == .model })?.sourcePath else { throw RunError(.internal, "the model input has no file") }
            path = context.outputRoot.url.appendingPathComponent(relative).path
        }
        let metadataPath = ModelMetadata.path(for: path)
        // A model this run trained waits in the run's staging tree until the run publishes its outputs.
        let modelFile = StagedOutputs.located(path)
        let metadata: ModelMetadata
        do {
            metadata = try JSONDecoder().decode(ModelMetadata.self, from: Data(contentsOf: URL(fileURLWithPath: StagedOutputs.located(metadataPath))))
        } catch {
            throw RunError(.input, "cannot read the model description \(metadataPath): \(error.localizedDescription)")
        }
        for feature in metadata.features {
            if let problem = Features.problem(with: feature, bands: inputs[0].bandNames) {
                throw RunError(.input, "model \(path) was trained on other features: \(problem)")
            }
        }
        // A model learns whatever the numbers are, but one trained on reflectance misreads digital numbers: warn.
        let read = RadiometryCheck.bandsRead(by: metadata.features, scene: inputs[0].bandNames)
        if let problem = try? RadiometryCheck.reflectanceProblem(bands: read, in: inputs[0], read: true) {
            RadiometryCheck.warnOnce("classify.model: \(problem); a model trained on other radiometry will misclassify it", key: "model|" + path, context: context)
        }
        if metadata.calibration == nil {
            RadiometryCheck.warnOnce("classify.model: \(path) has no confidence calibration (saved before format \(ModelMetadata.currentFormat)): confidence is the raw top-class probability, which overstates accuracy; train it again", key: "calibration|" + path, context: context)
        }
        // Classes the model cannot give come from the fallback classification, when one is connected.
        let hasFallback = inputs.dropFirst().contains { $0.kind == .classes }
        let untrained = metadata.legend.classes.map(\.code).filter { $0 > 0 && !metadata.classes.contains($0) }
        if hasFallback, !untrained.isEmpty {
            let names = untrained.map { metadata.legend.name(of: $0) }.joined(separator: ", ")
            context.logger.info("classify.model: \(path) was not trained on \(names): taken from the fallback classification where it gives them")
            context.findings?.note("classes not in the model, taken from the fallback classification: \(names)")
        }
        // A model that never saw a roof cannot find new construction: the list it feeds would be silently short.
        if let builtUp = metadata.legend.code(for: "built-up"), !metadata.classes.contains(builtUp), !hasFallback {
            let pixels = metadata.untrained[metadata.legend.name(of: builtUp)].map { "only \($0) built-up training pixels" } ?? "no built-up pixel in its training reference"
            RadiometryCheck.warnOnce("classify.model: \(path) has no built-up class (\(pixels)): "
                                     + "it cannot see roofs or sites, and a violation list from it misses all new construction; train it on a "
                                     + "reference with built-up land", key: "built-up|" + path, context: context)
        }
        if native {
            do {
                let ensemble = try Self.ensemble(at: modelFile)
                guard ensemble.featureCount == metadata.features.count, ensemble.classCount == metadata.classes.count else {
                    throw RunError(.input, "model \(path) reads \(ensemble.featureCount) features into \(ensemble.classCount) classes, but its "
                                   + "description \(metadataPath) lists \(metadata.features.count) features and \(metadata.classes.count) classes: "
                                   + "the two files are of different models")
                }
                return Worker(predictor: .native(ensemble), metadata: metadata, fallback: hasFallback ? Set(untrained) : nil)
            } catch let error as TreeEnsembleError where error.kind == .unsupported {
                let message = "classify.model: the native tree evaluator cannot run \(path) (\(error.message)); XGBoost's predictor classifies it instead"
                if Self.firstTime("fallback|" + context.workDirectory.path + "|" + path) {
                    context.logger.warning("\(message)")
                    context.findings?.note(message)
                }
            } catch let error as TreeEnsembleError {
                throw RunError(.input, "model \(path) cannot be used: \(error.message)")
            }
        }
        return Worker(predictor: .xgboost(try Booster.load(from: modelFile, threads: 1)), metadata: metadata,
                      fallback: hasFallback ? Set(untrained) : nil)
    }

    private static let loaded = Mutex<[String: TreeEnsemble]>([:])
    private static let said = Mutex<Set<String>>([])

    static func firstTime(_ key: String) -> Bool { said.withLock { $0.insert(key).inserted } }

    /// The model at `path` for the native evaluator, read once per file version (workers share it: it is read only).
    static func ensemble(at path: String) throws -> TreeEnsemble {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let key = path + "|" + String(describing: attributes?[.size] ?? 0) + "|" + String(describing: attributes?[.modificationDate] ?? "")
        if let known = loaded.withLock({ $0[key] }) { return known }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw RunError(.input, "cannot read the model \(path): \(error.localizedDescription)")
        }
        guard bytes.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{") else {
            throw TreeEnsembleError(.unsupported, "it is not in XGBoost's JSON format")
        }
        let ensemble = try TreeEnsemble.loadXGBoostJSON(bytes)
        loaded.withLock { $0[key] = ensemble }
        return ensemble
    }

    enum Predictor {
        case native(TreeEnsemble)
        case xgboost(Booster)
    }

    final class Worker: PixelWorker {
        let predictor: Predictor
        let metadata: ModelMetadata
        /// With a fallback classification (the second streamed input): the legend codes the model cannot give.
        let fallback: Set<Int>?
        /// Probabilities of a block's pixels, pixel-major; compacted feature columns when some pixels are invalid.
        private var probabilities: [Float] = []
        private var compact: [[Float]] = []
        /// Per class of the model, in its order: the legend code written, and the calibration curve of the pixels
        /// assigned it (nil: the model has none and the raw probability is the confidence), resolved once.
        private let codes: [Float]
        private let curves: [ClassConfidenceCalibration.ClassCurve]?

        init(predictor: Predictor, metadata: ModelMetadata, fallback: Set<Int>?) {
            self.predictor = predictor
            self.metadata = metadata
            self.fallback = fallback
            codes = metadata.classes.map(Float.init)
            curves = metadata.calibration.map { calibration in metadata.classes.map { calibration.curve(for: $0) } }
        }

        func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws {
            switch predictor {
            case .native(let ensemble): applyNative(ensemble, scene: inputs[0], into: &output)
            case .xgboost(let booster): try applyXGBoost(booster, scene: inputs[0], into: &output)
            }
            if let fallback, !fallback.isEmpty, inputs.count > 1 { take(fallback, from: inputs[1], into: &output) }
        }

        /// Where the fallback classification gives a class the model was not trained on, that class, at confidence
        /// 100 (a rule class, as the diff counts rule classes); pixels the model left empty (nodata) stay empty.
        private func take(_ codes: Set<Int>, from classes: PixelBlock, into output: inout PixelBlock) {
            let width = classes.window.width, height = classes.window.height, stride = classes.stride
            for row in 0..<height {
                for i in (row * stride)..<(row * stride + width) {
                    let code = classes.bands[0][i]
                    guard code.isFinite, code > 0, output.bands[0][i].isFinite, codes.contains(Int(code)) else { continue }
                    output.bands[0][i] = code
                    output.bands[1][i] = 100
                }
            }
        }

        /// Writes the class and confidence of pixel `i` from its probabilities at `p` into `classes` and `confidence`
        /// (the output's two bands).
        @inline(__always)
        private func label(_ p: UnsafePointer<Float>, pixel i: Int, classes: UnsafeMutablePointer<Float>,
                           confidence: UnsafeMutablePointer<Float>) {
            var best = 0
            var bestScore: Float = -1
            for c in 0..<codes.count where p[c] > bestScore {
                best = c
                bestScore = p[c]
            }
            classes[i] = codes[best]
            confidence[i] = ((curves?[best].accuracy(for: bestScore) ?? bestScore) * 100).rounded()
        }

        /// Labels pixels from their probabilities: pixel `pixels[n]` (every used pixel of the block's rows when nil)
        /// from the `n`th row of `probabilities`.
        private func label(_ probabilities: [Float], pixels: [Int]?, block: PixelBlock, into output: inout PixelBlock) {
            let classCount = codes.count, width = block.window.width, stride = block.stride, height = block.window.height
            // The two bands are taken out of the block while they are written (no copy on write, no check per pixel).
            var classBand: [Float] = [], confidenceBand: [Float] = []
            swap(&classBand, &output.bands[0])
            swap(&confidenceBand, &output.bands[1])
            defer {
                swap(&classBand, &output.bands[0])
                swap(&confidenceBand, &output.bands[1])
            }
            probabilities.withUnsafeBufferPointer { p in
                classBand.withUnsafeMutableBufferPointer { classes in
                    confidenceBand.withUnsafeMutableBufferPointer { confidence in
                        let p = p.baseAddress!, classes = classes.baseAddress!, confidence = confidence.baseAddress!
                        if let pixels {
                            for (n, i) in pixels.enumerated() { label(p + n * classCount, pixel: i, classes: classes, confidence: confidence) }
                        } else {
                            for row in 0..<height {
                                for i in (row * stride)..<(row * stride + width) {
                                    label(p + i * classCount, pixel: i, classes: classes, confidence: confidence)
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The native evaluator reads the features in place: the block's own bands, and indices computed once per
        /// block. Pixels with a missing feature (nodata) are classified as nothing, as with XGBoost.
        private func applyNative(_ ensemble: TreeEnsemble, scene: PixelBlock, into output: inout PixelBlock) {
            let used = scene.usedCount
            let classCount = metadata.classes.count
            var arrays: [[Float]] = []
            var sources: [(array: Int, band: Int?)] = []
            for feature in metadata.features {
                if let band = scene.band(named: feature) {
                    sources.append((-1, band))
                } else {
                    sources.append((arrays.count, nil))
                    arrays.append(Features.values(feature, scene, used))
                }
            }
            if probabilities.count < used * classCount { probabilities = [Float](repeating: 0, count: used * classCount) }
            for band in 0..<2 {
                output.bands[band].withUnsafeMutableBufferPointer { out in
                    for i in 0..<used { out[i] = .nan }
                }
            }
            let width = scene.window.width, stride = scene.stride, height = scene.window.height
            Self.withPointers(scene.bands, arrays, sources) { columns in
                // Which pixels have every feature; most blocks have no nodata and are evaluated in place.
                var valid: [Int] = []
                var allValid = true
                for column in columns where allValid {
                    for row in 0..<height {
                        var finite = true
                        for i in (row * stride)..<(row * stride + width) { finite = finite && column[i].isFinite }
                        if !finite {
                            allValid = false
                            break
                        }
                    }
                }
                if allValid {
                    probabilities.withUnsafeMutableBufferPointer { out in
                        ensemble.predictProbabilities(columns: columns, count: used, into: out.baseAddress!)
                    }
                    label(probabilities, pixels: nil, block: scene, into: &output)
                    return
                }
                valid.reserveCapacity(used)
                for row in 0..<height {
                    for i in (row * stride)..<(row * stride + width) where columns.allSatisfy({ $0[i].isFinite }) { valid.append(i) }
                }
                guard !valid.isEmpty else { return }
                if compact.count != columns.count { compact = Array(repeating: [], count: columns.count) }
                for (f, column) in columns.enumerated() {
                    if compact[f].count < valid.count { compact[f] = [Float](repeating: 0, count: used) }
                    compact[f].withUnsafeMutableBufferPointer { out in
                        for (n, i) in valid.enumerated() { out[n] = column[i] }
                    }
                }
                Self.withPointers([], compact, compact.indices.map { ($0, nil) }) { packed in
                    probabilities.withUnsafeMutableBufferPointer { out in
                        ensemble.predictProbabilities(columns: packed, count: valid.count, into: out.baseAddress!)
                    }
                }
                label(probabilities, pixels: valid, block: scene, into: &output)
            }
        }

        /// Pointers to the feature columns: a band of the block or a computed array, in the model's order.
        private static func withPointers(_ bands: [[Float]], _ arrays: [[Float]], _ sources: [(array: Int, band: Int?)],
                                         _ body: ([UnsafePointer<Float>]) -> Void) {
            var pointers: [UnsafePointer<Float>?] = Array(repeating: nil, count: sources.count)
            func nest(_ index: Int) {
                guard index < sources.count else {
                    body(pointers.map { $0! })
                    return
                }
                let source = sources[index]
                let array = source.band.map { bands[$0] } ?? arrays[source.array]
                array.withUnsafeBufferPointer { buffer in
                    pointers[index] = buffer.baseAddress!
                    nest(index + 1)
                }
            }
            nest(0)
        }

        private func applyXGBoost(_ booster: Booster, scene: PixelBlock, into output: inout PixelBlock) throws {
            let used = scene.usedCount
            let columns = metadata.features.map { Features.values($0, scene, used) }
            var rows: [Int] = []
            var values: [Float] = []
            rows.reserveCapacity(used)
            values.reserveCapacity(used * columns.count)
            for row in 0..<scene.window.height {
                for i in (row * scene.stride)..<(row * scene.stride + scene.window.width) {
                    if columns.allSatisfy({ $0[i].isFinite }) {
                        rows.append(i)
                        for column in columns { values.append(column[i]) }
                    }
                }
            }
            for band in 0..<2 {
                output.bands[band].withUnsafeMutableBufferPointer { out in
                    for i in 0..<used { out[i] = .nan }
                }
            }
            guard !rows.isEmpty else { return }
            let probabilities = try booster.predictProbabilities(features: values, rows: rows.count, columns: columns.count)
            let classCount = metadata.classes.count
            guard probabilities.count == rows.count * classCount else {
                throw RunError(.input, "the model gives \(probabilities.count / max(rows.count, 1)) values per pixel, but its description lists \(classCount) classes")
            }
            label(probabilities, pixels: rows, block: scene, into: &output)
        }
    }
}
