import LandwatchAlgorithms
import LandwatchGDAL

/// A Swift type an option's checked value is read as: `Int` for `.integer`, `String` for `.string` and paths, an enum
/// for a choice, `OptionList` for a list. `Optional` of one is an option that may be left out.
public protocol OptionValueType: Sendable {
    /// The option type a key of this value type declares unless it names another (`.inputPath` for a `String`).
    static var optionType: OptionType { get }
    /// True for `Optional`: the option may be left out and reads as nil.
    static var isOptional: Bool { get }
    /// The checked value as this type; nil when it does not hold one (a programmer error the key's type prevents).
    init?(optionValue: OptionValue)
    /// The value as the loader stores it (defaults), nil for an absent optional.
    var optionValue: OptionValue? { get }
    /// Reads the stored value, or its absence; nil when it cannot be read as this type.
    static func read(_ value: OptionValue?) -> Self?
}

extension OptionValueType {
    public static var isOptional: Bool { false }
    public static func read(_ value: OptionValue?) -> Self? { value.flatMap(Self.init(optionValue:)) }
}

extension Optional: OptionValueType where Wrapped: OptionValueType {
    public static var optionType: OptionType { Wrapped.optionType }
    public static var isOptional: Bool { true }
    public init?(optionValue: OptionValue) {
        guard let wrapped = Wrapped(optionValue: optionValue) else { return nil }
        self = .some(wrapped)
    }
    public var optionValue: OptionValue? { self?.optionValue }
    public static func read(_ value: OptionValue?) -> Self? {
        guard let value else { return .some(nil) }
        return Wrapped(optionValue: value).map { .some($0) }
    }
}

/// A key that declares one option: `landwatch stages`, the loader and the stage all read the same declaration.
public protocol OptionKey: Sendable {
    var spec: OptionSpec { get }
}

extension OptionSpec: OptionKey {
    public var spec: OptionSpec { self }
}

/// A typed option key, declared once per stage: name, type, default, range and help in one place (PDAL's
/// `args.add(name, help, member, default)`), read back as its type with `options[Self.key]`.
///
///     static let minPixels = Option<Int>("min_pixels", default: 4, range: 1...1_000_000, help: "smallest patch")
///     let minPixels = options[Self.minPixels]   // an Int: the file's value, else the default
///
/// A key without a default is required, unless its value type is optional (`Option<Int?>`), which reads as nil when
/// the file leaves it out.
public struct Option<Value: OptionValueType>: OptionKey {
    public let spec: OptionSpec

    public var name: String { spec.name }

    public init(_ name: String, _ type: OptionType = Value.optionType, default value: Value? = nil,
                range: ClosedRange<Double>? = nil, excludesLowerBound: Bool = false, help: String) {
        var stored = value?.optionValue
        if case .string(let text)? = stored, type == .inputPath || type == .outputPath { stored = .path(text) }
        spec = OptionSpec(name, type, default: stored, optional: Value.isOptional, range: range,
                          excludesLowerBound: excludesLowerBound, help: help)
    }
}

extension StageOptions {
    /// The option's value: what the file set, else the key's default (nil for an optional key the file left out).
    public subscript<Value>(key: Option<Value>) -> Value {
        let stored = values[key.name] ?? key.spec.defaultValue
        guard let value = Value.read(stored) else {
            preconditionFailure("option \(key.name) holds \(stored.map { "\($0)" } ?? "nothing"), not a \(Value.self)")
        }
        return value
    }

    /// True when the file set the option (rather than its default).
    public func isSet<Value>(_ key: Option<Value>) -> Bool { locations[key.name] != nil }

    /// Where the file set the option, when it did.
    public func location<Value>(of key: Option<Value>) -> SourceLocation? { locations[key.name] }
}

extension StageProblem {
    /// A problem with the option `key`.
    public init<Value>(option key: Option<Value>, _ message: String, at location: SourceLocation? = nil) {
        self.init(option: key.name, message, at: location)
    }
}

extension StageDescriptor {
    /// A descriptor whose option list is derived from the stage's keys.
    public init(id: String, summary: String, evaluation: Evaluation, inputs: [InputPort] = [], output: ProductKind?,
                keys: [any OptionKey]) {
        self.init(id: id, summary: summary, evaluation: evaluation, inputs: inputs, output: output, options: keys.map(\.spec))
    }
}

// MARK: - Value types

extension String: OptionValueType {
    public static var optionType: OptionType { .string }
    public init?(optionValue: OptionValue) {
        switch optionValue {
        case .string(let text), .path(let text): self = text
        default: return nil
        }
    }
    public var optionValue: OptionValue? { .string(self) }
}

