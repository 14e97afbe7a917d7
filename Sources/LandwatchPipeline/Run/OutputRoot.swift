import Foundation

/// The one folder a run may write into. Every output path is resolved under it, symlinks included.
public struct OutputRoot: Sendable {
    /// The root, with symlinks resolved.
    public let url: URL

    /// Creates the folder if needed and checks that it can be written.
    public init(path: String) throws(RunError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw RunError(.outputNotWritable, "output directory \(path) is a file, not a folder")
            }
        } else if let reason = Self.makeDirectories(path) {
            throw RunError(.outputNotWritable, "output directory \(path) cannot be created: \(reason)")
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL
        let probe = resolved.appendingPathComponent(".landwatch-write-check-\(getpid())")
        guard fm.createFile(atPath: probe.path, contents: Data()) else {
            let detail = access(resolved.path, W_OK) != 0 ? String(cString: strerror(errno)) : "cannot create files there"
            throw RunError(.outputNotWritable, "output directory \(path) cannot be written: \(detail)")
        }
        try? fm.removeItem(at: probe)
        url = resolved
    }

    /// The relative path made canonical (no `.`, no `..`), or nil when it is absolute or leaves the root.
    public static func normalize(_ relative: String) -> String? {
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.hasPrefix("~") else { return nil }
        var parts: [Substring] = []
        for part in relative.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// The absolute location of a relative output path; creates its parent folders and refuses any path that
    /// leaves the root, through `..` or through a symlink.
    public func resolve(_ relative: String) throws(RunError) -> URL {
        guard let normalized = Self.normalize(relative) else {
            throw RunError(.outputNotWritable, "output path '\(relative)' leaves the output root \(url.path)")
        }
        let target = url.appendingPathComponent(normalized)
        let parent = target.deletingLastPathComponent()
        if let reason = Self.makeDirectories(parent.path) {
            throw RunError(.outputNotWritable, "cannot create folder \(parent.path): \(reason)")
        }
        let realParent = parent.resolvingSymlinksInPath().standardizedFileURL.path
        guard realParent == url.path || realParent.hasPrefix(url.path + "/") else {
            throw RunError(.outputNotWritable, "output path '\(relative)' leaves the output root \(url.path) through a symlink (to \(realParent))")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: target.path),
           attributes[.type] as? FileAttributeType == .typeSymbolicLink {
            throw RunError(.outputNotWritable, "output path '\(relative)' is a symlink; landwatch does not write through links")
        }
        return target
    }

    /// Writes data to a relative path atomically: a temporary name first, renamed when complete.
    public func writeAtomically(_ data: Data, to relative: String) throws(RunError) {
        try AtomicOutput(target: try resolve(relative)).write { path in try data.write(to: URL(fileURLWithPath: path)) }
    }

    /// Creates a folder and its parents (`mkdir -p`); returns the system's reason when it cannot.
    public static func makeDirectories(_ path: String) -> String? {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return String(cString: strerror(errno)) }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return String(cString: strerror(ENOTDIR))
        }
        return nil
    }

    static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}

/// An output file written under a temporary name (`NAME.partial`) and renamed into place when complete,
/// so that a killed run never leaves a file that looks finished.
public struct AtomicOutput: Sendable {
    public let target: URL
    public let temporaryPath: String

    /// - Parameter keepingExtension: name the temporary file `NAME.partial.EXT` instead of `NAME.EXT.partial`, for
    ///   writers that choose their format by extension (XGBoost's `.json`).
    public init(target: URL, keepingExtension: Bool = false) {
        self.target = target
        let ext = target.pathExtension
        if keepingExtension, !ext.isEmpty {
            temporaryPath = target.deletingPathExtension().path + ".partial." + ext
        } else {
            temporaryPath = target.path + ".partial"
        }
        PartialFiles.shared.register(temporaryPath)
    }

