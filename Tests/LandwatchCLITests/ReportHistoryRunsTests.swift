import Foundation
import XCTest
import LandwatchTestSupport

/// report.html's `history` option (issue 24 item 4, "earlier runs named"): a run's report charts each zone over the
/// dates of the earlier runs it is given and its own, with the values those runs wrote; a folder with no run, or an
/// earlier run reached through a link outside the allowed folders, is one line and no report.
final class ReportHistoryRunsTests: XCTestCase {
    var work: URL!
    var runs: URL { work.appendingPathComponent("runs") }

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-report-history")
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// The shipped nightly pipeline, its report given `history` (the folder of earlier runs) when `history` is set.
    func pipeline(history: String?) throws -> URL {
        var text = try String(contentsOf: CLITests.root.appendingPathComponent("pipelines/nightly-inbox.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../testdata/", with: CLITests.root.appendingPathComponent("testdata").path + "/")
        if let history {
            let plain = "with: {path: report, language: en}"
            XCTAssertTrue(text.contains(plain))
            text = text.replacingOccurrences(of: plain, with: "with: {path: report, language: en, history: \"\(history)\"}")
        }
        let file = work.appendingPathComponent(history == nil ? "plain.yaml" : "history.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func run(_ pipeline: URL, after fixture: String, date: String, out: URL, extra: [String] = []) throws -> CLITests.Result {
        try CLITests.landwatch(["run", pipeline.path, "--out", out.path, "--threads", "2",
                                "--set", "before=\(CLITests.root.path)/testdata/nightly/before.tif", "--set", "before_date=2024-06-30",
                                "--set", "after=\(CLITests.root.path)/testdata/nightly/\(fixture)", "--set", "after_date=\(date)"] + extra)
    }

    /// green.json of a run: zone -> green coverage in percent.
    func green(_ folder: URL) throws -> [String: Double] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("green.json"))) as! [String: Any]
        var result: [String: Double] = [:]
        for zone in object["zones"] as! [[String: Any]] {
            if let value = zone["greenCoverage"] as? Double ?? zone["green_coverage"] as? Double { result[zone["zone"] as! String] = value * 100 }
        }
        return result
    }

    func testTheReportChartsTheEarlierRunsAndItsOwnDate() throws {
        let plain = try pipeline(history: nil)
        XCTAssertEqual(try run(plain, after: "before.tif", date: "2024-07-16", out: runs.appendingPathComponent("a")).status, 0)
        XCTAssertEqual(try run(plain, after: "after.tif", date: "2024-08-01", out: runs.appendingPathComponent("b")).status, 0)
        // A run that did not succeed is left out, with a warning naming it.
        let failed = runs.appendingPathComponent("c")
        try FileManager.default.copyItem(at: runs.appendingPathComponent("a"), to: failed)
        var record = try JSONSerialization.jsonObject(with: Data(contentsOf: failed.appendingPathComponent("run.json"))) as! [String: Any]
        record["status"] = "failed"
        try JSONSerialization.data(withJSONObject: record).write(to: failed.appendingPathComponent("run.json"))
        let out = work.appendingPathComponent("latest")
        let result = try run(try pipeline(history: runs.path), after: "after.tif", date: "2024-09-02", out: out)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(failed.path) left out: its run did not succeed (status failed)"), result.stderr)

        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report/summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["historyDates"] as? [String], ["2024-07-16", "2024-08-01", "2024-09-02"])
        let html = try String(contentsOf: out.appendingPathComponent("report/index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("2 earlier runs are from \(runs.path)"), "the report says where the history comes from")
        let points = HistoryReportTests.points(html)["green_coverage"] ?? [:]
        let expected = [("2024-07-16", try green(runs.appendingPathComponent("a"))), ("2024-08-01", try green(runs.appendingPathComponent("b"))),
                        ("2024-09-02", try green(out))]
        XCTAssertFalse(points.isEmpty, "a green coverage line per zone")
        XCTAssertEqual(Set(points.keys), Set(expected[0].1.keys))
        for (zone, line) in points {
            XCTAssertEqual(line.map(\.0), expected.map(\.0), zone)
            for (point, want) in zip(line, expected) { XCTAssertEqual(point.1, want.1[zone]!, accuracy: 1e-9, "\(zone) \(point.0)") }
        }
        // The planted construction of after.tif: listed new on 2024-08-01 and again on 2024-09-02 (no registry links them: two runs).
        let bars = HistoryReportTests.bars(html)
        XCTAssertEqual(bars["2024-07"], nil, "nothing was listed in July")
        XCTAssertEqual(bars["2024-08"]?["new"], bars["2024-09"]?["new"])
        XCTAssertNotNil(bars["2024-08"]?["new"])
    }

    func testAFolderWithoutRunsAndALinkLeavingTheAllowedFoldersAreOneLineEach() throws {
        let empty = work.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let out = work.appendingPathComponent("o1")
        let none = try run(try pipeline(history: empty.path), after: "after.tif", date: "2024-09-02", out: out)
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("option 'history': \(empty.path) holds no finished run"), none.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("report/index.html").path), "no report left as if finished")

        // An earlier run outside the allowed folders, reached through a link inside the history folder.
        let outside = TestPaths.temporaryFolder("landwatch-outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        XCTAssertEqual(try run(try pipeline(history: nil), after: "before.tif", date: "2024-07-16", out: outside.appendingPathComponent("r")).status, 0)
        try FileManager.default.createSymbolicLink(at: runs.appendingPathComponent("r"), withDestinationURL: outside.appendingPathComponent("r"))
        let linked = try run(try pipeline(history: runs.path), after: "after.tif", date: "2024-09-02", out: work.appendingPathComponent("o2"),
                             extra: ["--allow-read", work.path, "--allow-read", CLITests.root.appendingPathComponent("testdata").path])
        XCTAssertNotEqual(linked.status, 0)
        XCTAssertTrue(linked.stderr.contains("lies outside the folders this run may read"), linked.stderr)
        XCTAssertTrue(linked.stderr.contains(outside.path), linked.stderr)
    }
}
