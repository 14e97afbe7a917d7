import Foundation
import LandwatchPipeline

/// On SIGINT or SIGTERM, deletes the run's partial files and exits 130 (or 143), so that an interrupted run leaves
/// nothing that looks finished.
enum SignalCleanup {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for (signalNumber, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                PartialFiles.shared.removeAll()
                FileHandle.standardError.write(Data("\nlandwatch: interrupted; partial outputs removed\n".utf8))
                exit(code)
            }
            source.resume()
            sources.append(source)
        }
    }
}
