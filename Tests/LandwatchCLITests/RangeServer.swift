import Foundation

/// The loopback HTTP server that answers range requests (Remote/range_server.py), as `/vsicurl/` reads from a bucket.
enum RangeServer {
    /// Serves `folder` with `script` (in Remote/: range_server.py, or stac_api.py for a fake STAC API as well); the
    /// running server and the `/vsicurl/` base URL of the folder. The caller terminates it.
    static func start(serving folder: URL, script: String = "range_server.py") throws -> (process: Process, base: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Remote/\(script)").path, folder.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CocoaError(.fileReadUnknown) }
            line += chunk
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (process, "/vsicurl/http://127.0.0.1:\(port)")
    }
}
