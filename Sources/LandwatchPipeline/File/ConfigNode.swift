import Foundation
import Yams

/// A node of a parsed pipeline file, with where it stands in the file.
///
/// The pipeline model reads these instead of Yams' types, so that every later message can name a line and column.
public struct ConfigNode: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        /// A scalar; `quoted` is true for `'…'` and `"…"`, which are always strings.
        case scalar(String, quoted: Bool)
        case mapping([Entry])
        case sequence([ConfigNode])
        case null
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: ConfigNode
    }

    public var value: Value
    public var location: SourceLocation

    public init(value: Value, location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// The entries of a mapping, or nil.
    public var entries: [Entry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    /// The items of a sequence, or nil.
    public var items: [ConfigNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// The text of a scalar, or nil.
    public var scalarText: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// The entry for `key` in a mapping.
    public func entry(_ key: String) -> Entry? { entries?.first { $0.key == key } }

    /// How the node is described in "wrong type" messages: `a mapping`, `a list`, `'abc'`.
    public var shortDescription: String {
        switch value {
        case .scalar(let text, _): return "'\(text.count > 60 ? String(text.prefix(57)) + "..." : text)'"
        case .mapping: return "a mapping"
        case .sequence(let items):
            let texts = items.compactMap(\.scalarText)
            if texts.count == items.count, texts.joined().count < 60 { return "[" + texts.joined(separator: ", ") + "]" }
            return "a list"
        case .null: return "nothing"
        }
    }
}

/// Parses YAML text into ``ConfigNode``s, turning YAML errors into one located diagnostic.
public enum ConfigParser {
    public static func parse(_ text: String, file: String) throws(PipelineFileError) -> ConfigNode {
        if let tab = firstIndentationTab(in: text) {
            throw PipelineFileError([Diagnostic(SourceLocation(file: file, line: tab.line, column: tab.column), stage: nil,
                                                "invalid YAML: a tab character in indentation (YAML indents with spaces only)")])
        }
        let node: Node?
        do {
            // No implicit tag resolution: every scalar is text here (ConfigNode decides null, the option checker
            // numbers), and Yams' default resolver runs regular expressions over every scalar (a third of validate).
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw PipelineFileError([diagnostic(for: error, file: file)])
        } catch {
            throw PipelineFileError([Diagnostic(SourceLocation(file: file, line: 1, column: 1), stage: nil,
                                                "invalid YAML: \(error)")])
        }
        guard let node else {
            throw PipelineFileError([Diagnostic(SourceLocation(file: file, line: 1, column: 1), stage: nil,
                                                "the pipeline file is empty")])
        }
        var budget = maximumNodes
        guard let converted = convert(node, file: file, budget: &budget) else {
            throw PipelineFileError([Diagnostic(SourceLocation(file: file, line: 1, column: 1), stage: nil,
                                                "the file expands to more than \(maximumNodes) YAML nodes (aliases that repeat each other?); "
                                                + "a pipeline file is far smaller")])
        }
        return converted
    }

    /// More nodes than any pipeline file needs: YAML aliases nested in aliases (a "billion laughs") stop here.
    static let maximumNodes = 100_000

    /// The node as a ``ConfigNode``; nil when it holds more than `budget` nodes (aliases are expanded).
    private static func convert(_ node: Node, file: String, budget: inout Int) -> ConfigNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let mark = node.mark
        let location = SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
                || scalar.style == .literal || scalar.style == .folded
            if !quoted, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return ConfigNode(value: .null, location: location)
            }
            return ConfigNode(value: .scalar(scalar.string, quoted: quoted), location: location)
        case .mapping(let mapping):
            var entries: [ConfigNode.Entry] = []
            for (key, value) in mapping {
                let keyMark = key.mark
                guard let converted = convert(value, file: file, budget: &budget) else { return nil }
                entries.append(ConfigNode.Entry(
                    key: key.string ?? "\(key)",
                    keyLocation: SourceLocation(file: file, line: keyMark?.line ?? location.line,
                                                column: keyMark?.column ?? location.column),
                    value: converted))
            }
            return ConfigNode(value: .mapping(entries), location: location)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for item in sequence {
                guard let converted = convert(item, file: file, budget: &budget) else { return nil }
                items.append(converted)
            }
            return ConfigNode(value: .sequence(items), location: location)
        case .alias:
            return ConfigNode(value: .null, location: location)
        }
    }

    private static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return Diagnostic(SourceLocation(file: file, line: mark.line, column: mark.column), stage: nil,
                              "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(SourceLocation(file: file, line: context.mark.line, column: context.mark.column), stage: nil,
                              "duplicate key \(names) in one mapping (a key may appear once)")
        case .reader(let problem, _, _, _):
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), stage: nil,
                              "invalid YAML: \(problem) (is the file UTF-8 text?)")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), stage: nil, "invalid YAML: \(error)")
        }
    }

    /// The first tab that stands in a line's leading whitespace, which YAML forbids.
    private static func firstIndentationTab(in text: String) -> (line: Int, column: Int)? {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var column = 0
            for character in line {
                column += 1
                if character == "\t" { return (lineNumber, column) }
                if character != " " && character != "-" { break }
            }
        }
        return nil
    }
}
