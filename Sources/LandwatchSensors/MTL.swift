import Foundation

/// A problem in a Landsat MTL metadata file, with the line it is on when there is one.
public struct MTLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// The key/value pairs of a Landsat MTL file (text `GROUP = … / KEY = VALUE` or Collection-2 JSON), flattened:
/// keys are unique across groups in every MTL layout USGS has published.
public struct MTLFile: Sendable {
    public let file: String
    public private(set) var values: [String: String] = [:]
    public private(set) var lines: [String: Int] = [:]
    /// Values by innermost group, for keys that products repeat in several groups (a Collection-2 Level-2 MTL has
    /// REFLECTANCE_MULT_BAND_n for Level 1 and for surface reflectance).
    public private(set) var groups: [String: [String: String]] = [:]
    public private(set) var groupLines: [String: [String: Int]] = [:]

    /// Parses MTL text; `file` names it in messages.
    public init(text: String, file: String) throws(MTLError) {
        self.file = file
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            try parseJSON(trimmed)
        } else {
            try parseText(text)
        }
        guard !values.isEmpty else { throw MTLError(file: file, line: nil, "not an MTL file: no KEY = VALUE lines") }
    }

    /// Reads and parses an MTL file.
    public init(path: String) throws(MTLError) {
        let name = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MTLError(file: name, line: nil, "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw MTLError(file: name, line: nil, "not a text file")
        }
        try self.init(text: text, file: name)
    }

    private mutating func parseText(_ text: String) throws(MTLError) {
        var lineNumber = 0
        var depth = 0
        var stack: [String] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            // Pre-collection MTLs are padded with NUL bytes after their last line.
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r\0")))
            // The final END closes the file: what follows (padding) is not read.
            if line == "END" && depth == 0 && !values.isEmpty { break }
            if line.isEmpty || line == "END" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw MTLError(file: file, line: lineNumber, "expected KEY = VALUE (found '\(line.prefix(60))')")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw MTLError(file: file, line: lineNumber, "'\(key.prefix(60))' is not an MTL key")
            }
            if key == "GROUP" { depth += 1; stack.append(value); continue }
            if key == "END_GROUP" {
                depth -= 1
                if depth < 0 { throw MTLError(file: file, line: lineNumber, "END_GROUP without GROUP") }
                stack.removeLast()
                continue
            }
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else {
                    throw MTLError(file: file, line: lineNumber, "unterminated quoted value for \(key)")
                }
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
            lines[key] = lineNumber
            if let group = stack.last {
                groups[group, default: [:]][key] = value
                groupLines[group, default: [:]][key] = lineNumber
            }
        }
        if depth != 0 { throw MTLError(file: file, line: nil, "\(depth) GROUP\(depth == 1 ? "" : "s") not closed by END_GROUP") }
    }

    private mutating func parseJSON(_ text: String) throws(MTLError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw MTLError(file: file, line: nil, "not valid JSON: \(error.localizedDescription)")
        }
        func walk(_ node: Any, group: String?) {
            guard let dictionary = node as? [String: Any] else { return }
            for (key, value) in dictionary {
                var text: String?
                switch value {
                case let nested as [String: Any]: walk(nested, group: key)
                case let string as String: text = string
                case let number as NSNumber: text = number.stringValue
                default: break
                }
                if let text {
                    values[key] = text
                    if let group { groups[group, default: [:]][key] = text }
                }
            }
        }
        walk(object, group: nil)
    }

    public subscript(key: String) -> String? { values[key] }

    /// A value of one group, or of the whole file when `group` is nil.
    public func value(_ key: String, group: String?) -> String? {
        guard let group else { return values[key] }
        return groups[group]?[key]
    }

    /// A number, or a located error saying it is missing or not a number.
    public func number(_ key: String, purpose: String, group: String? = nil) throws(MTLError) -> Double {
        guard let text = value(key, group: group) else {
            throw MTLError(file: file, line: nil, "no \(key)\(group.map { " in group \($0)" } ?? "") (\(purpose))")
        }
        guard let value = Double(text), value.isFinite else {
            let line = group.flatMap { groupLines[$0]?[key] } ?? lines[key]
            throw MTLError(file: file, line: line, "\(key) is not a number (found '\(text.prefix(40))')")
        }
        return value
    }
}
