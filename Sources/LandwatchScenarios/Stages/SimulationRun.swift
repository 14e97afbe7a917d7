import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// One run of `simulate.landuse`: reads the materialised inputs, checks everything that can be wrong before the first
/// allocation, calibrates, then simulates every scenario and writes its outputs.
struct SimulationRun {
    let stage: SimulateLandUseStage
    let inputs: [MaterializedRaster]
    let grid: RasterGrid
    let context: RunContext

    var id: String { SimulateLandUseStage.descriptor.id }
    func input(_ port: String) -> MaterializedRaster? { inputs.first { $0.description.port == port } }
    func fail(_ message: String) -> RunError { RunError(.input, "\(id): \(message)") }
    func fail(_ category: RunError.Category, _ message: String) -> RunError { RunError(category, "\(id): \(message)") }

    /// Layer bits per cell.
    static let redline: UInt8 = 1, basicFarmland: UInt8 = 2, insideBoundary: UInt8 = 4

    /// The program itself, resident before the stage holds anything (its code, the engine, GDAL's and XGBoost's
    /// libraries and their heaps): a whole run of the stage on 300 x 300 cells peaks at 110 MB (debug build), so 160 MiB
    /// leaves room; SimulationMemoryTests checks the sum against the peak at the smallest budget accepted.
    static let processBytes = 160 << 20

    /// Rows read at a time when streaming the materialised rasters.
    var chunkRows: Int { max(1, min(256, (1 << 24) / max(grid.width, 1))) }

