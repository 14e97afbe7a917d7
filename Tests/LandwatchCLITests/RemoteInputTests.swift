import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// Inputs read over HTTP through GDAL's `/vsicurl/` (as from object storage): the real Zion bands served from a local
/// server that answers range requests (Remote/range_server.py).
final class RemoteInputTests: XCTestCase {
    var work: URL!
    var server: Process?
    var base = ""

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-remote")
        let served = work.appendingPathComponent("served/zion")
        try FileManager.default.createDirectory(at: served.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("testdata/zion-landsat8"), to: served)
        let started = try RangeServer.start(serving: work.appendingPathComponent("served"))
        server = started.process
        base = started.base
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(at: work)
    }

    func landcoverRules(_ extra: [String], out: String) throws -> CLITests.Result {
        try CLITests.landwatch(["run", "pipelines/landcover-rules.yaml", "--set", "data=\(base)/zion", "--out",
                                work.appendingPathComponent(out).path] + extra)
    }

    func testRemoteInputsGiveTheLocalResultAndARerunNoticesAChangedObject() throws {
        let remote = try landcoverRules(["--allow-read", "\(base)/"], out: "remote")
        XCTAssertEqual(remote.status, 0, remote.stderr)
        let local = try CLITests.landwatch(["run", "pipelines/landcover-rules.yaml", "--out", work.appendingPathComponent("local").path])
        XCTAssertEqual(local.status, 0, local.stderr)
        for name in ["landcover.tif"] {
            let a = try Dataset.open(work.appendingPathComponent("remote/\(name)").path), b = try Dataset.open(work.appendingPathComponent("local/\(name)").path)
            XCTAssertEqual(try a.band(1).read(Window(width: a.width, height: a.height)), try b.band(1).read(Window(width: b.width, height: b.height)))
        }
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("remote/accuracy.csv")),
                       try Data(contentsOf: work.appendingPathComponent("local/accuracy.csv")))
        // run.json records each remote input with the size the server gives.
        let record = try RunRecord.decode(Data(contentsOf: work.appendingPathComponent("remote/run.json")))
        let red = try XCTUnwrap(record.inputs.first { $0.path == "\(base)/zion/landsat_b4.tif" })
        XCTAssertEqual(red.bytes, try FileManager.default.attributesOfItem(atPath: work.appendingPathComponent("served/zion/landsat_b4.tif").path)[.size] as? Int)
        XCTAssertNotNil(red.modified)

        // A rerun keeps everything; once the object changes (a new Last-Modified), the stages reading it run again.
        let again = try landcoverRules(["--allow-read", "\(base)/"], out: "remote")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("kept from an earlier run"), again.stdout)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(120)],
                                              ofItemAtPath: work.appendingPathComponent("served/zion/landsat_b4.tif").path)
        let changed = try landcoverRules(["--allow-read", "\(base)/"], out: "remote")
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssertFalse(changed.stdout.contains("kept from an earlier run"), changed.stdout)
    }

    func testRemoteInputsNeedAllowReadAndAMissingObjectIsNamed() throws {
        let refused = try landcoverRules([], out: "refused")
        XCTAssertEqual(refused.status, 65)
        XCTAssertTrue(refused.stderr.contains("names a file outside the folders this run may read (found '\(base)/zion/landsat_b2.tif'"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--allow-read"), refused.stderr)

        let missing = try CLITests.landwatch(["run", "pipelines/landcover-rules.yaml", "--set", "data=\(base)/nothere", "--allow-read", "\(base)/",
                                              "--out", work.appendingPathComponent("missing").path])
        XCTAssertEqual(missing.status, 65)
        XCTAssertTrue(missing.stderr.contains("cannot open raster \(base)/nothere/nlcd.tif - caused by: HTTP response code: 404"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("missing/landcover.tif").path))
    }
}
