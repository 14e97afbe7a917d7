import Foundation

/// A problem with the numbers a simulation is given (a matrix, a demand, a driver): one line saying what is wrong.
public struct ScenarioInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The row of a transition matrix the problem is in (index into its classes), when it is about one.
    public var row: Int?
    public init(_ message: String, row: Int? = nil) {
        self.message = message
        self.row = row
    }
    public var description: String { message }
}

/// Transitions between two class maps: cells that were class `from` at the first date and `to` at the second.
public struct TransitionCounts: Sendable, Equatable {
    /// The classes present at either date, in code order.
    public let classes: [Int]
    /// `counts[a][b]`: cells of `classes[a]` at the first date that are `classes[b]` at the second.
    public let counts: [[Int]]

    /// Counts the transitions of the cells of `region` that have a class at both dates.
    public init(before: LandMap, after: LandMap, region: Region = .all) {
        precondition(before.width == after.width && before.height == after.height, "maps of different sizes")
        var table = [Int](repeating: 0, count: 256 * 256)
        let width = before.width, height = before.height
        before.cells.withUnsafeBufferPointer { b in
            after.cells.withUnsafeBufferPointer { a in
                for i in 0..<b.count where b[i] != 0 && a[i] != 0 && region.contains(i, width: width, height: height) {
                    table[Int(b[i]) * 256 + Int(a[i])] += 1
                }
            }
        }
        var present = Set<Int>()
        for from in 1..<256 { for to in 1..<256 where table[from * 256 + to] > 0 { present.insert(from); present.insert(to) } }
        let sorted = present.sorted()
        classes = sorted
        counts = sorted.map { from in sorted.map { to in table[from * 256 + to] } }
    }

    public init(classes: [Int], counts: [[Int]]) {
        self.classes = classes
        self.counts = counts
    }

    /// Cells of each class at the first date (row sums) and at the second (column sums).
    public var before: [Int] { counts.map { $0.reduce(0, +) } }
    public var after: [Int] { classes.indices.map { column in counts.reduce(0) { $0 + $1[column] } } }
}

/// A first-order Markov chain of land-use change: the probability that a cell of one class is of another one step
/// (one observed interval) later. Rows sum to 1.
public struct TransitionMatrix: Sendable, Equatable {
    public let classes: [Int]
    /// `probabilities[a][b]`: P(class b at the next step | class a now).
    public let probabilities: [[Double]]

    /// The matrix observed: each row the transitions of a class divided by its cells. A class absent at the first
    /// date keeps its cells (a row of the identity).
    public init(counts: TransitionCounts) {
        classes = counts.classes
        probabilities = counts.counts.enumerated().map { row, values in
            let total = values.reduce(0, +)
            if total == 0 { return counts.classes.indices.map { $0 == row ? 1 : 0 } }
            return values.map { Double($0) / Double(total) }
        }
    }

    /// A matrix given in a file; every row must sum to 1 (within 1e-6) and hold no negative probability.
    /// - Parameter names: what to call each class in messages.
    public init(classes: [Int], probabilities: [[Double]], names: (Int) -> String) throws(ScenarioInputError) {
        guard probabilities.count == classes.count, probabilities.allSatisfy({ $0.count == classes.count }) else {
            throw ScenarioInputError("the transition matrix must have a row and a column for each of its \(classes.count) classes")
        }
        for (row, values) in probabilities.enumerated() {
            if let negative = values.firstIndex(where: { $0 < 0 || !$0.isFinite }) {
                throw ScenarioInputError("transition matrix row \(names(classes[row])): probability to \(names(classes[negative])) is \(values[negative]), not in [0, 1]", row: row)
            }
            let sum = values.reduce(0, +)
            if abs(sum - 1) > 1e-6 {
                throw ScenarioInputError("transition matrix row \(names(classes[row])) sums to \(String(format: "%.6g", sum)), not 1", row: row)
            }
        }
        self.classes = classes
        self.probabilities = probabilities
    }

    /// The expected cells of each class (in `classes` order) after `steps` steps from `start` (cells per class in the
    /// same order). Whole steps multiply by the matrix; a fraction of a step interpolates linearly between the whole
    /// steps around it (a matrix root is not generally a transition matrix).
    public func project(_ start: [Double], steps: Double) -> [Double] {
        precondition(start.count == classes.count && steps >= 0)
        func step(_ v: [Double]) -> [Double] {
            classes.indices.map { to in classes.indices.reduce(0.0) { $0 + v[$1] * probabilities[$1][to] } }
        }
        var current = start
        let whole = Int(steps.rounded(.down))
        for _ in 0..<whole { current = step(current) }
        let fraction = steps - Double(whole)
        if fraction > 1e-9 {
            let next = step(current)
            current = current.indices.map { current[$0] + fraction * (next[$0] - current[$0]) }
        }
        return current
    }
}