    func execute() throws -> [String] {
        let options = stage.options
        let width = grid.width, height = grid.height, cells = width * height
        let legend = stage.legend
        let startChoice = options[SimulateLandUseStage.start]
        let holdout = options[SimulateLandUseStage.holdout]
        let simulated: Region = holdout, calibration: Region = holdout.complement
        let assessing = startChoice == .before
        let hasZones = input("zones") != nil
        // 1. Memory: every whole-grid array this run holds, before a cell is read (the suitability, one byte per cell
        //    and gaining class, is checked again once the demand says how many classes gain).
        //    On top of them the whole process holds GDAL's block cache (a quarter of the budget, filled by the reads and
        //    the map written), the rows read at a time (Float, and their conversion) and the program itself: the check
        //    is of the whole process against --memory, as measured in make bench (peak RSS).
        let baseBytes = cells * (5 + (assessing ? 1 : 0) + (hasZones ? 2 : 0))
        let overheadBytes = Self.processBytes + GDALRuntime.cacheBytes + 2 * chunkRows * width * MemoryLayout<Float>.size
        func checkMemory(_ bytes: Int, _ what: String) throws {
            if bytes + overheadBytes > context.memoryBudget {
                throw fail(.resources, "a \(width) x \(height) grid needs \(ByteFormat.text(bytes + overheadBytes)): \(ByteFormat.text(bytes)) for \(what), and \(ByteFormat.text(overheadBytes)) for GDAL's block cache, the rows being read and the program; more than the memory budget of \(ByteFormat.text(context.memoryBudget)); raise --memory or simulate a smaller area (docs/scenarios.md)")
            }
        }
        try checkMemory(baseBytes, "two class maps, the working map, plan layers and constraints" + (hasZones ? ", zones" : "") + (assessing ? ", the random model's map" : ""))

        // 2. The class maps, on one legend.
        let before = try readClasses("before")
        let after = try readClasses("after")
        let layers = try readLayers()
        let zones = try readZones()

        // 3. Demand per scenario, from the calibration half's transitions.
        let start = assessing ? before : after
        let transitions = TransitionCounts(before: before, after: after, region: calibration)
        guard !transitions.classes.isEmpty else { throw fail("no cell has a class at both dates on the calibration region \(calibration.rawValue)") }
        let observedMatrix = TransitionMatrix(counts: transitions)
        let steps = try simulationSteps()
        let startCounts = start.classCounts(in: simulated)
        var initial: [Int: Int] = [:]
        for code in 1..<256 where startCounts[code] > 0 { initial[code] = startCounts[code] }
        for code in observedMatrix.classes where initial[code] == nil { initial[code] = 0 }
        let total = initial.values.reduce(0, +)
        guard total > 0 else { throw fail("no cell of the simulated region (\(simulated.rawValue)) has a class at the start date") }
        var demands: [String: Demand] = [:]
        for scenario in stage.scenarioList {
            demands[scenario.name] = try demand(for: scenario, initial: initial, observed: observedMatrix, steps: steps)
        }
        // 4. Demand against the land open to conversion, per scenario, before anything is simulated.
        for scenario in stage.scenarioList {
            try checkFeasible(scenario, demand: demands[scenario.name]!, initial: initial, start: start, layers: layers, region: simulated)
        }
        let gaining = Set(demands.values.flatMap { d in d.cells.filter { $0.value > (initial[$0.key] ?? 0) }.map(\.key) }).sorted()
        // The random model keeps 16 bytes per changing cell while it places the same demand at random.
        let changing = demands.values.map { d in d.cells.reduce(0) { $0 + max(0, $1.value - (initial[$1.key] ?? 0)) } }.max() ?? 0
        let gridBytes = baseBytes + cells * gaining.count + (assessing ? 16 * changing : 0)
        try checkMemory(gridBytes, "as above, and the suitability of \(gaining.count) gaining class\(gaining.count == 1 ? "" : "es")"
                        + (assessing ? " and the random model's \(changing) changing cells" : ""))

        // 5. Drivers, each checked for a valid pixel; suitability learned on the calibration half.
        var clock = Date()
        func lap(_ name: String) {
            context.findings?.set("seconds_\(name)", Date().timeIntervalSince(clock))
            clock = Date()
        }
        let drivers = try DriverSet(run: self, classMap: before, layers: layers)
        let trainer = try drivers.train(before: before, after: after, classes: gaining, region: calibration)
        let model = try trainer.train(rounds: options[SimulateLandUseStage.rounds], maxDepth: options[SimulateLandUseStage.maxDepth], eta: 0.3,
                                      threads: context.threads)
        for (code, seen) in model.untrained.sorted(by: { $0.key < $1.key }) {
            context.logger.warning("\(id): class \(legend.name(of: code)) expanded on \(seen) calibration cells, fewer than min_expansion \(options[SimulateLandUseStage.minExpansion]): allocated by its neighbourhood alone")
            context.findings?.note("\(legend.name(of: code)): no suitability model (\(seen) expansion cells)")
        }
        lap("drivers_and_training")
        let predictionDrivers = assessing ? drivers : try DriverSet(run: self, classMap: after, layers: layers)
        var suitability: [Int: [UInt8]] = [:]
        for code in model.trainedClasses { suitability[code] = try predictionDrivers.predict(model, class: code, region: simulated) }
        lap("suitability_prediction")

        // 6. The scenarios.
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let farmland = legend.code(for: "cropland"), builtUp = legend.code(for: "built-up")
        var written: [String] = []
        var results: [ScenarioSimulationResult.Scenario] = []
        var constraints = [UInt8](repeating: 0, count: cells)
        let seed = options[SimulateLandUseStage.seed], runs = options[SimulateLandUseStage.runs]
        let zoneTable = input("zones")?.description.featureTables.values.first
        for scenario in stage.scenarioList {
            let closed = closedLayers(scenario)
            let closedBits = closedMask(closed)
            let hasBoundary = input("urban_boundary") != nil
            for i in 0..<cells {
                var flags: UInt8 = layers.isEmpty ? 0 : (layers[i] & closedBits != 0 ? CellConstraint.closed : 0)
                if hasBoundary && layers[i] & Self.insideBoundary == 0 { flags |= CellConstraint.outsideBoundary }
                constraints[i] = flags
            }
            let demand = demands[scenario.name]!
            var settings = AllocationSettings()
            settings.neighbourhood = options[SimulateLandUseStage.neighbourhood]
            settings.iterations = options[SimulateLandUseStage.iterations]
            settings.weights = scenario.weights
            settings.seeding = scenario.seeding ?? options[SimulateLandUseStage.seeding]
            settings.randomness = scenario.randomness ?? options[SimulateLandUseStage.randomness]
            settings.outsideBoundaryFactor = hasBoundary ? (scenario.outsideBoundary ?? options[SimulateLandUseStage.outsideBoundary]) : 1
            settings.boundaryClasses = stage.boundaryCodes
            settings.forbidden = scenario.forbidden
            settings.threads = context.threads
            var zoneAccumulator = ZoneAccumulator(zones: zones, start: start, layers: layers, farmland: farmland, builtUp: builtUp,
                                                  vegetation: stage.vegetationCodes, region: simulated, width: width, height: height)
            var converted: [Double] = [], seeded: [Double] = [], iterations = 0, closedChanged = 0
            var model: [SimulationAgreement] = [], random: [SimulationAgreement] = []
            var simulatedCounts = [Int](repeating: 0, count: 256)
            for run in 0..<runs {
                var map = start
                settings.seed = UInt64(seed + run)
                let report: AllocationReport
                if run == 0 { clock = Date() }
                do {
                    report = try Allocation.allocate(map: &map, demand: demand, region: simulated, suitability: suitability,
                                                     constraints: constraints, settings: settings)
                } catch {
                    throw fail("scenario \(scenario.name), run \(run + 1): \(error.message)")
                }
                if run == 0 { lap("\(scenario.name).allocation_run1") }
                converted.append(Double(report.converted))
                seeded.append(Double(report.seeded))
                iterations = max(iterations, report.iterations)
                for i in 0..<cells where constraints[i] & CellConstraint.closed != 0 && map.cells[i] != start.cells[i] { closedChanged += 1 }
                zoneAccumulator.add(map)
                if run == 0 {
                    simulatedCounts = map.classCounts(in: simulated)
                    written.append(try writeClassMap(map, to: "\(stage.path)/\(scenario.name).tif"))
                }
                if assessing {
                    model.append(SimulationAgreement(initial: before, observed: after, simulated: map, region: simulated))
                    let open: (Int) -> Bool = { constraints[$0] & CellConstraint.closed == 0 }
                    let chance: LandMap
                    do {
                        chance = try RandomAllocation.allocate(initial: before, demand: demand, region: simulated, open: open, seed: UInt64(seed + run))
                    } catch {
                        throw fail("scenario \(scenario.name), random model: \(error.message)")
                    }
                    random.append(SimulationAgreement(initial: before, observed: after, simulated: chance, region: simulated))
                }
            }
            let zoneRows = zoneAccumulator.results(pixelArea: pixelArea, table: zoneTable)
            written.append(try writeZones(zoneRows, to: "\(stage.path)/\(scenario.name)_zones.csv"))
            let demandRows = demand.cells.keys.sorted().map { code in
                ScenarioSimulationResult.ClassDemand(code: code, name: legend.name(of: code), start: initial[code] ?? 0,
                                                     demand: demand.cells[code]!, simulated: simulatedCounts[code])
            }
            let assessment = assessing ? ScenarioSimulationResult.Assessment(
                region: simulated.rawValue, model: model,
                null: SimulationAgreement(initial: before, observed: after, simulated: before, region: simulated), random: random) : nil
            results.append(ScenarioSimulationResult.Scenario(
                name: scenario.name, map: "\(stage.path)/\(scenario.name).tif", zonesTable: "\(stage.path)/\(scenario.name)_zones.csv",
                closed: closed, demand: demandRows, convertedCells: .init(converted), seededCells: .init(seeded), iterations: iterations,
                closedCellsChanged: closedChanged, zones: zoneRows, assessment: assessment))
            context.findings?.set("\(scenario.name).converted_cells", converted.first ?? 0)
            if let first = model.first { context.findings?.set("\(scenario.name).figure_of_merit", first.figureOfMerit) }
        }

        let result = ScenarioSimulationResult(
            version: ScenarioSimulationResult.currentVersion, start: startChoice.rawValue, steps: steps, holdout: holdout.rawValue, runs: runs,
            seed: seed, cellAreaM2: pixelArea, classes: observedMatrix.classes.map { legend.name(of: $0) },
            transitionMatrix: observedMatrix.probabilities, drivers: drivers.names,
            suitabilityClasses: model.trainedClasses.map { legend.name(of: $0) },
            untrainedClasses: Dictionary(uniqueKeysWithValues: model.untrained.map { (legend.name(of: $0.key), $0.value) }),
            memoryBytes: gridBytes + overheadBytes, scenarios: results)
        try context.outputRoot.writeAtomically(try result.encoded(), to: "\(stage.path)/scenarios.json")
        try context.outputRoot.writeAtomically(csv(summaryRows(result)), to: "\(stage.path)/scenarios.csv")
        written += ["\(stage.path)/scenarios.json", "\(stage.path)/scenarios.csv"]
        if assessing {
            try context.outputRoot.writeAtomically(csv(assessmentRows(result)), to: "\(stage.path)/assessment.csv")
            written.append("\(stage.path)/assessment.csv")
        }
        return written
    }

