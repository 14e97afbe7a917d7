import Foundation
import LandwatchAlgorithms
import LandwatchGDAL

/// Reads a pipeline file and checks everything that can be checked without reading a pixel.
///
/// Every problem becomes a ``Diagnostic`` (`FILE:LINE:COL: STAGE-ID: what is wrong (what was found)`) and all of a
/// file's problems are reported together in one ``PipelineFileError``.
public struct PipelineLoader: Sendable {
    public var registry: StageRegistry
    /// Folders (or GDAL virtual-path prefixes such as `/vsis3/bucket`) the file may name inputs under, besides its
    /// own folder; nil reads anywhere (the library default; the command line always sets it).
    public var readRoots: [String]?

    public init(registry: StageRegistry, readRoots: [String]? = nil) {
        self.registry = registry
        self.readRoots = readRoots
    }

    static let topLevelKeys = ["version", "name", "description", "params", "grid", "legend", "stages"]
    static let stageKeys = ["id", "uses", "inputs", "with", "keep", "description"]

    /// Loads a file from disk. `overrides` are `--set name=value` pairs.
    public func load(path: String, overrides: [String: String] = [:]) throws(PipelineFileError) -> Pipeline {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read" : "no such file"
            throw PipelineFileError([Diagnostic(SourceLocation(file: path, line: 1, column: 1), stage: nil,
                                                "cannot read the pipeline file (\(reason))")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineFileError([Diagnostic(SourceLocation(file: path, line: 1, column: 1), stage: nil,
                                                "the pipeline file is not UTF-8 text")])
        }
        return try load(text: text, path: path, directory: url.deletingLastPathComponent(), overrides: overrides)
    }

    /// Loads pipeline text; `path` names it in messages and `directory` resolves relative input paths.
    public func load(text: String, path: String, directory: URL, overrides: [String: String] = [:]) throws(PipelineFileError) -> Pipeline {
        let root = try ConfigParser.parse(text, file: path)
        var problems = DiagnosticCollector()
        let top = SourceLocation(file: path, line: 1, column: 1)
        guard let entries = root.entries else {
            throw PipelineFileError([Diagnostic(root.location, stage: nil,
                                                "a pipeline file is a mapping with version, name, params, grid and stages (found \(root.shortDescription))")])
        }
        for entry in entries where !Self.topLevelKeys.contains(entry.key) {
            problems.add(entry.keyLocation, stage: nil,
                         "unknown key '\(entry.key)' (expected one of: \(Self.topLevelKeys.joined(separator: ", ")))")
        }

        // version
        var version = 1
        if let entry = root.entry("version") {
            if let text = entry.value.scalarText, let value = Int(text), value == 1 {
                version = value
            } else {
                problems.add(entry.value.location, stage: nil, "version must be 1 (found \(entry.value.shortDescription))")
            }
        } else {
            problems.add(top, stage: nil, "missing key 'version' (write 'version: 1' first)")
        }

        // params, then overrides
        var params: [String: String] = [:]
        var paramLocations: [String: SourceLocation] = [:]
        var paramsLocation = top
        if let entry = root.entry("params") {
            paramsLocation = entry.keyLocation
            if let items = entry.value.entries {
                for item in items {
                    guard let value = item.value.scalarText else {
                        problems.add(item.value.location, stage: nil,
                                     "parameter '\(item.key)' must be a single value (found \(item.value.shortDescription))")
                        continue
                    }
                    params[item.key] = value
                    paramLocations[item.key] = item.value.location
                }
            } else if case .null = entry.value.value {
            } else {
                problems.add(entry.value.location, stage: nil, "params must be a mapping of names to values (found \(entry.value.shortDescription))")
            }
        }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if params[name] == nil {
                let known = params.keys.sorted().joined(separator: ", ")
                problems.add(paramsLocation, stage: nil,
                             "--set \(name)=\(value): the file has no parameter '\(name)' (its params: \(known.isEmpty ? "none" : known))")
            } else {
                params[name] = value
            }
        }
        // A parameter's value may use other parameters (after the overrides, so that --set data=… reaches them).
        params = ParameterSubstitution.expanding(params, locations: paramLocations, fallback: paramsLocation, &problems)
        var substituter = ParameterSubstitution(params: params)
        substituter.broken = Set(params.filter { $0.value.contains("${") }.keys)

        let name = root.entry("name").flatMap { substituter.apply($0.value, stage: nil, &problems).scalarText }
            ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let description = root.entry("description").flatMap { substituter.apply($0.value, stage: nil, &problems).scalarText } ?? ""

        var legend = Legend.standard
        if let entry = root.entry("legend") {
            legend = loadLegend(substituter.apply(entry.value, stage: nil, &problems), problems: &problems) ?? legend
        }

        // stages
        var declarations: [StageDeclaration] = []
        var seenIDs: [String: SourceLocation] = [:]
        var pendingInputs: [(stage: Int, ref: StageDeclaration.InputReference)] = []
        // One checker for every stage: resolving the read roots (symlinks) once, not per stage.
        let checker = OptionChecker(directory: directory, readRoots: readRoots.map { ReadRoots(folders: [directory.path] + $0) })
        if let entry = root.entry("stages") {
            if let items = entry.value.items {
                if items.isEmpty { problems.add(entry.value.location, stage: nil, "stages is empty: a pipeline needs at least one stage") }
                for item in items {
                    if let declaration = loadStage(item, checker: checker, substituter: substituter, legend: legend,
                                                   seenIDs: &seenIDs, problems: &problems) {
                        for ref in declaration.inputs { pendingInputs.append((declarations.count, ref)) }
                        declarations.append(declaration)
                    }
                }
            } else {
                problems.add(entry.value.location, stage: nil, "stages must be a list of stages (found \(entry.value.shortDescription))")
            }
        } else {
            problems.add(top, stage: nil, "missing key 'stages'")
        }

        checkInputs(declarations, seenIDs: seenIDs, problems: &problems)
        checkCycles(declarations, problems: &problems)
        checkOutputPaths(declarations, problems: &problems)

        var grid: GridSpec?
        if let entry = root.entry("grid") {
            grid = loadGrid(substituter.apply(entry.value, stage: nil, &problems), declarations: declarations, seenIDs: seenIDs, problems: &problems)
        }

        try problems.throwIfAny()
        let contents = Data(text.utf8)
        return Pipeline(path: path, directory: directory, contents: contents, version: version, name: name,
                        description: description, params: params, grid: grid, legend: legend, stages: declarations)
    }

