import LandwatchAlgorithms

/// The type of a stage option, checked when the pipeline file is loaded.
public enum OptionType: Sendable, Equatable {
    case string
    case number
    case integer
    case boolean
    /// One of a fixed set of words.
    case choice([String])
    /// Words, as comma-separated text (`cloud, shadow`) or a YAML list (`[cloud, shadow]`): read as ``OptionList``.
    case list
    /// A file that must exist, relative to the pipeline file's folder unless absolute.
    case inputPath
    /// A file written under the run's output root; never absolute, never leaving the root.
    case outputPath
    /// Band names to bands: `{red: 4, nir: 5}` (bands of the stage's `path`) or `{red: b4.tif, nir: b5.tif}`.
    case bandMap
    /// Whole numbers to whole numbers, such as class codes of one legend to another: `{1: 4, 8: 4, 2: 5}`.
    case codeMap
    /// A structure the stage reads itself (a list of rules, say); `shape` describes it for `landwatch stages`.
    case structured(shape: String)
    /// One number for every band, or band names to numbers (`{red: 2.0e-5, nir: 2.1e-5}`): read with
    /// ``StageOptions/number(_:)`` or ``StageOptions/numberMap(_:)``.
    case numberOrBandMap

    /// How the type is named in `landwatch stages` and in messages.
    public var name: String {
        switch self {
        case .string: return "string"
        case .number: return "number"
        case .integer: return "integer"
        case .boolean: return "boolean"
        case .choice(let words): return words.joined(separator: "|")
        case .list: return "list"
        case .inputPath: return "input path"
        case .outputPath: return "output path"
        case .bandMap: return "band map"
        case .codeMap: return "code map"
        case .structured(let shape): return shape
        case .numberOrBandMap: return "number or band map of numbers"
        }
    }
}

/// One entry of a band map: a named band taken from a band of the stage's file, or from a file of its own.
public struct BandMapEntry: Sendable, Equatable {
    public var name: String
    /// The band number (from 1) in the stage's `path`, when the entry is a number.
    public var band: Int?
    /// A file of its own (its band 1), when the entry is a path; resolved against the pipeline folder.
    public var path: String?
    public var location: SourceLocation

    public init(name: String, band: Int?, path: String?, location: SourceLocation) {
        self.name = name
        self.band = band
        self.path = path
        self.location = location
    }
}

/// A checked option value.
public enum OptionValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int)
    case boolean(Bool)
    case path(String)
    case bandMap([BandMapEntry])
    case codeMap([Int: Int])
    case node(ConfigNode)

    /// The value as text, for run records and `landwatch stages`.
    public var text: String {
        switch self {
        case .string(let s), .path(let s): return s
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .integer(let i): return String(i)
        case .boolean(let b): return String(b)
        case .bandMap(let entries):
            return "{" + entries.map { "\($0.name): \($0.path ?? String($0.band ?? 0))" }.joined(separator: ", ") + "}"
        case .node(let node):
            return node.shortDescription
        case .codeMap(let map):
            return "{" + map.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// The declaration of one option: name, type, default and help, in one place.
public struct OptionSpec: Sendable {
    public var name: String
    public var type: OptionType
    /// nil means the option is required.
    public var defaultValue: OptionValue?
    /// True when the option may be left out and has no default (the stage decides what absence means).
    public var optional: Bool
    /// Allowed range for numbers and integers.
    public var range: ClosedRange<Double>?
    /// True when the lower bound of `range` itself is excluded (`> 0` rather than `>= 0`).
    public var excludesLowerBound: Bool
    public var help: String

    public init(_ name: String, _ type: OptionType, default defaultValue: OptionValue? = nil, optional: Bool = false,
                range: ClosedRange<Double>? = nil, excludesLowerBound: Bool = false, help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.optional = optional
        self.range = range
        self.excludesLowerBound = excludesLowerBound
        self.help = help
    }

    public var isRequired: Bool { defaultValue == nil && !optional }
}

/// The checked options of one stage, with where each was written, and the pipeline's class legend.
public struct StageOptions: Sendable {
    public private(set) var values: [String: OptionValue]
    public private(set) var locations: [String: SourceLocation]
    /// The pipeline file's `legend` (the six-class default when the file has none).
    public var legend: Legend
    /// Where the run may read inputs from (nil: anywhere), for a stage whose files are named inside another file
    /// (`read.stac`'s asset hrefs).
    public var readRoots: ReadRoots?

    public init(values: [String: OptionValue] = [:], locations: [String: SourceLocation] = [:], legend: Legend = .standard) {
        self.values = values
        self.locations = locations
        self.legend = legend
    }

    public subscript(name: String) -> OptionValue? { values[name] }

    public func string(_ name: String) -> String? {
        switch values[name] {
        case .string(let s)?, .path(let s)?: return s
        default: return nil
        }
    }

    public func number(_ name: String) -> Double? {
        switch values[name] {
        case .number(let d)?: return d
        case .integer(let i)?: return Double(i)
        default: return nil
        }
    }

    public func integer(_ name: String) -> Int? {
        if case .integer(let i)? = values[name] { return i }
        return nil
    }

    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let b)? = values[name] { return b }
        return nil
    }

    public func bandMap(_ name: String) -> [BandMapEntry]? {
        if case .bandMap(let entries)? = values[name] { return entries }
        return nil
    }

    public func node(_ name: String) -> ConfigNode? {
        if case .node(let node)? = values[name] { return node }
        return nil
    }

    /// Band names to numbers, for a ``OptionType/numberOrBandMap`` option given as a map (checked when loaded).
    public func numberMap(_ name: String) -> [(band: String, value: Double, location: SourceLocation)]? {
        guard case .node(let node)? = values[name], let entries = node.entries else { return nil }
        return entries.compactMap { entry in
            entry.value.scalarText.flatMap(Double.init).map { (entry.key, $0, entry.value.location) }
        }
    }

    public func codeMap(_ name: String) -> [Int: Int]? {
        if case .codeMap(let map)? = values[name] { return map }
        return nil
    }

    /// True when the file set the option (rather than its default).
    public func isSet(_ name: String) -> Bool { locations[name] != nil }
}

/// A problem with a stage's options or inputs found after type checking; the loader adds file, line and stage.
public struct StageProblem: Error, Sendable, Equatable {
    /// The option the problem is about; nil points at the stage itself.
    public var option: String?
    public var message: String
    /// A place inside the option's value, when the problem is there (a rule in a list of rules).
    public var location: SourceLocation?
    /// Further problems found with it (the other rules of a list that are wrong): every one is reported.
    public var others: [StageProblem] = []

    public init(option: String? = nil, _ message: String, at location: SourceLocation? = nil) {
        self.option = option
        self.message = message
        self.location = location
    }

    /// This problem and the others, each alone.
    public var all: [StageProblem] {
        var first = self
        first.others = []
        return [first] + others.flatMap(\.all)
    }
}