    // MARK: - Inputs

    func readClasses(_ port: String) throws -> LandMap {
        let raster = input(port)!
        let dataset = try Dataset.open(raster.path)
        var map = LandMap(width: grid.width, height: grid.height)
        let known = Set(stage.legend.classes.map(\.code))
        try forEachRowChunk(of: dataset, grid: grid, rows: chunkRows) { values, base in
            for i in values.indices {
                let v = values[i]
                guard v.isFinite, v >= 1 else { continue }
                let code = Int(v)
                guard known.contains(code), Float(code) == v else {
                    throw fail("input '\(port)' holds class code \(v.formatted()) at row \((base + i) / grid.width), column \((base + i) % grid.width), which the legend does not have (legend: \(stage.legend.classes.map { "\($0.code) \($0.name)" }.joined(separator: ", "))): both dates must use the pipeline's legend")
                }
                map.cells[base + i] = UInt8(code)
            }
        }
        if !map.cells.contains(where: { $0 != 0 }) { throw fail("input '\(port)' has no classified cell") }
        return map
    }

    /// Plan layers as bits per cell (empty when none is connected).
    func readLayers() throws -> [UInt8] {
        let sources: [(String, UInt8)] = [("redline", Self.redline), ("basic_farmland", Self.basicFarmland), ("urban_boundary", Self.insideBoundary)]
        let present = sources.filter { input($0.0) != nil }
        guard !present.isEmpty else { return [] }
        var bits = [UInt8](repeating: 0, count: grid.width * grid.height)
        for (port, bit) in present {
            try forEachRowChunk(of: try Dataset.open(input(port)!.path), grid: grid, rows: chunkRows) { values, base in
                for i in values.indices where values[i].isFinite && values[i] > 0 { bits[base + i] |= bit }
            }
        }
        return bits
    }

