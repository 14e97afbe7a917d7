import Foundation
import LandwatchXGBoost

/// Learns, for each class, where it expanded between the two dates against driver values (PLUS's LEAS module, with
/// XGBoost in place of a random forest): positives are cells that were another class at the first date and are this
/// class at the second, negatives cells that were another class at both. Samples are drawn by bottom-k on a position
/// hash, so they do not depend on the order in which rows arrive.
public struct SuitabilityTrainer: Sendable {
    public let drivers: [String]
    public let classes: [Int]
    public let samplesPerLabel: Int
    /// Fewer positive samples than this: the class gets no model (it is scored by its neighbourhood alone).
    public let minimumPositives: Int
    public let seed: UInt64

    struct Sample: Sendable { var hash: UInt64; var features: [Float] }
    struct Reservoir: Sendable {
        var k: Int
        var samples: [Sample] = []
        var threshold = UInt64.max
        var seen = 0
        mutating func add(_ hash: UInt64, _ features: @autoclosure () -> [Float]) {
            seen += 1
            guard hash < threshold else { return }
            samples.append(Sample(hash: hash, features: features()))
            if samples.count >= 2 * k { trim() }
        }
        mutating func trim() {
            samples.sort { $0.hash < $1.hash }
            if samples.count > k { samples.removeLast(samples.count - k); threshold = samples.last!.hash }
        }
    }
    var positives: [Int: Reservoir] = [:]
    var negatives: [Int: Reservoir] = [:]

    public init(drivers: [String], classes: [Int], samplesPerLabel: Int = 5000, minimumPositives: Int = 20, seed: UInt64 = 1) {
        self.drivers = drivers
        self.classes = classes
        self.samplesPerLabel = samplesPerLabel
        self.minimumPositives = minimumPositives
        self.seed = seed
        for code in classes {
            positives[code] = Reservoir(k: samplesPerLabel)
            negatives[code] = Reservoir(k: samplesPerLabel)
        }
    }

    /// Adds the cells of one row: `values[d][x]` is driver d at column x (NaN: missing, the cell is skipped);
    /// `index(x)` the cell's index in the grid; `use(x)` whether the cell is in the calibration region.
    public mutating func add(before: ArraySlice<UInt8>, after: ArraySlice<UInt8>, values: [[Float]], firstIndex: Int, use: (Int) -> Bool) {
        let width = before.count
        for x in 0..<width {
            let b = before[before.startIndex + x], a = after[after.startIndex + x]
            guard b != 0, a != 0, use(firstIndex + x) else { continue }
            guard values.allSatisfy({ $0[x].isFinite }) else { continue }
            let i = firstIndex + x
            for code in classes where Int(b) != code {
                let hash = scenarioHash(seed, UInt64(code), i)
                if Int(a) == code { positives[code]!.add(hash, values.map { $0[x] }) } else { negatives[code]!.add(hash, values.map { $0[x] }) }
            }
        }
    }

    /// Positive (expansion) cells seen per class.
    public var expansionCells: [Int: Int] { positives.mapValues(\.seen) }

    /// Trains one binary model per class with enough expansion cells.
    public func train(rounds: Int, maxDepth: Int, eta: Double, threads: Int) throws -> SuitabilityModel {
        var models: [Int: Booster] = [:]
        var skipped: [Int: Int] = [:]
        for code in classes {
            var p = positives[code]!, n = negatives[code]!
            p.trim(); n.trim()
            guard p.samples.count >= minimumPositives, !n.samples.isEmpty else { skipped[code] = p.seen; continue }
            // Each label weighs as much in all: balanced, so a rare expansion is learned at all.
            let wp = Float(1), wn = Float(p.samples.count) / Float(n.samples.count)
            let values = (p.samples + n.samples).flatMap(\.features)
            let labels = [Float](repeating: 1, count: p.samples.count) + [Float](repeating: 0, count: n.samples.count)
            let weights = [Float](repeating: wp, count: p.samples.count) + [Float](repeating: wn, count: n.samples.count)
            models[code] = try Booster.train(features: values, rows: labels.count, columns: drivers.count, labels: labels, weights: weights,
                                             classCount: 2, rounds: rounds,
                                             parameters: ["max_depth": String(maxDepth), "eta": String(eta), "nthread": String(threads),
                                                          "seed": "0", "tree_method": "hist"])
        }
        return SuitabilityModel(drivers: drivers, models: models, untrained: skipped)
    }
}

/// The trained suitability of each class: P(a cell of another class becomes this class | its drivers).
public final class SuitabilityModel: @unchecked Sendable {  // boosters are used from one thread at a time (predict is called serially)
    public let drivers: [String]
    let models: [Int: Booster]
    /// Classes left without a model, with the expansion cells they had.
    public let untrained: [Int: Int]

    init(drivers: [String], models: [Int: Booster], untrained: [Int: Int]) {
        self.drivers = drivers
        self.models = models
        self.untrained = untrained
    }

    public var trainedClasses: [Int] { models.keys.sorted() }

    /// Suitability 0–255 for `rows` cells whose driver values are `features` (row-major, `drivers.count` per cell);
    /// a cell with a missing driver gets 0.
    public func predict(_ code: Int, features: [Float], rows: Int) throws -> [UInt8] {
        guard let model = models[code] else { return [UInt8](repeating: 255, count: rows) }
        let probabilities = try model.predictProbabilities(features: features, rows: rows, columns: drivers.count)
        let columns = drivers.count
        return (0..<rows).map { row in
            for c in 0..<columns where !features[row * columns + c].isFinite { return 0 }
            return UInt8(max(0, min(255, (probabilities[row * 2 + 1] * 255).rounded())))
        }
    }
}

/// Slope in degrees of the middle row of three elevation rows (Horn's method, as `gdaldem slope`); edges repeat the
/// nearest cell, a NaN neighbour gives NaN.
public func hornSlope(above: [Float], row: [Float], below: [Float], cellWidth: Double, cellHeight: Double) -> [Float] {
    let width = row.count
    return (0..<width).map { x in
        let l = max(0, x - 1), r = min(width - 1, x + 1)
        let a = above[l], b = above[x], c = above[r], d = row[l], f = row[r], g = below[l], h = below[x], i = below[r]
        let dzdx = (Double(c) + 2 * Double(f) + Double(i) - Double(a) - 2 * Double(d) - Double(g)) / (8 * cellWidth)
        let dzdy = (Double(g) + 2 * Double(h) + Double(i) - Double(a) - 2 * Double(b) - Double(c)) / (8 * cellHeight)
        let slope = atan(sqrt(dzdx * dzdx + dzdy * dzdy)) * 180 / .pi
        return slope.isFinite ? Float(slope) : .nan
    }
}
