import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `simulate.landuse`: land-use change under named scenarios, PLUS-like (Liang et al. 2021): Markov demand from two
/// classified dates, a suitability per class learned by XGBoost from where it expanded between them against driver
/// rasters, and a cellular automaton that allocates the demand with neighbourhood weights, patch seeding and the plan
/// as constraints. With `start: before` it simulates the observed interval again and assesses the result against the
/// second date (on the held-out half with `holdout:`), beside the null model and a random allocation of the same demand.
///
/// - Complexity: whole-raster. Memory: (5 + gaining classes) bytes per cell, 2 more with zones, checked against the
///   run's memory budget before a cell is read (docs/scenarios.md).
public struct SimulateLandUseStage: WholeSinkStage {
    public enum Start: String, OptionChoice { case after, before }

    public static let path = Option<String>("path", .outputPath, default: "scenarios",
        help: "output folder: SCENARIO.tif (run 1), SCENARIO_zones.csv, scenarios.json, scenarios.csv, assessment.csv")
    public static let start = Option<Start>("start", default: .after,
        help: "after: forecast from the second date; before: simulate the observed interval again from the first date and assess it against the second")
    public static let steps = Option<Double>("steps", default: 1, range: 0...100, excludesLowerBound: true,
        help: "Markov steps of the observed interval to simulate (1: as long again); target_year overrides it")
    public static let targetYear = Option<Int?>("target_year", help: "year to simulate to (needs the dates of both class maps); steps = (target - second) / (second - first)")
    public static let holdout = Option<Region>("holdout", default: .all,
        help: "half of the grid to predict (west, east, north, south): demand and suitability are calibrated on the other half only; all: no hold-out")
    public static let neighbourhood = Option<Int>("neighbourhood", default: 3, range: 3...15, help: "edge of the square CA neighbourhood in cells (odd)")
    public static let iterations = Option<Int>("iterations", default: 20, range: 1...1000, help: "CA iterations the demand is spread over")
    public static let seed = Option<Int>("seed", default: 1, range: 0...2_000_000_000, help: "random seed: the same seed gives the same maps, byte for byte")
    public static let runs = Option<Int>("runs", default: 1, range: 1...1000, help: "runs per scenario with seeds seed, seed+1, ...: the spread of every figure")
    public static let distanceTo = Option<OptionList>("distance_to", default: OptionList(["built-up"]),
        help: "classes whose distance (m, GDAL proximity) is a driver")
    public static let samples = Option<Int>("samples", default: 4000, range: 20...1_000_000, help: "training cells per label and class for the suitability")
    public static let minExpansion = Option<Int>("min_expansion", default: 20, range: 1...1_000_000,
        help: "a class that expanded on fewer calibration cells gets no suitability model (neighbourhood alone)")
    public static let rounds = Option<Int>("rounds", default: 30, range: 1...2000, help: "XGBoost boosting rounds per class")
    public static let maxDepth = Option<Int>("max_depth", default: 4, range: 1...16, help: "XGBoost tree depth")
    public static let seeding = Option<Double>("seeding", default: 0.1, range: 0...1, help: "patch seeding weight (PLUS's threshold of new patches); 0: no new patches")
    public static let randomness = Option<Double>("randomness", default: 0.3, range: 0...1, help: "random factor on each score, 0 (score alone) to 1")
    public static let outsideBoundary = Option<Double>("outside_boundary", default: 0.3, range: 0...1,
        help: "score factor outside the urban boundary for boundary_classes (with an urban_boundary input)")
    public static let boundaryClasses = Option<OptionList>("boundary_classes", default: OptionList(["built-up"]),
        help: "classes the urban development boundary restricts")
    public static let vegetationClasses = Option<OptionList>("vegetation_classes", default: OptionList(["cropland", "forest", "grassland"]),
        help: "classes counted as green in the zone tables")
    public static let scenarios = StructuredOption<ScenarioList>("scenarios", shape: "mapping of scenario names to settings",
        help: "named scenarios (baseline, ecological_protection, ...): demand, add, totals, transition_matrix, weights, closed, outside_boundary, forbidden, seeding, randomness; default: one baseline")

