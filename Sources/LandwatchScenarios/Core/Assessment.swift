import Foundation

/// How well a simulated map agrees with the observed one, on the cells of a region that have a class in the initial,
/// observed and simulated maps.
///
/// - Kappa: Cohen's kappa of simulated against observed, over every cell (persistence included, which flatters any
///   model on land that mostly does not change: read it beside the null model's).
/// - Figure of merit (Pontius et al. 2008): hits / (misses + hits + wrong hits + false alarms), on change only.
///   Hits: observed change simulated as change to the right class; wrong hits: observed change simulated as change to
///   another class; misses: observed change simulated as persistence; false alarms: observed persistence simulated as
///   change. The null model's figure of merit is 0 by definition.
/// - Quantity and allocation disagreement (Pontius and Millones 2011), shares of the cells compared; they add up to
///   the total disagreement 1 − overall agreement.
public struct SimulationAgreement: Sendable, Equatable, Codable {
    public var cells: Int
    public var kappa: Double
    public var overallAgreement: Double
    public var figureOfMerit: Double
    public var hits: Int
    public var misses: Int
    public var wrongHits: Int
    public var falseAlarms: Int
    public var quantityDisagreement: Double
    public var allocationDisagreement: Double
    /// Cells that changed in the observed map, and in the simulated one.
    public var observedChange: Int
    public var simulatedChange: Int

    public init(initial: LandMap, observed: LandMap, simulated: LandMap, region: Region = .all) {
        precondition(initial.width == observed.width && initial.width == simulated.width && initial.count == observed.count
                     && initial.count == simulated.count, "maps of different sizes")
        var matrix = [Int](repeating: 0, count: 256 * 256)   // [simulated * 256 + observed]
        var hits = 0, misses = 0, wrong = 0, alarms = 0, observedChange = 0, simulatedChange = 0, cells = 0
        let width = initial.width, height = initial.height
        initial.cells.withUnsafeBufferPointer { a in
            observed.cells.withUnsafeBufferPointer { o in
                simulated.cells.withUnsafeBufferPointer { s in
                    for i in 0..<a.count where a[i] != 0 && o[i] != 0 && s[i] != 0 && region.contains(i, width: width, height: height) {
                        cells += 1
                        matrix[Int(s[i]) * 256 + Int(o[i])] += 1
                        let changedObserved = o[i] != a[i], changedSimulated = s[i] != a[i]
                        if changedObserved { observedChange += 1 }
                        if changedSimulated { simulatedChange += 1 }
                        switch (changedObserved, changedSimulated) {
                        case (true, true): if s[i] == o[i] { hits += 1 } else { wrong += 1 }
                        case (true, false): misses += 1
                        case (false, true): alarms += 1
                        case (false, false): break
                        }
                    }
                }
            }
        }
        self.cells = cells
        self.hits = hits
        self.misses = misses
        self.wrongHits = wrong
        self.falseAlarms = alarms
        self.observedChange = observedChange
        self.simulatedChange = simulatedChange
        let denominator = hits + misses + wrong + alarms
        figureOfMerit = denominator == 0 ? .nan : Double(hits) / Double(denominator)
        let n = Double(cells)
        var agree = 0.0, expected = 0.0, quantity = 0.0, allocation = 0.0
        for g in 1..<256 {
            var rowSum = 0, columnSum = 0
            for other in 1..<256 {
                rowSum += matrix[g * 256 + other]
                columnSum += matrix[other * 256 + g]
            }
            let diagonal = Double(matrix[g * 256 + g])
            guard rowSum > 0 || columnSum > 0 else { continue }
            agree += diagonal
            expected += Double(rowSum) * Double(columnSum)
            quantity += abs(Double(rowSum) - Double(columnSum))
            allocation += 2 * min(Double(rowSum) - diagonal, Double(columnSum) - diagonal)
        }
        guard cells > 0 else {
            overallAgreement = .nan; kappa = .nan; quantityDisagreement = .nan; allocationDisagreement = .nan
            return
        }
        overallAgreement = agree / n
        let chance = expected / (n * n)
        kappa = chance >= 1 ? .nan : (overallAgreement - chance) / (1 - chance)
        quantityDisagreement = quantity / 2 / n
        allocationDisagreement = allocation / 2 / n
    }
}

