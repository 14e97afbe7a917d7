import Foundation
import LandwatchPipeline
import LandwatchStages
import XCTest

/// Every file in BadPipelines/ must be refused with exactly the lines in its `.expected` file
/// (`$ROOT` stands for the repository's folder).
final class BadPipelineCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("BadPipelines")
    static let root = corpus.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The diagnostics for a file, as `landwatch validate NAME` prints them when run inside the corpus folder.
    static func diagnostics(for name: String) -> [String]? {
        let url = corpus.appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        do {
            let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: name, directory: corpus)
            _ = try RunPlan(pipeline: pipeline)
            return nil
        } catch {
            return error.diagnostics.map { $0.description.replacingOccurrences(of: root.path, with: "$ROOT") }
        }
    }

    func testEveryBadPipelineGetsItsExactMessages() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 25)
        for file in files {
            let expectedURL = Self.corpus.appendingPathComponent(file.replacingOccurrences(of: ".yaml", with: ".expected"))
            let expected = try String(contentsOf: expectedURL, encoding: .utf8).split(separator: "\n").map(String.init)
            XCTAssertFalse(expected.isEmpty, "\(file): the .expected file is empty")
            guard let actual = Self.diagnostics(for: file) else {
                XCTFail("\(file) was accepted")
                continue
            }
            XCTAssertEqual(actual, expected, "\(file)")
        }
    }

    func testAllProblemsOfAFileAreReportedTogether() {
        XCTAssertEqual(Self.diagnostics(for: "missing-and-mistyped-options.yaml")?.count, 5)
    }
}
