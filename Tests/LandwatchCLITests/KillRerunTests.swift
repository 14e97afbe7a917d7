import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// A run publishes as a whole (issue 22 item 1): it writes into a staging tree inside --out and renames it into place
/// at the end. SIGKILLs at moments spread over three shipped pipelines on the real testdata scenes (rasters only;
/// rasters, violation list and report; metrics, heat island and a report that reads them), each followed by a rerun:
/// the outputs end as an uninterrupted run's, no staging folder is left, and a file of the user's in --out is never
/// touched. Half the kills hit a run into a fresh folder (nothing of the killed run may be in the root unless its
/// publish had begun), half a `--force` run over a complete earlier run (its outputs stay whole).
///
/// `LANDWATCH_KILLS` sets the kills per pipeline: `make test` runs 2 (6 in all), `make kill-check` 10 (30 in all).
final class KillRerunTests: XCTestCase {
    var work: URL!
    static let pipelines = ["demo", "nightly-enforcement", "demo-report"]

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-kill")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    var killsPerPipeline: Int { Int(ProcessInfo.processInfo.environment["LANDWATCH_KILLS"] ?? "") ?? 2 }

    /// What a run leaves, as comparable lines: every file's path with its content's fingerprint. Rasters by their
    /// pixels (a tile's place in the file depends on which thread wrote it first), GeoPackages by their name only
    /// (SQLite pages carry write times; the list is compared as GeoJSON, CSV and JSON), the report's pages by name
    /// only (they print the run's times); everything else by its bytes. run.json and the manifest are left out.
    func snapshot(_ out: URL) throws -> [String] {
        var lines: [String] = []
        let files = (FileManager.default.enumerator(atPath: out.path)?.allObjects as? [String]) ?? []
        for file in files.sorted() {
            let url = out.appendingPathComponent(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            // stac/item.json names the run's own start and end, as run.json does.
            if file == "run.json" || file == StageManifest.fileName || file.hasPrefix(".landwatch-work-") || file == "stac/item.json" { continue }
            let lower = file.lowercased()
            if lower.hasSuffix(".tif") {
                let dataset = try Dataset.open(url.path)
                var text = "\(dataset.width)x\(dataset.height)x\(dataset.bandCount)"
                for index in 1...dataset.bandCount {
                    let values = try dataset.band(index).read(Window(colOffset: 0, rowOffset: 0, width: dataset.width, height: dataset.height))
                    text += " " + SHA256.hex(values.withUnsafeBytes { Array($0) })
                }
                lines.append("\(file) \(text)")
            } else if lower.hasSuffix(".gpkg") || (file.hasPrefix("report/") && (lower.hasSuffix(".html") || lower.hasSuffix(".md") || lower.hasSuffix("summary.json"))) {
                lines.append(file)
            } else {
                lines.append("\(file) \(SHA256.hex(Array(try Data(contentsOf: url))))")
            }
        }
        return lines
    }

    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = arguments
        process.currentDirectoryURL = CLITests.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func run(_ pipeline: String, into out: URL, force: Bool = false) throws -> CLITests.Result {
        try CLITests.landwatch(["run", "pipelines/\(pipeline).yaml", "--out", out.path, "--threads", "2"] + (force ? ["--force"] : []))
    }

    /// The work folders in `out` and whether any holds a publish journal (a kill during the renames).
    func workFolders(_ out: URL) -> (names: [String], publishing: Bool) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.hasPrefix(".landwatch-work-") }
        let publishing = names.contains { FileManager.default.fileExists(atPath: out.appendingPathComponent("\($0)/publish.json").path) }
        return (names, publishing)
    }

    func testKilledAtAnyMomentARerunEndsAsAnUninterruptedRunWithNoStagingLeft() throws {
        var kills = 0, midway = 0, duringPublish = 0
        for pipeline in Self.pipelines {
            let reference = work.appendingPathComponent("\(pipeline)-reference")
            let started = Date()
            let first = try run(pipeline, into: reference)
            let duration = Date().timeIntervalSince(started)
            XCTAssertEqual(first.status, 0, first.stderr)
            let expected = try snapshot(reference)
            XCTAssertGreaterThan(expected.count, 2, "\(pipeline): \(expected)")
            // A second uninterrupted run gives the same snapshot: what the kills are compared with is stable.
            let again = work.appendingPathComponent("\(pipeline)-again")
            XCTAssertEqual(try run(pipeline, into: again).status, 0)
            XCTAssertEqual(try snapshot(again), expected, "\(pipeline): two uninterrupted runs differ")

            for k in 1...killsPerPipeline {
                let fresh = k % 2 == 1
                let out = work.appendingPathComponent("\(pipeline)-\(fresh ? "fresh" : "forced")-\(k)")
                let userFile = out.appendingPathComponent("my-notes.txt")
                if !fresh { XCTAssertEqual(try run(pipeline, into: out).status, 0) }
                try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
                try Data("mine\n".utf8).write(to: userFile)
                let process = try start(["run", "pipelines/\(pipeline).yaml", "--out", out.path, "--threads", "2"] + (fresh ? [] : ["--force"]))
                // The start of a debug run (loading, validation) takes about a third of it; kills spread over the rest.
                usleep(useconds_t(duration * (0.3 + 0.7 * Double(k) / Double(killsPerPipeline + 1)) * 1_000_000))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    midway += 1
                }
                kills += 1
                process.waitUntilExit()
                let (_, publishing) = workFolders(out)
                if publishing { duringPublish += 1 }
                if fresh && process.terminationReason == .uncaughtSignal && !publishing {
                    // Nothing of a run killed before its publish is in the root: only its record says it ran.
                    let left = try snapshot(out)
                    XCTAssertEqual(left, ["my-notes.txt \(SHA256.hex(Array(Data("mine\n".utf8))))"], "\(pipeline) kill \(k): \(left)")
                    let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
                    XCTAssertEqual(record.status, "running")
                } else if !fresh && !publishing {
                    // The complete earlier run is still whole under a killed --force run.
                    XCTAssertEqual(try snapshot(out).filter { !$0.hasPrefix("my-notes.txt") }, expected, "\(pipeline) kill \(k)")
                }
                let rerun = try run(pipeline, into: out)
                XCTAssertEqual(rerun.status, 0, "\(pipeline) kill \(k): \(rerun.stderr)")
                XCTAssertEqual(try snapshot(out).filter { !$0.hasPrefix("my-notes.txt") }, expected, "\(pipeline) killed at \(k)/\(killsPerPipeline + 1)")
                XCTAssertEqual(workFolders(out).names, [], "\(pipeline) kill \(k): a staging folder is left after the rerun")
                XCTAssertEqual(try String(contentsOf: userFile, encoding: .utf8), "mine\n")
                XCTAssertEqual(try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json"))).status, "succeeded")
            }
        }
        XCTAssertGreaterThanOrEqual(midway, kills * 2 / 3, "most kills must land while the run is going on")
        print("kill test: \(kills) kills over \(Self.pipelines.count) pipelines, \(midway) landed midway, \(duringPublish) during a publish")
    }

    /// A kill in the middle of the renames that publish a run (forced at the k-th rename by the test-only
    /// LANDWATCH_TEST_KILL_AFTER_RENAMES): the root holds part of the new run, and the next run completes the publish
    /// from the journal before anything else, so the folder ends whole (and what the next run keeps is complete).
    func testAPublishCutShortByAKillIsCompletedByTheNextRun() throws {
        let pipeline = "demo-report"
        let reference = work.appendingPathComponent("reference")
        XCTAssertEqual(try run(pipeline, into: reference).status, 0)
        let expected = try snapshot(reference)
        for (k, forced) in [(1, false), (6, false), (12, true), (3, true)] {
            let out = work.appendingPathComponent("cut-\(k)-\(forced)")
            if forced { XCTAssertEqual(try run(pipeline, into: out).status, 0) }
            let cut = try CLITests.landwatch(["run", "pipelines/\(pipeline).yaml", "--out", out.path, "--threads", "2"] + (forced ? ["--force"] : []),
                                             environment: ["LANDWATCH_TEST_KILL_AFTER_RENAMES": "\(k)"])
            XCTAssertEqual(cut.status, SIGKILL, "rename \(k): \(cut.stderr)")
            XCTAssertTrue(workFolders(out).publishing, "rename \(k): the journal of the cut publish is there")
            if !forced {
                let published = try snapshot(out)
                XCTAssertFalse(published.isEmpty, "rename \(k)")
                XCTAssertLessThan(published.count, expected.count, "rename \(k): the publish was cut")
            }
            XCTAssertEqual(try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json"))).status, "running")
            let rerun = try run(pipeline, into: out)
            XCTAssertEqual(rerun.status, 0, rerun.stderr)
            XCTAssertTrue(rerun.stderr.contains("completed the publish of the run (process "), rerun.stderr)
            XCTAssertTrue(rerun.stdout.contains("kept from an earlier run"), "the completed run's stages are kept: \(rerun.stdout)")
            XCTAssertEqual(try snapshot(out), expected, "rename \(k)")
            XCTAssertEqual(workFolders(out).names, [])
        }
    }
}