/// How many cells each class is to have at the target date: the demand the allocation meets exactly.
public struct Demand: Sendable, Equatable {
    /// Target cells per class code.
    public var cells: [Int: Int]

    public init(cells: [Int: Int]) { self.cells = cells }

    /// Whole cells from expected (fractional) cells, keeping the total: each class gets the integer part, and the
    /// cells left go to the largest remainders (ties to the lower code). The total is `total`.
    public init(expected: [Int: Double], total: Int) {
        var result: [Int: Int] = [:]
        var remainders: [(code: Int, remainder: Double)] = []
        var assigned = 0
        for (code, value) in expected {
            let floor = Int(max(0, value).rounded(.down))
            result[code] = floor
            assigned += floor
            remainders.append((code, max(0, value) - Double(floor)))
        }
        remainders.sort { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.code < $1.code }
        var left = total - assigned
        var index = 0
        while left > 0, !remainders.isEmpty {
            result[remainders[index % remainders.count].code, default: 0] += 1
            left -= 1
            index += 1
        }
        cells = result
    }

    /// The Markov demand: `initial` (cells per code) carried `steps` steps by `matrix`, rounded to whole cells with the
    /// same total. Classes of `initial` the matrix does not know keep their cells.
    public static func markov(initial: [Int: Int], matrix: TransitionMatrix, steps: Double) -> Demand {
        let known = matrix.classes.map { Double(initial[$0] ?? 0) }
        let projected = matrix.project(known, steps: steps)
        var expected: [Int: Double] = [:]
        for (index, code) in matrix.classes.enumerated() { expected[code] = projected[index] }
        for (code, count) in initial where expected[code] == nil { expected[code] = Double(count) }
        return Demand(expected: expected, total: initial.values.reduce(0, +))
    }

    /// The demand with each named class's net change multiplied (`{built-up: 1.5}`: half as much growth again). The
    /// cells this adds or removes are taken from, or given back to, the classes that lose cells, in proportion to their
    /// losses, so the total stays that of `initial`.
    public func scalingChange(_ factors: [Int: Double], initial: [Int: Int]) throws(ScenarioInputError) -> Demand {
        guard !factors.isEmpty else { return self }
        var expected: [Int: Double] = [:]
        for (code, target) in cells {
            let start = Double(initial[code] ?? 0), change = Double(target) - start
            expected[code] = start + change * (factors[code] ?? 1)
        }
        let total = initial.values.reduce(0, +)
        let surplus = expected.values.reduce(0, +) - Double(total)
        let absorbers = cells.keys.filter { factors[$0] == nil && Double(cells[$0]!) < Double(initial[$0] ?? 0) }
        let losses = absorbers.reduce(0.0) { $0 + Double(initial[$1] ?? 0) - Double(cells[$1]!) }
        if abs(surplus) > 0.5 {
            guard losses > 0 else {
                throw ScenarioInputError("the demand's change factors move \(Int(surplus.rounded())) cells, but no other class loses cells to balance them")
            }
            for code in absorbers {
                let share = (Double(initial[code] ?? 0) - Double(cells[code]!)) / losses
                expected[code]! -= surplus * share
            }
        }
        return Demand(expected: expected, total: total)
    }

    /// The demand with `extra` cells added to each named class (`{built-up: 60}`), taken from the classes not named in
    /// proportion to their demand, so the total stays the same. A negative number takes cells away and gives them to
    /// the others in the same proportion.
    public func adding(_ extra: [Int: Int]) throws(ScenarioInputError) -> Demand {
        guard !extra.isEmpty else { return self }
        let total = cells.values.reduce(0, +)
        let added = extra.values.reduce(0, +)
        let others = cells.filter { extra[$0.key] == nil && $0.value > 0 }
        let base = others.values.reduce(0, +)
        guard base > 0 || added == 0 else { throw ScenarioInputError("the demand adds \(added) cells, but no other class has cells to give") }
        var result = cells
        for (code, cells) in extra { result[code, default: 0] += cells }
        if let negative = result.first(where: { $0.value < 0 }) {
            throw ScenarioInputError("the demand would leave class \(negative.key) with \(negative.value) cells")
        }
        // The others give (or take) the cells in proportion to their demand, rounded by largest remainder.
        var shares: [Int: Double] = [:]
        for (code, value) in others { shares[code] = Double(value) - Double(added) * Double(value) / Double(base) }
        if let negative = shares.first(where: { $0.value < 0 }) {
            throw ScenarioInputError("the demand would leave class \(negative.key) with \(Int(negative.value.rounded())) cells")
        }
        for (code, value) in Demand(expected: shares, total: base - added).cells { result[code] = value }
        _ = total
        return Demand(cells: result)
    }
}
