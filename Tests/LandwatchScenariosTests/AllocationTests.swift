import Foundation
import LandwatchScenarios
import XCTest

/// The simulation core on synthetic grids with known answers: Markov demand, exact quotas, hard constraints,
/// determinism, and the agreement figures against a hand-computed example.
final class AllocationTests: XCTestCase {
    /// 1 cropland, 2 forest, 5 built-up: a town in the middle of fields and woods.
    func town(width: Int = 120, height: Int = 100) -> LandMap {
        var map = LandMap(width: width, height: height, filledWith: 1)
        for y in 0..<height { for x in 0..<width {
            let i = y * width + x
            if abs(x - width / 2) < 10 && abs(y - height / 2) < 8 { map.cells[i] = 5 } else if x < width / 4 { map.cells[i] = 2 }
        } }
        return map
    }

    func testMarkovProjectionAndRowCheck() throws {
        let matrix = try TransitionMatrix(classes: [1, 5], probabilities: [[0.9, 0.1], [0, 1]], names: { "c\($0)" })
        XCTAssertEqual(matrix.project([1000, 0], steps: 2), [810, 190])
        XCTAssertEqual(matrix.project([1000, 0], steps: 1.5)[1], 145, accuracy: 1e-9)   // between 100 and 190
        XCTAssertThrowsError(try TransitionMatrix(classes: [1, 5], probabilities: [[0.9, 0.2], [0, 1]], names: { $0 == 1 ? "cropland" : "built-up" })) { error in
            XCTAssertEqual((error as? ScenarioInputError)?.message, "transition matrix row cropland sums to 1.1, not 1")
        }
        let demand = Demand.markov(initial: [1: 1001, 5: 0], matrix: matrix, steps: 1)
        XCTAssertEqual(demand.cells.values.reduce(0, +), 1001)
        XCTAssertEqual(demand.cells[5], 100)
    }