    // MARK: - Stages

    private func loadStage(_ node: ConfigNode, checker: OptionChecker, substituter: ParameterSubstitution, legend: Legend,
                           seenIDs: inout [String: SourceLocation], problems: inout DiagnosticCollector) -> StageDeclaration? {
        guard let entries = node.entries else {
            problems.add(node.location, stage: nil, "a stage must be a mapping with id, uses, inputs and with (found \(node.shortDescription))")
            return nil
        }
        // The id first, so that every later message can name the stage.
        var id: String?
        if let idEntry = node.entry("id") {
            if let text = idEntry.value.scalarText, Self.isValidID(text) {
                id = text
                if let earlier = seenIDs[text] {
                    problems.add(idEntry.value.location, stage: text, "duplicate stage id (first used at line \(earlier.line))")
                } else {
                    seenIDs[text] = idEntry.value.location
                }
            } else {
                problems.add(idEntry.value.location, stage: nil,
                             "stage id must start with a letter and hold only letters, digits, '_' and '-' (found \(idEntry.value.shortDescription))")
            }
        } else {
            problems.add(node.location, stage: nil, "stage has no 'id'")
        }
        let label = id ?? "stage at line \(node.location.line)"
        for entry in entries where !Self.stageKeys.contains(entry.key) {
            problems.add(entry.keyLocation, stage: label,
                         "unknown key '\(entry.key)' (a stage has: \(Self.stageKeys.joined(separator: ", ")))")
        }

        guard let usesEntry = node.entry("uses") else {
            problems.add(node.location, stage: label, "stage has no 'uses' (the stage type, for example index.ndvi)")
            return nil
        }
        guard let uses = usesEntry.value.scalarText else {
            problems.add(usesEntry.value.location, stage: label, "'uses' must name a stage type (found \(usesEntry.value.shortDescription))")
            return nil
        }
        guard let stageType = registry.type(for: uses) else {
            var message = "unknown stage type '\(uses)'"
            if let suggestion = Self.closest(to: uses, in: registry.ids) { message += " (did you mean '\(suggestion)'?)" }
            else { message += " ('landwatch stages' lists the known types)" }
            problems.add(usesEntry.value.location, stage: label, message)
            return nil
        }
        let descriptor = stageType.descriptor

        // inputs
        var inputs: [StageDeclaration.InputReference] = []
        if let inputsEntry = node.entry("inputs") {
            let value = substituter.apply(inputsEntry.value, stage: label, &problems)
            inputs = loadInputs(value, descriptor: descriptor, stage: label, problems: &problems)
        }
        let connected = Set(inputs.map(\.port))
        for port in descriptor.inputs where !connected.contains(port.name) && !port.optional {
            problems.add(node.entry("inputs")?.value.location ?? usesEntry.value.location, stage: label,
                         "missing input '\(port.name)' (\(port.help); \(descriptor.id) takes \(Self.describePorts(descriptor)))")
        }

        // keep
        var keep = false
        if let keepEntry = node.entry("keep") {
            if let flag = Self.boolean(keepEntry.value.scalarText) { keep = flag } else {
                problems.add(keepEntry.value.location, stage: label, "'keep' must be true or false (found \(keepEntry.value.shortDescription))")
            }
            if keep && descriptor.output == nil {
                problems.add(keepEntry.value.location, stage: label, "'keep' has no effect: \(descriptor.id) produces no raster")
            }
        }

        // options; a parameter that could not be substituted would only cause follow-on errors here
        let before = problems.count
        let withNode = node.entry("with").map { substituter.apply($0.value, stage: label, &problems) }
        guard problems.count == before else { return nil }
        let checked = checker.check(withNode, specs: descriptor.options, stage: label, stageType: descriptor.id,
                                    fallback: usesEntry.value.location, problems: &problems)
        guard var options = checked else { return nil }
        options.legend = legend
        options.readRoots = checker.readRoots
        let instance: any StageType
        do {
            instance = try stageType.init(options: options)
        } catch {
            for problem in error.all {
                problems.add(problem.location ?? options.locations[problem.option ?? ""] ?? usesEntry.value.location, stage: label, problem.message)
            }
            return nil
        }
        guard let id else { return nil }
        return StageDeclaration(id: id, uses: uses, location: node.location, usesLocation: usesEntry.value.location,
                                inputs: inputs, options: options, keep: keep, instance: instance, role: StageRole(instance))
    }

