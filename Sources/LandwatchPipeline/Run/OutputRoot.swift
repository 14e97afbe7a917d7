import Foundation
import LandwatchGDAL

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
/// Outputs are written by ``AtomicOutput`` and ``AtomicDirectory``, which find the transaction of the root their
/// target lies in; the stages that write them need not know about it.
///
/// A run or merge publishes as a whole (`publishesAtEnd`): a finished output is moved into the staging tree
/// (`staging/publish/PATH`, the layout of the root), where the run's later stages read it (``StagedOutputs``), and
/// ``publish(record:)`` renames the tree into the root at the end, after writing a journal of the renames. A kill
/// before the journal leaves nothing of the run in the root (its staging goes with the next run); a kill during
/// the renames is completed by the next run from the journal, so the root never stays half of one run and half of
/// another.
public final class OutputTransaction: @unchecked Sendable {  // state guarded by `lock`
    /// The root, symlinks resolved.
    public let root: URL
    /// Temporary files and folders of this run; inside the work folder, so a kill leaves them where the next run
    /// removes them.
    public let staging: URL
    /// Finished outputs of this run waiting to be published, laid out as in the root.
    public let tree: URL
    /// The run's work folder: scratch, never published.
    public let workDirectory: URL
    /// Outputs wait in ``tree`` until ``publish(record:)``; when false each is renamed into place when complete.
    let publishesAtEnd: Bool
    private let lockDescriptor: Int32
    private let lock = NSLock()
    /// Held while the manifest is written, so that an older snapshot never lands after a newer one.
    private let saveLock = NSLock()
    /// Held while the outputs are published; an interrupt waits for it, so that a publish is never cut by a signal.
    private let publishLock = NSLock()
    private var owned: Set<String>
    private var entries: [String: StageManifest.Entry]
    /// The entries of the manifest as the run found it.
    private let earlierEntries: [String: StageManifest.Entry]
    private var pending: [StagedOutput] = []
    private var counter = 0
    private var closed = false
    private var published = false
    private var interrupted = false

    /// An output in the staging tree: a file (with its `.aux.xml` when GDAL wrote one) or a folder.
    struct StagedOutput: Codable, Equatable, Sendable {
        var path: String
        var directory: Bool
    }

    /// What a publish renames, written before the first rename so that the next run can complete a publish a
    /// kill cut short.
    struct Journal: Codable, Sendable {
        var outputs: [StagedOutput]
        /// Published last, from the tree: the manifest, then run.json.
        var records: [String]
    }

    static let journalName = "publish.json"

    /// Fault injection for the test of a publish cut short (KillRerunTests): with LANDWATCH_TEST_KILL_AFTER_RENAMES=N
    /// the process kills itself (SIGKILL) after the N-th rename of its publish. Unset in every real run.
    static let killAfterRenames = ProcessInfo.processInfo.environment["LANDWATCH_TEST_KILL_AFTER_RENAMES"].flatMap(Int.init)

    /// The runs whose publish a kill cut short and this one completed (their process ids), for the log.
    public private(set) var completedPublishes: [String] = []

    nonisolated(unsafe) private static var active: [OutputTransaction] = []
    private static let activeLock = NSLock()

