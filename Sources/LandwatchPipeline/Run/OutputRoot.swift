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

/// A run's hold on its output root: the lock (one run per folder at a time), the private staging folder every
/// output is written in before it is published by a rename, and the list of what landwatch owns in the folder (the
/// files it published, in this run or an earlier one). A run never deletes, replaces or follows a file it does not own.
///
/// Outputs are published by ``AtomicOutput`` and ``AtomicDirectory``, which find the transaction of the root their
/// target lies in; the stages that write them need not know about it.
public final class OutputTransaction: @unchecked Sendable {  // state guarded by `lock`
    /// The root, symlinks resolved.
    public let root: URL
    /// Temporary files and folders of this run; inside the work folder, so a kill leaves them where the next run
    /// removes them.
    public let staging: URL
    /// The run's work folder: scratch, never published.
    public let workDirectory: URL
    private let lockDescriptor: Int32
    private let lock = NSLock()
    /// Held while the manifest is written, so that an older snapshot never lands after a newer one.
    private let saveLock = NSLock()
    private var owned: Set<String>
    private var entries: [String: StageManifest.Entry]
    private var counter = 0
    private var closed = false
    private var published = false

    nonisolated(unsafe) private static var active: [OutputTransaction] = []
    private static let activeLock = NSLock()

    /// Takes the lock of `root` (the second run into one folder fails at once with the holder's process id), removes
    /// the work folders of runs that died, and loads what landwatch owns there.
    init(root: OutputRoot, workDirectory: URL) throws(RunError) {
        self.root = root.url
        let descriptor = systemOpenDirectory(root.url.path)
        guard descriptor >= 0 else {
            throw RunError(.outputNotWritable, "cannot open the output directory \(root.url.path): \(String(cString: strerror(errno)))")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let holder = Self.lockHolder(of: descriptor).map { "process \($0)" } ?? "another process"
            systemClose(descriptor)
            throw RunError(.resources, "output directory \(root.url.path) is in use by another landwatch run (\(holder)); wait for it to end or choose another --out")
        }
        lockDescriptor = descriptor
        // Every other work folder belongs to a run that no longer holds the lock: a killed run.
        let ownWork = workDirectory.lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.url.path)) ?? []
        where name.hasPrefix(".landwatch-work-") && name != ownWork {
            try? FileManager.default.removeItem(at: root.url.appendingPathComponent(name))
        }
        self.workDirectory = workDirectory.standardizedFileURL
        staging = workDirectory.appendingPathComponent("staging")
        if let reason = OutputRoot.makeDirectories(staging.path) {
            flock(descriptor, LOCK_UN)
            systemClose(descriptor)
            throw RunError(.outputNotWritable, "cannot create the staging folder \(staging.path): \(reason)")
        }
        // The records in the root must be landwatch's own before they are replaced.
        let recordPath = root.url.appendingPathComponent("run.json").path
        var earlierOutputs: [String] = []
        if let data = FileManager.default.contents(atPath: recordPath) {
            guard let record = try? RunRecord.decode(data) else {
                flock(descriptor, LOCK_UN)
                systemClose(descriptor)
                throw RunError(.outputNotWritable, "\(recordPath) is not a landwatch run record; landwatch does not replace it (move it away or choose another --out)")
            }
            earlierOutputs = record.outputs
        }
        let manifestPath = root.url.appendingPathComponent(StageManifest.fileName).path
        var manifest = StageManifest()
        if let data = FileManager.default.contents(atPath: manifestPath) {
            guard let decoded = StageManifest.decode(data) else {
                flock(descriptor, LOCK_UN)
                systemClose(descriptor)
                throw RunError(.outputNotWritable, "\(manifestPath) is not a landwatch stage manifest; landwatch does not replace it (move it away or choose another --out)")
            }
            manifest = decoded
        }
        entries = manifest.entries
        // A folder written before landwatch kept the list: what its records name is its own.
        owned = Set(manifest.owned ?? (earlierOutputs + manifest.entries.values.flatMap(\.timing.outputs)))
        owned.insert("run.json")
        Self.activeLock.withLock { Self.active.append(self) }
    }

    /// Releases the lock; the transaction no longer publishes anything.
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            flock(lockDescriptor, LOCK_UN)
            systemClose(lockDescriptor)
        }
        Self.activeLock.withLock { Self.active.removeAll { $0 === self } }
    }

    /// The open transaction whose root holds `target`, if any.
    static func containing(_ target: URL) -> OutputTransaction? {
        let path = target.standardizedFileURL.path
        // Scratch files in the work folder are the run's own, not outputs.
        return activeLock.withLock {
            active.last { path.hasPrefix($0.root.path + "/") && !path.hasPrefix($0.workDirectory.path + "/") }
        }
    }

    /// The path of `target` relative to the root.
    func relative(_ target: URL) -> String {
        String(target.standardizedFileURL.path.dropFirst(root.path.count + 1))
    }

    /// A fresh name in the staging folder for a temporary copy of `target`.
    func temporaryPath(for target: URL, keepingExtension: Bool) -> String {
        let number = lock.withLock { counter += 1; return counter }
        let ext = target.pathExtension
        let base = keepingExtension && !ext.isEmpty ? target.deletingPathExtension().lastPathComponent : target.lastPathComponent
        let name = "\(number)-\(base).partial" + (keepingExtension && !ext.isEmpty ? "." + ext : "")
        return staging.appendingPathComponent(name).path
    }

    /// True once this run published an output (not counting its records).
    public var publishedThisRun: Bool { lock.withLock { published } }

    /// True when landwatch published `relative` (a file, or a folder with every file in it).
    public func owns(_ relative: String) -> Bool { lock.withLock { owned.contains(relative) } }

    /// Refuses to publish onto `target` when something is there that landwatch did not publish: a user's file, a
    /// folder holding a user's file, or a symlink (never followed, never replaced).
    func checkReplaceable(_ target: URL) throws(RunError) {
        let relative = relative(target)
        var info = stat()
        guard lstat(target.path, &info) == 0 else { return }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK {
            throw RunError(.outputNotWritable, "output '\(relative)' is a symlink in \(root.path); landwatch neither follows nor replaces links (remove it or choose another path)")
        }
        if type == S_IFDIR {
            let files = (FileManager.default.enumerator(atPath: target.path)?.allObjects as? [String]) ?? []
            for file in files.sorted() {
                var inner = stat()
                let path = target.appendingPathComponent(file).path
                guard lstat(path, &inner) == 0, inner.st_mode & S_IFMT != S_IFDIR else { continue }
                let name = relative + "/" + file
                guard owns(name) else {
                    throw RunError(.outputNotWritable, "output folder '\(relative)' holds \(name), which landwatch did not write; it replaces the folder only when all of it is its own (move that file away or choose another path)")
                }
            }
            return
        }
        guard owns(relative) else {
            throw RunError(.outputNotWritable, "output '\(relative)' already exists in \(root.path) and was not written by landwatch; it is not replaced (move it away or choose another path)")
        }
    }

    /// Records, before the rename, that `relatives` are landwatch's own (a kill after the rename leaves them owned).
    func willPublish(_ relatives: [String]) throws(RunError) {
        let changed = lock.withLock { () -> Bool in
            if relatives.contains(where: { !OutputCheck.reservedNames.contains($0) }) { published = true }
            let before = owned.count
            owned.formUnion(relatives)
            return owned.count != before
        }
        if changed { try saveManifest() }
    }

    /// Keeps the stages' entries for the manifest (see ``StageManifestWriter``) and writes it.
    func updateEntries(_ entries: [String: StageManifest.Entry]) throws(RunError) {
        lock.withLock { self.entries = entries }
        try saveManifest()
    }

    private func saveManifest() throws(RunError) {
        saveLock.lock()
        defer { saveLock.unlock() }
        let data: Data
        do {
            data = try lock.withLock { () throws -> Data in
                var manifest = StageManifest()
                manifest.entries = entries
                manifest.owned = owned.sorted()
                return try manifest.encoded()
            }
        } catch {
            throw RunError(.internal, "cannot encode \(StageManifest.fileName): \(error)")
        }
        // The manifest is the transaction's own record: published by a rename from staging, never checked as an output.
        let temporary = temporaryPath(for: root.appendingPathComponent(StageManifest.fileName), keepingExtension: false)
        do { try data.write(to: URL(fileURLWithPath: temporary)) } catch {
            unlink(temporary)
            throw RunError(.io, "cannot write \(StageManifest.fileName) in \(root.path): \(OutputRoot.reason(error))")
        }
        if rename(temporary, root.appendingPathComponent(StageManifest.fileName).path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RunError(.io, "cannot write \(StageManifest.fileName) in \(root.path): \(reason)")
        }
    }

    /// The process holding the flock on the folder, from /proc/locks.
    static func lockHolder(of descriptor: Int32) -> Int? {
        var info = stat()
        guard fstat(descriptor, &info) == 0, let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields.contains("->") == false,
                  let inode = fields[5].split(separator: ":").last, UInt64(inode) == UInt64(info.st_ino) else { continue }
            if let pid = Int(fields[4]), pid != Int(getpid()) { return pid }
        }
        return nil
    }
}

