import Dispatch
import Foundation

/// What a cell of the constraint raster says, as bits: closed to every conversion (red line, basic farmland in the
/// scenarios that close them), or outside the urban development boundary (penalised for the classes it restricts).
public enum CellConstraint {
    public static let closed: UInt8 = 1
    public static let outsideBoundary: UInt8 = 2
}

/// The settings of one allocation: the CA's neighbourhood, weights, seeding and constraints (PLUS's CARS module, in
/// the form described in docs/scenarios.md).
public struct AllocationSettings: Sendable, Equatable {
    /// Edge of the square neighbourhood in cells (odd; PLUS's default is 3).
    public var neighbourhood: Int = 3
    /// Neighbourhood weight per class code, 0–1 (classes not named: 1).
    public var weights: [Int: Double] = [:]
    /// Patch seeding: a cell with no neighbour of class k may still become k with score P × r × `seeding` when the
    /// random r is below its suitability P (PLUS's threshold of new patches); 0 turns seeding off.
    public var seeding: Double = 0.1
    /// How much a random factor in [1 − randomness, 1] moves each score: 0 allocates by score alone (the same map for
    /// every seed), 1 lets chance matter as much as the score.
    public var randomness: Double = 0.3
    /// Iterations over which the demand is spread (each converts about remaining/iterations-left cells per class).
    public var iterations: Int = 20
    /// Score multiplier outside the urban development boundary for the classes in `boundaryClasses` (1: no penalty,
    /// 0: none of them outside).
    public var outsideBoundaryFactor: Double = 1
    public var boundaryClasses: Set<Int> = []
    /// Transitions refused, as (from, to) code pairs.
    public var forbidden: Set<[Int]> = []
    public var seed: UInt64 = 1
    public var threads: Int = 1

    public init() {}
}

/// What one allocation did.
public struct AllocationReport: Sendable, Equatable {
    /// Iterations run (more than the settings' when quotas ran out for some source class and the rest was placed in
    /// further iterations).
    public var iterations: Int
    public var converted: Int
    /// Cells converted as patch seeds (no neighbour of the new class before that iteration).
    public var seeded: Int
}