    func readZones() throws -> [UInt16]? {
        guard let raster = input("zones") else { return nil }
        let dataset = try Dataset.open(raster.path)
        var zones = [UInt16](repeating: 0, count: grid.width * grid.height)
        try forEachRowChunk(of: dataset, grid: grid, rows: chunkRows) { values, base in
            for i in values.indices where values[i].isFinite && values[i] >= 1 {
                guard values[i] <= 65535 else { throw fail("input 'zones' has more than 65,535 zones") }
                zones[base + i] = UInt16(values[i])
            }
        }
        return zones
    }

    func simulationSteps() throws -> Double {
        let options = stage.options
        if options[SimulateLandUseStage.start] == .before { return 1 }
        guard let target = options[SimulateLandUseStage.targetYear] else { return options[SimulateLandUseStage.steps] }
        let years = ["before", "after"].map { input($0)?.description.date.flatMap { Int($0.prefix(4)) } }
        guard let first = years[0], let second = years[1], second > first else {
            throw fail("target_year \(target) needs two dates in order; the class maps are of \(years.map { $0.map(String.init) ?? "?" }.joined(separator: " and "))")
        }
        guard target > second else { throw fail("target_year \(target) is not after the second date (\(second))") }
        return Double(target - second) / Double(second - first)
    }

