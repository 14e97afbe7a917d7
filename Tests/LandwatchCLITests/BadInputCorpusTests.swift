import Foundation
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// Every pipeline in BadInputs/ reads one broken input (rasters, MTL files, vector layers made by
/// BadInputs/make_bad_inputs.py from the real Marburg crop): `landwatch run` must exit with the code on the first
/// line of its `.expected` file, print exactly the other lines (`$CORPUS` stands for the corpus folder; log lines with a
/// timestamp and progress lines are not compared), and leave no output that looks finished and no partial file.
final class BadInputCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("BadInputs")

    func testEveryBadInputGetsItsExactMessageAndLeavesNothingBehind() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 19)
        let work = TestPaths.temporaryFolder("landwatch-bad-inputs")
        defer { try? FileManager.default.removeItem(at: work) }
        for file in files {
            let name = String(file.dropLast(5))
            let expected = try String(contentsOf: Self.corpus.appendingPathComponent(name + ".expected"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let out = work.appendingPathComponent(name)
            let result = try CLITests.landwatch(["run", file, "--out", out.path, "--threads", "2"], in: Self.corpus)
            XCTAssertEqual("exit \(result.status)", expected.first, "\(file): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").map(String.init).filter { line in
                !(line.first?.isNumber ?? false) && !line.hasPrefix("landwatch: stage") && !line.hasPrefix("landwatch: pass") && !line.hasPrefix("  pass")
            }.map { $0.replacingOccurrences(of: Self.corpus.path, with: "$CORPUS") }
            XCTAssertEqual(lines, Array(expected.dropFirst()), file)
            // Nothing that looks finished: at most the run record (status failed), and no partial file.
            let left = (FileManager.default.enumerator(atPath: out.path)?.allObjects as? [String] ?? []).sorted()
            XCTAssertTrue(left.allSatisfy { $0 == "run.json" || $0 == StageManifest.fileName }, "\(file) left \(left)")
            if left.contains("run.json") {
                let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
                XCTAssertEqual(record.status, "failed", file)
            }
        }
    }
}