    public static let descriptor = StageDescriptor(
        id: "simulate.landuse",
        summary: "Land-use change under named scenarios, PLUS-like: Markov demand, XGBoost suitability, CA allocation within the plan",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("before", kinds: [.classes, .scene], help: "land cover at the first date (a one-band raster of legend codes will do)"),
            InputPort("after", kinds: [.classes, .scene], help: "land cover at the second date, on the same grid and legend"),
            InputPort("dem", kinds: [.index, .scene], help: "elevation: drivers elevation and slope (Horn)", optional: true),
            InputPort("drivers", kinds: [.index, .scene], help: "further driver rasters (each band one driver: distance to roads, centres, ...)", optional: true),
            InputPort("redline", kinds: [.plan, .mask], help: "ecological protection red line (closable)", optional: true),
            InputPort("basic_farmland", kinds: [.plan, .mask], help: "permanent basic farmland (closable)", optional: true),
            InputPort("urban_boundary", kinds: [.plan, .mask], help: "urban development boundary: a driver (distance) and a penalty outside it", optional: true),
            InputPort("zones", kinds: [.plan], help: "districts or planning units for the change tables (default: the whole grid)", optional: true),
        ],
        output: nil,
        keys: [path, start, steps, targetYear, holdout, neighbourhood, iterations, seed, runs, distanceTo, samples, minExpansion, rounds,
               maxDepth, seeding, randomness, outsideBoundary, boundaryClasses, vegetationClasses, scenarios])

    public let options: StageOptions
    public let path: String
    public let scenarioList: [ScenarioSpec]
    public let legend: Legend
    public let distanceClasses: [Int]
    public let boundaryCodes: Set<Int>
    public let vegetationCodes: Set<Int>
    /// The matrices given in the file, by scenario, checked when the file is loaded.
    let matrices: [String: TransitionMatrix]

    public init(options: StageOptions) throws(StageProblem) {
        self.options = options
        path = options[Self.path]
        legend = options.legend
        scenarioList = try options.decode(Self.scenarios)?.scenarios ?? [ScenarioSpec(name: "baseline", location: SourceLocation(file: "", line: 0, column: 0))]
        if options[Self.neighbourhood] % 2 == 0 { throw StageProblem(option: Self.neighbourhood, "must be odd (got \(options[Self.neighbourhood]))") }
        func codes(_ key: Option<OptionList>) throws(StageProblem) -> [Int] {
            var result: [Int] = []
            for name in options[key] {
                guard let code = options.legend.code(for: name) else {
                    throw StageProblem(option: key, "unknown class '\(name)' (legend: \(options.legend.classes.map(\.name).joined(separator: ", ")))")
                }
                result.append(code)
            }
            return result
        }
        distanceClasses = try codes(Self.distanceTo)
        boundaryCodes = Set(try codes(Self.boundaryClasses))
        vegetationCodes = Set(try codes(Self.vegetationClasses))
        var matrices: [String: TransitionMatrix] = [:]
        for scenario in scenarioList {
            guard let rows = scenario.transitionMatrix else { continue }
            let classes = Array(Set(rows.keys).union(rows.values.flatMap(\.keys))).sorted()
            let legend = options.legend
            do {
                matrices[scenario.name] = try TransitionMatrix(
                    classes: classes,
                    probabilities: classes.map { from in rows[from].map { row in classes.map { row[$0] ?? 0 } } ?? classes.map { $0 == from ? 1 : 0 } },
                    names: { legend.name(of: $0) })
            } catch {
                throw StageProblem(option: Self.scenarios, "scenario \(scenario.name): \(error.message)",
                                   at: error.row.flatMap { scenario.matrixRowLocations[classes[$0]] } ?? scenario.matrixLocation)
            }
            if scenario.totals != nil {
                throw StageProblem(option: Self.scenarios, "scenario \(scenario.name): give totals or transition_matrix, not both", at: scenario.location)
            }
        }
        self.matrices = matrices
        if options[Self.targetYear] != nil && options[Self.start] == .before {
            throw StageProblem(option: Self.targetYear, "start: before simulates the observed interval; target_year is for start: after")
        }
    }

    public var outputPaths: [String] {
        var paths = ["\(path)/scenarios.json", "\(path)/scenarios.csv"]
        for scenario in scenarioList { paths += ["\(path)/\(scenario.name).tif", "\(path)/\(scenario.name)_zones.csv"] }
        if options[Self.start] == .before { paths.append("\(path)/assessment.csv") }
        return paths
    }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        let connected = ports(inputs)
        for input in inputs where ["before", "after"].contains(input.port ?? "") && input.bandNames.count != 1 {
            throw StageProblem("input '\(input.port!)' must be one band of classes (it has \(input.bandNames.count))")
        }
        if let before = inputs.first(where: { $0.port == "before" })?.nativeGrid, let after = inputs.first(where: { $0.port == "after" })?.nativeGrid,
           before != after {
            throw StageProblem("the two dates are on different grids (before: \(before), after: \(after)); classify both on one grid")
        }
        for scenario in scenarioList {
            for layer in scenario.closed ?? [] where !connected.contains(layer) {
                throw StageProblem(option: Self.scenarios, "scenario \(scenario.name) closes '\(layer)', but no input '\(layer)' is connected", at: scenario.closedLocation)
            }
        }
        if options[Self.targetYear] != nil {
            let years = inputs.filter { ["before", "after"].contains($0.port ?? "") }.map { $0.date.flatMap { Int($0.prefix(4)) } }
            if years.count != 2 || years.contains(where: { $0 == nil }) {
                throw StageProblem(option: Self.targetYear, "needs the dates of both class maps, which their sources do not give; use steps instead")
            }
        }
    }

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        try SimulationRun(stage: self, inputs: inputs, grid: grid, context: context).execute()
    }
}

extension Region: OptionChoice {}

func ports(_ inputs: [ProductDescription]) -> Set<String> { Set(inputs.compactMap(\.port)) }
