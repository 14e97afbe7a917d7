import Foundation

/// A map from a classifier's raw top-class probability to the accuracy observed at that probability on pixels it
/// was not trained on: isotonic regression (pool-adjacent-violators) of "the top class was right" on the raw
/// probability, so that a reported confidence of 80 means about 80 % of such pixels are classified correctly.
public struct ConfidenceCalibration: Codable, Sendable, Equatable {
    /// The format of this record (1: isotonic steps).
    public var version: Int
    public var method: String
    /// Upper raw probability of each step, increasing; the last step covers everything above.
    public var upper: [Float]
    /// Observed accuracy (0–1) of each step, non-decreasing.
    public var accuracy: [Float]
    /// Pixels the map was fitted on.
    public var samples: Int

    /// Fits the map to (raw probability, correct) pairs; nil without any pair. Pixels are first grouped, in order
    /// of probability, into runs of at least `minimumBlock` (so that no step rests on a handful of pixels), then
    /// pooled where the accuracy would decrease.
    public init?(probabilities: [Float], correct: [Bool], minimumBlock: Int = 1) {
        precondition(probabilities.count == correct.count)
        guard !probabilities.isEmpty else { return nil }
        let order = probabilities.indices.sorted { probabilities[$0] < probabilities[$1] }
        // Blocks of (sum of hits, count, highest probability); adjacent blocks whose means decrease are pooled.
        var sums: [Double] = [], counts: [Double] = [], tops: [Float] = []
        var index = 0
        while index < order.count {
            // Ties in probability form one block from the start.
            let p = probabilities[order[index]]
            var sum = 0.0, count = 0.0, top = p
            while index < order.count, count < Double(minimumBlock) || probabilities[order[index]] == top {
                top = probabilities[order[index]]
                sum += correct[order[index]] ? 1 : 0
                count += 1
                index += 1
            }
            // A short last run joins the one before it.
            if index == order.count, count < Double(minimumBlock), !sums.isEmpty {
                sums[sums.count - 1] += sum; counts[counts.count - 1] += count; tops[tops.count - 1] = top
            } else {
                sums.append(sum); counts.append(count); tops.append(top)
            }
            while sums.count > 1, sums[sums.count - 2] / counts[counts.count - 2] >= sums[sums.count - 1] / counts[counts.count - 1] {
                sums[sums.count - 2] += sums.removeLast()
                counts[counts.count - 2] += counts.removeLast()
                tops.remove(at: tops.count - 2)
            }
        }
        version = 1
        method = "isotonic"
        upper = tops
        accuracy = zip(sums, counts).map { Float($0 / $1) }
        samples = probabilities.count
    }

    /// The observed accuracy (0–1) for a raw top-class probability.
    public func accuracy(for probability: Float) -> Float {
        var low = 0, high = upper.count - 1
        while low < high {
            let middle = (low + high) / 2
            if upper[middle] >= probability { high = middle } else { low = middle + 1 }
        }
        return accuracy[low]
    }
}

/// Reported confidence against observed accuracy, in bins of confidence: a reliability table.
public struct ReliabilityTable: Codable, Sendable, Equatable {
    public struct Bin: Codable, Sendable, Equatable {
        /// Confidence from `lower` to `upper` (percent; the last bin includes 100).
        public var lower: Int
        public var upper: Int
        public var pixels: Int
        /// Mean reported confidence, percent.
        public var meanConfidence: Double
        /// Share of the bin's pixels classified correctly, percent.
        public var accuracy: Double
    }

    public var bins: [Bin]

    /// Bins `confidence` (percent, 0–100) into `width`-point bins with the observed accuracy of each (empty bins left out).
    public init(confidence: [Float], correct: [Bool], width: Int = 10) {
        var sums = [Double](repeating: 0, count: 100 / width), hits = sums, counts = [Int](repeating: 0, count: 100 / width)
        for (value, right) in zip(confidence, correct) where value.isFinite {
            let bin = min(sums.count - 1, max(0, Int(value) / width))
            sums[bin] += Double(value)
            hits[bin] += right ? 1 : 0
            counts[bin] += 1
        }
        bins = counts.indices.filter { counts[$0] > 0 }.map { index in
            Bin(lower: index * width, upper: (index + 1) * width, pixels: counts[index],
                meanConfidence: sums[index] / Double(counts[index]), accuracy: 100 * hits[index] / Double(counts[index]))
        }
    }

    /// The largest |mean confidence − accuracy| over bins with at least `minimum` pixels.
    public func largestGap(minimum: Int) -> Double {
        bins.filter { $0.pixels >= minimum }.map { abs($0.meanConfidence - $0.accuracy) }.max() ?? 0
    }