    /// Takes the lock of `root` (the second run into one folder fails at once with the holder's process id), removes
    /// the work folders of runs that died, and loads what landwatch owns there.
    init(root: OutputRoot, workDirectory: URL, publishesAtEnd: Bool = false) throws(RunError) {
        self.root = root.url
        self.publishesAtEnd = publishesAtEnd
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
        // Every other work folder belongs to a run that no longer holds the lock: a killed run. One killed while it
        // published is completed from its journal first; the rest of it (and of every other) goes.
        let ownWork = workDirectory.lastPathComponent
        var completed: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: root.url.path)) ?? []).sorted()
        where name.hasPrefix(".landwatch-work-") && name != ownWork {
            let dead = root.url.appendingPathComponent(name)
            if Self.completePublish(in: dead, root: root.url) { completed.append(String(name.dropFirst(".landwatch-work-".count))) }
            try? FileManager.default.removeItem(at: dead)
        }
        self.workDirectory = workDirectory.standardizedFileURL
        staging = workDirectory.appendingPathComponent("staging")
        tree = staging.appendingPathComponent("publish")
        if let reason = OutputRoot.makeDirectories(tree.path) {
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
        earlierEntries = manifest.entries
        completedPublishes = completed
        // A folder written before landwatch kept the list: what its records name is its own.
        owned = Set(manifest.owned ?? (earlierOutputs + manifest.entries.values.flatMap(\.timing.outputs)))
        owned.insert("run.json")
        Self.activeLock.withLock { Self.active.append(self) }
        if publishesAtEnd { StagedOutputs.register(root: self.root.path, tree: tree.path) }
    }

    /// Releases the lock; the transaction no longer publishes anything (what it staged and did not publish goes
    /// with the work folder).
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            flock(lockDescriptor, LOCK_UN)
            systemClose(lockDescriptor)
        }
        if publishesAtEnd { StagedOutputs.unregister(root: root.path) }
        Self.activeLock.withLock { Self.active.removeAll { $0 === self } }
    }

    // MARK: - Staging and publishing

    /// Where `target` waits in the staging tree.
    func stagedURL(for target: URL) -> URL { tree.appendingPathComponent(relative(target)) }

    /// Moves a complete temporary file (and its `.aux.xml`) into the staging tree as `target`.
    func stageFile(_ temporary: String, as target: URL) throws(RunError) {
        let staged = stagedURL(for: target)
        if let reason = OutputRoot.makeDirectories(staged.deletingLastPathComponent().path) {
            throw RunError(.outputNotWritable, "cannot create folder \(staged.deletingLastPathComponent().path): \(reason)")
        }
        unlink(staged.path + ".aux.xml")
        var info = stat()
        if lstat(temporary + ".aux.xml", &info) == 0 { _ = rename(temporary + ".aux.xml", staged.path + ".aux.xml") }
        guard rename(temporary, staged.path) == 0 else {
            throw RunError(.io, "cannot move \(temporary) to \(staged.path): \(String(cString: strerror(errno)))")
        }
        addPending(StagedOutput(path: relative(target), directory: false))
    }

    /// Moves a complete temporary folder into the staging tree as `target`.
    func stageDirectory(_ temporary: URL, as target: URL) throws(RunError) {
        let staged = stagedURL(for: target)
        if let reason = OutputRoot.makeDirectories(staged.deletingLastPathComponent().path) {
            throw RunError(.outputNotWritable, "cannot create folder \(staged.deletingLastPathComponent().path): \(reason)")
        }
        try? FileManager.default.removeItem(at: staged)
        guard rename(temporary.path, staged.path) == 0 else {
            throw RunError(.io, "cannot move \(temporary.path) to \(staged.path): \(String(cString: strerror(errno)))")
        }
        addPending(StagedOutput(path: relative(target), directory: true))
    }

    private func addPending(_ output: StagedOutput) {
        lock.withLock {
            pending.removeAll { $0.path == output.path }
            pending.append(output)
        }
    }

    /// The outputs staged so far (relative paths), in the order they were finished.
    var staged: [String] { lock.withLock { pending.map(\.path) } }

    /// Publishes everything staged, then the manifest and `record` (run.json): checks once more that nothing that
    /// is not landwatch's is in the way, writes the manifest that owns the new files (and forgets the earlier
    /// entries of what is replaced), writes the journal, and renames. Throws before the first rename when
    /// something is in the way or the run was interrupted.
    public func publish(record: Data) throws(RunError) {
        publishLock.lock()
        defer { publishLock.unlock() }
        guard !interrupted else { throw RunError(.cancelled, "interrupted before the outputs were published") }
        let outputs = lock.withLock { pending }
        var files: [String] = []
        for output in outputs {
            let target = root.appendingPathComponent(output.path)
            let staged = tree.appendingPathComponent(output.path)
            try checkReplaceable(target)
            if output.directory {
                let inner = (FileManager.default.enumerator(atPath: staged.path)?.allObjects as? [String]) ?? []
                for file in inner.sorted() {
                    var info = stat()
                    guard lstat(staged.appendingPathComponent(file).path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else { continue }
                    files.append(output.path + "/" + file)
                }
            } else {
                files.append(output.path)
                var info = stat()
                let hasSidecar = lstat(staged.path + ".aux.xml", &info) == 0
                if hasSidecar || lstat(target.path + ".aux.xml", &info) == 0 {
                    try checkReplaceable(URL(fileURLWithPath: target.path + ".aux.xml"))
                }
                if hasSidecar { files.append(output.path + ".aux.xml") }
            }
        }
        // The manifest before any rename: it owns what is about to be published, and no longer takes the outputs
        // about to be replaced for an earlier stage's (a publish cut short and never completed keeps nothing).
        let replaced = Set(outputs.map(\.path))
        func isReplaced(_ output: String) -> Bool {
            var prefix = ""
            for part in output.split(separator: "/") {
                prefix += prefix.isEmpty ? String(part) : "/" + part
                if replaced.contains(prefix) { return true }
            }
            return output.hasSuffix(".aux.xml") && replaced.contains(String(output.dropLast(8)))
        }
        let finalEntries = lock.withLock { () -> [String: StageManifest.Entry] in
            owned.formUnion(files)
            return entries
        }
        try saveManifest(entries: earlierEntries.filter { !$0.value.timing.outputs.contains(where: isReplaced) })
        // The final records wait in the tree with the outputs; the journal names it all.
        let manifestData: Data
        do { manifestData = try manifestSnapshot(entries: finalEntries) } catch {
            throw RunError(.internal, "cannot encode \(StageManifest.fileName): \(error)")
        }
        let records = [StageManifest.fileName, "run.json"]
        for (name, data) in zip(records, [manifestData, record]) {
            do { try data.write(to: tree.appendingPathComponent(name)) } catch {
                throw RunError(.io, "cannot write \(tree.appendingPathComponent(name).path): \(OutputRoot.reason(error))")
            }
        }
        try Self.writeJournal(Journal(outputs: outputs, records: records), in: workDirectory)
        var renamed = 0
        func renamedOne() {
            renamed += 1
            if renamed == Self.killAfterRenames { kill(getpid(), SIGKILL) }
        }
        for output in outputs {
            try Self.apply(output, tree: tree, root: root, aside: workDirectory.appendingPathComponent("aside"))
            renamedOne()
        }
        for name in records {
            if rename(tree.appendingPathComponent(name).path, root.appendingPathComponent(name).path) != 0 {
                throw RunError(.io, "cannot move \(name) into \(root.path): \(String(cString: strerror(errno)))")
            }
            renamedOne()
        }
        unlink(workDirectory.appendingPathComponent(Self.journalName).path)
        lock.withLock {
            published = true
            pending = []
        }
    }

    /// Called by the interrupt handler: waits for a publish under way to end, then refuses any later one. True when
    /// this run published (its run.json is its final record).
    public func interrupt() -> Bool {
        publishLock.lock()
        defer { publishLock.unlock() }
        interrupted = true
        return lock.withLock { published && pending.isEmpty }
    }

    /// Renames one staged output into the root (a folder that is there is moved aside first); nothing when it is
    /// no longer staged (published before a kill).
    static func apply(_ output: StagedOutput, tree: URL, root: URL, aside: URL) throws(RunError) {
        let staged = tree.appendingPathComponent(output.path), target = root.appendingPathComponent(output.path)
        var info = stat()
        guard lstat(staged.path, &info) == 0 else { return }
        _ = OutputRoot.makeDirectories(target.deletingLastPathComponent().path)
        if output.directory {
            if lstat(target.path, &info) == 0 {
                _ = OutputRoot.makeDirectories(aside.path)
                let away = aside.appendingPathComponent(UUID().uuidString).path
                if rename(target.path, away) != 0 {
                    throw RunError(.io, "cannot move the older \(target.path) aside: \(String(cString: strerror(errno)))")
                }
            }
        } else if lstat(staged.path + ".aux.xml", &info) == 0 {
            _ = rename(staged.path + ".aux.xml", target.path + ".aux.xml")
        } else {
            unlink(target.path + ".aux.xml")  // a side file of an older output would describe the wrong data
        }
        if rename(staged.path, target.path) != 0 {
            throw RunError(.io, "cannot move \(staged.path) to \(target.path): \(String(cString: strerror(errno)))")
        }
    }

    static func writeJournal(_ journal: Journal, in work: URL) throws(RunError) {
        let path = work.appendingPathComponent(journalName).path
        let temporary = path + ".partial"
        do {
            let data = try JSONEncoder().encode(journal)
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw RunError(.io, "cannot write the publish journal \(path): \(OutputRoot.reason(error))")
        }
        let descriptor = open(temporary, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            systemClose(descriptor)
        }
        if rename(temporary, path) != 0 {
            throw RunError(.io, "cannot write the publish journal \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Completes the publish a run killed during its renames had begun (its journal is in its work folder); true
    /// when there was one.
    static func completePublish(in work: URL, root: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: work.appendingPathComponent(journalName).path),
              let journal = try? JSONDecoder().decode(Journal.self, from: data) else { return false }
        let tree = work.appendingPathComponent("staging/publish")
        for output in journal.outputs { try? apply(output, tree: tree, root: root, aside: work.appendingPathComponent("aside")) }
        for name in journal.records { _ = rename(tree.appendingPathComponent(name).path, root.appendingPathComponent(name).path) }
        return true
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

    /// Keeps the stages' entries for the manifest (see ``StageManifestWriter``); writes it unless the run publishes
    /// at its end (then the manifest is published with the outputs).
    func updateEntries(_ entries: [String: StageManifest.Entry]) throws(RunError) {
        lock.withLock { self.entries = entries }
        if !publishesAtEnd { try saveManifest() }
    }

    private func manifestSnapshot(entries: [String: StageManifest.Entry]? = nil) throws -> Data {
        try lock.withLock { () throws -> Data in
            var manifest = StageManifest()
            manifest.entries = entries ?? self.entries
            manifest.owned = owned.sorted()
            return try manifest.encoded()
        }
    }

    private func saveManifest(entries: [String: StageManifest.Entry]? = nil) throws(RunError) {
        saveLock.lock()
        defer { saveLock.unlock() }
        let data: Data
        do {
            data = try manifestSnapshot(entries: entries)
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
                // An output waits in the staging tree for the run's end; the run's records are written at once.
                if transaction.publishesAtEnd && !OutputCheck.reservedNames.contains(transaction.relative(target)) {
                    try transaction.stageFile(temporaryPath, as: target)
                    PartialFiles.shared.unregister(temporaryPath)
                    return
                }
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
public final class PartialFiles: @unchecked Sendable {  // state guarded by `lock`
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
            if transaction.publishesAtEnd {
                do {
                    try transaction.checkReplaceable(target)
                    try transaction.stageDirectory(temporary, as: target)
                } catch {
                    abort()
                    throw error
                }
                PartialFiles.shared.unregisterDirectory(temporary.path)
                return
            }
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
