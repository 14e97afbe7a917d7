import ArgumentParser
import Foundation
import LandwatchPipeline
import LandwatchStages
import Logging

/// `landwatch merge SHARD…`: join the output folders of `run --shard K/N` into the unsharded run's outputs.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the output folders of `landwatch run --shard K/N` into one run's outputs.",
        discussion: """
        Rasters the shards wrote are joined row band by row band (each shard's halo left out); the stages that need \
        the whole grid — violation patches (sieved and polygonised after joining, so a patch cut by a shard border \
        comes back whole), model training, zonal figures, reports — run here on the joined products. The result \
        equals an unsharded run of the same pipeline. All N folders must be given, each of a shard that succeeded.
        """
    )

    @Argument(help: "The output folders of the N shards (any order).")
    var shards: [String]

    @Option(name: .long, help: "Output root for the joined run.")
    var out: String

    @Option(name: .long, help: "The pipeline file, when it is no longer where the shards recorded it (it must be the same file).")
    var pipeline: String?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("A folder the pipeline may read inputs from, besides its own folder and the current one (repeatable).", valueName: "DIR"))
    var allowRead: [String] = []

    @Option(name: .long, help: "Memory budget, e.g. 256M or 2G.")
    var memory: String = "512M"

    @Option(name: .long, help: "Worker threads. (default: the number of cores)")
    var threads: Int?

    @Flag(name: .shortAndLong, help: "Log more (-v: info, -vv: debug).")
    var verbose: Int

    static func failMerge(_ error: RunError) -> ExitCode {
        LandwatchCLI.fail(["merge failed: \(error)"], code: LandwatchExit.code(for: error.category))
    }

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give the output folders of the shards to merge") }
        if case .failure(let problem) = ByteCount.check(memory) { throw ValidationError("--memory '\(memory)' \(problem)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        LogSetup.bootstrap(verbosity: verbose)
        SignalCleanup.install()
        var runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "landwatch"))
        runner.readRoots = [FileManager.default.currentDirectoryPath] + allowRead
        let set: ShardSet
        do { set = try ShardSet(directories: shards) } catch { throw Self.failMerge(error) }
        let file = pipeline ?? set.pipelinePath
        let plan: RunPlan
        do {
            plan = try runner.validate(path: file, overrides: set.parameters)
        } catch {
            throw fail(error)
        }
        let settings = PipelineRunner.Settings(outputDirectory: out, memoryBudget: ByteCount.parse(memory)!,
                                               threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, force: true)
        let progress = ProgressDisplay(interactive: isatty(STDERR_FILENO) != 0)
        do {
            let record = try runner.merge(plan, shards: set, settings: settings, observer: progress)
            progress.finish()
            let seconds = (record.finished ?? Date()).timeIntervalSince(record.started)
            print("landwatch: merged \(set.count) shards of \(plan.pipeline.name) in \(String(format: "%.2f", seconds)) s; "
                  + "outputs in \(out): \((record.outputs + ["run.json"]).joined(separator: ", "))")
            for report in record.outputs where report.hasSuffix("/index.html") {
                print("landwatch: report: \(URL(fileURLWithPath: out).appendingPathComponent(report).path)")
            }
        } catch {
            progress.finish()
            throw Self.failMerge(error)
        }
    }
}
