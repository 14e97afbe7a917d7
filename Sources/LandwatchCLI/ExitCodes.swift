import ArgumentParser
import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// The process exit codes, as the README documents them (BSD sysexits where one fits).
public enum LandwatchExit {
    public static let success: Int32 = 0
    public static let usage: Int32 = 64
    public static let invalidPipeline: Int32 = 65
    public static let inputUnavailable: Int32 = 66
    public static let internalError: Int32 = 70
    public static let outputNotWritable: Int32 = 73
    public static let ioError: Int32 = 74
    public static let resources: Int32 = 75
    public static let interrupted: Int32 = 130

    static func code(for category: RunError.Category) -> Int32 {
        switch category {
        case .input: return inputUnavailable
        case .outputNotWritable: return outputNotWritable
        case .io: return ioError
        case .resources: return resources
        case .cancelled: return interrupted
        case .internal: return internalError
        }
    }
}

/// Prints a failure as the cron log should show it (one line per problem, on stderr) and exits with its code.
func fail(_ lines: [String], code: Int32) -> ExitCode {
    for line in lines { FileHandle.standardError.write(Data(("landwatch: " + line + "\n").utf8)) }
    return ExitCode(code)
}

func fail(_ error: PipelineFileError) -> ExitCode {
    for diagnostic in error.diagnostics { FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8)) }
    let count = error.diagnostics.count
    FileHandle.standardError.write(Data("landwatch: \(count) problem\(count == 1 ? "" : "s") in the pipeline file\n".utf8))
    return ExitCode(LandwatchExit.invalidPipeline)
}

func fail(_ error: RunError) -> ExitCode {
    fail(["run failed: \(error)"], code: LandwatchExit.code(for: error.category))
}
