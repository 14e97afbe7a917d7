import Foundation

/// What `simulate.landuse` writes as PATH/scenarios.json, as its readers (the report, a later run) see it.
public struct ScenarioSimulationResult: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    /// A figure over the runs of a scenario.
    public struct Spread: Codable, Sendable, Equatable {
        public var mean: Double
        public var min: Double
        public var max: Double
        public init(_ values: [Double]) {
            let finite = values.filter(\.isFinite)
            mean = finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
            min = finite.min() ?? .nan
            max = finite.max() ?? .nan
        }
    }

    public struct ClassDemand: Codable, Sendable, Equatable {
        public var code: Int
        public var name: String
        /// Cells at the start, wanted by the demand, and in the simulated map of run 1 (inside the simulated region).
        public var start: Int
        public var demand: Int
        public var simulated: Int
    }

    /// Figures of one zone for one scenario (means over the runs, with the spread of the headline ones).
    public struct Zone: Codable, Sendable, Equatable {
        public var zone: String
        public var name: String
        public var cells: Int
        public var farmlandLostM2: Spread
        public var farmlandLostMu: Double
        public var redlineBuiltUpM2Before: Double
        public var redlineBuiltUpM2After: Spread
        public var intensityBefore: Double
        public var intensityAfter: Spread
        public var greenCoverageBefore: Double
        public var greenCoverageAfter: Spread
    }

    public struct Assessment: Codable, Sendable, Equatable {
        /// Where the figures are computed: the held-out half, or `all` (in-sample).
        public var region: String
        public var model: [SimulationAgreement]
        public var null: SimulationAgreement
        public var random: [SimulationAgreement]
    }

    public struct Scenario: Codable, Sendable, Equatable {
        public var name: String
        public var map: String
        public var zonesTable: String
        public var closed: [String]
        public var demand: [ClassDemand]
        public var convertedCells: Spread
        public var seededCells: Spread
        public var iterations: Int
        /// Cells inside a closed layer that changed in any run (0 when the constraints held).
        public var closedCellsChanged: Int
        public var zones: [Zone]
        public var assessment: Assessment?
    }

    public var version: Int
    public var start: String
    public var steps: Double
    public var holdout: String
    public var runs: Int
    public var seed: Int
    public var cellAreaM2: Double
    public var classes: [String]
    /// Observed transition probabilities (rows: from, in `classes` order) on the calibration region.
    public var transitionMatrix: [[Double]]
    public var drivers: [String]
    public var suitabilityClasses: [String]
    /// Classes that gain cells in some scenario but had too few expansion cells for a model, with their cells.
    public var untrainedClasses: [String: Int]
    /// The whole process's memory the stage planned for (its whole-grid arrays, GDAL's block cache, the rows read at
    /// a time and the program), checked against `--memory` before a cell was read.
    public var memoryBytes: Int
    public var scenarios: [Scenario]
}

extension ScenarioSimulationResult {
    /// Decodes scenarios.json.
    public static func decode(_ data: Data) throws -> ScenarioSimulationResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ScenarioSimulationResult.self, from: data)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}