/// A cellular automaton that allocates a demand onto a class map: each iteration scores every open cell of a class
/// that loses cells for every class that gains (suitability × neighbourhood share × weight, a patch seed where the
/// neighbourhood is empty, the boundary penalty, a random factor), gives the cell to its best class, and converts the
/// best-scoring cells of each gaining class up to that iteration's share of its demand. Quotas are counted cell by cell,
/// so the demand is met exactly: every class ends with its target count inside the region.
///
/// - Complexity: two passes over the grid per iteration, O(cells × gaining classes) each, on `threads` bands of rows.
///   Memory beyond the inputs: a histogram of 65,536 bins per gaining class and band, the neighbourhood's column
///   sums (one row of `Int32` per gaining class and band), and the cells selected in one iteration.
public enum Allocation {
    /// Allocates `demand` (cells per class inside `region`) onto `map`.
    /// - Parameters:
    ///   - suitability: for each class that gains cells, its suitability per cell (0–255 for 0–1); a gaining class
    ///     without one is scored by neighbourhood alone.
    ///   - constraints: ``CellConstraint`` bits per cell, or empty for none.
    public static func allocate(map: inout LandMap, demand: Demand, region: Region, suitability: [Int: [UInt8]],
                                constraints: [UInt8], settings: AllocationSettings) throws(ScenarioInputError) -> AllocationReport {
        let width = map.width, height = map.height
        let counts = map.classCounts(in: region)
        var remaining = [Int](repeating: 0, count: 256), loss = [Int](repeating: 0, count: 256)
        var gaining: [Int] = []
        for (code, target) in demand.cells.sorted(by: { $0.key < $1.key }) where code > 0 && code < 256 {
            let change = target - counts[code]
            if change > 0 { remaining[code] = change; gaining.append(code) } else if change < 0 { loss[code] = -change }
        }
        let gainTotal = remaining.reduce(0, +), lossTotal = loss.reduce(0, +)
        guard gainTotal == lossTotal else {
            throw ScenarioInputError("the demand moves \(gainTotal) cells into gaining classes but \(lossTotal) out of losing ones: its total differs from the map's")
        }
        if gaining.isEmpty { return AllocationReport(iterations: 0, converted: 0, seeded: 0) }
        let half = settings.neighbourhood / 2
        let neighbours = Float(settings.neighbourhood * settings.neighbourhood - 1)
        let weight = gaining.map { Float(settings.weights[$0] ?? 1) }
        let boundaryFactor = gaining.map { settings.boundaryClasses.contains($0) ? Float(settings.outsideBoundaryFactor) : 1 }
        var allowed = [Bool](repeating: true, count: 256 * gaining.count)
        for (g, code) in gaining.enumerated() { for from in 0..<256 where settings.forbidden.contains([from, code]) { allowed[g * 256 + from] = false } }
        let suit: [[UInt8]?] = gaining.map { suitability[$0] }
        let seeding = Float(settings.seeding), randomness = Float(settings.randomness)
        let bandCount = max(1, min(height, settings.threads * 4))
        let bandRows = (height + bandCount - 1) / bandCount
        let g = gaining.count
        var report = AllocationReport(iterations: 0, converted: 0, seeded: 0)
        var iteration = 0
        while remaining.contains(where: { $0 > 0 }) {
            let left = max(1, settings.iterations - iteration)
            let share = gaining.map { (remaining[$0] + left - 1) / left }
            let active = gaining.map { remaining[$0] > 0 }
            let lossOpen = loss.map { $0 > 0 }
            // The scanner holds the map as it was when the iteration began; it is gone before a cell is converted, so
            // the conversion below writes into the map in place instead of copying it (one grid less at the peak).
            var candidates: [Candidate] = { () -> [Candidate] in
                let scanner = Scanner(cells: map.cells, width: width, height: height, region: region, constraints: constraints,
                                      gaining: gaining, active: active, lossOpen: lossOpen, allowed: allowed, suitability: suit,
                                      weight: weight, boundaryFactor: boundaryFactor, half: half, neighbours: neighbours,
                                      seeding: seeding, randomness: randomness, seed: settings.seed, stream: UInt64(iteration),
                                      bandRows: bandRows)
                // Pass A: histograms of the best scores per class. Pass B: the cells at or above each class's threshold.
                let results = BandResults(bands: bandCount, classes: g)
                defer { results.release() }
                DispatchQueue.concurrentPerform(iterations: bandCount) { band in
                    let base = band * g * 65536
                    let histograms = results.histograms
                    scanner.scan(band) { _, k, score, _ in histograms[base + k * 65536 + Scanner.bin(score)] += 1 }
                }
                var thresholds = [Int](repeating: 65536, count: g)
                for k in 0..<g where active[k] {
                    var total = 0
                    var b = 65535
                    while b >= 0 {
                        for band in 0..<bandCount { total += Int(results.histograms[band * g * 65536 + k * 65536 + b]) }
                        if total >= share[k] { break }
                        b -= 1
                    }
                    thresholds[k] = max(b, 0)
                }
                let threshold = thresholds
                DispatchQueue.concurrentPerform(iterations: bandCount) { band in
                    var local: [Candidate] = []
                    scanner.scan(band) { i, k, score, seeded in
                        let b = Scanner.bin(score)
                        if b >= threshold[k] {
                            local.append(Candidate(index: Int32(i), bin: Int32(b),
                                                   order: UInt32(truncatingIfNeeded: scenarioHash(scanner.seed, scanner.stream &+ 0x5EED, i)),
                                                   k: UInt8(k), seeded: seeded))
                        }
                    }
                    results.store(local, band: band)
                }
                return results.candidates.flatMap { $0 }
            }()
            candidates.sort { $0.bin != $1.bin ? $0.bin > $1.bin : ($0.order != $1.order ? $0.order < $1.order : $0.index < $1.index) }
            var taken = [Int](repeating: 0, count: g)
            var converted = 0
            for candidate in candidates {
                let k = Int(candidate.k), i = Int(candidate.index)
                let from = Int(map.cells[i]), code = gaining[k]
                guard taken[k] < share[k], remaining[code] > 0, loss[from] > 0 else { continue }
                map.cells[i] = UInt8(code)
                taken[k] += 1
                remaining[code] -= 1
                loss[from] -= 1
                converted += 1
                if candidate.seeded { report.seeded += 1 }
            }
            iteration += 1
            report.converted += converted
            if converted == 0 {
                let short = gaining.filter { remaining[$0] > 0 }.map { "class \($0): \(remaining[$0]) cells" }.joined(separator: ", ")
                throw ScenarioInputError("allocation stopped after \(iteration) iterations with demand left unplaced (\(short)): no open cell of a losing class can take it (constraints, forbidden transitions, zero suitability and no neighbour)")
            }
        }
        report.iterations = iteration
        return report
    }
}

struct Candidate: Sendable { var index: Int32; var bin: Int32; var order: UInt32; var k: UInt8; var seeded: Bool }

