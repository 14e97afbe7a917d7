import Foundation

/// The loopback HTTP server that answers range requests (Remote/range_server.py), as `/vsicurl/` reads from a bucket.
enum RangeServer {
    /// Serves `folder`; the running server and the `/vsicurl/` base URL of the folder. The caller terminates it.
    static func start(serving folder: URL) throws -> (process: Process, base: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Remote/range_server.py").path, folder.path]
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