    func demand(for scenario: ScenarioSpec, initial: [Int: Int], observed: TransitionMatrix, steps: Double) throws -> Demand {
        let legend = stage.legend
        let total = initial.values.reduce(0, +)
        if let totals = scenario.totals {
            let missing = initial.filter { $0.value > 0 && totals[$0.key] == nil }.keys.sorted()
            if !missing.isEmpty {
                throw fail("scenario \(scenario.name): totals must name every class of the map; missing " + missing.map { legend.name(of: $0) }.joined(separator: ", "))
            }
            let sum = totals.values.reduce(0, +)
            guard sum == total else {
                throw fail("scenario \(scenario.name): totals sum to \(sum) cells, but the simulated region has \(total) classified cells")
            }
            return Demand(cells: totals)
        }
        let matrix = stage.matrices[scenario.name] ?? observed
        do {
            return try Demand.markov(initial: initial, matrix: matrix, steps: steps).scalingChange(scenario.changeFactors, initial: initial)
                .adding(scenario.added)
        } catch {
            throw fail("scenario \(scenario.name): \(error.message)")
        }
    }

    func closedLayers(_ scenario: ScenarioSpec) -> [String] {
        scenario.closed ?? closableLayers.filter { input($0) != nil }
    }

    func closedMask(_ closed: [String]) -> UInt8 {
        (closed.contains("redline") ? Self.redline : 0) | (closed.contains("basic_farmland") ? Self.basicFarmland : 0)
    }

    /// Refuses a demand the open land cannot meet: a gaining class needing more cells than the open cells of losing
    /// classes it may take, or a losing class asked to give more open cells than it has.
    func checkFeasible(_ scenario: ScenarioSpec, demand: Demand, initial: [Int: Int], start: LandMap, layers: [UInt8], region: Region) throws {
        let legend = stage.legend
        let closedBits = closedMask(closedLayers(scenario))
        var open = [Int](repeating: 0, count: 256)
        for i in 0..<start.count where start.cells[i] != 0 && region.contains(i, width: start.width, height: start.height)
            && (layers.isEmpty || layers[i] & closedBits == 0) {
            open[Int(start.cells[i])] += 1
        }
        let losing = demand.cells.filter { $0.value < (initial[$0.key] ?? 0) }
        for (code, target) in losing.sorted(by: { $0.key < $1.key }) where (initial[code] ?? 0) - target > open[code] {
            throw fail("scenario \(scenario.name): the demand takes \((initial[code] ?? 0) - target) cells from \(legend.name(of: code)), which has \(open[code]) open to conversion (closed: \(closedLayers(scenario).joined(separator: ", ")))")
        }
        for (code, target) in demand.cells.sorted(by: { $0.key < $1.key }) where target > (initial[code] ?? 0) {
            let need = target - (initial[code] ?? 0)
            let available = losing.keys.filter { !scenario.forbidden.contains([$0, code]) }.reduce(0) { $0 + open[$1] }
            if need > available {
                throw fail("scenario \(scenario.name): the demand for \(legend.name(of: code)) is \(need) cells more than today, larger than the \(available) cells of shrinking classes open to conversion (closed: \(closedLayers(scenario).joined(separator: ", ")))")
            }
        }
    }

    // MARK: - Outputs

    func writeClassMap(_ map: LandMap, to relative: String) throws -> String {
        let target = try context.outputRoot.resolve(relative)
        let output = AtomicOutput(target: target)
        do {
            let options = GeoTIFFOptions(blockSize: context.blockSize)
            let dataset = try Dataset.createGeoTIFF(at: output.temporaryPath, grid: grid, bandCount: 1, dataType: .uint8, options: options)
            let band = try dataset.band(1)
            try band.setNoDataValue(0)
            try band.setCategories(legendCategories(stage.legend))
            try map.cells.withUnsafeBytes { raw in
                try band.writeRaw(Window(width: grid.width, height: grid.height), from: raw.baseAddress!, byteCapacity: raw.count,
                                  type: .uint8, lineStride: grid.width)
            }
            try dataset.close()
            // A Cloud-Optimized GeoTIFF as write.raster's outputs (issue 25); class codes stay codes (nearest).
            try Dataset.makeCloudOptimized(at: output.temporaryPath, options: options, resampling: .nearest, threads: context.threads)
            try output.commit()
        } catch {
            output.abort()
            throw error
        }
        return relative
    }