    private func loadInputs(_ node: ConfigNode, descriptor: StageDescriptor, stage: String,
                            problems: inout DiagnosticCollector) -> [StageDeclaration.InputReference] {
        let ports = descriptor.inputs
        var refs: [StageDeclaration.InputReference] = []
        if ports.isEmpty {
            if case .null = node.value { return [] }
            problems.add(node.location, stage: stage, "\(descriptor.id) takes no inputs (found \(node.shortDescription))")
            return []
        }
        switch node.value {
        case .sequence(let items):
            if items.count > ports.count {
                problems.add(items[ports.count].location, stage: stage,
                             "too many inputs: \(descriptor.id) takes \(Self.describePorts(descriptor)) (found \(items.count))")
            }
            for (port, item) in zip(ports, items) {
                guard let id = item.scalarText else {
                    problems.add(item.location, stage: stage, "an input must be a stage id (found \(item.shortDescription))")
                    continue
                }
                refs.append(.init(port: port.name, stageID: id, location: item.location))
            }
        case .mapping(let entries):
            for entry in entries {
                guard ports.contains(where: { $0.name == entry.key }) else {
                    problems.add(entry.keyLocation, stage: stage,
                                 "unknown input '\(entry.key)' (\(descriptor.id) takes \(Self.describePorts(descriptor)))")
                    continue
                }
                guard let id = entry.value.scalarText else {
                    problems.add(entry.value.location, stage: stage, "input '\(entry.key)' must be a stage id (found \(entry.value.shortDescription))")
                    continue
                }
                refs.append(.init(port: entry.key, stageID: id, location: entry.value.location))
            }
        case .scalar(let id, _):
            refs.append(.init(port: ports[0].name, stageID: id, location: node.location))
        case .null:
            break
        }
        return refs
    }

