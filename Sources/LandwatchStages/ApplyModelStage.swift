import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchXGBoost

/// `classify.model`: applies a trained model block by block; writes the class and its confidence (percent) as two
/// bands: the accuracy observed on held-out cells at the model's top-class probability (its calibration), or the raw
/// probability for models saved before calibration.
public struct ApplyModelStage: PixelStage {
    public static let descriptor = StageDescriptor(
        id: "classify.model",
        summary: "Classify a scene with a trained model, block by block: class and calibrated confidence (observed accuracy on held-out cells, %)",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "imagery with the model's feature bands"),
                 InputPort("model", kinds: [.model], help: "a classify.train stage of this pipeline", optional: true)],
        output: .classes,
        options: [
            OptionSpec("path", .inputPath, optional: true,
                       help: "a model file written by an earlier run (its NAME.meta.json beside it), instead of the model input"),
        ])

    /// A model file from an earlier run, with its description.
    let saved: (path: String, metadata: ModelMetadata)?

    public init(options: StageOptions) throws(StageProblem) {
        guard let path = options.string("path") else {
            saved = nil
            return
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: ModelMetadata.path(for: path)))
            saved = (path, try JSONDecoder().decode(ModelMetadata.self, from: data))
        } catch {
            throw StageProblem(option: "path", "cannot read the model description \(ModelMetadata.path(for: path)) (\(error.localizedDescription)); a model is saved by classify.train with it")
        }
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let features: [String]
        switch (inputs.count > 1 ? inputs[1] : nil, saved) {
        case (nil, nil): throw StageProblem("give the model: the input 'model' (a classify.train stage) or the option 'path'")
        case (_?, _?): throw StageProblem(option: "path", "give the model once: the input 'model' or the option 'path', not both")
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
            guard inputs.count > 1, let relative = inputs[1].sourcePath else { throw RunError(.internal, "the model input has no file") }
            path = context.outputRoot.url.appendingPathComponent(relative).path
        }
        let metadataPath = ModelMetadata.path(for: path)
        let metadata: ModelMetadata
        do {
            metadata = try JSONDecoder().decode(ModelMetadata.self, from: Data(contentsOf: URL(fileURLWithPath: metadataPath)))
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
        return Worker(booster: try Booster.load(from: path, threads: 1), metadata: metadata)
    }

    final class Worker: PixelWorker {
        let booster: Booster
        let metadata: ModelMetadata

        init(booster: Booster, metadata: ModelMetadata) {
            self.booster = booster
            self.metadata = metadata
        }

        func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws {
            let scene = inputs[0]
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
            for (n, i) in rows.enumerated() {
                var best = 0
                var bestScore: Float = -1
                for c in 0..<classCount where probabilities[n * classCount + c] > bestScore {
                    best = c
                    bestScore = probabilities[n * classCount + c]
                }
                output.bands[0][i] = Float(metadata.classes[best])
                output.bands[1][i] = ((metadata.calibration?.accuracy(for: bestScore, predicted: metadata.classes[best]) ?? bestScore) * 100).rounded()
            }
        }
    }
}