    func testObservedMatrixFromTwoMaps() {
        var before = LandMap(width: 4, height: 1, cells: [1, 1, 1, 5])
        let after = LandMap(width: 4, height: 1, cells: [1, 5, 1, 5])
        var matrix = TransitionMatrix(counts: TransitionCounts(before: before, after: after))
        XCTAssertEqual(matrix.classes, [1, 5])
        XCTAssertEqual(matrix.probabilities[0][1], 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(matrix.probabilities[1], [0, 1])
        before.cells[0] = 0   // no data at one date: left out
        matrix = TransitionMatrix(counts: TransitionCounts(before: before, after: after))
        XCTAssertEqual(matrix.probabilities[0][1], 0.5, accuracy: 1e-12)
    }

    func testDemandIsMetExactlyAndClosedCellsNeverChangeOver30Runs() throws {
        let start = town()
        let counts = start.classCounts()
        let demand = Demand(cells: [1: counts[1] - 700, 2: counts[2] - 200, 5: counts[5] + 900])
        // The north quarter of the grid (forest and cropland) is a closed red line, and a block touching the town.
        let constraints = (0..<start.count).map { i -> UInt8 in
            let x = i % start.width, y = i / start.width
            return y < start.height / 4 || (x >= 70 && x < 80 && y >= 40 && y < 60) ? CellConstraint.closed : 0
        }
        var settings = AllocationSettings()
        settings.threads = 2
        for run in 0..<30 {
            var map = start
            settings.seed = UInt64(run)
            let report = try Allocation.allocate(map: &map, demand: demand, region: .all, suitability: [:], constraints: constraints, settings: settings)
            let after = map.classCounts()
            XCTAssertEqual(after[1], counts[1] - 700, "run \(run)")
            XCTAssertEqual(after[2], counts[2] - 200, "run \(run)")
            XCTAssertEqual(after[5], counts[5] + 900, "run \(run)")
            XCTAssertEqual(report.converted, 900)
            let changedClosed = (0..<map.count).filter { constraints[$0] != 0 && map.cells[$0] != start.cells[$0] }.count
            XCTAssertEqual(changedClosed, 0, "run \(run)")
        }
    }

    func testSameSeedSameBytesAndSeedsDiffer() throws {
        let start = town()
        let counts = start.classCounts()
        let demand = Demand(cells: [1: counts[1] - 500, 2: counts[2], 5: counts[5] + 500])
        var settings = AllocationSettings()
        settings.seed = 7
        func simulate(threads: Int, seed: UInt64) throws -> [UInt8] {
            var map = start
            settings.threads = threads
            settings.seed = seed
            _ = try Allocation.allocate(map: &map, demand: demand, region: .all, suitability: [:], constraints: [], settings: settings)
            return map.cells
        }
        let a = try simulate(threads: 1, seed: 7), b = try simulate(threads: 2, seed: 7), c = try simulate(threads: 2, seed: 8)
        XCTAssertEqual(a, b, "the same seed gives the same map whatever the thread count")
        XCTAssertNotEqual(a, c)
    }

    func testGrowthFollowsNeighbourhoodAndSuitability() throws {
        let start = town()
        let counts = start.classCounts()
        let demand = Demand(cells: [1: counts[1] - 300, 2: counts[2], 5: counts[5] + 300])
        // Suitability for built-up only in the east half.
        let suitability = (0..<start.count).map { ($0 % start.width) >= start.width / 2 ? UInt8(255) : 0 }
        var settings = AllocationSettings()
        settings.seeding = 0
        var map = start
        _ = try Allocation.allocate(map: &map, demand: demand, region: .all, suitability: [5: suitability], constraints: [], settings: settings)
        let grown = (0..<map.count).filter { map.cells[$0] == 5 && start.cells[$0] != 5 }
        XCTAssertEqual(grown.count, 300)
        XCTAssertTrue(grown.allSatisfy { $0 % start.width >= start.width / 2 }, "no growth where suitability is 0")
        // Without seeding, every new cell touches the town as it was grown: all within the town's box grown by the iterations.
        XCTAssertTrue(grown.allSatisfy { abs($0 % start.width - start.width / 2) < 10 + 20 && abs($0 / start.width - start.height / 2) < 8 + 20 })
    }

    func testDemandBeyondOpenLandIsRefused() {
        var map = LandMap(width: 10, height: 10, filledWith: 1)
        map.cells[0] = 5
        let demand = Demand(cells: [1: 50, 5: 50])
        let constraints = (0..<100).map { $0 >= 30 ? CellConstraint.closed : 0 }
        XCTAssertThrowsError(try Allocation.allocate(map: &map, demand: demand, region: .all, suitability: [:], constraints: constraints,
                                                     settings: AllocationSettings())) { error in
            XCTAssertTrue((error as? ScenarioInputError)?.message.hasPrefix("allocation stopped after") ?? false, "\(error)")
        }
    }

    /// Pontius & Millones (2011)-style figures on a map small enough to count by hand.
    func testAgreementFiguresByHand() {
        // 10 cells: initial all cropland (1) except one built-up (5).
        let initial = LandMap(width: 10, height: 1, cells: [5, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        let observed = LandMap(width: 10, height: 1, cells: [5, 5, 5, 1, 1, 1, 1, 1, 1, 2])
        let simulated = LandMap(width: 10, height: 1, cells: [5, 5, 1, 5, 1, 1, 1, 1, 5, 5])
        let a = SimulationAgreement(initial: initial, observed: observed, simulated: simulated)
        // Observed change: cells 1, 2, 9. Simulated change: 1, 3, 8, 9.
        XCTAssertEqual(a.hits, 1)          // cell 1
        XCTAssertEqual(a.wrongHits, 1)     // cell 9: observed forest, simulated built-up
        XCTAssertEqual(a.misses, 1)        // cell 2
        XCTAssertEqual(a.falseAlarms, 2)   // cells 3, 8
        XCTAssertEqual(a.figureOfMerit, 1.0 / 5, accuracy: 1e-12)
        // Simulated: 5 x5, 5 x1; observed: 3 x5, 6 x1, 1 x2. Quantity = (|5-3| + |5-6| + |0-1|) / 2 / 10 = 0.2.
        XCTAssertEqual(a.quantityDisagreement, 0.2, accuracy: 1e-12)
        // Cells 0, 1, 4, 5, 6, 7 agree; allocation: class 5 2·min(5−2, 3−2) + class 1 2·min(5−4, 6−4), halved, over 10.
        XCTAssertEqual(a.overallAgreement, 0.6, accuracy: 1e-12)
        XCTAssertEqual(a.allocationDisagreement, 0.2, accuracy: 1e-12)
        XCTAssertEqual(a.quantityDisagreement + a.allocationDisagreement, 1 - a.overallAgreement, accuracy: 1e-12)
        // Kappa: p_o 0.6, p_e = (5*3 + 5*6 + 0*1) / 100 = 0.45 -> 0.15 / 0.55.
        XCTAssertEqual(a.kappa, 0.15 / 0.55, accuracy: 1e-12)
        let null = SimulationAgreement(initial: initial, observed: observed, simulated: initial)
        XCTAssertEqual(null.figureOfMerit, 0)
        XCTAssertEqual(null.misses, 3)
    }

    func testRandomAllocationKeepsTheDemand() throws {
        let start = town()
        let counts = start.classCounts()
        let demand = Demand(cells: [1: counts[1] - 400, 2: counts[2] - 100, 5: counts[5] + 500])
        let east = start.classCounts(in: .east)
        let eastDemand = Demand(cells: [1: east[1] - 400, 2: east[2], 5: east[5] + 400])
        let random = try RandomAllocation.allocate(initial: start, demand: eastDemand, region: .east, seed: 3)
        XCTAssertEqual(random.classCounts(in: .west), start.classCounts(in: .west), "nothing changes outside the region")
        XCTAssertEqual(random.classCounts(in: .east)[5], east[5] + 400)
        XCTAssertEqual(random.classCounts(in: .east)[1], east[1] - 400)
        let randomAll = try RandomAllocation.allocate(initial: start, demand: demand, region: .all, seed: 3)
        XCTAssertEqual(randomAll.classCounts()[5], counts[5] + 500)
        XCTAssertEqual(randomAll.classCounts()[2], counts[2] - 100)
    }
}
