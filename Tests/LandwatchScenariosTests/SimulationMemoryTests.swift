import Foundation
import LandwatchTestSupport
import XCTest

/// simulate.landuse checks the whole process against `--memory` before a cell is read: its whole-grid arrays, GDAL's
/// block cache (a quarter of the budget), the rows read at a time and the program. Run as a user would (the binary
/// under /usr/bin/time) on the bench's inputs made small (bench/scenarios/make_inputs.py: the real Zion NLCD on
/// 2400 x 2400 cells, a planted decade, the SRTM elevation): at the smallest budget the stage accepts, the peak
/// resident memory stays under it; just below, the run is refused with one line, before any output is written.
final class SimulationMemoryTests: XCTestCase {
    func testPeakMemoryStaysWithinTheSmallestBudgetTheStageAccepts() throws {
        let work = TestPaths.temporaryFolder("landwatch-simulation-memory")
        defer { try? FileManager.default.removeItem(at: work) }
        let inputs = work.appendingPathComponent("inputs")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let size = 2400
        XCTAssertEqual(try run("/usr/bin/python3", [TestPaths.repository.appendingPathComponent("bench/scenarios/make_inputs.py").path,
                                                    String(size), inputs.path]).status, 0)
        let pipeline = TestPaths.repository.appendingPathComponent("bench/scenarios/decade.yaml").path
        func simulate(memory: Int, _ name: String) throws -> (status: Int32, output: String, peak: Int) {
            let time = work.appendingPathComponent("\(name).time")
            let result = try run("/usr/bin/time", ["-v", "-o", time.path, TestPaths.binary.path, "run", pipeline, "--set", "work=\(inputs.path)", "--allow-read", inputs.path,
                                                   "--out", work.appendingPathComponent(name).path, "--memory", "\(memory)",
                                                   "--threads", "2"])
            let text = try String(contentsOf: time, encoding: .utf8)
            let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("Maximum resident set size") })
            let kilobytes = try XCTUnwrap(Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)))
            return (result.status, result.output, kilobytes * 1024)
        }
        // A first run at a generous budget says what the stage plans for: its arrays and the program, plus a quarter
        // of the budget for GDAL's cache.
        let generous = 1 << 30
        let first = try simulate(memory: generous, "generous")
        XCTAssertEqual(first.status, 0, first.output)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("generous/decade/scenarios.json"))) as? [String: Any]
        let planned = try XCTUnwrap(result?["memory_bytes"] as? Int)
        let fixed = planned - generous / 4
        XCTAssertGreaterThan(fixed, size * size * 6, "the estimate holds at least the five whole-grid bytes and one suitability byte per cell")
        // The smallest budget it accepts: fixed + budget / 4 <= budget.
        let smallest = (fixed * 4 + 2) / 3 + (1 << 20)
        let tight = try simulate(memory: smallest, "tight")
        XCTAssertEqual(tight.status, 0, tight.output)
        XCTAssertLessThanOrEqual(tight.peak, smallest, "peak RSS \(tight.peak >> 20) MiB over the --memory \(smallest >> 20) MiB the stage accepted")
        // Below it: refused, naming the figures, and no map left.
        let refused = try simulate(memory: smallest - (24 << 20), "refused")
        XCTAssertEqual(refused.status, 75, refused.output)
        XCTAssertTrue(refused.output.contains("more than the memory budget"), refused.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("refused/decade/baseline.tif").path))
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("landwatch-memory-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}