    func writeZones(_ zones: [ScenarioSimulationResult.Zone], to relative: String) throws -> String {
        var rows = [["zone", "name", "cells", "farmland_lost_m2", "farmland_lost_mu", "farmland_lost_m2_min", "farmland_lost_m2_max",
                     "redline_built_up_m2_before", "redline_built_up_m2_after", "intensity_before", "intensity_after",
                     "intensity_after_min", "intensity_after_max", "green_coverage_before", "green_coverage_after"]]
        for z in zones {
            rows.append([z.zone, z.name, String(z.cells), number(z.farmlandLostM2.mean, 1), number(z.farmlandLostMu, 2),
                         number(z.farmlandLostM2.min, 1), number(z.farmlandLostM2.max, 1), number(z.redlineBuiltUpM2Before, 1),
                         number(z.redlineBuiltUpM2After.mean, 1), number(z.intensityBefore), number(z.intensityAfter.mean),
                         number(z.intensityAfter.min), number(z.intensityAfter.max), number(z.greenCoverageBefore), number(z.greenCoverageAfter.mean)])
        }
        try context.outputRoot.writeAtomically(csv(rows), to: relative)
        return relative
    }

    func summaryRows(_ result: ScenarioSimulationResult) -> [[String]] {
        var rows = [["scenario", "class", "cells_start", "cells_demand", "cells_simulated_run1", "closed", "converted_mean", "seeded_mean"]]
        for scenario in result.scenarios {
            for d in scenario.demand {
                rows.append([scenario.name, d.name, String(d.start), String(d.demand), String(d.simulated), scenario.closed.joined(separator: ";"),
                             number(scenario.convertedCells.mean, 1), number(scenario.seededCells.mean, 1)])
            }
        }
        return rows
    }

    func assessmentRows(_ result: ScenarioSimulationResult) -> [[String]] {
        var rows = [["scenario", "model", "run", "region", "cells", "kappa", "figure_of_merit", "hits", "misses", "wrong_hits", "false_alarms",
                     "quantity_disagreement", "allocation_disagreement", "observed_change", "simulated_change"]]
        func row(_ s: String, _ m: String, _ run: String, _ region: String, _ a: SimulationAgreement) -> [String] {
            [s, m, run, region, String(a.cells), number(a.kappa), number(a.figureOfMerit), String(a.hits), String(a.misses), String(a.wrongHits),
             String(a.falseAlarms), number(a.quantityDisagreement), number(a.allocationDisagreement), String(a.observedChange), String(a.simulatedChange)]
        }
        for scenario in result.scenarios {
            guard let a = scenario.assessment else { continue }
            for (run, m) in a.model.enumerated() { rows.append(row(scenario.name, "simulate.landuse", String(run + 1), a.region, m)) }
            rows.append(row(scenario.name, "null (no change)", "", a.region, a.null))
            for (run, r) in a.random.enumerated() { rows.append(row(scenario.name, "random allocation", String(run + 1), a.region, r)) }
        }
        return rows
    }
}

/// Per-zone figures over the runs of one scenario.
struct ZoneAccumulator {
    let zones: [UInt16]?
    let start: LandMap
    let layers: [UInt8]
    let farmland: Int?, builtUp: Int?
    let vegetation: Set<Int>
    let region: Region
    let width: Int, height: Int
    struct Figures { var cells = 0, farmland = 0, redlineBuilt = 0, built = 0, green = 0 }
    var before: [Int: Figures] = [:]
    var runs: [[Int: (lost: Int, redlineBuilt: Int, built: Int, green: Int)]] = []

