import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `assess.simulation`: a simulated class map against the observed one, from the same initial map: Kappa, figure of
/// merit, quantity and allocation disagreement, and the same figures for the null model (no change) and for a random
/// allocation of the simulated map's own quantities (the chance level).
public struct AssessSimulationStage: WholeSinkStage {
    public static let path = Option<String>("path", .outputPath, default: "simulation_assessment",
        help: "output name: NAME.json, NAME.csv")
    public static let region = Option<Region>("region", default: .all, help: "half of the grid to compare (the hold-out half of the simulation), or all")
    public static let seed = Option<Int>("seed", default: 1, range: 0...2_000_000_000, help: "seed of the random allocation")
    public static let randomRuns = Option<Int>("random_runs", default: 10, range: 1...1000, help: "random allocations averaged")

    public static let descriptor = StageDescriptor(
        id: "assess.simulation",
        summary: "Simulated against observed land use: Kappa, figure of merit, Pontius quantity/allocation disagreement, against null and random models",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("initial", kinds: [.classes, .scene], help: "land cover at the start of the simulated interval"),
            InputPort("simulated", kinds: [.classes, .scene], help: "the simulated land cover at its end"),
            InputPort("observed", kinds: [.classes, .scene], help: "the observed land cover at its end"),
        ],
        output: nil,
        keys: [path, region, seed, randomRuns])

    public let path: String
    public let region: Region
    public let seed: Int
    public let randomRuns: Int

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        region = options[Self.region]
        seed = options[Self.seed]
        randomRuns = options[Self.randomRuns]
    }

    public var outputPaths: [String] { ["\(path).json", "\(path).csv"] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        for input in inputs where input.bandNames.count != 1 {
            throw StageProblem("input '\(input.port ?? "?")' must be one band of classes (it has \(input.bandNames.count))")
        }
        let grids = inputs.compactMap(\.nativeGrid)
        if let first = grids.first, grids.contains(where: { $0 != first }) {
            throw StageProblem("the maps are on different grids (\(grids.map(\.description).joined(separator: "; "))): compare maps of one grid")
        }
    }

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        let chunkRows = max(1, min(256, (1 << 24) / max(grid.width, 1)))
        func map(_ port: String) throws -> LandMap {
            let dataset = try Dataset.open(inputs.first { $0.description.port == port }!.path)
            var map = LandMap(width: grid.width, height: grid.height)
            try forEachRowChunk(of: dataset, grid: grid, rows: chunkRows) { values, base in
                for i in values.indices where values[i].isFinite && values[i] >= 1 {
                    guard values[i] < 256 else { throw RunError(.input, "assess.simulation: input '\(port)' holds class code \(values[i]), above 255") }
                    map.cells[base + i] = UInt8(values[i])
                }
            }
            return map
        }
        // The three maps and the random model's (one byte per cell each), GDAL's block cache, the rows being read, the
        // program (as simulate.landuse counts them): the whole process against --memory.
        let bytes = grid.width * grid.height * 4 + GDALRuntime.cacheBytes + 2 * chunkRows * grid.width * MemoryLayout<Float>.size
            + SimulationRun.processBytes
        if bytes > context.memoryBudget {
            throw RunError(.resources, "assess.simulation: a \(grid.width) x \(grid.height) grid needs \(ByteFormat.text(bytes)) (four class maps of one byte per cell, GDAL's block cache, the rows being read and the program), more than the memory budget of \(ByteFormat.text(context.memoryBudget))")
        }
        let initial = try map("initial"), simulated = try map("simulated"), observed = try map("observed")
        let counts = simulated.classCounts(in: region)
        var demand: [Int: Int] = [:]
        for code in 1..<256 where counts[code] > 0 || initial.classCounts(in: region)[code] > 0 { demand[code] = counts[code] }
        let initialCounts = initial.classCounts(in: region), simulatedTotal = counts.dropFirst().reduce(0, +)
        guard initialCounts.dropFirst().reduce(0, +) == simulatedTotal else {
            throw RunError(.input, "assess.simulation: the simulated map has \(simulatedTotal) classified cells in region \(region.rawValue), the initial map \(initialCounts.dropFirst().reduce(0, +)): not a simulation from this initial map")
        }
        let changing = (1..<256).reduce(0) { $0 + max(0, counts[$1] - initialCounts[$1]) }
        if bytes + 16 * changing > context.memoryBudget {
            throw RunError(.resources, "assess.simulation: the random model places \(changing) changing cells (16 bytes each) on top of \(ByteFormat.text(bytes)), more than the memory budget of \(ByteFormat.text(context.memoryBudget))")
        }
        let model = SimulationAgreement(initial: initial, observed: observed, simulated: simulated, region: region)
        let null = SimulationAgreement(initial: initial, observed: observed, simulated: initial, region: region)
        var random: [SimulationAgreement] = []
        for run in 0..<randomRuns {
            let chance = try RandomAllocation.allocate(initial: initial, demand: Demand(cells: demand), region: region, seed: UInt64(seed + run))
            random.append(SimulationAgreement(initial: initial, observed: observed, simulated: chance, region: region))
        }
        let result = SimulationAssessmentResult(version: 1, region: region.rawValue, model: model, null: null, random: random,
                                                randomMean: .init(random))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try context.outputRoot.writeAtomically(try encoder.encode(result), to: "\(path).json")
        var rows = [["model", "kappa", "figure_of_merit", "quantity_disagreement", "allocation_disagreement", "hits", "misses", "wrong_hits", "false_alarms"]]
        func row(_ name: String, _ a: SimulationAgreement) -> [String] {
            [name, number(a.kappa), number(a.figureOfMerit), number(a.quantityDisagreement), number(a.allocationDisagreement),
             String(a.hits), String(a.misses), String(a.wrongHits), String(a.falseAlarms)]
        }
        rows.append(row("simulated", model))
        rows.append(row("null (no change)", null))
        rows.append(["random allocation (mean of \(randomRuns))", number(result.randomMean.kappa), number(result.randomMean.figureOfMerit),
                     number(result.randomMean.quantityDisagreement), number(result.randomMean.allocationDisagreement), "", "", "", ""])
        try context.outputRoot.writeAtomically(csv(rows), to: "\(path).csv")
        context.findings?.set("figure_of_merit", model.figureOfMerit)
        context.findings?.set("kappa", model.kappa)
        return outputPaths
    }
}

/// What `assess.simulation` writes as NAME.json.
public struct SimulationAssessmentResult: Codable, Sendable, Equatable {
    public struct Mean: Codable, Sendable, Equatable {
        public var kappa: Double, figureOfMerit: Double, quantityDisagreement: Double, allocationDisagreement: Double
        init(_ runs: [SimulationAgreement]) {
            func mean(_ f: (SimulationAgreement) -> Double) -> Double { runs.isEmpty ? .nan : runs.map(f).reduce(0, +) / Double(runs.count) }
            kappa = mean(\.kappa); figureOfMerit = mean(\.figureOfMerit)
            quantityDisagreement = mean(\.quantityDisagreement); allocationDisagreement = mean(\.allocationDisagreement)
        }
    }
    public var version: Int
    public var region: String
    public var model: SimulationAgreement
    public var null: SimulationAgreement
    public var random: [SimulationAgreement]
    public var randomMean: Mean
}
