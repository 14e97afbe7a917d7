import Foundation
import Logging

/// Sends every library's log to stderr, at `warning` unless `--verbose` asks for `info` (or `debug` twice).
enum LogSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(verbosity: Int) {
        guard !done else { return }
        done = true
        let level: Logger.Level = verbosity >= 2 ? .debug : (verbosity == 1 ? .info : .warning)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