    private func checkInputs(_ declarations: [StageDeclaration], seenIDs: [String: SourceLocation],
                             problems: inout DiagnosticCollector) {
        let byID = Dictionary(declarations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for declaration in declarations {
            for ref in declaration.inputs {
                if ref.stageID == declaration.id {
                    problems.add(ref.location, stage: declaration.id, "the stage reads its own output (input '\(ref.stageID)')")
                    continue
                }
                guard let source = byID[ref.stageID] else {
                    if seenIDs[ref.stageID] == nil {
                        var message = "input '\(ref.stageID)' is not the id of a stage in this file"
                        if let suggestion = Self.closest(to: ref.stageID, in: Array(seenIDs.keys)) { message += " (did you mean '\(suggestion)'?)" }
                        problems.add(ref.location, stage: declaration.id, message)
                    }
                    continue
                }
                guard let port = declaration.descriptor.inputs.first(where: { $0.name == ref.port }) else { continue }
                guard let produced = source.descriptor.output else {
                    problems.add(ref.location, stage: declaration.id,
                                 "input '\(ref.stageID)' produces no raster to read (it is a \(source.uses) stage)")
                    continue
                }
                if !port.kinds.contains(produced) {
                    problems.add(ref.location, stage: declaration.id,
                                 "input '\(ref.port)' wants \(port.kinds.map(\.rawValue).joined(separator: " or ")), but '\(ref.stageID)' (\(source.uses)) produces \(produced.rawValue)")
                }
            }
        }
    }

    /// Reports each cycle of inputs once. Iterative, with one path that grows and shrinks: a chain of 15,000 stages
    /// declared last-first neither exhausts the stack nor copies the path at every step.
    private func checkCycles(_ declarations: [StageDeclaration], problems: inout DiagnosticCollector) {
        var position: [String: Int] = [:]
        for (index, declaration) in declarations.enumerated() where position[declaration.id] == nil { position[declaration.id] = index }
        var state = [UInt8](repeating: 0, count: declarations.count)  // 1 on the path, 2 done
        var slot = [Int](repeating: -1, count: declarations.count)    // where on the path
        var path: [Int] = []
        var reported = Set<String>()
        for start in declarations.indices where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            slot[start] = 0
            path = [start]
            while let top = stack.last {
                let declaration = declarations[top.node]
                guard top.next < declaration.inputs.count else {
                    state[top.node] = 2
                    stack.removeLast()
                    path.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let ref = declaration.inputs[top.next]
                guard ref.stageID != declaration.id, let next = position[ref.stageID] else { continue }
                switch state[next] {
                case 2:
                    continue
                case 1:
                    let cycle = path[slot[next]...].map { declarations[$0].id } + [declarations[next].id]
                    let key = Set(cycle).sorted().joined(separator: ",")
                    if cycle.count > 2, reported.insert(key).inserted {
                        problems.add(ref.location, stage: declaration.id, "inputs form a cycle (\(cycle.joined(separator: " -> ")))")
                    }
                default:
                    state[next] = 1
                    slot[next] = path.count
                    path.append(next)
                    stack.append((next, 0))
                }
            }
        }
    }

    private func checkOutputPaths(_ declarations: [StageDeclaration], problems: inout DiagnosticCollector) {
        var seen: [String: String] = [:]
        for declaration in declarations {
            guard let paths = declaration.role.outputPaths else { continue }
            for path in paths {
                let normalized = OutputRoot.normalize(path) ?? path
                if let other = seen[normalized] {
                    problems.add(declaration.location(of: "path"), stage: declaration.id,
                                 "output '\(path)' is also written by stage '\(other)'")
                }
                seen[normalized] = declaration.id
            }
        }
    }

    // MARK: - Legend

    private func loadLegend(_ node: ConfigNode, problems: inout DiagnosticCollector) -> Legend? {
        guard let items = node.items, !items.isEmpty else {
            problems.add(node.location, stage: nil, "legend must be a list of classes {code, name, name_zh, color} (found \(node.shortDescription))")
            return nil
        }
        var classes: [LegendClass] = []
        let before = problems.diagnostics.count
        for item in items {
            guard item.entries != nil else {
                problems.add(item.location, stage: nil, "a legend class is a mapping {code, name, name_zh, color} (found \(item.shortDescription))")
                continue
            }
            for entry in item.entries! where !["code", "name", "name_zh", "color"].contains(entry.key) {
                problems.add(entry.keyLocation, stage: nil, "unknown key '\(entry.key)' in a legend class (it has code, name, name_zh, color)")
            }
            guard let codeText = item.entry("code")?.value.scalarText, let code = Int(codeText), (1...255).contains(code) else {
                problems.add(item.entry("code")?.value.location ?? item.location, stage: nil,
                             "a legend class needs a code from 1 to 255 (0 is nodata) (found \(item.entry("code")?.value.shortDescription ?? "none"))")
                continue
            }
            guard let name = item.entry("name")?.value.scalarText, !name.isEmpty else {
                problems.add(item.location, stage: nil, "legend class \(code) needs a name")
                continue
            }
            let color = item.entry("color")?.value.scalarText ?? "#808080"
            if !(color.count == 7 && color.hasPrefix("#") && color.dropFirst().allSatisfy(\.isHexDigit)) {
                problems.add(item.entry("color")!.value.location, stage: nil, "legend colour must be #RRGGBB (found '\(color)')")
            }
            if classes.contains(where: { $0.code == code }) {
                problems.add(item.entry("code")!.value.location, stage: nil, "legend code \(code) is used twice")
            }
            if classes.contains(where: { $0.name == name }) {
                problems.add(item.entry("name")!.value.location, stage: nil, "legend name '\(name)' is used twice")
            }
            classes.append(LegendClass(code: code, name: name, nameZH: item.entry("name_zh")?.value.scalarText ?? name, color: color))
        }
        return problems.diagnostics.count == before ? Legend(classes: classes) : nil
    }

    // MARK: - Grid

    private func loadGrid(_ node: ConfigNode, declarations: [StageDeclaration], seenIDs: [String: SourceLocation],
                          problems: inout DiagnosticCollector) -> GridSpec? {
        guard let entries = node.entries else {
            problems.add(node.location, stage: nil, "grid must be a mapping: {like: STAGE} or {crs, resolution, extent} (found \(node.shortDescription))")
            return nil
        }
        let allowed = ["like", "crs", "resolution", "extent"]
        for entry in entries where !allowed.contains(entry.key) {
            problems.add(entry.keyLocation, stage: nil, "unknown key '\(entry.key)' in grid (expected like, or crs, resolution and extent)")
        }
        if let like = node.entry("like") {
            guard let id = like.value.scalarText else {
                problems.add(like.value.location, stage: nil, "grid 'like' must name a stage (found \(like.value.shortDescription))")
                return nil
            }
            if entries.count > 1 {
                problems.add(like.keyLocation, stage: nil, "grid takes either 'like' or crs, resolution and extent, not both")
            }
            guard let stage = declarations.first(where: { $0.id == id }) else {
                // A stage of that id whose own problems are reported is not a second problem of the grid.
                if seenIDs[id] == nil { problems.add(like.value.location, stage: nil, "grid 'like: \(id)': no stage has that id") }
                return nil
            }
            if !stage.role.isSource {
                problems.add(like.value.location, stage: nil, "grid 'like: \(id)': the stage must read a raster (it is a \(stage.uses) stage)")
            }
            return .like(stageID: id, location: like.value.location)
        }
        var crs: String?, resolution: Double?, extent: [Double]?
        if let entry = node.entry("crs") {
            crs = entry.value.scalarText
            if let text = crs {
                do { _ = try SpatialReference(definition: text) } catch {
                    problems.add(entry.value.location, stage: nil, "grid crs: unknown CRS (found '\(text)')")
                    crs = nil
                }
            } else {
                problems.add(entry.value.location, stage: nil, "grid crs must be a CRS such as EPSG:4547 (found \(entry.value.shortDescription))")
            }
        } else { problems.add(node.location, stage: nil, "grid needs 'crs' (or 'like: STAGE')") }
        if let entry = node.entry("resolution") {
            if let value = entry.value.scalarText.flatMap(Double.init), value > 0, value.isFinite { resolution = value } else {
                problems.add(entry.value.location, stage: nil, "grid resolution must be a number > 0 in CRS units (found \(entry.value.shortDescription))")
            }
        } else { problems.add(node.location, stage: nil, "grid needs 'resolution'") }
        if let entry = node.entry("extent") {
            let values = entry.value.items?.compactMap { $0.scalarText.flatMap(Double.init) } ?? []
            if values.count == 4, values[0] < values[2], values[1] < values[3] { extent = values } else {
                problems.add(entry.value.location, stage: nil,
                             "grid extent must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax (found \(entry.value.shortDescription))")
            }
        } else { problems.add(node.location, stage: nil, "grid needs 'extent' ([xmin, ymin, xmax, ymax])") }
        guard let crs, let resolution, let extent else { return nil }
        return .explicit(crs: crs, resolution: resolution, extent: extent, location: node.location)
    }

    // MARK: - Helpers

    static func isValidID(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic else { return false }
        return text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    static func boolean(_ text: String?) -> Bool? {
        switch text?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    static func describePorts(_ descriptor: StageDescriptor) -> String {
        if descriptor.inputs.isEmpty { return "no inputs" }
        return descriptor.inputs.map { "\($0.name) (\($0.kinds.map(\.rawValue).joined(separator: "|")))" }.joined(separator: ", ")
    }

    /// The candidate within edit distance 2 of `word`, if one is.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
