import Foundation
import XCTest
import LandwatchTestSupport

/// Issue 20: each real scene against itself with a gain, an offset, noise and a one-pixel shift (nothing planted)
/// must give no report, with the rules and with a trained model. The inputs are made by the accuracy harness
/// (bench/accuracy/accuracy.py --modes null) from the real Marburg, Kenya and Slovenia scenes; the built binary runs
/// each case and the harness counts the reports in its violation list.
final class ChangeDetectionNullTests: XCTestCase {
    func testRealScenesAgainstThemselvesGiveNoReport() throws {
        let work = TestPaths.temporaryFolder("landwatch-null")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let json = work.appendingPathComponent("null.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CLITests.root.appendingPathComponent("bench/accuracy/accuracy.py").path,
                             "--landwatch", CLITests.binary.path, "--modes", "null", "--null-seeds", "1",
                             "--scenes", "marburg,kenya,slovenia", "--classifiers", "rules,model",
                             "--work", work.appendingPathComponent("work").path, "--json", json.path]
        process.currentDirectoryURL = CLITests.root
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [[String: Any]])
        XCTAssertEqual(results.count, 6, "3 scenes x 2 classifiers")
        for r in results {
            let name = "\(r["scene"] ?? "?") / \(r["classifier"] ?? "?")"
            XCTAssertTrue(r["error"] is NSNull || r["error"] == nil, "\(name): \(r["error"] ?? "")")
            XCTAssertEqual(r["reports"] as? Int, 0, "\(name): \(r["reports"] ?? "no") reports on the scene against itself, "
                           + "transitions \(r["report_transitions"] ?? "")")
        }
    }
}