    /// Renames the temporary file onto the target (replacing an older output), with GDAL's `.aux.xml` side file
    /// (category names, statistics) when there is one.
    public func commit() throws(RunError) {
        let sidecar = temporaryPath + ".aux.xml"
        if FileManager.default.fileExists(atPath: sidecar) {
            _ = rename(sidecar, target.path + ".aux.xml")
        } else {
            unlink(target.path + ".aux.xml")  // a stale side file of an older output would describe the wrong data
        }
        if rename(temporaryPath, target.path) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw RunError(.io, "cannot move \(temporaryPath) to \(target.path): \(reason)")
        }
        PartialFiles.shared.unregister(temporaryPath)
    }

    /// Deletes the temporary file.
    public func abort() {
        unlink(temporaryPath)
        unlink(temporaryPath + ".aux.xml")
        PartialFiles.shared.unregister(temporaryPath)
    }

    /// Runs `body` to write the temporary file (its path is the argument), then renames it into place; on any
    /// failure the temporary file is deleted and the target left as it was.
    public func write(_ body: (String) throws -> Void) throws(RunError) {
        do {
            try body(temporaryPath)
            try commit()
        } catch let error as RunError {
            abort()
            throw error
        } catch {
            abort()
            throw RunError(.io, "cannot write \(target.path): \(OutputRoot.reason(error))")
        }
    }
}

/// The partial files of the process, so that a signal handler can delete them when the run is interrupted.
public final class PartialFiles: @unchecked Sendable {
    public static let shared = PartialFiles()
    private let lock = NSLock()
    private var paths = Set<String>()
    private var directories = Set<String>()

    func register(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func unregister(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    func registerDirectory(_ path: String) { lock.withLock { _ = directories.insert(path) } }
    func unregisterDirectory(_ path: String) { lock.withLock { _ = directories.remove(path) } }

    /// Deletes every registered partial file and work directory; called on SIGINT/SIGTERM before exiting.
    public func removeAll() {
        lock.withLock {
            for path in paths { unlink(path) }
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
            paths.removeAll()
            directories.removeAll()
        }
    }
}

/// An output folder written under a temporary name (`NAME.partial`) and moved into place when every file in it is
/// complete, replacing an older folder of the same name only then.
public struct AtomicDirectory: Sendable {
    public let target: URL
    public let temporary: URL

    /// Creates the temporary folder (emptied if a killed run left one).
    public init(target: URL) throws(RunError) {
        self.target = target
        temporary = URL(fileURLWithPath: target.path + ".partial")
        try? FileManager.default.removeItem(at: temporary)
        if let reason = OutputRoot.makeDirectories(temporary.path) {
            throw RunError(.outputNotWritable, "cannot create folder \(temporary.path): \(reason)")
        }
        PartialFiles.shared.registerDirectory(temporary.path)
    }

    /// A path inside the temporary folder (creating its subfolders).
    public func path(_ relative: String) throws(RunError) -> String {
        let url = temporary.appendingPathComponent(relative)
        if let reason = OutputRoot.makeDirectories(url.deletingLastPathComponent().path) {
            throw RunError(.outputNotWritable, "cannot create folder \(url.deletingLastPathComponent().path): \(reason)")
        }
        return url.path
    }

    /// Moves the folder into place; an older folder is removed only after the new one is complete.
    public func commit() throws(RunError) {
        let old = URL(fileURLWithPath: target.path + ".old")
        try? FileManager.default.removeItem(at: old)
        let hadOld = FileManager.default.fileExists(atPath: target.path)
        if hadOld, rename(target.path, old.path) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw RunError(.io, "cannot move the older \(target.path) aside: \(reason)")
        }
        if rename(temporary.path, target.path) != 0 {
            let reason = String(cString: strerror(errno))
            if hadOld { _ = rename(old.path, target.path) }
            abort()
            throw RunError(.io, "cannot move \(temporary.path) to \(target.path): \(reason)")
        }
        PartialFiles.shared.unregisterDirectory(temporary.path)
        if hadOld { try? FileManager.default.removeItem(at: old) }
    }

    /// Deletes the temporary folder.
    public func abort() {
        try? FileManager.default.removeItem(at: temporary)
        PartialFiles.shared.unregisterDirectory(temporary.path)
    }
}