/// What the bands of one pass produce: each band writes only its own slice of the histograms and its own slot of the
/// candidates, so no two threads touch the same memory.
final class BandResults: @unchecked Sendable {  // disjoint slices per band; `candidates` behind `lock`
    let histograms: UnsafeMutableBufferPointer<Int32>
    private let lock = NSLock()
    private(set) var candidates: [[Candidate]]

    init(bands: Int, classes: Int) {
        histograms = .allocate(capacity: bands * classes * 65536)
        histograms.initialize(repeating: 0)
        candidates = [[Candidate]](repeating: [], count: bands)
    }

    func store(_ local: [Candidate], band: Int) { lock.withLock { candidates[band] = local } }
    func release() { histograms.deallocate() }
}

/// One iteration's scoring of the grid, read-only: the class map as it was when the iteration began.
struct Scanner: Sendable {
    let cells: [UInt8]
    let width: Int, height: Int
    let region: Region
    let constraints: [UInt8]
    let gaining: [Int]
    let active: [Bool]
    let lossOpen: [Bool]
    let allowed: [Bool]
    let suitability: [[UInt8]?]
    let weight: [Float]
    let boundaryFactor: [Float]
    let half: Int
    let neighbours: Float
    let seeding: Float
    let randomness: Float
    let seed: UInt64
    let stream: UInt64
    let bandRows: Int

    /// The histogram bin of a positive score: the top 16 bits of its IEEE pattern (exponent and 8 bits of mantissa),
    /// monotonic in the score, a relative resolution of 0.4 %.
    @inline(__always) static func bin(_ score: Float) -> Int { Int(score.bitPattern >> 15) }

    /// Calls `body(cell, class, score, seeded)` for every open cell of a losing class in the rows of `band` that has a
    /// positive score for some active gaining class, with its best.
    func scan(_ band: Int, _ body: (Int, Int, Float, Bool) -> Void) {
        let r0 = band * bandRows, r1 = min(height, r0 + bandRows)
        guard r0 < r1 else { return }
        let g = gaining.count
        var columns = [Int32](repeating: 0, count: g * width)
        var window = [Int32](repeating: 0, count: g * width)
        cells.withUnsafeBufferPointer { cells in
            func addRow(_ row: Int, _ delta: Int32) {
                guard row >= 0 && row < height else { return }
                let base = row * width
                for x in 0..<width {
                    let c = Int(cells[base + x])
                    for k in 0..<g where gaining[k] == c { columns[k * width + x] += delta }
                }
            }
            for row in (r0 - half)...(r0 + half) { addRow(row, 1) }
            for row in r0..<r1 {
                if row > r0 { addRow(row - half - 1, -1); addRow(row + half, 1) }
                guard region.containsRow(row, height: height) else { continue }
                // The neighbourhood's counts: horizontal sums of the column sums.
                for k in 0..<g {
                    var sum: Int32 = 0
                    for x in 0..<min(half, width) { sum += columns[k * width + x] }
                    for x in 0..<width {
                        if x + half < width { sum += columns[k * width + x + half] }
                        if x - half - 1 >= 0 { sum -= columns[k * width + x - half - 1] }
                        window[k * width + x] = sum
                    }
                }
                let base = row * width
                for x in 0..<width {
                    let i = base + x
                    let from = Int(cells[i])
                    guard from != 0, lossOpen[from], region.contains(i, width: width, height: height) else { continue }
                    let flags = constraints.isEmpty ? 0 : constraints[i]
                    if flags & CellConstraint.closed != 0 { continue }
                    var best: Float = 0, bestClass = -1, bestSeed = false
                    for k in 0..<g where active[k] && allowed[k * 256 + from] {
                        let p: Float = suitability[k].map { Float($0[i]) * (1 / 255) } ?? 1
                        if p <= 0 { continue }
                        let count = window[k * width + x]
                        var omega: Float
                        var seeded = false
                        if count > 0 {
                            omega = Float(count) / neighbours * weight[k]
                        } else {
                            // A patch seed (PLUS): only where a random draw falls below the suitability.
                            let r = scenarioUniform(seed, stream &* 64 &+ UInt64(k), i)
                            guard seeding > 0, r < p else { continue }
                            omega = r * seeding
                            seeded = true
                        }
                        var score = p * omega
                        if flags & CellConstraint.outsideBoundary != 0 { score *= boundaryFactor[k] }
                        if randomness > 0 {
                            score *= 1 - randomness * scenarioUniform(seed, stream &* 64 &+ 32 &+ UInt64(k), i)
                        }
                        if score > best { best = score; bestClass = k; bestSeed = seeded }
                    }
                    if bestClass >= 0 { body(i, bestClass, best, bestSeed) }
                }
            }
        }
    }
}
