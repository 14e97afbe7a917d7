import ArgumentParser
import Foundation
import LandwatchPipeline

/// `landwatch`: the one command-line entry point.
public struct LandwatchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "landwatch",
        abstract: "Watch land against the plan that governs it: batch raster pipelines from YAML files.",
        discussion: """
        Exit codes: 0 success; 64 wrong usage; 65 invalid pipeline file (every problem is listed as \
        FILE:LINE:COL: STAGE: message); 66 an input raster is missing or unreadable; 70 internal error; \
        73 the output directory cannot be written; 74 reading or writing failed during the run; \
        75 the memory budget is too small; 130 interrupted.
        """,
        version: PipelineRunner.version,
        subcommands: [RunCommand.self, MergeCommand.self, ValidateCommand.self, StagesCommand.self, InfoCommand.self, NightlyCommand.self, ViolationsCommand.self, ReportCommand.self]
    )

    public init() {}
}
