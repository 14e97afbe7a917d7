import LandwatchAlgorithms

/// A problem found while decoding a structured option, with the place in the file it is about.
public struct ConfigDecodingError: Error, Sendable, Equatable {
    public var message: String
    /// The node the problem is about; nil: the option's own value.
    public var location: SourceLocation?
    /// Further problems of the same option (a decoder that goes on past a wrong rule, see ``ConfigProblems``).
    public var others: [ConfigDecodingError] = []

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    /// This problem and the others, each alone.
    public var all: [ConfigDecodingError] {
        var first = self
        first.others = []
        return [first] + others.flatMap(\.all)
    }
}

/// The problems a decoder finds in a structured option, collected so that every wrong rule of a list is reported,
/// not only the first: ``attempt(_:)`` runs one item's decoding and keeps its error, ``throwIfAny()`` ends.
public struct ConfigProblems: Sendable {
    public private(set) var errors: [ConfigDecodingError] = []

    public init() {}

    /// The value `body` decodes, or nil after keeping its problem.
    public mutating func attempt<T>(_ body: () throws(ConfigDecodingError) -> T) -> T? {
        do { return try body() } catch {
            errors += error.all
            return nil
        }
    }

    /// Throws every problem kept (the first, with the others in it).
    public func throwIfAny() throws(ConfigDecodingError) {
        guard var first = errors.first else { return }
        first.others = Array(errors.dropFirst())
        throw first
    }
}

/// What a decoder may need besides the nodes: the pipeline's legend, for class names.
public struct ConfigDecodingContext: Sendable {
    public var legend: Legend

    public init(legend: Legend) { self.legend = legend }
}

/// A type decoded from a structured option's nodes, as `Decodable` from a decoder, but every error names the
/// FILE:LINE:COL of the node it is about (`rules:` of `classify.rules`, `rules:` of `compliance.diff`).
public protocol ConfigDecodable: Sendable {
    init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError)
}

/// The key of a structured option: its name, shape and help, and the type its value decodes into. Optional: a file
/// that leaves it out gets nil from ``StageOptions/decode(_:)`` and the stage its own defaults.
public struct StructuredOption<Value: ConfigDecodable>: OptionKey {
    public let spec: OptionSpec

    public var name: String { spec.name }

    public init(_ name: String, shape: String, help: String) {
        spec = OptionSpec(name, .structured(shape: shape), optional: true, help: help)
    }
}

extension StageOptions {
    /// The structured option decoded, nil when the file leaves it out; a decoding problem names where it is.
    public func decode<Value>(_ key: StructuredOption<Value>) throws(StageProblem) -> Value? {
        guard case .node(let node)? = values[key.name] else { return nil }
        do {
            return try Value(config: node, context: ConfigDecodingContext(legend: legend))
        } catch {
            let problems = error.all.map { StageProblem(option: key.name, $0.message, at: $0.location) }
            var first = problems[0]
            first.others = Array(problems.dropFirst())
            throw first
        }
    }

    /// True when the file set the structured option.
    public func isSet<Value>(_ key: StructuredOption<Value>) -> Bool { locations[key.name] != nil }
}

extension StageProblem {
    /// A problem with the structured option `key`.
    public init<Value>(option key: StructuredOption<Value>, _ message: String, at location: SourceLocation? = nil) {
        self.init(option: key.name, message, at: location)
    }
}

// MARK: - Decoding helpers (the containers of a decoder)

extension ConfigNode {
    /// The items of a list that is not empty; `message` names what was wanted.
    public func decodeList(_ message: String) throws(ConfigDecodingError) -> [ConfigNode] {
        guard let items, !items.isEmpty else { throw ConfigDecodingError("\(message) (found \(shortDescription))") }
        return items
    }

    /// The entries of a mapping; `message` names what was wanted.
    public func decodeMapping(_ message: String, allowEmpty: Bool = true) throws(ConfigDecodingError) -> [Entry] {
        guard let entries, allowEmpty || !entries.isEmpty else {
            throw ConfigDecodingError("\(message) (found \(shortDescription))", at: location)
        }
        return entries
    }

    /// Refuses every key of a mapping that is not among `known`, each at its place.
    public func rejectUnknownKeys(_ known: [String], message: (String) -> String) throws(ConfigDecodingError) {
        var problems = ConfigProblems()
        for entry in entries ?? [] where !known.contains(entry.key) {
            _ = problems.attempt { () throws(ConfigDecodingError) in throw ConfigDecodingError(message(entry.key), at: entry.keyLocation) }
        }
        try problems.throwIfAny()
    }
}

extension ConfigNode.Entry {
    /// The entry's text when it is a scalar, else the problem `message(found)` at the value.
    public func text(_ message: (String) -> String) throws(ConfigDecodingError) -> String {
        guard let text = value.scalarText else { throw ConfigDecodingError(message(value.shortDescription), at: value.location) }
        return text
    }
}