/// The same demand placed at random: every convertible cell of a losing class is equally likely to go to a gaining
/// class. The chance level a model's allocation must beat (its quantity is the model's, only the places differ).
public enum RandomAllocation {
    /// Converts, inside `region`, cells of the classes that lose cells to the classes that gain, until every class has
    /// its demand. `open` says which cells may change (nil: all). Deterministic for a seed.
    /// - Complexity: O(cells) and a sort of the cells that change; memory: 16 bytes per changing cell and a histogram
    ///   of 65,536 bins per losing class, not a list of every convertible cell.
    public static func allocate(initial: LandMap, demand: Demand, region: Region, open: ((Int) -> Bool)? = nil,
                                seed: UInt64) throws(ScenarioInputError) -> LandMap {
        var map = initial
        let counts = initial.classCounts(in: region)
        var gain: [(code: Int, cells: Int)] = [], loss = [Int](repeating: 0, count: 256)
        for (code, target) in demand.cells.sorted(by: { $0.key < $1.key }) {
            let change = target - counts[code]
            if change > 0 { gain.append((code, change)) } else if change < 0 { loss[code] = -change }
        }
        // Each losing class gives up its `loss[class]` cells of smallest hash. Found in two passes without a list of
        // every candidate: a histogram of the hashes' top 16 bits per losing class gives the bin where each class's
        // quota ends; the second pass keeps the cells below that bin and those in it (a 65,536th of them), and the
        // cells of the boundary bin are cut to the quota by their full hash.
        let contains: (Int) -> Bool = { i in region.contains(i, width: map.width, height: map.height) && (open?(i) ?? true) }
        let losing = loss.indices.filter { loss[$0] > 0 }
        var slot = [Int](repeating: -1, count: 256)
        for (k, code) in losing.enumerated() { slot[code] = k }
        var histogram = [Int](repeating: 0, count: max(losing.count, 1) * 65536)
        for i in 0..<map.count {
            let k = slot[Int(map.cells[i])]
            guard k >= 0, contains(i) else { continue }
            histogram[k * 65536 + Int(scenarioHash(seed, 0xA11, i) >> 48)] += 1
        }
        var boundary = [Int](repeating: -1, count: 256), before = [Int](repeating: 0, count: 256)
        for (k, code) in losing.enumerated() {
            var total = 0
            for bin in 0..<65536 {
                let here = histogram[k * 65536 + bin]
                if total + here >= loss[code] { boundary[code] = bin; before[code] = total; break }
                total += here
            }
            if boundary[code] < 0 {
                throw ScenarioInputError("random allocation: class \(code) must lose \(loss[code] - total) more cells than it has open to change")
            }
        }
        histogram = []
        var chosen: [(hash: UInt64, index: Int32)] = [], edge: [[(hash: UInt64, index: Int32)]] = Array(repeating: [], count: 256)
        for i in 0..<map.count {
            let code = Int(map.cells[i])
            guard boundary[code] >= 0, contains(i) else { continue }
            let hash = scenarioHash(seed, 0xA11, i), bin = Int(hash >> 48)
            if bin < boundary[code] { chosen.append((hash, Int32(i))) } else if bin == boundary[code] { edge[code].append((hash, Int32(i))) }
        }
        for code in losing {
            edge[code].sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.index < $1.index }
            chosen += edge[code].prefix(loss[code] - before[code])
            loss[code] = 0
        }
        chosen.sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.index < $1.index }
        let taken = chosen.map(\.index)
        chosen = []
        var next = 0
        for (code, cells) in gain {
            for _ in 0..<cells where next < taken.count {
                map.cells[Int(taken[next])] = UInt8(code)
                next += 1
            }
        }
        return map
    }
}