private func systemOpenDirectory(_ path: String) -> Int32 { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
private func systemClose(_ descriptor: Int32) { _ = close(descriptor) }

/// An output file written under a temporary name and renamed into place when complete, so that a killed run never
/// leaves a file that looks finished. Under a run's output root the temporary file is in the run's private staging
/// folder; elsewhere (an export) it is a fresh hidden name beside the target that nobody else can have planted.
public struct AtomicOutput: Sendable {
    public let target: URL
    public let temporaryPath: String
    private let transaction: OutputTransaction?

    /// - Parameter keepingExtension: end the temporary name with the target's extension (`NAME.partial.EXT`), for
    ///   writers that choose their format by extension (XGBoost's `.json`).
    public init(target: URL, keepingExtension: Bool = false) {
        self.target = target
        transaction = OutputTransaction.containing(target)
        if let transaction {
            temporaryPath = transaction.temporaryPath(for: target, keepingExtension: keepingExtension)
        } else {
            let ext = target.pathExtension
            let folder = target.deletingLastPathComponent()
            let base = keepingExtension && !ext.isEmpty ? target.deletingPathExtension().lastPathComponent : target.lastPathComponent
            let unique = "\(getpid())-\(UUID().uuidString.prefix(8))"
            let name = "." + base + ".partial-" + unique + (keepingExtension && !ext.isEmpty ? "." + ext : "")
            temporaryPath = folder.appendingPathComponent(name).path
        }
        PartialFiles.shared.register(temporaryPath)
    }

    /// Renames the temporary file onto the target (replacing an older output landwatch wrote), with GDAL's
    /// `.aux.xml` side file (category names, statistics) when there is one.
    public func commit() throws(RunError) {
        let sidecar = temporaryPath + ".aux.xml"
        let targetSidecar = URL(fileURLWithPath: target.path + ".aux.xml")
        let hasSidecar = FileManager.default.fileExists(atPath: sidecar)
        do {
            if let transaction {
                try transaction.checkReplaceable(target)
                var info = stat()
                if hasSidecar || lstat(targetSidecar.path, &info) == 0 { try transaction.checkReplaceable(targetSidecar) }
                try transaction.willPublish([transaction.relative(target)] + (hasSidecar ? [transaction.relative(targetSidecar)] : []))
            } else {
                try Self.checkReplaceableOutsideRoot(target)
            }
        } catch {
            abort()
            throw error
        }
        if hasSidecar {
            _ = rename(sidecar, targetSidecar.path)
        } else if transaction != nil || FileManager.default.fileExists(atPath: target.path) {
            unlink(targetSidecar.path)  // a stale side file of an older output would describe the wrong data
        }
        if rename(temporaryPath, target.path) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw RunError(.io, "cannot move \(temporaryPath) to \(target.path): \(reason)")
        }
        PartialFiles.shared.unregister(temporaryPath)
    }

    /// Outside a run's root (an export): never through a symlink, never onto a folder, never onto a database that is
    /// not a GeoPackage (the registry).
    static func checkReplaceableOutsideRoot(_ target: URL) throws(RunError) {
        var info = stat()
        guard lstat(target.path, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            throw RunError(.outputNotWritable, "\(target.path) is a symlink; landwatch neither follows nor replaces links")
        case S_IFDIR:
            throw RunError(.outputNotWritable, "\(target.path) is a folder; give a file name")
        case S_IFREG:
            if let handle = FileHandle(forReadingAtPath: target.path) {
                defer { try? handle.close() }
                let header = (try? handle.read(upToCount: 72)) ?? Data()
                if header.count >= 72, header.prefix(16) == Data("SQLite format 3\0".utf8), header[68..<72] != Data("GPKG".utf8) {
                    throw RunError(.outputNotWritable, "\(target.path) is an SQLite database (a registry?), not an earlier export; landwatch does not replace it")
                }
            }
        default:
            throw RunError(.outputNotWritable, "\(target.path) is not a regular file; landwatch does not replace it")
        }
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
    private var interruptHandlers: [Int: @Sendable () -> Void] = [:]
    private var nextHandler = 0

    func register(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func unregister(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    func registerDirectory(_ path: String) { lock.withLock { _ = directories.insert(path) } }
    func unregisterDirectory(_ path: String) { lock.withLock { _ = directories.remove(path) } }

    /// Something to do when the process is interrupted before the partial files go (a run marks its record).
    func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> Int {
        lock.withLock {
            nextHandler += 1
            interruptHandlers[nextHandler] = handler
            return nextHandler
        }
    }

    func removeInterruptHandler(_ token: Int) { lock.withLock { _ = interruptHandlers.removeValue(forKey: token) } }

    /// Deletes every registered partial file and work directory; called on SIGINT/SIGTERM before exiting.
    public func removeAll() {
        let handlers = lock.withLock { interruptHandlers.sorted { $0.key < $1.key }.map(\.value) }
        for handler in handlers { handler() }
        lock.withLock {
            for path in paths { unlink(path) }
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
            paths.removeAll()
            directories.removeAll()
            interruptHandlers.removeAll()
        }
    }
}

/// An output folder written under a temporary name and moved into place when every file in it is complete,
/// replacing an older folder of the same name only then (and only when landwatch wrote all of it).
public struct AtomicDirectory: Sendable {
    public let target: URL
    public let temporary: URL
    private let transaction: OutputTransaction?

    /// Creates the temporary folder.
    public init(target: URL) throws(RunError) {
        self.target = target
        transaction = OutputTransaction.containing(target)
        if let transaction {
            temporary = URL(fileURLWithPath: transaction.temporaryPath(for: target, keepingExtension: false))
        } else {
            temporary = target.deletingLastPathComponent()
                .appendingPathComponent("." + target.lastPathComponent + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))")
        }
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

    /// Moves the folder into place; an older folder is moved aside (into the staging folder) and removed only after
    /// the new one is in place.
    public func commit() throws(RunError) {
        let aside: URL
        if let transaction {
            do {
                try transaction.checkReplaceable(target)
                let files = (FileManager.default.enumerator(atPath: temporary.path)?.allObjects as? [String]) ?? []
                let base = transaction.relative(target)
                try transaction.willPublish(files.map { base + "/" + $0 })
            } catch {
                abort()
                throw error
            }
            aside = URL(fileURLWithPath: transaction.temporaryPath(for: target, keepingExtension: false) + ".old")
        } else {
            var info = stat()
            if lstat(target.path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
                abort()
                throw RunError(.outputNotWritable, "\(target.path) is a symlink; landwatch neither follows nor replaces links")
            }
            aside = target.deletingLastPathComponent()
                .appendingPathComponent("." + target.lastPathComponent + ".old-\(getpid())-\(UUID().uuidString.prefix(8))")
        }
        var info = stat()
        let hadOld = lstat(target.path, &info) == 0
        if hadOld, rename(target.path, aside.path) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw RunError(.io, "cannot move the older \(target.path) aside: \(reason)")
        }
        if rename(temporary.path, target.path) != 0 {
            let reason = String(cString: strerror(errno))
            if hadOld { _ = rename(aside.path, target.path) }
            abort()
            throw RunError(.io, "cannot move \(temporary.path) to \(target.path): \(reason)")
        }
        PartialFiles.shared.unregisterDirectory(temporary.path)
        if hadOld { try? FileManager.default.removeItem(at: aside) }
    }

    /// Deletes the temporary folder.
    public func abort() {
        try? FileManager.default.removeItem(at: temporary)
        PartialFiles.shared.unregisterDirectory(temporary.path)
    }
}
