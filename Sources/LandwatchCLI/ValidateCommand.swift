import ArgumentParser
import Foundation
import LandwatchPipeline
import LandwatchStages
import Logging

/// `landwatch validate FILE`: every check a run makes before reading a pixel.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file without running it: syntax, stages, options, inputs, grids, output paths."
    )

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a parameter of the file's params.", valueName: "name=value"))
    var settings: [String] = []

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("A folder the pipeline may read inputs from, besides its own folder and the current one (repeatable; a GDAL prefix such as /vsis3/bucket for remote data).", valueName: "DIR"))
    var allowRead: [String] = []

    @Option(name: .long, help: "The output root the run will use, to check the outputs against the inputs and the run's records. (default: out/<pipeline name>)")
    var out: String?

    @Flag(name: .long, help: "Print the execution plan: the streaming passes and the stages fused into each, whole-raster stages, what is materialised where, what waits for what, and how run --shard and merge divide the pipeline.")
    var plan = false

    func validate() throws { _ = try parseOverrides(settings) }

    func run() throws {
        LogSetup.bootstrap(verbosity: 0)
        var runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "landwatch"))
        runner.readRoots = [FileManager.default.currentDirectoryPath] + allowRead
        let overrides = try parseOverrides(settings)
        do {
            let plan = try runner.validate(path: pipeline, overrides: overrides)
            try runner.checkOutputs(plan, outputDirectory: out ?? "out/\(plan.pipeline.name)")
            print("\(pipeline): ok: \(plan.pipeline.stages.count) stages, grid \(plan.grid)")
            if self.plan {
                let execution = ExecutionPlan(plan)
                print(execution)
                print(execution.shardSummary)
            }
        } catch {
            throw fail(error)
        }
    }
}