    /// Expected calibration error: the pixel-weighted mean gap, points.
    public var expectedError: Double {
        let total = bins.reduce(0) { $0 + $1.pixels }
        guard total > 0 else { return 0 }
        return bins.filter { $0.pixels > 0 }.reduce(0) { $0 + Double($1.pixels) * abs($1.meanConfidence - $1.accuracy) } / Double(total)
    }

    /// A Markdown table.
    public func markdown() -> String {
        var text = "| confidence | pixels | mean confidence | observed accuracy | gap |\n|---|---:|---:|---:|---:|\n"
        for bin in bins where bin.pixels > 0 {
            text += "| \(bin.lower)–\(bin.upper) | \(bin.pixels) | \(String(format: "%.1f", bin.meanConfidence)) | \(String(format: "%.1f", bin.accuracy)) | \(String(format: "%+.1f", bin.meanConfidence - bin.accuracy)) |\n"
        }
        return text
    }
}

extension ConfidenceCalibration {
    /// One accuracy for every probability (a class with too few pixels for a curve of its own).
    public init(constant accuracy: Float, samples: Int) {
        version = 1
        method = "constant"
        upper = [1]
        self.accuracy = [accuracy]
        self.samples = samples
    }
}

/// Confidence calibrated per predicted class: the accuracy of a pixel given the class it was assigned and the
/// model's raw probability for it. A model's raw probability means different things for its classes (a built-up
/// pixel at 0.6 is right far less often than a forest pixel at 0.6), so one curve for all would overstate the
/// confidence of rare classes, the ones enforcement reports.
public struct ClassConfidenceCalibration: Codable, Sendable, Equatable {
    /// The format of this record.
    public var version: Int
    /// Fitted on every pixel (steps of at least 1 % of them, and 25 pixels).
    public var overall: ConfidenceCalibration
    /// By predicted class (legend code as text), for classes with at least `minimumPerClass` pixels: a curve of
    /// their own (steps of at least 10 % of them).
    public var byClass: [String: ConfidenceCalibration]
    /// For the other classes: how far their observed accuracy lies from what the overall curve says, in points of
    /// 0–1, shrunk towards 0 by n / (n + 50) so that a class seen on a few pixels moves the curve a little.
    public var offsets: [String: Float]
    public var minimumPerClass: Int

    public init?(probabilities: [Float], predicted: [Int], correct: [Bool], minimumPerClass: Int = 1000) {
        guard let overall = ConfidenceCalibration(probabilities: probabilities, correct: correct,
                                                  minimumBlock: max(25, probabilities.count / 100)) else { return nil }
        self.overall = overall
        self.minimumPerClass = minimumPerClass
        version = 2
        var byClass: [String: ConfidenceCalibration] = [:], offsets: [String: Float] = [:]
        for code in Set(predicted) {
            let rows = predicted.indices.filter { predicted[$0] == code }
            if rows.count >= minimumPerClass {
                byClass[String(code)] = ConfidenceCalibration(probabilities: rows.map { probabilities[$0] }, correct: rows.map { correct[$0] },
                                                              minimumBlock: rows.count / 10)
            } else {
                let residual = rows.reduce(0.0) { $0 + (correct[$1] ? 1 : 0) - Double(overall.accuracy(for: probabilities[$1])) }
                offsets[String(code)] = Float(residual / Double(rows.count + 50))
            }
        }
        self.byClass = byClass
        self.offsets = offsets
    }

    /// The observed accuracy (0–1) of pixels assigned `code` at raw top-class probability `probability`.
    public func accuracy(for probability: Float, predicted code: Int) -> Float {
        curve(for: code).accuracy(for: probability)
    }

    /// The map of pixels assigned `code`, looked up once: ``accuracy(for:predicted:)`` without a lookup by the
    /// code's text per pixel (classify.model resolves one per class before its blocks).
    public func curve(for code: Int) -> ClassCurve {
        if let own = byClass[String(code)] { return ClassCurve(curve: own, offset: nil) }
        return ClassCurve(curve: overall, offset: offsets[String(code)] ?? 0)
    }

    /// One class's accuracy map: its own curve, or the overall curve shifted by the class's offset.
    public struct ClassCurve: Sendable {
        let curve: ConfidenceCalibration
        /// nil: the class's own curve, read as it is; otherwise the overall curve plus this, clamped to 0–1.
        let offset: Float?

        /// The observed accuracy (0–1) at raw top-class probability `probability`.
        public func accuracy(for probability: Float) -> Float {
            guard let offset else { return curve.accuracy(for: probability) }
            return min(1, max(0, curve.accuracy(for: probability) + offset))
        }
    }
}
