import Foundation
import LandwatchGDAL
import XCTest
import LandwatchTestSupport

/// The nightly goes on past one bad delivery (issue 22): a truncated or still-copying GeoTIFF is recorded failed (and
/// retried on a later night) while the other scenes of the night are processed; the same bytes delivered again under
/// another name and sidecar date are a duplicate, not a UNIQUE-constraint abort. On the Marburg fixture pair.
final class NightlyRobustnessTests: XCTestCase {
    var work: URL!
    var inbox: URL { work.appendingPathComponent("inbox") }
    var out: URL { work.appendingPathComponent("out") }
    var pipeline: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-nightly-robust")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        pipeline = try NightlyTests.shortNightsPipeline(in: work)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func deliver(_ data: Data, as name: String, date: String) throws {
        try data.write(to: inbox.appendingPathComponent("\(name).tif"))
        try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(toFile: inbox.appendingPathComponent("\(name).json").path,
                                                                         atomically: true, encoding: .utf8)
    }

    func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: CLITests.root.appendingPathComponent("testdata/nightly/\(name)"))
    }

    func nightly(_ extra: [String] = []) throws -> CLITests.Result {
        try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"] + extra)
    }

    func testATruncatedDeliveryIsRecordedFailedAndTheNightGoesOnAndADuplicateIsNoAbort() throws {
        try deliver(try fixture("before.tif"), as: "night1", date: "2024-06-30")
        let first = try nightly()
        XCTAssertEqual(first.status, 0, first.stderr)

        let after = try fixture("after.tif")
        try deliver(after, as: "night2", date: "2024-07-16")
        // The same bytes again, with another sidecar date.
        try deliver(after, as: "night2-again", date: "2024-07-17")
        // A copy cut off at 60 %: its header opens, its strips do not.
        var other = try fixture("before.tif")
        other[other.count - 1] ^= 0xFF  // another content hash than night 1
        try deliver(other.prefix(other.count * 6 / 10), as: "cut", date: "2024-07-16")
        let second = try nightly()
        XCTAssertEqual(second.status, 2, second.stderr)
        XCTAssertTrue(second.stderr.contains("incomplete (truncated, or still being copied?)"), second.stderr)
        // Inbox order: night2-again.tif comes first, night2.tif is its duplicate.
        XCTAssertTrue(second.stderr.contains("night2.tif: the same bytes as \(inbox.path)/night2-again.tif (a duplicate delivery"), second.stderr)
        XCTAssertTrue(second.stderr.contains("nightly: scenes new 2, done 1, failed 1; violations new 1"), second.stderr)
        XCTAssertFalse(second.stderr.contains("UNIQUE"), second.stderr)

        // The next night tries the cut delivery again (and only it), and goes on as well.
        let third = try nightly()
        XCTAssertEqual(third.status, 2, third.stderr)
        XCTAssertTrue(third.stderr.contains("failed on an earlier night"), third.stderr)
        XCTAssertTrue(third.stderr.contains("scenes new 1, done 0, failed 1 (1 retried)"), third.stderr)
    }

    func testADeliveryYoungerThanTheSettleTimeWaitsForALaterNight() throws {
        try deliver(try fixture("before.tif"), as: "night1", date: "2024-06-30")
        let text = try String(contentsOf: pipeline, encoding: .utf8)
        XCTAssertTrue(text.contains("params:"), "the shipped pipeline has params")
        try text.replacingOccurrences(of: "params:\n", with: "params:\n  settle_seconds: \"3600\"\n").write(to: pipeline, atomically: true, encoding: .utf8)
        let result = try nightly()
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("still being written (modified 0 s ago, less than the settle time of 3600 s)")
                      || result.stderr.contains("still being written (modified 1 s ago"), result.stderr)
    }

    func testASidecarThatIsAFolderOrAFIFOAndADeliveryThatIsALoopAreNamedNotReadForever() throws {
        let before = try fixture("before.tif")
        try before.write(to: inbox.appendingPathComponent("folder.tif"))
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("folder.json"), withIntermediateDirectories: true)
        var other = before
        other[other.count - 1] ^= 0xFF
        try other.write(to: inbox.appendingPathComponent("fifo.tif"))
        XCTAssertEqual(mkfifo(inbox.appendingPathComponent("fifo.json").path, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("loop.tif").path, withDestinationPath: inbox.appendingPathComponent("loop.tif").path)
        let result = try nightly()
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("folder.json: the sidecar is a folder, not a JSON file"), result.stderr)
        XCTAssertTrue(result.stderr.contains("fifo.json: the sidecar is a FIFO (named pipe), not a JSON file"), result.stderr)
        XCTAssertTrue(result.stderr.contains("loop.tif: a symlink loop, not a delivery"), result.stderr)
    }

    /// A folder holding the MTLs of two Landsat products (Marburg's Landsat 8 and Landsat 7 scenes) is recorded failed
    /// naming both, not read as whichever sorts first; the night goes on.
    func testAFolderWithTheMTLsOfTwoProductsIsNamedNotPickedSilently() throws {
        let marburg = CLITests.root.appendingPathComponent("testdata/marburg-landsat")
        let folder = inbox.appendingPathComponent("two-products")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: marburg.path) where name.hasSuffix("_MTL.txt") || name.hasSuffix("_B4.TIF") || name.hasSuffix("_B3.TIF") || name.hasSuffix("_B5.TIF") || name.hasSuffix("_B4.TIF") {
            try FileManager.default.copyItem(at: marburg.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        try deliver(try fixture("before.tif"), as: "night1", date: "2024-06-30")
        let result = try nightly()
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("two-products: holds the MTL files of 2 products (LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt, LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("failed 1"), result.stderr)
    }

    func testNightlyRefusesAMemoryThatIsNotASizeAndZeroThreads() throws {
        for arguments in [["--memory", "lots"], ["--memory", "1e30G"], ["--threads", "0"]] {
            let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(arguments): nothing is written")
        }
    }
}