    init(zones: [UInt16]?, start: LandMap, layers: [UInt8], farmland: Int?, builtUp: Int?, vegetation: Set<Int>, region: Region, width: Int, height: Int) {
        self.zones = zones; self.start = start; self.layers = layers; self.farmland = farmland; self.builtUp = builtUp
        self.vegetation = vegetation; self.region = region; self.width = width; self.height = height
        for i in 0..<start.count where start.cells[i] != 0 && region.contains(i, width: width, height: height) {
            let z = zones.map { Int($0[i]) } ?? 0
            if zones != nil && z == 0 { continue }
            let c = Int(start.cells[i])
            before[z, default: Figures()].cells += 1
            if c == builtUp { before[z]!.built += 1; if !layers.isEmpty && layers[i] & SimulationRun.redline != 0 { before[z]!.redlineBuilt += 1 } }
            if vegetation.contains(c) { before[z]!.green += 1 }
        }
    }

    mutating func add(_ map: LandMap) {
        var figures: [Int: (lost: Int, redlineBuilt: Int, built: Int, green: Int)] = [:]
        for i in 0..<map.count where start.cells[i] != 0 && region.contains(i, width: width, height: height) {
            let z = zones.map { Int($0[i]) } ?? 0
            if zones != nil && z == 0 { continue }
            let c = Int(map.cells[i]), s = Int(start.cells[i])
            var f = figures[z] ?? (0, 0, 0, 0)
            if s == farmland && c != farmland { f.lost += 1 }
            if c == builtUp { f.built += 1; if !layers.isEmpty && layers[i] & SimulationRun.redline != 0 { f.redlineBuilt += 1 } }
            if vegetation.contains(c) { f.green += 1 }
            figures[z] = f
        }
        runs.append(figures)
    }

    func results(pixelArea: Double, table: FeatureTable?) -> [ScenarioSimulationResult.Zone] {
        before.keys.sorted().map { z in
            let b = before[z]!, n = Double(max(b.cells, 1))
            let lost = runs.map { Double($0[z]?.lost ?? 0) * pixelArea }
            let feature = table?.feature(number: z)
            return ScenarioSimulationResult.Zone(
                zone: zones == nil ? "all" : (feature?.id ?? String(z)), name: feature?.name ?? (zones == nil ? "whole area" : ""), cells: b.cells,
                farmlandLostM2: .init(lost), farmlandLostMu: ScenarioSimulationResult.Spread(lost).mean / 666.67,
                redlineBuiltUpM2Before: Double(b.redlineBuilt) * pixelArea,
                redlineBuiltUpM2After: .init(runs.map { Double($0[z]?.redlineBuilt ?? 0) * pixelArea }),
                intensityBefore: Double(b.built) / n, intensityAfter: .init(runs.map { Double($0[z]?.built ?? 0) / n }),
                greenCoverageBefore: Double(b.green) / n, greenCoverageAfter: .init(runs.map { Double($0[z]?.green ?? 0) / n }))
        }
    }
}

func legendCategories(_ legend: Legend) -> [Band.Category] {
    legend.classes.compactMap { item in
        let hex = item.color.dropFirst()
        guard hex.count == 6, let rgb = UInt32(hex, radix: 16) else { return nil }
        let name = item.nameZH == item.name ? item.name : "\(item.name) \(item.nameZH)"
        return Band.Category(value: item.code, name: name, red: UInt8(rgb >> 16 & 0xff), green: UInt8(rgb >> 8 & 0xff), blue: UInt8(rgb & 0xff))
    }
}

func number(_ value: Double, _ digits: Int = 4) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : ""
}

func csvField(_ text: String) -> String {
    text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}

/// CSV with a byte-order mark, for Excel.
func csv(_ rows: [[String]]) -> Data {
    Data(("\u{FEFF}" + rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n").utf8)
}

enum ByteFormat {
    static func text(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    }
}

/// Reads band 1 of `dataset` in bands of `rows` whole rows, calling `body` with each band's values and the index of
/// its first cell on the grid: the whole-grid stages of this module read their inputs this way, never whole.
func forEachRowChunk(of dataset: Dataset, grid: RasterGrid, rows: Int, _ body: (_ values: [Float], _ base: Int) throws -> Void) throws {
    var row = 0
    while row < grid.height {
        let window = Window(colOffset: 0, rowOffset: row, width: grid.width, height: min(rows, grid.height - row))
        try body(try dataset.band(1).read(window), row * grid.width)
        row += window.height
    }
}
