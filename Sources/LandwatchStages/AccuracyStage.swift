import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchProducts

/// `assess.accuracy`: a class raster against a reference raster, streamed block by block into a confusion
/// matrix; writes overall accuracy, kappa and per-class producer's and user's accuracy and F1 as JSON, CSV and
/// Markdown.
public struct AccuracyStage: SinkStage {
    public static let path = Option<String>(
        "path", .outputPath, default: "accuracy",
        help: "output name without extension: writes NAME.json, NAME.csv and NAME.md under the output root")
    public static let holdoutBlock = Option<Int?>(
        "holdout_block", range: 1...100_000,
        help: "assess only the checkerboard cells classify.train held out with this holdout_block (its validation half)")
    public static let referenceMap = Option<[Int: Int]?>(
        "reference_map",
        help: "reference codes onto legend codes, for example NLCD {1: 4, 2: 5, 3: 6, 4: 2, 5: 3, 6: 3, 7: 1, 8: 4}; unmapped codes are left out")

    public static let descriptor = StageDescriptor(
        id: "assess.accuracy",
        summary: "Confusion matrix, overall accuracy, kappa and per-class F1 against a reference raster",
        evaluation: .sink,
        inputs: [InputPort("classes", kinds: [.classes], help: "the classification to assess"),
                 InputPort("reference", kinds: [.classes, .scene], help: "reference classes on the same grid")],
        output: nil,
        keys: [path, holdoutBlock, referenceMap])

    public let path: String
    public let referenceMap: [Int: Int]?
    public let holdoutBlock: Int?
    public let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        legend = options.legend
        path = options[Self.path]
        referenceMap = options[Self.referenceMap]
        holdoutBlock = options[Self.holdoutBlock]
    }

    public var outputPaths: [String] { ["json", "csv", "md"].map { "\(path).\($0)" } }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        if inputs[1].bandNames.count != 1 {
            throw StageProblem("the reference must have one band (it has \(inputs[1].bandNames.count): \(inputs[1].bandNames.joined(separator: ", ")))")
        }
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        Sink(stage: self, root: context.outputRoot)
    }

    final class Sink: BlockSink, @unchecked Sendable {  // `matrix` guarded by `lock`; the rest immutable
        let stage: AccuracyStage
        let root: OutputRoot
        private let lock = NSLock()
        private var matrix = ConfusionMatrix()

        init(stage: AccuracyStage, root: OutputRoot) {
            self.stage = stage
            self.root = root
        }

        func write(_ blocks: [PixelBlock]) throws {
            let classes = blocks[0], reference = blocks[1]
            var local: [Int: Int] = [:]  // reference * 65536 + predicted -> count
            classes.bands[0].withUnsafeBufferPointer { predicted in
                reference.bands[0].withUnsafeBufferPointer { truth in
                    for row in 0..<classes.window.height {
                        let start = row * classes.stride
                        for i in start..<start + classes.window.width {
                            if let cell = stage.holdoutBlock {
                                let x = classes.window.colOffset + (i - start), y = classes.window.rowOffset + row
                                if ((x / cell) + (y / cell)) % 2 == 0 { continue }  // a training cell
                            }
                            let p = predicted[i], r = truth[i]
                            guard p.isFinite, r.isFinite, p > 0, r > 0, p < 65536, r < 65536 else { continue }
                            var code = Int(r)
                            if let map = stage.referenceMap {
                                guard let mapped = map[code] else { continue }
                                code = mapped
                            }
                            local[code * 65536 + Int(p), default: 0] += 1
                        }
                    }
                }
            }
            lock.withLock {
                for (key, count) in local { matrix.add(reference: key / 65536, predicted: key % 65536, count: count) }
            }
        }

        func finish() throws -> [String] {
            let matrix = lock.withLock { self.matrix }
            guard matrix.total > 0 else {
                throw RunError(.io, "no pixel has both a class and a reference class: nothing to assess")
            }
            let report = AccuracyReport(matrix: matrix, legend: stage.legend)
            try root.writeAtomically(report.json(), to: "\(stage.path).json")
            try root.writeAtomically(Data(report.csv().utf8), to: "\(stage.path).csv")
            try root.writeAtomically(Data(report.markdown().utf8), to: "\(stage.path).md")
            return stage.outputPaths
        }

        func abort() {}
    }
}

/// Accuracy figures of a confusion matrix, rendered for programs (JSON), spreadsheets (CSV) and people (Markdown).
public struct AccuracyReport: Sendable {
    public let matrix: ConfusionMatrix
    public let legend: Legend

    public init(matrix: ConfusionMatrix, legend: Legend) {
        self.matrix = matrix
        self.legend = legend
    }

    private func number(_ value: Double) -> Any { value.isFinite ? (value * 10000).rounded() / 10000 : NSNull() }

    public func json() throws -> Data {
        let classes = matrix.classes
        let object: [String: Any] = [
            "version": AccuracyResult.currentVersion,
            "pixels": matrix.total,
            "overall_accuracy": number(matrix.overallAccuracy),
            "kappa": number(matrix.kappa),
            "classes": classes.map { code -> [String: Any] in
                ["code": code, "name": legend.name(of: code), "reference_pixels": matrix.referenceTotal(code),
                 "predicted_pixels": matrix.predictedTotal(code), "producers_accuracy": number(matrix.producersAccuracy(code)),
                 "users_accuracy": number(matrix.usersAccuracy(code)), "f1": number(matrix.f1(code))]
            },
            "confusion_matrix": [
                "rows": "reference", "columns": "predicted", "codes": classes,
                "counts": classes.map { r in classes.map { matrix.count(reference: r, predicted: $0) } },
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// The confusion matrix with class names, reference in rows, for Excel.
    public func csv() -> String {
        let classes = matrix.classes
        var lines = ["reference \\ predicted," + classes.map { legend.name(of: $0) }.joined(separator: ",") + ",total"]
        for r in classes {
            lines.append(legend.name(of: r) + "," + classes.map { String(matrix.count(reference: r, predicted: $0)) }.joined(separator: ",")
                         + ",\(matrix.referenceTotal(r))")
        }
        lines.append("total," + classes.map { String(matrix.predictedTotal($0)) }.joined(separator: ",") + ",\(matrix.total)")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public func markdown() -> String {
        func percent(_ value: Double) -> String { value.isFinite ? String(format: "%.1f %%", value * 100) : "–" }
        var text = "# Accuracy\n\n"
        text += "\(matrix.total) pixels compared. Overall accuracy \(percent(matrix.overallAccuracy)), kappa "
            + (matrix.kappa.isFinite ? String(format: "%.3f", matrix.kappa) : "–") + ".\n\n"
        text += "| class | reference pixels | producer's accuracy | user's accuracy | F1 |\n| --- | ---: | ---: | ---: | ---: |\n"
        for code in matrix.classes {
            text += "| \(legend.name(of: code)) (\(code)) | \(matrix.referenceTotal(code)) | \(percent(matrix.producersAccuracy(code))) | "
                + "\(percent(matrix.usersAccuracy(code))) | \(String(format: "%.3f", matrix.f1(code))) |\n"
        }
        return text
    }
}
