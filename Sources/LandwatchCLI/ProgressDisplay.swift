import Foundation
import LandwatchPipeline

/// Draws progress on stderr: a redrawn bar on a terminal, plain lines (every 10 %) in a log.
final class ProgressDisplay: RunObserver, @unchecked Sendable {  // state guarded by `lock`
    private let interactive: Bool
    private let lock = NSLock()
    private var lastShown: [Int: Int] = [:]
    private var lineOpen = false
    private var lastDraw = Date.distantPast

    init(interactive: Bool) { self.interactive = interactive }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    func passStarted(_ pass: Int, stages: [String], blocks: Int) {
        lock.withLock {
            closeLine()
            if pass == 0 {
                write("landwatch: stage \(stages.joined(separator: ", ")) (whole raster)\n")
            } else {
                write("landwatch: pass \(pass): \(stages.joined(separator: " -> ")), \(blocks) blocks\n")
            }
        }
    }

    func passProgress(_ pass: Int, done: Int, total: Int) {
        let percent = total == 0 ? 100 : done * 100 / total
        lock.withLock {
            if interactive {
                let now = Date()
                guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
                lastDraw = now
                let width = 30
                let filled = width * percent / 100
                write("\r  pass \(pass) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                      + "] \(percent)% \(done)/\(total) blocks")
                lineOpen = true
            } else {
                let step = percent / 10 * 10
                guard step > (lastShown[pass] ?? -1) else { return }
                lastShown[pass] = step
                write("  pass \(pass): \(step)% (\(done)/\(total) blocks)\n")
            }
        }
    }

    func passFinished(_ pass: Int, stages: [String], seconds: Double) {
        lock.withLock {
            closeLine()
            write("landwatch: \(pass == 0 ? "stage" : "pass \(pass)") done in \(String(format: "%.2f", seconds)) s\n")
        }
    }

    func finish() { lock.withLock { closeLine() } }

    private func closeLine() {
        if lineOpen { write("\n"); lineOpen = false }
    }
}
