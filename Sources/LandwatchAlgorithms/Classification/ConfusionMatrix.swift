/// Counts of reference class against predicted class, and the accuracy figures derived from them.
public struct ConfusionMatrix: Sendable, Equatable {
    /// counts[reference][predicted]
    public private(set) var counts: [Int: [Int: Int]] = [:]

    public init() {}

    public mutating func add(reference: Int, predicted: Int, count: Int = 1) {
        counts[reference, default: [:]][predicted, default: 0] += count
    }

    public mutating func merge(_ other: ConfusionMatrix) {
        for (reference, row) in other.counts {
            for (predicted, count) in row { add(reference: reference, predicted: predicted, count: count) }
        }
    }

    /// Every class that occurs as reference or prediction, sorted.
    public var classes: [Int] {
        Array(Set(counts.keys).union(counts.values.flatMap(\.keys))).sorted()
    }

    public func count(reference: Int, predicted: Int) -> Int { counts[reference]?[predicted] ?? 0 }
    public var total: Int { counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
    public func referenceTotal(_ code: Int) -> Int { counts[code]?.values.reduce(0, +) ?? 0 }
    public func predictedTotal(_ code: Int) -> Int { counts.values.reduce(0) { $0 + ($1[code] ?? 0) } }

    /// Share of pixels whose prediction equals the reference.
    public var overallAccuracy: Double {
        total == 0 ? .nan : Double(classes.reduce(0) { $0 + count(reference: $1, predicted: $1) }) / Double(total)
    }

    /// Cohen's kappa: agreement beyond what the class shares would give by chance.
    public var kappa: Double {
        let n = Double(total)
        guard n > 0 else { return .nan }
        let chance = classes.reduce(0.0) { $0 + Double(referenceTotal($1)) * Double(predictedTotal($1)) } / (n * n)
        return chance == 1 ? .nan : (overallAccuracy - chance) / (1 - chance)
    }

    /// Producer's accuracy (recall): of the reference pixels of a class, the share predicted as it.
    public func producersAccuracy(_ code: Int) -> Double {
        let reference = referenceTotal(code)
        return reference == 0 ? .nan : Double(count(reference: code, predicted: code)) / Double(reference)
    }

    /// User's accuracy (precision): of the pixels predicted as a class, the share that are it.
    public func usersAccuracy(_ code: Int) -> Double {
        let predicted = predictedTotal(code)
        return predicted == 0 ? .nan : Double(count(reference: code, predicted: code)) / Double(predicted)
    }

    /// F1: the harmonic mean of producer's and user's accuracy (0 when either is 0 or undefined).
    public func f1(_ code: Int) -> Double {
        let p = producersAccuracy(code), u = usersAccuracy(code)
        guard p.isFinite, u.isFinite, p + u > 0 else { return 0 }
        return 2 * p * u / (p + u)
    }
}
