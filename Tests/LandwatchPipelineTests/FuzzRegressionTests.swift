import Foundation
import LandwatchAlgorithms
import LandwatchPipeline
import LandwatchStages
import XCTest
import LandwatchSensors

/// Replays what `make fuzz` keeps in FuzzRegressions/ (inputs libFuzzer found, and hand-written ones of the same
/// kind): each must come back as a clear error (or a loaded file), quickly, and never crash the process.
final class FuzzRegressionTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzRegressions")

    func files(_ target: String) throws -> [URL] {
        let directory = Self.folder.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { directory.appendingPathComponent($0) }
    }

    func testPipelineLoaderFindings() throws {
        let loader = PipelineLoader(registry: standardRegistry, readRoots: [])
        let cases = try files("pipeline")
        XCTAssertGreaterThanOrEqual(cases.count, 3)
        for file in cases {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            let started = Date()
            do {
                _ = try loader.load(text: text, path: file.lastPathComponent, directory: Self.folder)
            } catch {
                XCTAssertFalse(error.diagnostics.isEmpty, file.lastPathComponent)
                XCTAssertTrue(error.diagnostics.allSatisfy { !$0.message.isEmpty }, file.lastPathComponent)
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "\(file.lastPathComponent) must not hang the loader")
        }
        // The exponential alias expansion is refused, not attempted.
        let laughs = String(decoding: try Data(contentsOf: Self.folder.appendingPathComponent("pipeline/billion-laughs.yaml")), as: UTF8.self)
        XCTAssertThrowsError(try loader.load(text: laughs, path: "billion-laughs.yaml", directory: Self.folder)) { error in
            XCTAssertTrue("\(error)".contains("expands to more than 100000 YAML nodes"), "\(error)")
        }
    }

    func testMTLParserFindings() throws {
        let cases = try files("mtl")
        XCTAssertGreaterThanOrEqual(cases.count, 3)
        for file in cases {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            do {
                let product = try LandsatProduct(mtl: MTLFile(text: text, file: file.lastPathComponent))
                _ = try product.reflectanceScaling(band: "4", sunCorrected: true)
            } catch {
                XCTAssertTrue(error.description.hasPrefix(file.lastPathComponent), error.description)
            }
        }
    }
}
