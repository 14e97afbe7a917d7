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
    for line in lines { FileHandle.standardError.write(Data(("landwatch: " + ErrorLine.readable(line) + "\n").utf8)) }
    return ExitCode(code)
}

/// An error line as an operator reads it in a cron log: a full disk is named first, with the file (or the run's work
/// folder) being written, whatever the driver made of it (libtiff's "Write error at scanline 0", SQLite's failed
/// statement); and no line runs past ``limit`` characters (a GeoPackage's SQL made one of 5,782).
enum ErrorLine {
    static let limit = 400

    static func readable(_ line: String) -> String {
        // "run failed: …", "merge failed: …" stay in front.
        var head = "", text = line
        if let range = line.range(of: " failed: "), line.distance(from: line.startIndex, to: range.lowerBound) < 20 {
            head = String(line[..<range.upperBound])
            text = String(line[range.upperBound...])
        }
        if DiskSpace.isFullMessage(text), !text.hasPrefix("no space left on device") {
            let target = writtenPath(in: text)
            text = "no space left on device" + (target.map { " writing \($0)" } ?? "") + "; free space and run again (" + text + ")"
        }
        let room = limit - head.count
        if text.count > room {
            let kept = max(room - 40, 80)
            text = String(text.prefix(kept)) + " … (\(text.count - kept) characters more)"
        }
        return head + text
    }

    /// The first absolute path in `text`; a temporary name in the run's work folder is named by the folder it is in.
    static func writtenPath(in text: String) -> String? {
        // A path stands after a space, an '=' (NSFilePath=…) or at the start.
        var previous: Character = " "
        guard let start = text.indices.first(where: { index in
            defer { previous = text[index] }
            return text[index] == "/" && (previous == " " || previous == "=")
        }) else { return nil }
        let rest = text[start...]
        let path = String(rest.prefix { !$0.isWhitespace && $0 != "'" && $0 != "\"" && $0 != ")" && $0 != "," })
        guard path.count > 1 else { return nil }
        let trimmed = path.hasSuffix(":") ? String(path.dropLast()) : path
        if let work = trimmed.range(of: "/.landwatch-work-") {
            return "the run's work folder in \(trimmed[..<work.lowerBound])"
        }
        return trimmed
    }
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
