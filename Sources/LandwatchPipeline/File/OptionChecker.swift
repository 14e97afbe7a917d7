import Foundation
import LandwatchGDAL

/// Type-checks a stage's `with:` mapping against its declared options.
struct OptionChecker {
    /// The pipeline file's folder, against which relative input paths are resolved.
    var directory: URL
    /// Where inputs may be read from; nil: anywhere.
    var readRoots: ReadRoots?

    func check(_ node: ConfigNode?, specs: [OptionSpec], stage: String, stageType: String, fallback: SourceLocation,
               problems: inout DiagnosticCollector) -> StageOptions? {
        var values: [String: OptionValue] = [:]
        var locations: [String: SourceLocation] = [:]
        var ok = true
        let entries: [ConfigNode.Entry]
        switch node?.value {
        case .mapping(let items)?: entries = items
        case .null?, nil: entries = []
        default:
            problems.add(node!.location, stage: stage, "'with' must be a mapping of option names to values (found \(node!.shortDescription))")
            return nil
        }
        for entry in entries {
            guard let spec = specs.first(where: { $0.name == entry.key }) else {
                var message = "unknown option '\(entry.key)' for \(stageType)"
                if let suggestion = PipelineLoader.closest(to: entry.key, in: specs.map(\.name)) {
                    message += " (did you mean '\(suggestion)'?)"
                } else {
                    message += " (its options: \(specs.isEmpty ? "none" : specs.map(\.name).joined(separator: ", ")))"
                }
                problems.add(entry.keyLocation, stage: stage, message)
                ok = false
                continue
            }
            do {
                values[spec.name] = try convert(entry.value, spec: spec)
                locations[spec.name] = entry.value.location
            } catch {
                problems.add(error.location ?? entry.value.location, stage: stage, "option '\(spec.name)' \(error.message)")
                ok = false
            }
        }
        for spec in specs where values[spec.name] == nil && locations[spec.name] == nil {
            if let value = spec.defaultValue {
                values[spec.name] = value
            } else if spec.isRequired, !entries.contains(where: { $0.key == spec.name }) {
                problems.add(node?.location ?? fallback, stage: stage,
                             "missing option '\(spec.name)' (\(spec.type.name): \(spec.help))")
                ok = false
            }
        }
        return ok ? StageOptions(values: values, locations: locations) : nil
    }

    struct Problem: Error {
        var message: String
        var location: SourceLocation?
        init(_ message: String, at location: SourceLocation? = nil) {
            self.message = message
            self.location = location
        }
    }

    private func convert(_ node: ConfigNode, spec: OptionSpec) throws(Problem) -> OptionValue {
        switch spec.type {
        case .string:
            guard let text = node.scalarText else { throw Problem("must be text (found \(node.shortDescription))") }
            return .string(text)
        case .list:
            if let text = node.scalarText { return .string(text) }
            guard let items = node.items else {
                throw Problem("must be a list, comma-separated or [a, b] (found \(node.shortDescription))")
            }
            for item in items where item.scalarText == nil {
                throw Problem("must be a list of words (found \(item.shortDescription) in it)", at: item.location)
            }
            return .node(node)
        case .choice(let words):
            guard let text = node.scalarText, words.contains(text) else {
                throw Problem("must be one of \(words.joined(separator: ", ")) (found \(node.shortDescription))")
            }
            return .string(text)
        case .boolean:
            guard let flag = PipelineLoader.boolean(node.scalarText) else {
                throw Problem("must be true or false (found \(node.shortDescription))")
            }
            return .boolean(flag)
        case .numberOrBandMap where node.entries != nil:
            guard let entries = node.entries, !entries.isEmpty else {
                throw Problem("must be a number or map band names to numbers, for example {red: 2.0e-5, nir: 2.0e-5} (found \(node.shortDescription))")
            }
            for entry in entries {
                guard case .scalar(let text, false) = entry.value.value, let value = Double(text), value.isFinite else {
                    throw Problem("band '\(entry.key)' must map to a number (found \(entry.value.shortDescription))", at: entry.value.location)
                }
                try checkRange(value, spec: spec, text: text)
            }
            return .node(node)
        case .number, .numberOrBandMap:
            if case .scalar(let text, true) = node.value, Double(text) != nil {
                throw Problem("must be a number (found the quoted text '\(text)'; write it without quotes)")
            }
            guard case .scalar(let text, _) = node.value, let value = Double(text), value.isFinite else {
                throw Problem("must be a number (found \(node.shortDescription))")
            }
            try checkRange(value, spec: spec, text: text)
            return .number(value)
        case .integer:
            if case .scalar(let text, true) = node.value, Int(text) != nil {
                throw Problem("must be a whole number (found the quoted text '\(text)'; write it without quotes)")
            }
            guard case .scalar(let text, _) = node.value, let value = Int(text) else {
                throw Problem("must be a whole number (found \(node.shortDescription))")
            }
            try checkRange(Double(value), spec: spec, text: text)
            return .integer(value)
        case .inputPath:
            guard let text = node.scalarText, !text.isEmpty else { throw Problem("must be a file path (found \(node.shortDescription))") }
            return .path(try resolveInput(text))
        case .outputPath:
            guard let text = node.scalarText, !text.isEmpty else { throw Problem("must be a file path (found \(node.shortDescription))") }
            guard OutputRoot.normalize(text) != nil else {
                throw Problem("must be a relative path that stays inside the output root (found '\(text)')")
            }
            return .path(text)
        case .structured:
            return .node(node)
        case .codeMap:
            guard let entries = node.entries, !entries.isEmpty else {
                throw Problem("must map codes to codes, for example {1: 4, 8: 4} (found \(node.shortDescription))")
            }
            var map: [Int: Int] = [:]
            for entry in entries {
                guard let key = Int(entry.key) else {
                    throw Problem("key '\(entry.key)' is not a whole number", at: entry.keyLocation)
                }
                guard let value = entry.value.scalarText.flatMap({ Int($0) }) else {
                    throw Problem("code \(key) must map to a whole number (found \(entry.value.shortDescription))", at: entry.value.location)
                }
                map[key] = value
            }
            return .codeMap(map)
        case .bandMap:
            guard let entries = node.entries, !entries.isEmpty else {
                throw Problem("must map band names to band numbers or files, for example {red: 4, nir: 5} (found \(node.shortDescription))")
            }
            var map: [BandMapEntry] = []
            for entry in entries {
                guard let text = entry.value.scalarText, !text.isEmpty else {
                    throw Problem("band '\(entry.key)' must be a band number or a file (found \(entry.value.shortDescription))",
                                  at: entry.value.location)
                }
                if case .scalar(_, let quoted) = entry.value.value, !quoted, let band = Int(text) {
                    guard band >= 1 else {
                        throw Problem("band '\(entry.key)' must be a band number from 1 (found \(band))", at: entry.value.location)
                    }
                    map.append(BandMapEntry(name: entry.key, band: band, path: nil, location: entry.value.location))
                } else {
                    do {
                        map.append(BandMapEntry(name: entry.key, band: nil, path: try resolveInput(text), location: entry.value.location))
                    } catch {
                        throw Problem("band '\(entry.key)': \(error.message)", at: entry.value.location)
                    }
                }
            }
            return .bandMap(map)
        }
    }

