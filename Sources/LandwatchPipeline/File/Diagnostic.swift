/// A place in a pipeline file: 1-based line and column, as editors and compilers count them.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a pipeline file: `FILE:LINE:COL: STAGE-ID: what is wrong (what was found)`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// The stage the problem belongs to; nil for the file's top level (printed as `pipeline`).
    public var stageID: String?
    public var message: String

    public init(_ location: SourceLocation, stage stageID: String?, _ message: String) {
        self.location = location
        self.stageID = stageID
        self.message = message
    }

    public var description: String { "\(location): \(stageID ?? "pipeline"): \(message)" }
}

/// Every problem found in a pipeline file, reported together.
public struct PipelineFileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted {
            ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
        }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a pipeline file is checked, so that all of them are reported at once.
public struct DiagnosticCollector: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []
    /// The diagnostics by value, so that a file with thousands of problems is checked in linear time.
    private var seen = Set<Diagnostic>()

    public init() {}

    /// Adds a problem once (the same problem found twice is reported once).
    public mutating func add(_ location: SourceLocation, stage: String?, _ message: String) {
        let diagnostic = Diagnostic(location, stage: stage, message)
        if seen.insert(diagnostic).inserted { diagnostics.append(diagnostic) }
    }

    /// Problems already reported elsewhere that make a value unusable (a stage using a parameter whose own value is
    /// wrong): they stop the stage without a second line.
    public private(set) var followOns = 0

    public mutating func addFollowOn() { followOns += 1 }

    /// Everything found, reported or not: a step compares it before and after to know whether it went wrong.
    public var count: Int { diagnostics.count + followOns }

    public var isEmpty: Bool { diagnostics.isEmpty }

    /// Throws the collected diagnostics, if any.
    public func throwIfAny() throws(PipelineFileError) {
        if !diagnostics.isEmpty { throw PipelineFileError(diagnostics) }
    }
}
