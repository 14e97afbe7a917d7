import LandwatchAlgorithms
import LandwatchPipeline

/// One named scenario block of `simulate.landuse`'s `scenarios:`: what it changes of the demand, the weights and the
/// constraints. Everything it leaves out is the stage's own setting.
public struct ScenarioSpec: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation
    /// Factors on the Markov demand's net change per class (`{built-up: 1.5}`).
    public var changeFactors: [Int: Double] = [:]
    /// Cells added to (or, negative, taken from) a class on top of the Markov demand (`{built-up: 60}`).
    public var added: [Int: Int] = [:]
    /// Where each row of `transition_matrix` is, by class.
    public var matrixRowLocations: [Int: SourceLocation] = [:]
    /// Target cells per class, replacing the Markov demand (every class of the map must be named).
    public var totals: [Int: Int]?
    /// Rows of a transition matrix given in the file, replacing the observed one: from → to → probability.
    public var transitionMatrix: [Int: [Int: Double]]?
    public var matrixLocation: SourceLocation?
    /// Neighbourhood weights per class, 0–1.
    public var weights: [Int: Double] = [:]
    /// Plan layers closed to every conversion (`redline`, `basic_farmland`); nil: the stage's default.
    public var closed: [String]?
    public var closedLocation: SourceLocation?
    /// Score factor outside the urban boundary for `boundary_classes`; nil: the stage's default.
    public var outsideBoundary: Double?
    /// Transitions refused (from, to).
    public var forbidden: Set<[Int]> = []
    public var seeding: Double?
    public var randomness: Double?

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// The plan layers a scenario may close, which are input ports of `simulate.landuse`.
public let closableLayers = ["redline", "basic_farmland"]

/// `scenarios:` of `simulate.landuse`: a mapping of scenario names to their blocks, in the file's order.
public struct ScenarioList: ConfigDecodable, Equatable {
    public var scenarios: [ScenarioSpec]

    static let keys = ["demand", "add", "totals", "transition_matrix", "weights", "closed", "outside_boundary", "forbidden", "seeding", "randomness"]

    public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
        let legend = context.legend
        var problems = ConfigProblems()
        var result: [ScenarioSpec] = []
        let entries = try node.decodeMapping("must be a mapping of scenario names to their settings (baseline: {}, fast_urbanisation: {demand: {built-up: 1.5}})", allowEmpty: false)
        func classCode(_ name: String, _ location: SourceLocation, in scenario: String) throws(ConfigDecodingError) -> Int {
            guard let code = legend.code(for: name) else {
                throw ConfigDecodingError("scenario \(scenario): unknown class '\(name)' (legend: \(legend.classes.map(\.name).joined(separator: ", ")))", at: location)
            }
            return code
        }
        func number(_ entry: ConfigNode.Entry, in scenario: String, range: ClosedRange<Double>) throws(ConfigDecodingError) -> Double {
            guard let text = entry.value.scalarText, let value = Double(text), value.isFinite else {
                throw ConfigDecodingError("scenario \(scenario): '\(entry.key)' must be a number (found \(entry.value.shortDescription))", at: entry.value.location)
            }
            guard range.contains(value) else {
                throw ConfigDecodingError("scenario \(scenario): '\(entry.key)' must be in [\(range.lowerBound.formatted()), \(range.upperBound.formatted())] (got \(text))", at: entry.value.location)
            }
            return value
        }
        func classNumbers(_ entry: ConfigNode.Entry, in scenario: String, range: ClosedRange<Double>) throws(ConfigDecodingError) -> [Int: Double] {
            let items = try entry.value.decodeMapping("scenario \(scenario): '\(entry.key)' must map class names to numbers")
            var map: [Int: Double] = [:]
            for item in items { map[try classCode(item.key, item.keyLocation, in: scenario)] = try number(item, in: scenario, range: range) }
            return map
        }
        var seen = Set<String>()
        for entry in entries {
            let name = entry.key
            if !seen.insert(name).inserted {
                _ = problems.attempt { () throws(ConfigDecodingError) in throw ConfigDecodingError("scenario '\(name)' is defined twice", at: entry.keyLocation) }
                continue
            }
            var spec = ScenarioSpec(name: name, location: entry.keyLocation)
            if case .null = entry.value.value { result.append(spec); continue }
            guard let settings = entry.value.entries else {
                _ = problems.attempt { () throws(ConfigDecodingError) in
                    throw ConfigDecodingError("scenario \(name) must be a mapping of settings ({} for the defaults; found \(entry.value.shortDescription))", at: entry.value.location)
                }
                continue
            }
            _ = problems.attempt { () throws(ConfigDecodingError) in
                try entry.value.rejectUnknownKeys(Self.keys) { "scenario \(name): unknown key '\($0)' (a scenario has " + Self.keys.joined(separator: ", ") + ")" }
            }
            for setting in settings where Self.keys.contains(setting.key) {
                _ = problems.attempt { () throws(ConfigDecodingError) in
                    switch setting.key {
                    case "demand": spec.changeFactors = try classNumbers(setting, in: name, range: 0...100)
                    case "add": spec.added = try classNumbers(setting, in: name, range: -1e12...1e12).mapValues { Int($0.rounded()) }
                    case "weights": spec.weights = try classNumbers(setting, in: name, range: 0...1)
                    case "totals":
                        spec.totals = try classNumbers(setting, in: name, range: 0...1e12).mapValues { Int($0.rounded()) }
                    case "outside_boundary": spec.outsideBoundary = try number(setting, in: name, range: 0...1)
                    case "seeding": spec.seeding = try number(setting, in: name, range: 0...1)
                    case "randomness": spec.randomness = try number(setting, in: name, range: 0...1)
                    case "closed":
                        let items = setting.value.items?.compactMap(\.scalarText)
                            ?? setting.value.scalarText.map { OptionList(text: $0).items } ?? []
                        for item in items where !closableLayers.contains(item) {
                            throw ConfigDecodingError("scenario \(name): unknown layer '\(item)' in closed (layers: \(closableLayers.joined(separator: ", ")))", at: setting.value.location)
                        }
                        spec.closed = items
                        spec.closedLocation = setting.value.location
                    case "forbidden":
                        let items = setting.value.items?.compactMap(\.scalarText) ?? setting.value.scalarText.map { OptionList(text: $0).items } ?? []
                        for item in items {
                            let parts = item.split(separator: ">").map { $0.trimmingCharacters(in: .whitespaces) }
                            guard parts.count == 2 else {
                                throw ConfigDecodingError("scenario \(name): forbidden transition '\(item)' must read FROM>TO (cropland>built-up)", at: setting.value.location)
                            }
                            spec.forbidden.insert([try classCode(parts[0], setting.value.location, in: name), try classCode(parts[1], setting.value.location, in: name)])
                        }
                    case "transition_matrix":
                        let rows = try setting.value.decodeMapping("scenario \(name): transition_matrix must map each class to its row {class: probability}")
                        var matrix: [Int: [Int: Double]] = [:]
                        for row in rows {
                            let from = try classCode(row.key, row.keyLocation, in: name)
                            matrix[from] = try classNumbers(row, in: name, range: 0...1)
                            spec.matrixRowLocations[from] = row.keyLocation
                        }
                        spec.transitionMatrix = matrix
                        spec.matrixLocation = setting.value.location
                    default: break
                    }
                }
            }
            result.append(spec)
        }
        try problems.throwIfAny()
        scenarios = result
    }
}
