import Foundation
@testable import LandwatchCLI
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// A disk that fills up (issue 22 item 5): the line says so first, with what was being written, whatever the driver
/// made of it (libtiff's "Write error at scanline 0", SQLite's statement), and stays short; nothing of the run is
/// published. Small tmpfs mounts (root only, as CI runs).
final class FullDiskTests: XCTestCase {
    var work: URL!
    var mounted: [URL] = []

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root (CI runs as root)") }
        work = TestPaths.temporaryFolder("landwatch-full")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for folder in mounted { try? run("/bin/umount", [folder.path]) }
        if let work { try? FileManager.default.removeItem(at: work) }
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A fresh tmpfs of `size` (mount's units: 64k, 8m).
    func disk(_ name: String, size: String) throws -> URL {
        let folder = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", folder.path]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here")
        }
        mounted.append(folder)
        return folder
    }

    /// The enforcement pipeline on the real Landsat pair runs out of space at different stages (scratch rasters,
    /// classes, the report): each time one line, "no space left on device writing …" first, at most 400 characters
    /// after "landwatch: ", exit 73/74, and no output of the run in --out.
    func testARunOnAFullDiskSaysSoFirstInOneShortLineAndPublishesNothing() throws {
        for size in ["1m", "8m", "20100k", "20700k"] {
            let root = try disk("run-\(size)", size: size)
            let out = root.appendingPathComponent("out")
            let result = try CLITests.landwatch(["run", "pipelines/nightly-enforcement.yaml", "--out", out.path, "--threads", "2"])
            if result.status == 0 { continue }  // this size happened to be enough (the scratch sizes vary a little)
            XCTAssertTrue([73, 74, 70].contains(result.status), "\(size): \(result.status) \(result.stderr)")
            // Progress lines ("pass 2: …") go to stderr too; the failure is one line.
            let lines = result.stderr.split(separator: "\n").filter { $0.contains("failed") || $0.contains("space") }
            XCTAssertEqual(lines.count, 1, "\(size): \(result.stderr)")
            let line = String(lines.last ?? "")
            XCTAssertTrue(line.hasPrefix("landwatch: run failed: no space left on device writing "), "\(size): \(line)")
            XCTAssertLessThanOrEqual(line.count, "landwatch: ".count + ErrorLine.limit, "\(size): \(line)")
            let left = ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0 != "run.json" && !$0.hasPrefix(".landwatch") }
            XCTAssertEqual(left, [], "\(size): nothing of a failed run is published")
        }
    }

    /// A GeoPackage (the violation list's) on a full disk: SQLite's message carries the whole statement; the line
    /// names the file and the full disk first and is cut to the limit.
    func testAGeoPackageOnAFullDiskIsOneShortLineNamingTheFile() throws {
        let root = try disk("gpkg", size: "96k")
        let path = root.appendingPathComponent("violations.gpkg").path
        var thrown: GDALError?
        do {
            let writer = try VectorWriter(path: path, driver: "GPKG", layer: "violations", crs: SpatialReference.wgs84(),
                                          geometry: .point, fields: [("note", .string)])
            let note = String(repeating: "a violation note long enough to fill pages ", count: 40)
            for index in 0..<2_000 {
                try writer.add(Geometry(x: Double(index) * 1e-4, y: 30), values: ["note": .string(note)])
            }
            try writer.close()
        } catch {
            thrown = error
        }
        let error = try XCTUnwrap(thrown, "a 96 KB disk cannot hold 2,000 features of 1.7 KB")
        XCTAssertTrue(DiskSpace.isFullMessage(error.description), error.description)
        let line = ErrorLine.readable("run failed: stage 'violations': \(error)")
        XCTAssertTrue(line.hasPrefix("run failed: no space left on device writing \(path)"), line)
        XCTAssertLessThanOrEqual(line.count, ErrorLine.limit, line)
    }
}
