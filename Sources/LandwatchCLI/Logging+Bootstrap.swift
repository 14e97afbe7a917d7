import Foundation
import Logging

/// Sends every library's log to stderr, at `warning` unless `--verbose` asks for `info` (or `debug` twice).
enum LogSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(verbosity: Int, json: Bool = false) {
        guard !done else { return }
        done = true
        let level: Logger.Level = verbosity >= 2 ? .debug : (verbosity == 1 ? .info : .warning)
        LoggingSystem.bootstrap { label in
            if json { return JSONLineLogHandler(level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per line on stderr (`{"time":..., "level":..., "message":...}`), for log collectors.
struct JSONLineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    init(level: Logger.Level) { logLevel = level }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let object: [String: String] = ["time": ISO8601DateFormatter().string(from: Date()), "level": level.rawValue,
                                        "source": source, "message": message.description]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardError.write(data + Data("\n".utf8))
    }
}
