import Foundation
import LandwatchGDAL

/// What lets a rerun redo only what is missing: a key per stage (its type, options, inputs' keys, the files it reads,
/// the grid, the versions) and, in the output root, the stages whose outputs were completed under which key.
///
/// A stage that writes files is skipped when the manifest holds its key and every file it wrote is still there;
/// a stage is run when anything downstream of it that writes files is run. Files are identified by path, size,
/// modification time and inode (as make and ninja do), not by reading their bytes again.
public struct StageManifest: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var key: String
        public var timing: StageTiming
        /// Each output's identity (size, modification time, inode) when the stage published it: a file replaced since
        /// (by hand, or by another run) is not taken for the stage's result.
        public var outputIdentities: [String: String]? = nil
    }

    /// The file in the output root.
    public static let fileName = ".landwatch-stages.json"

    public var entries: [String: Entry] = [:]
    /// Every file landwatch published in the output root (relative paths): what a later run may replace. Nil in a
    /// manifest written before the list was kept.
    public var owned: [String]? = nil

    public init() {}

    /// The manifest in `data`, or nil when it is not one.
    public static func decode(_ data: Data) -> StageManifest? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(StageManifest.self, from: data)
    }

    /// The manifest an earlier run left in the output root; empty when there is none or it cannot be read.
    public static func load(from root: OutputRoot) -> StageManifest {
        let url = root.url.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return StageManifest() }
        return decode(data) ?? StageManifest()
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    // MARK: - Keys

    /// A key for every stage of the plan, each covering everything upstream of it.
    public static func keys(for plan: RunPlan, blockSize: Int, version: String = PipelineRunner.version,
                            shard: Shard? = nil) -> [String: String] {
        let pipeline = plan.pipeline
        var keys: [String: String] = [:]
        let grid = plan.grid
        let common = "landwatch \(version)\ngdal \(GDALRuntime.version)\nblock \(blockSize)\n"
            + "grid \(grid.crsWKT) \(grid.width)x\(grid.height) \(grid.geoTransform.coefficients)\n"
            + (shard.map { "shard \($0)\n" } ?? "")
        var reports: [String] = []
        for id in pipeline.topologicalOrder {
            guard let stage = pipeline.stage(id) else { continue }
            if stage.descriptor.evaluation == .report { reports.append(id); continue }
            keys[id] = SHA256.hex(Array((common + describe(stage, keys: keys)).utf8))
        }
        // A report reads the record of every other stage.
        let everything = keys.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        for id in reports {
            guard let stage = pipeline.stage(id) else { continue }
            keys[id] = SHA256.hex(Array((common + describe(stage, keys: keys) + everything).utf8))
        }
        return keys
    }

    /// The stage's type, options (input files with their identity), legend and the keys of its inputs.
    static func describe(_ stage: StageDeclaration, keys: [String: String]) -> String {
        var text = "uses \(stage.uses)\nkeep \(stage.keep)\nlegend \(stage.options.legend.classes.map { "\($0.code):\($0.name):\($0.color)" })\n"
        let specs = Dictionary(stage.descriptor.options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (name, value) in stage.options.values.sorted(by: { $0.key < $1.key }) {
            text += "option \(name)=\(canonical(value))\n"
            switch value {
            case .path(let path) where specs[name]?.type == .inputPath:
                text += "file \(identity(of: path))\n"
                for extra in indirectFiles(of: path) { text += "reads \(identity(of: extra))\n" }
            case .bandMap(let entries):
                for path in entries.compactMap(\.path) {
                    text += "file \(identity(of: path))\n"
                    for extra in indirectFiles(of: path) { text += "reads \(identity(of: extra))\n" }
                }
            default:
                break
            }
        }
        for input in stage.inputs { text += "input \(input.port)=\(keys[input.stageID] ?? "?")\n" }
        return text
    }

    /// Files a stage reads besides the ones its options name, for the key and for run.json: a VRT's sources
    /// (recursively), the files a Landsat MTL names (the band files beside it), a shapefile's siblings, GDAL's
    /// sidecars (`.aux.xml`, `.ovr`, `.msk`, world files).
    public static func indirectFiles(of path: String) -> [String] {
        guard !path.hasPrefix("/vsi") else { return ReadPolicy.vrtReferences(of: path) }
        var result: [String] = []
        var queue = [path], seen = Set<String>()
        while let next = queue.popLast() {
            guard seen.insert(next).inserted, seen.count < 1024 else { continue }
            for source in ReadPolicy.vrtReferences(of: next) where !result.contains(source) {
                result.append(source)
                queue.append(source)
            }
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        let ext = url.pathExtension.lowercased()
        let fm = FileManager.default
        var siblings: [String] = [path + ".aux.xml", path + ".ovr", path + ".msk"]
        let stem = url.deletingPathExtension().path
        if ext == "shp" || ext == "tab" || ext == "mif" {
            for sibling in ["dbf", "shx", "prj", "cpg", "qix", "sbn", "sbx", "qpj", "dat", "id", "map", "ind", "mid"] {
                siblings += [stem + "." + sibling, stem + "." + sibling.uppercased()]
            }
        }
        for world in ["tfw", "tifw", "wld", "jgw", "j2w"] { siblings.append(stem + "." + world) }
        let upper = url.lastPathComponent.uppercased()
        if upper.hasSuffix("_MTL.TXT") || upper.hasSuffix("_MTL.JSON") || upper.hasSuffix("_MTL.XML"),
           let data = fm.contents(atPath: path), data.count < 4 << 20 {
            let text = String(decoding: data, as: UTF8.self)
            if let pattern = try? NSRegularExpression(pattern: #"FILE_NAME_[A-Z0-9_]+"?\s*[=:>]\s*"?([^"\s<]+)"#) {
                for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    guard let range = Range(match.range(at: 1), in: text) else { continue }
                    let name = String(text[range])
                    siblings.append(name.hasPrefix("/") ? name : folder.appendingPathComponent(name).path)
                }
            }
        }
        for sibling in siblings where sibling != path && !result.contains(sibling) && fm.fileExists(atPath: sibling) {
            result.append(sibling)
        }
        return result
    }

    /// ``indirectFiles(of:)`` of every file the plan's options name.
    public static func indirectFiles(_ plan: RunPlan) -> [String] {
        var result = Set<String>()
        for path in plan.pipeline.inputFiles { result.formUnion(indirectFiles(of: path)) }
        return result.sorted()
    }

    /// The full value as text (structured options included, which `OptionValue.text` abbreviates).
    static func canonical(_ value: OptionValue) -> String {
        switch value {
        case .node(let node): return canonical(node)
        case .number(let d): return String(d.bitPattern)
        default: return value.text
        }
    }

    static func canonical(_ node: ConfigNode) -> String {
        switch node.value {
        case .scalar(let text, let quoted): return quoted ? "\"\(text)\"" : text
        case .null: return "~"
        case .sequence(let items): return "[" + items.map(canonical).joined(separator: ",") + "]"
        case .mapping(let entries): return "{" + entries.map { "\($0.key):\(canonical($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// Path, size, modification time and inode of a file; for a folder (a SAFE product), of every file in it; for a
    /// remote file (`/vsicurl/`, `/vsis3/`), the size and Last-Modified the server gives.
    static func identity(of path: String) -> String {
        if path.hasPrefix("/vsi") {
            guard let status = VirtualFiles.status(path) else { return "\(path) unreachable \(UUID().uuidString)" }
            return "\(path) \(status.size) \(status.modified)"
        }
        func one(_ path: String) -> String {
            var info = stat()
            guard stat(path, &info) == 0 else { return "\(path) missing" }
            return "\(path) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return one(path) }
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        return files.map { one(URL(fileURLWithPath: path).appendingPathComponent($0).path) }.joined(separator: "\n")
    }

    /// Size, modification time and inode of a published output; nil when it is missing or not a regular file.
    static func outputIdentity(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
    }

    // MARK: - What a rerun may skip

    /// The stages a run can leave out: those whose outputs are all complete under the same key, and those that only
    /// feed such stages. Nothing is skipped when the manifest is empty.
    /// In a shard, `split` names the stages left to the merge (never run) and the products handed over (files).
    public func skippable(in plan: RunPlan, keys: [String: String], root: OutputRoot, split: ShardSplit? = nil) -> Set<String> {
        guard !entries.isEmpty else { return [] }
        let pipeline = plan.pipeline
        let deferred = split?.deferred ?? [], handedOver = Set(split?.handedOver ?? [])
        func writesFiles(_ stage: StageDeclaration) -> Bool {
            if handedOver.contains(stage.id) { return true }
            switch stage.descriptor.evaluation {
            case .sink, .report: return true
            case .wholeRaster: return stage.role.kind == .wholeSink || stage.keep
            case .source, .pixelwise: return stage.keep
            }
        }
        func isFresh(_ id: String) -> Bool {
            guard let entry = entries[id], entry.key == keys[id] else { return false }
            return entry.timing.outputs.allSatisfy { output in
                let path = root.url.appendingPathComponent(output).path
                guard let identities = entry.outputIdentities else { return FileManager.default.fileExists(atPath: path) }
                return identities[output] == Self.outputIdentity(path)
            }
        }
        var needed = Set<String>()
        // With a stack, not recursion: a chain of 15,000 stages would exhaust the thread's stack.
        func need(_ start: String) {
            var pending = [start]
            while let id = pending.popLast() {
                guard needed.insert(id).inserted, let stage = pipeline.stage(id) else { continue }
                for input in stage.inputs {
                    // A model (a sink's file) that is complete is read from its file, not made again.
                    if pipeline.stage(input.stageID)?.descriptor.evaluation == .sink, isFresh(input.stageID) { continue }
                    pending.append(input.stageID)
                }
            }
        }
        for id in pipeline.topologicalOrder {
            guard !deferred.contains(id), let stage = pipeline.stage(id), writesFiles(stage), !isFresh(id) else { continue }
            need(id)
        }
        return Set(pipeline.topologicalOrder).subtracting(needed)
    }
}

/// Keeps the manifest's entries up to date as stages finish; the transaction publishes them with the outputs (a
/// run that publishes at its end), or writes them at once.
final class StageManifestWriter: @unchecked Sendable {  // `manifest` guarded by `lock`; the rest immutable
    private let lock = NSLock()
    private var manifest: StageManifest
    private let keys: [String: String]
    private let root: OutputRoot

    init(manifest: StageManifest, keys: [String: String], root: OutputRoot) {
        self.manifest = manifest
        self.keys = keys
        self.root = root
    }

    /// Records finished stages that wrote files (after their files were renamed into place).
    func record(_ timings: [StageTiming]) throws(RunError) {
        lock.lock()
        defer { lock.unlock() }
        for timing in timings where !timing.outputs.isEmpty {
            guard let key = keys[timing.id] else { continue }
            var kept = timing
            kept.reused = nil
            var identities: [String: String] = [:]
            for output in timing.outputs {
                // Staged until the run publishes; a rename keeps size, modification time and inode.
                identities[output] = StageManifest.outputIdentity(StagedOutputs.located(root.url.appendingPathComponent(output).path))
            }
            manifest.entries[timing.id] = StageManifest.Entry(key: key, timing: kept, outputIdentities: identities)
        }
        if let transaction = OutputTransaction.containing(root.url.appendingPathComponent(StageManifest.fileName)) {
            try transaction.updateEntries(manifest.entries)
            return
        }
        let data: Data
        do { data = try manifest.encoded() } catch { throw RunError(.internal, "cannot encode \(StageManifest.fileName): \(error)") }
        try root.writeAtomically(data, to: StageManifest.fileName)
    }
}
