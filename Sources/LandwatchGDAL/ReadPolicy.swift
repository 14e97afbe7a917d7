import CGDAL
import Foundation

/// The folders a run may read from, checked for every file GDAL is about to open, not only the paths a pipeline
/// names: a VRT's sources (raster `SourceFilename`, OGR `SrcDataSource`, `relativeToVRT` resolved, VRTs of VRTs),
/// the files GDAL lists for an opened dataset (`GDALGetFileList`: sidecars, sources), symlinks resolved, `/vsi`
/// prefixes allowed only as configured. Every file checked is recorded, for run.json.
///
/// The policy is process-wide and active only between ``begin(roots:)`` and ``end()`` (a pipeline's validation or
/// run); outside, everything may be read and nothing is recorded.
public final class ReadPolicy: @unchecked Sendable {  // state guarded by `lock`
    public static let shared = ReadPolicy()

    private let lock = NSLock()
    private var roots: [String]?
    private var active = false
    private var read = Set<String>()
    /// Folders of the run's own (output root, work folder): readable, not recorded as inputs.
    private var own: [String] = []

    /// A file GDAL may not read, and the path through which it was reached.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var via: [String]
        public var allowed: [String]
        public var reason: String?
        public var description: String {
            let through = via.isEmpty ? "" : " (reached through \(via.joined(separator: " -> ")))"
            if let reason { return "\(file)\(through): \(reason)" }
            return "\(file)\(through) is outside the folders this run may read (\(allowed.joined(separator: ", "))); allow its folder with --allow-read DIR"
        }
    }

    /// A root that is a virtual prefix, as GDAL names the files under it: `/vsicurl/https://host/data/` as given, and
    /// `https://host/data/` (as `--allow-read` is written for a web server) read through `/vsicurl/`; nil for a folder.
    public static func virtualRoot(_ root: String) -> String? {
        if root.hasPrefix("http://") || root.hasPrefix("https://") { return "/vsicurl/" + root }
        return root.hasPrefix("/vsi") ? root : nil
    }

    /// Starts checking against `roots` (nil: anywhere, but still recording); forgets the files recorded before.
    public func begin(roots: [String]?) {
        // A VRT's pixel functions must not run code.
        CPLSetConfigOption("GDAL_VRT_ENABLE_PYTHON", "NO")
        lock.withLock {
            var seen = Set<String>()  // the pipeline's folder is often the current one: list it once
            self.roots = roots.map { $0.map { Self.virtualRoot($0) ?? Self.realPath($0) }.filter { seen.insert($0).inserted } }
            active = true
            read = []
            own = []
        }
    }

    /// Lets the run read its own folder (outputs, scratch) without recording those files.
    public func allowOwn(_ folder: String) {
        let real = Self.realPath(folder)
        lock.withLock { own.append(real) }
    }

    /// Stops checking.
    public func end() {
        lock.withLock {
            active = false
            roots = nil
            own = []
        }
    }

    /// The files checked since ``begin(roots:)`` (real paths, or virtual paths as given), sorted.
    public var filesRead: [String] { lock.withLock { read.sorted() } }

    /// Checks `path` and, for a VRT, every source it names (recursively), before GDAL opens it; records them.
    public func check(_ path: String) throws(Refusal) {
        var visited = Set<String>()
        try check(path, via: [], visited: &visited)
    }

    /// Checks files GDAL reports it read for an opened dataset (`GDALGetFileList`).
    public func checkOpened(_ files: [String], via path: String) throws(Refusal) {
        for file in files where file != path {
            try admit(file, via: [path])
        }
    }

    private func check(_ path: String, via: [String], visited: inout Set<String>) throws(Refusal) {
        guard lock.withLock({ active }) else { return }
        try admit(path, via: via)
        guard visited.insert(path).inserted, via.count < 16 else { return }
        for source in Self.vrtReferences(of: path) {
            // `NETCDF:/x:var`, `GTIFF_DIR:1:/x`: a driver prefix hides the file from the check; refused.
            if !source.hasPrefix("/"), let colon = source.firstIndex(of: ":"),
               source[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), colon != source.startIndex {
                throw Refusal(file: source, via: via + [path], allowed: [], reason: "a VRT source behind a driver prefix is not read (name the file itself)")
            }
            try check(source, via: via + [path], visited: &visited)
        }
    }

    /// Refuses a file outside the roots; records it otherwise.
    private func admit(_ path: String, via: [String]) throws(Refusal) {
        let (isActive, roots, own) = lock.withLock { (active, self.roots, self.own) }
        guard isActive else { return }
        if path.hasPrefix("/vsimem/") { return }  // landwatch's own in-memory files
        let real = path.hasPrefix("/vsi") ? path : Self.realPath(path)
        if own.contains(where: { real == $0 || real.hasPrefix($0 + "/") }) { return }
        if let roots, !Self.allows(path, roots: roots) {
            throw Refusal(file: path == real ? path : "\(path) (\(real))", via: via, allowed: roots)
        }
        _ = lock.withLock { read.insert(real) }
    }

    /// True when `path` (symlinks resolved) lies under one of `roots`; a virtual path must start with an allowed
    /// virtual prefix, or name a local archive under an allowed folder (`/vsizip//abs/x.zip/member`).
    static func allows(_ path: String, roots: [String]) -> Bool {
        if path.hasPrefix("/vsi") {
            if roots.contains(where: { $0.hasPrefix("/vsi") && (path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/")) }) { return true }
            for prefix in ["/vsizip/", "/vsitar/", "/vsigzip/"] where path.hasPrefix(prefix) {
                var local = String(path.dropFirst(prefix.count))
                if local.hasPrefix("{"), let close = local.firstIndex(of: "}") {
                    local = String(local[local.index(after: local.startIndex)..<close])
                }
                return local.hasPrefix("/") && !local.contains("/../") && allows(local, roots: roots)
            }
            return false
        }
        let real = realPath(path)
        return roots.contains { !$0.hasPrefix("/vsi") && (real == $0 || real.hasPrefix($0 == "/" ? "/" : $0 + "/")) }
    }

    /// The real path (symlinks followed, `..` removed) even when the last components do not exist.
    public static func realPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var existing = URL(fileURLWithPath: absolute).standardizedFileURL.path
        var rest: [String] = []
        while existing != "/" && !existing.isEmpty {
            if let resolved = realpath(existing, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            rest.append(URL(fileURLWithPath: existing).lastPathComponent)
            existing = URL(fileURLWithPath: existing).deletingLastPathComponent().path
        }
        return "/" + rest.reversed().joined(separator: "/")
    }

    // MARK: - What a VRT reads

    /// The files a GDAL raster VRT (`SourceFilename`) or OGR VRT (`SrcDataSource`) names, resolved as GDAL resolves
    /// them (`relativeToVRT="1"`: against the VRT's folder; otherwise as given). Empty for anything that is not a VRT.
    public static func vrtReferences(of path: String) -> [String] {
        guard let text = vrtText(path) else { return [] }
        guard let tree = CPLParseXMLString(text) else { return [] }
        defer { CPLDestroyXMLNode(tree) }
        let folder = path.hasPrefix("/vsi") ? (path as NSString).deletingLastPathComponent
            : URL(fileURLWithPath: path).deletingLastPathComponent().path
        var found: [String] = []
        func attribute(_ node: UnsafeMutablePointer<CPLXMLNode>, _ name: String) -> String? {
            var child = node.pointee.psChild
            while let current = child {
                if current.pointee.eType == CXT_Attribute, String(cString: current.pointee.pszValue) == name,
                   let value = current.pointee.psChild { return String(cString: value.pointee.pszValue) }
                child = current.pointee.psNext
            }
            return nil
        }
        func content(_ node: UnsafeMutablePointer<CPLXMLNode>) -> String {
            var child = node.pointee.psChild
            var result = ""
            while let current = child {
                if current.pointee.eType == CXT_Text { result += String(cString: current.pointee.pszValue) }
                child = current.pointee.psNext
            }
            return result.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func walk(_ start: UnsafeMutablePointer<CPLXMLNode>?) {
            var node = start
            while let current = node {
                if current.pointee.eType == CXT_Element {
                    let name = String(cString: current.pointee.pszValue)
                    if name == "SourceFilename" || name == "SrcDataSource" {
                        let value = content(current)
                        if !value.isEmpty {
                            let relative = attribute(current, "relativeToVRT") == "1" || attribute(current, "relativetoVRT") == "1"
                            if relative && !value.hasPrefix("/") {
                                found.append(folder + "/" + value)
                            } else {
                                found.append(value)
                            }
                        }
                    }
                    walk(current.pointee.psChild)
                }
                node = current.pointee.psNext
            }
        }
        walk(tree)
        return found
    }

    /// The text of a VRT file (by extension or content), nil for anything else.
    static func vrtText(_ path: String) -> String? {
        let lower = path.lowercased()
        if !lower.hasSuffix(".vrt") && !lower.hasSuffix(".ovf") {
            // Content, not name, decides for GDAL: look at the first bytes of small local files.
            guard !path.hasPrefix("/vsi"), let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            let head = String(decoding: (try? handle.read(upToCount: 512)) ?? Data(), as: UTF8.self)
            guard head.contains("<VRTDataset") || head.contains("<OGRVRTDataSource") else { return nil }
        }
        guard let data = try? VirtualFiles.read(path, limit: 64 << 20) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension ReadPolicy.Refusal {
    /// The refusal as GDAL-layer error, for callers that throw ``GDALError``.
    public var gdalError: GDALError { GDALError(kind: .cannotOpen, operation: description) }
}

/// Where a run's outputs are until the run ends: a run writes every output into a staging tree inside its output
/// root and publishes the whole tree by renames at the end (see `OutputTransaction` in LandwatchPipeline). Until
/// then a stage that reads an output of an earlier stage by its final path reads the staged copy; GDAL opens
/// (``Dataset/open(_:)``, ``VectorDataset/open(_:encoding:)``) are mapped here, other readers call ``located(_:)``.
public enum StagedOutputs {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var trees: [(root: String, tree: String)] = []

    /// Maps paths under `root` (symlinks resolved) to `tree` while something is staged there.
    public static func register(root: String, tree: String) {
        lock.withLock { trees.append((root, tree)) }
    }

    public static func unregister(root: String) {
        lock.withLock { trees.removeAll { $0.root == root } }
    }

    /// The staged copy of `path` when an open run staged an output there and has not published it yet; `path`
    /// itself otherwise (an output an earlier run published, an input, anything outside a run).
    public static func located(_ path: String) -> String {
        guard !path.hasPrefix("/vsi") else { return path }
        let current = lock.withLock { trees }
        guard !current.isEmpty else { return path }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        for (root, tree) in current.reversed() where absolute.hasPrefix(root + "/") && !absolute.hasPrefix(tree + "/") {
            let staged = tree + String(absolute.dropFirst(root.count))
            var info = stat()
            if lstat(staged, &info) == 0 { return staged }
        }
        return path
    }
}
