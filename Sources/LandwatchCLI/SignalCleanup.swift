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
                // _exit, not exit: exit runs the C++ static destructors (GDAL's driver manager, its thread pool) while
                // the workers are still reading and writing through GDAL, which crashed a run now and then (SIGSEGV
                // instead of 130). Everything that must happen on an interrupt has happened above; stdout is flushed.
                fflush(nil)
                _exit(code)
            }
            source.resume()
            sources.append(source)
        }
    }
}