extension Double: OptionValueType {
    public static var optionType: OptionType { .number }
    public init?(optionValue: OptionValue) {
        switch optionValue {
        case .number(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
    public var optionValue: OptionValue? { .number(self) }
}

extension Int: OptionValueType {
    public static var optionType: OptionType { .integer }
    public init?(optionValue: OptionValue) {
        guard case .integer(let value) = optionValue else { return nil }
        self = value
    }
    public var optionValue: OptionValue? { .integer(self) }
}

extension Bool: OptionValueType {
    public static var optionType: OptionType { .boolean }
    public init?(optionValue: OptionValue) {
        guard case .boolean(let value) = optionValue else { return nil }
        self = value
    }
    public var optionValue: OptionValue? { .boolean(self) }
}

/// A band map (`{red: 4, nir: b5.tif}`), in the file's order.
extension Array: OptionValueType where Element == BandMapEntry {
    public static var optionType: OptionType { .bandMap }
    public init?(optionValue: OptionValue) {
        guard case .bandMap(let entries) = optionValue else { return nil }
        self = entries
    }
    public var optionValue: OptionValue? { .bandMap(self) }
}

/// A code map (`{1: 4, 8: 4}`).
extension Dictionary: OptionValueType where Key == Int, Value == Int {
    public static var optionType: OptionType { .codeMap }
    public init?(optionValue: OptionValue) {
        guard case .codeMap(let map) = optionValue else { return nil }
        self = map
    }
    public var optionValue: OptionValue? { .codeMap(self) }
}

/// A structured option's nodes, for a stage that decodes them (``ConfigDecodable``) with the legend at hand.
extension ConfigNode: OptionValueType {
    public static var optionType: OptionType { .structured(shape: "structure") }
    public init?(optionValue: OptionValue) {
        guard case .node(let node) = optionValue else { return nil }
        self = node
    }
    public var optionValue: OptionValue? { .node(self) }
}

/// One option that takes a list, written either way: comma-separated text (`cloud, shadow`) or a YAML list
/// (`[cloud, shadow]`); items are trimmed and empty ones dropped.
public struct OptionList: OptionValueType, Equatable, Sequence {
    public var items: [String]

    public init(_ items: [String]) { self.items = items }

    /// The items of comma-separated text.
    public init(text: String) {
        items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public static var optionType: OptionType { .list }
    public init?(optionValue: OptionValue) {
        switch optionValue {
        case .string(let text): self.init(text: text)
        case .node(let node):
            guard let items = node.items else { return nil }
            self.init(items.compactMap(\.scalarText).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        default: return nil
        }
    }
    /// Stored as the comma-separated text, so that run records and resume keys read as before.
    public var optionValue: OptionValue? { .string(items.joined(separator: ",")) }

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }
    public func makeIterator() -> IndexingIterator<[String]> { items.makeIterator() }
}

/// One number for every band, or one per band by name (``OptionType/numberOrBandMap``).
public enum NumberOrBandMap: OptionValueType, Equatable {
    case number(Double)
    case bands([BandNumber])

    public struct BandNumber: Sendable, Equatable {
        public var band: String
        public var value: Double
        public var location: SourceLocation
    }

    public static var optionType: OptionType { .numberOrBandMap }
    public init?(optionValue: OptionValue) {
        switch optionValue {
        case .number(let value): self = .number(value)
        case .integer(let value): self = .number(Double(value))
        case .node(let node):
            guard let entries = node.entries else { return nil }
            self = .bands(entries.compactMap { entry in
                entry.value.scalarText.flatMap(Double.init).map { BandNumber(band: entry.key, value: $0, location: entry.value.location) }
            })
        default: return nil
        }
    }
    public var optionValue: OptionValue? {
        if case .number(let value) = self { return .number(value) }
        return nil
    }

    /// The one number, when the option is one.
    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The numbers by band, when the option is a map.
    public var bands: [BandNumber]? {
        if case .bands(let map) = self { return map }
        return nil
    }
}

/// An option whose value is one of a fixed set of words: an enum with a case per word, in the order they are listed.
public protocol OptionChoice: OptionValueType, RawRepresentable, CaseIterable where RawValue == String {}

extension OptionChoice {
    public static var optionType: OptionType { .choice(allCases.map(\.rawValue)) }
    public init?(optionValue: OptionValue) {
        guard case .string(let word) = optionValue else { return nil }
        self.init(rawValue: word)
    }
    public var optionValue: OptionValue? { .string(rawValue) }
}

extension Resampling: OptionChoice {}
extension DataType: OptionChoice {}
extension BandRadiometry.Values: OptionChoice {}
