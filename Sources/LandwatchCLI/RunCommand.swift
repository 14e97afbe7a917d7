import ArgumentParser
import Foundation
import LandwatchPipeline
import LandwatchStages
import Logging

/// `landwatch run FILE`: load, check and run a pipeline.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline file.",
        discussion: """
        Every output is written under --out, first into a private staging folder (.landwatch-work-PID) and renamed \
        into place when complete; a file in --out that landwatch did not write is never replaced, deleted or followed \
        through a symlink, and one run at a time writes into one --out (a second exits 75 naming the first). run.json in --out records the pipeline, its hash, parameters, inputs, versions and per-stage times. \
        Rerun into the same --out, a stage whose outputs are complete and whose inputs (path, size, time), options and \
        versions are unchanged is kept as it is (after a crash, only what is missing is redone); --force redoes all.
        """
    )

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a parameter of the file's params.", valueName: "name=value"))
    var settings: [String] = []

    @Option(name: .long, help: "Output root: every file the run writes goes under it. (default: out/<pipeline name>)")
    var out: String?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("A folder the pipeline may read inputs from, besides its own folder and the current one (repeatable; a GDAL prefix such as /vsis3/bucket for remote data).", valueName: "DIR"))
    var allowRead: [String] = []

    @Option(name: .long, help: "Memory budget for GDAL's cache and the blocks in flight, e.g. 256M or 2G.")
    var memory: String = "512M"

    @Option(name: .long, help: "Worker threads for block processing. (default: the number of cores)")
    var threads: Int?

    @Flag(name: .long, help: "Redo every stage, even those an earlier run into --out completed unchanged.")
    var force = false

    @Option(name: .long, help: ArgumentHelp("Compute only band K of N of the grid's rows (with the halo neighbourhood stages need); `landwatch merge` joins the N output folders. auto/N takes K from JOB_COMPLETION_INDEX + 1 (a Kubernetes Indexed Job).", valueName: "K/N"))
    var shard: String?

    @Flag(name: .shortAndLong, help: "Log more (-v: info, -vv: debug).")
    var verbose: Int

    func validate() throws {
        _ = try parseOverrides(settings)
        if case .failure(let problem) = ByteCount.check(memory) { throw ValidationError("--memory '\(memory)' \(problem)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let shard {
            do { _ = try Shard(parsing: shard, environment: ProcessInfo.processInfo.environment) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        LogSetup.bootstrap(verbosity: verbose)
        SignalCleanup.install()
        var runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "landwatch"))
        runner.readRoots = [FileManager.default.currentDirectoryPath] + allowRead
        let plan: RunPlan
        let overrides = try parseOverrides(settings)
        do {
            plan = try runner.validate(path: pipeline, overrides: overrides)
        } catch {
            throw fail(error)
        }
        let shard = try self.shard.map { text throws in try Shard(parsing: text, environment: ProcessInfo.processInfo.environment) }
        let output = out ?? "out/\(plan.pipeline.name)" + (shard.map { "/shard-\($0.index)-of-\($0.count)" } ?? "")
        // An output that is an input, a record of the run, or inside another output is refused before anything runs.
        do { try runner.checkOutputs(plan, outputDirectory: output) } catch { throw fail(error) }
        let settings = PipelineRunner.Settings(
            outputDirectory: output, memoryBudget: ByteCount.parse(memory)!,
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, force: force, shard: shard)
        let progress = ProgressDisplay(interactive: isatty(STDERR_FILENO) != 0)
        do {
            let record = try runner.run(plan, settings: settings, observer: progress)
            progress.finish()
            let seconds = (record.finished ?? Date()).timeIntervalSince(record.started)
            let files = record.outputs + ["run.json"]
            let kept = record.stages.filter { $0.reused == true }.map(\.id)
            if !kept.isEmpty {
                print("landwatch: kept from an earlier run, unchanged: \(kept.joined(separator: ", ")) (--force redoes them)")
            }
            print("landwatch: \(plan.pipeline.name) finished in \(String(format: "%.2f", seconds)) s; "
                  + "outputs in \(output): \(OutputSummary.entries(files).joined(separator: ", "))")
            if let part = record.shard {
                let deferred = part.deferred.isEmpty ? "" : "; left to the merge: \(part.deferred.joined(separator: ", "))"
                print("landwatch: shard \(part.layout.index)/\(part.layout.count): rows \(part.layout.rows[0])–\(part.layout.rows[1] - 1) of \(part.grid.height)\(deferred); "
                      + "when all \(part.layout.count) are done: landwatch merge --out FOLDER <the \(part.layout.count) shard folders>")
            }
            // The last line: where a person goes next (the list, the report, the field package), not every file.
            if let line = OutputSummary.whereToLook(record.outputs, in: output) { print("landwatch: \(line)") }
        } catch {
            progress.finish()
            throw fail(error)
        }
    }
}

/// The outputs of a run as a person reads them: files at the top of the output folder by name, a folder by what it
/// is (a violation list, a report, a field package) and how many files it holds, never each chip.
enum OutputSummary {
    static func entries(_ files: [String]) -> [String] {
        var order: [String] = [], groups: [String: [String]] = [:]
        for file in files {
            let key = file.split(separator: "/", maxSplits: 1).count > 1 ? String(file.split(separator: "/")[0]) : file
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(file)
        }
        return order.map { key in
            let members = groups[key]!
            guard members.count > 1 || members[0] != key else { return key }
            if let list = members.first(where: { $0.hasSuffix("/violations.json") }) {
                return "\(key)/ (violation list \(list), \(members.count) files)"
            }
            if let pack = members.first(where: { $0.hasSuffix("/fieldpack.pdf") }) {
                return "\(key)/ (field package \(pack), \(members.count) files)"
            }
            if let report = members.first(where: { $0.hasSuffix("/index.html") }) {
                return "\(key)/ (report \(report), \(members.count) files)"
            }
            return members.count == 1 ? members[0] : "\(key)/ (\(members.count) files)"
        }
    }

    /// "violation list: …; report: …; field package: …" with full paths, or nil when the run wrote none of them.
    static func whereToLook(_ files: [String], in output: String) -> String? {
        let root = URL(fileURLWithPath: output)
        func path(_ file: String) -> String { root.appendingPathComponent(file).path }
        var parts: [String] = []
        for list in files where list.hasSuffix("/violations.json") {
            let folder = String(list.dropLast("/violations.json".count))
            let shown = files.contains(folder + "/violations.csv") ? folder + "/violations.csv" : list
            parts.append("violation list: \(path(shown))")
        }
        for report in files where report.hasSuffix("/index.html") { parts.append("report: \(path(report))") }
        for pack in files where pack.hasSuffix("/fieldpack.pdf") { parts.append("field package: \(path(String(pack.dropLast("/fieldpack.pdf".count))))/") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

/// Parses `name=value` pairs from `--set`.
func parseOverrides(_ pairs: [String]) throws -> [String: String] {
    var result: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw ValidationError("--set '\(pair)' must be name=value")
        }
        result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return result
}