    private func checkRange(_ value: Double, spec: OptionSpec, text: String) throws(Problem) {
        guard let range = spec.range else { return }
        let belowLower = spec.excludesLowerBound ? value <= range.lowerBound : value < range.lowerBound
        if belowLower || value > range.upperBound {
            let lower = OptionValue.number(range.lowerBound).text
            let bound: String
            if range.upperBound == .greatestFiniteMagnitude || range.upperBound == .infinity {
                bound = spec.excludesLowerBound ? "> \(lower)" : ">= \(lower)"
            } else {
                bound = "between \(lower) and \(OptionValue.number(range.upperBound).text)"
            }
            throw Problem("must be \(bound) (got \(text))")
        }
    }

    /// Resolves a path against the pipeline folder and checks that it exists. GDAL virtual paths pass through.
    private func resolveInput(_ text: String) throws(Problem) -> String {
        if text.hasPrefix("/vsi") {
            if let readRoots, !readRoots.allows(text) {
                throw Problem("names a file outside the folders this run may read (found '\(text)'; allowed: \(readRoots.list)); allow it with --allow-read PREFIX")
            }
            return text
        }
        let url = text.hasPrefix("/") ? URL(fileURLWithPath: text) : directory.appendingPathComponent(text)
        let path = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Problem("names a file that does not exist (found '\(text)', looked for \(path))")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Problem("names a file that cannot be read (found '\(text)')")
        }
        if let readRoots, !readRoots.allows(path) {
            throw Problem("names a file outside the folders this run may read (found '\(text)', which is \(readRoots.resolved(path)); "
                          + "allowed: \(readRoots.list)); allow its folder with --allow-read DIR")
        }
        return path
    }
}

/// The folders a pipeline may read inputs from, resolved through symlinks, so that neither `..` nor a link leads out.
public struct ReadRoots: Sendable {
    public let folders: [String]

    /// Folders, and virtual prefixes (`/vsicurl/https://host/data/`, or `https://host/data/` for the same), as
    /// ``ReadPolicy`` takes them.
    public init(folders: [String]) {
        var seen = Set<String>()
        self.folders = folders.map { ReadPolicy.virtualRoot($0) ?? URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
            .filter { seen.insert($0).inserted }
    }

    /// The real path of a file (symlinks followed).
    func resolved(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }

    /// True when the file (after following symlinks) lies under one of the folders; a virtual path must start with an
    /// allowed virtual prefix, or name a local archive under an allowed folder (`/vsizip//abs/x.zip/...`).
    public func allows(_ path: String) -> Bool {
        if path.hasPrefix("/vsi") {
            if folders.contains(where: { $0.hasPrefix("/vsi") && (path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/")) }) { return true }
            for prefix in ["/vsizip/", "/vsitar/", "/vsigzip/"] where path.hasPrefix(prefix) {
                let local = String(path.dropFirst(prefix.count))
                return local.hasPrefix("/") && allows(local)
            }
            return false
        }
        let real = resolved(path)
        return folders.contains { !$0.hasPrefix("/vsi") && (real == $0 || real.hasPrefix($0 == "/" ? "/" : $0 + "/")) }
    }

    public var list: String { folders.joined(separator: ", ") }
}
