import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// The output root as a transaction (issue 22): nothing of the user's in --out is replaced, deleted or followed; an
/// output that is an input or a record is refused by validate; one run per --out; dead runs' staging goes; the record
/// never says "succeeded" beside another run's outputs. On the real Zion Landsat bands.
final class OutputTransactionTests: XCTestCase {
    var work: URL!
    static let zion = CLITests.root.appendingPathComponent("testdata/zion-landsat8")

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-transaction")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for band in ["b4", "b5"] {
            try FileManager.default.copyItem(at: Self.zion.appendingPathComponent("landsat_\(band).tif"),
                                             to: work.appendingPathComponent("\(band).tif"))
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func pipeline(_ name: String, writing path: String, extra: String = "") throws {
        try """
            version: 1
            name: \(name)
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: b4.tif, nir: b5.tif}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: write-ndvi
                uses: write.raster
                inputs: [ndvi]
                with: {path: \(path)}
            \(extra)
            """.write(to: work.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    func digest(_ url: URL) throws -> String { SHA256.hex(Array(try Data(contentsOf: url))) }

    func problemLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("landwatch: ") || !$0.contains("problem") }
    }

    // MARK: - Outputs that would replace inputs or records

    func testAnOutputThatIsAnInputIsRefusedByValidateAndRunAndTheInputIsUntouched() throws {
        try pipeline("onto-input", writing: "b4.tif")
        let before = try digest(work.appendingPathComponent("b4.tif"))
        let validate = try CLITests.landwatch(["validate", "onto-input.yaml", "--out", "."], in: work)
        XCTAssertEqual(validate.status, 65, validate.stderr)
        let lines = problemLines(validate.stderr)
        XCTAssertEqual(lines.count, 1, validate.stderr)
        XCTAssertTrue(lines[0].contains("write-ndvi: output 'b4.tif'") && lines[0].contains("is the input \(work.path)/b4.tif"), validate.stderr)
        let run = try CLITests.landwatch(["run", "onto-input.yaml", "--out", ".", "--threads", "2"], in: work)
        XCTAssertEqual(run.status, 65, run.stderr)
        XCTAssertEqual(try digest(work.appendingPathComponent("b4.tif")), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("run.json").path))
    }

    func testAnOutputFolderHoldingAnInputIsRefused() throws {
        try FileManager.default.createDirectory(at: work.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: work.appendingPathComponent("b4.tif"), to: work.appendingPathComponent("data/b4.tif"))
        try """
            version: 1
            name: folder
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: data/b4.tif, nir: b5.tif}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: write-ndvi
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
              - id: report
                uses: report.html
                with: {path: data}
            """.write(to: work.appendingPathComponent("folder.yaml"), atomically: true, encoding: .utf8)
        let result = try CLITests.landwatch(["validate", "folder.yaml", "--out", "."], in: work)
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("report: output 'data' in . is the folder holding the input \(work.path)/data/b4.tif"), result.stderr)
    }

    func testOutputsOntoTheRunRecordsOrInsideAnotherOutputAreRefusedEachOnce() throws {
        try """
            version: 1
            name: records
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: b4.tif, nir: b5.tif}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: a
                uses: report.html
                with: {path: run.json}
              - id: b
                uses: write.raster
                inputs: [ndvi]
                with: {path: .landwatch-work-1/ndvi.tif}
              - id: c
                uses: write.raster
                inputs: [ndvi]
                with: {path: pages/ndvi.tif}
              - id: report
                uses: report.html
                with: {path: pages}
              - id: d
                uses: write.raster
                inputs: [ndvi]
                with: {path: stac/ndvi.tif}
            """.write(to: work.appendingPathComponent("records.yaml"), atomically: true, encoding: .utf8)
        let result = try CLITests.landwatch(["validate", "records.yaml", "--out", "out"], in: work)
        XCTAssertEqual(result.status, 65, result.stderr)
        let lines = problemLines(result.stderr)
        XCTAssertEqual(lines.count, 4, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains("a: output 'run.json' is the run record") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains("d: output 'stac/ndvi.tif' is the run's STAC catalogue folder") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains("b: output '.landwatch-work-1/ndvi.tif' is landwatch's own work folder") }, result.stderr)
        XCTAssertTrue(lines.contains { $0.contains("c: output 'pages/ndvi.tif' lies inside 'pages', which stage 'report' writes") }, result.stderr)
    }

    // MARK: - What the user keeps in --out

    func testAUserFileInOutIsNeverReplacedAndUserFoldersSurviveASuccessfulRun() throws {
        let out = work.appendingPathComponent("out")
        for folder in ["report.old", "violations.old", "report.partial"] {
            try FileManager.default.createDirectory(at: out.appendingPathComponent(folder), withIntermediateDirectories: true)
            try Data("mine\n".utf8).write(to: out.appendingPathComponent("\(folder)/notes.txt"))
        }
        try Data("my own ndvi\n".utf8).write(to: out.appendingPathComponent("ndvi.tif"))
        try pipeline("user", writing: "ndvi.tif", extra: """
              - id: report
                uses: report.html
            """)
        let refused = try CLITests.landwatch(["run", "user.yaml", "--out", out.path, "--threads", "2"], in: work)
        XCTAssertEqual(refused.status, 73, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("output 'ndvi.tif' already exists in \(out.path) and was not written by landwatch"), refused.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ndvi.tif"), encoding: .utf8), "my own ndvi\n")
        let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
        XCTAssertEqual(record.status, "failed")

        try FileManager.default.removeItem(at: out.appendingPathComponent("ndvi.tif"))
        for _ in 0..<2 {  // the second run replaces what the first wrote, and only that
            let result = try CLITests.landwatch(["run", "user.yaml", "--out", out.path, "--threads", "2", "--force"], in: work)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        for folder in ["report.old", "violations.old", "report.partial"] {
            XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("\(folder)/notes.txt"), encoding: .utf8), "mine\n", folder)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report/index.html").path))
        // A file of the user's inside landwatch's report folder stops the run from replacing the folder.
        try Data("mine\n".utf8).write(to: out.appendingPathComponent("report/mine.txt"))
        let kept = try CLITests.landwatch(["run", "user.yaml", "--out", out.path, "--threads", "2", "--force"], in: work)
        XCTAssertEqual(kept.status, 73, kept.stderr)
        XCTAssertTrue(kept.stderr.contains("holds report/mine.txt, which landwatch did not write"), kept.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("report/mine.txt"), encoding: .utf8), "mine\n")
    }

    func testAPlantedPartialSymlinkIsNeitherFollowedNorReplaced() throws {
        let out = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let outside = work.appendingPathComponent("outside.txt")
        try Data("precious\n".utf8).write(to: outside)
        for name in ["ndvi.tif.partial", "run.json.partial", ".landwatch-stages.json.partial"] {
            try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent(name).path, withDestinationPath: outside.path)
        }
        try pipeline("planted", writing: "ndvi.tif")
        let result = try CLITests.landwatch(["run", "planted.yaml", "--out", out.path, "--threads", "2"], in: work)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try String(contentsOf: outside, encoding: .utf8), "precious\n")
        XCTAssertEqual(try Dataset.open(out.appendingPathComponent("ndvi.tif").path).width, 1128)
        // A symlink where the output goes is refused, not followed.
        try FileManager.default.removeItem(at: out.appendingPathComponent("ndvi.tif"))
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("ndvi.tif").path, withDestinationPath: outside.path)
        let linked = try CLITests.landwatch(["run", "planted.yaml", "--out", out.path, "--threads", "2", "--force"], in: work)
        XCTAssertEqual(linked.status, 73, linked.stderr)
        XCTAssertEqual(try String(contentsOf: outside, encoding: .utf8), "precious\n")
    }

    // MARK: - One run per folder; dead runs; the record

    /// A run slow enough to be caught in the middle: sixteen copies of Zion's NIR band through a VRT mosaic, DEFLATE 9.
    func slowPipeline(_ name: String) throws {
        let band = Self.zion.appendingPathComponent("landsat_b5.tif").path
        var tiles = ""
        for row in 0..<4 {
            for col in 0..<4 {
                tiles += """
                <SimpleSource><SourceFilename>\(band)</SourceFilename><SourceBand>1</SourceBand>
                <SrcRect xOff="0" yOff="0" xSize="1128" ySize="1428"/><DstRect xOff="\(col * 1128)" yOff="\(row * 1428)" xSize="1128" ySize="1428"/></SimpleSource>
                """
            }
        }
        try """
            <VRTDataset rasterXSize="4512" rasterYSize="5712">
              <SRS>EPSG:32612</SRS><GeoTransform>301905, 30, 0, 4154085, 0, -30</GeoTransform>
              <VRTRasterBand dataType="UInt16" band="1">\(tiles)</VRTRasterBand>
            </VRTDataset>
            """.write(to: work.appendingPathComponent("big.vrt"), atomically: true, encoding: .utf8)
        try """
            version: 1
            name: \(name)
            params: {level: "9"}
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: big.vrt, nir: big.vrt}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: out
                uses: write.raster
                inputs: [ndvi]
                with:
                  path: ndvi.tif
                  compression: deflate
                  level: ${level}
            """.write(to: work.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = arguments
        process.currentDirectoryURL = work
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        return (process, err)
    }

    /// Waits until the run writes its raster: write.raster's tiled scratch in the run's private folder (written as
    /// .cog-ndvi.tif-*.tif.partial-*, renamed cog-ndvi.tif-*.tif when the blocks are done), or the Cloud-Optimized
    /// GeoTIFF it lays out from it in staging/ndvi.tif.partial (both of these an instant only).
    func waitForStaging(in out: URL, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        // This process's own folder: a killed run's may still be there.
        let own = out.appendingPathComponent(".landwatch-work-\(process.processIdentifier)").path
        while Date() < deadline && process.isRunning {
            let names = ((FileManager.default.enumerator(atPath: own)?.allObjects as? [String]) ?? []).map { ($0 as NSString).lastPathComponent }
            if names.contains(where: { $0.hasSuffix("ndvi.tif.partial") || $0.hasPrefix("cog-ndvi.tif") || $0.hasPrefix(".cog-ndvi.tif") }) {
                return true
            }
            usleep(20_000)
        }
        return false
    }

    func testTwoRunsIntoOneOutAtOnceTheSecondIsRefusedAndTheFirstsOutputIsIntact() throws {
        try slowPipeline("slow")
        let out = work.appendingPathComponent("out")
        let allow = ["--allow-read", Self.zion.path]
        let (first, firstErr) = try start(["run", "slow.yaml", "--out", "out", "--threads", "1"] + allow)
        XCTAssertTrue(waitForStaging(in: out, while: first), "the first run never started writing")
        let second = try CLITests.landwatch(["run", "slow.yaml", "--out", "out", "--threads", "1"] + allow, in: work)
        XCTAssertEqual(second.status, 75, second.stderr)
        let lines = second.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("is in use by another landwatch run (process \(first.processIdentifier))"), second.stderr)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0, String(decoding: firstErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        let dataset = try Dataset.open(out.appendingPathComponent("ndvi.tif").path)
        XCTAssertEqual(dataset.width, 4512)
        XCTAssertEqual(try dataset.band(1).read(Window(colOffset: 0, rowOffset: 5000, width: 64, height: 64)).count, 64 * 64)
        XCTAssertEqual(try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json"))).status, "succeeded")
    }

    func testAKilledRunLeavesNothingARerunKeepsAndNoStagingAfterTheRerun() throws {
        try slowPipeline("killed")
        let out = work.appendingPathComponent("out")
        let allow = ["--allow-read", Self.zion.path]
        for attempt in 0..<3 {
            let (process, _) = try start(["run", "killed.yaml", "--out", "out", "--threads", "1"] + allow)
            XCTAssertTrue(waitForStaging(in: out, while: process), "attempt \(attempt): the run never started writing")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
            XCTAssertFalse(names.contains("ndvi.tif"), "attempt \(attempt): \(names)")
            let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
            XCTAssertEqual(record.status, "running", "a killed run's record says it never ended")
            XCTAssertEqual(record.processID, Int(process.processIdentifier))
        }
        let rerun = try CLITests.landwatch(["run", "killed.yaml", "--out", "out", "--threads", "2"] + allow, in: work)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertFalse(rerun.stdout.contains("kept from an earlier run"), rerun.stdout)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertFalse(names.contains { $0.hasPrefix(".landwatch-work-") }, "\(names)")
        XCTAssertEqual(try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json"))).status, "succeeded")
    }

    func testSIGINTDuringARerunWithNewParametersMarksTheRecordInterrupted() throws {
        try slowPipeline("interrupted")
        let allow = ["--allow-read", Self.zion.path]
        let out = work.appendingPathComponent("out")
        let first = try CLITests.landwatch(["run", "interrupted.yaml", "--out", "out", "--threads", "2"] + allow, in: work)
        XCTAssertEqual(first.status, 0, first.stderr)
        let published = try digest(out.appendingPathComponent("ndvi.tif"))
        try Data("mine\n".utf8).write(to: out.appendingPathComponent("notes.txt"))
        let (process, _) = try start(["run", "interrupted.yaml", "--out", "out", "--threads", "1", "--set", "level=8"] + allow)
        XCTAssertTrue(waitForStaging(in: out, while: process), "the rerun never started writing")
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
        XCTAssertEqual(record.status, "interrupted")
        XCTAssertEqual(record.parameters["level"], "8")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertFalse(names.contains { $0.hasPrefix(".landwatch-work-") }, "\(names)")
        // Nothing of the interrupted run was published: the first run's raster is there whole, the user's file too.
        XCTAssertEqual(try digest(out.appendingPathComponent("ndvi.tif")), published)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("notes.txt"), encoding: .utf8), "mine\n")
    }

    func testTheStagingOfADeadRunIsRemovedByTheNextRun() throws {
        let out = work.appendingPathComponent("out")
        let stale = out.appendingPathComponent(".landwatch-work-999999/staging")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data(count: 1 << 20).write(to: stale.appendingPathComponent("3-ndvi.tif.partial"))
        try pipeline("stale", writing: "ndvi.tif")
        let result = try CLITests.landwatch(["run", "stale.yaml", "--out", out.path, "--threads", "2"], in: work)
        XCTAssertEqual(result.status, 0, result.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertEqual(Set(names), ["ndvi.tif", "run.json", StageManifest.fileName, "stac"])
    }

    // MARK: - Exports and merges

    func testAMergeIntoOneOfItsShardsIsRefusedAndTheShardIsUntouched() throws {
        try pipeline("sharded", writing: "ndvi.tif")
        for index in 1...2 {
            let result = try CLITests.landwatch(["run", "sharded.yaml", "--shard", "\(index)/2", "--out", "s\(index)", "--threads", "2"], in: work)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let before = try digest(work.appendingPathComponent("s1/ndvi.tif"))
        let record = try digest(work.appendingPathComponent("s1/run.json"))
        for target in ["s1", "s1/inside", "."] {
            let result = try CLITests.landwatch(["merge", "s1", "s2", "--out", target], in: work)
            XCTAssertEqual(result.status, 73, "\(target): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("the output folder of shard 1/2") || result.stderr.contains("the output folder of shard 2/2"), result.stderr)
        }
        XCTAssertEqual(try digest(work.appendingPathComponent("s1/ndvi.tif")), before)
        XCTAssertEqual(try digest(work.appendingPathComponent("s1/run.json")), record)
        let merged = try CLITests.landwatch(["merge", "s1", "s2", "--out", "merged"], in: work)
        XCTAssertEqual(merged.status, 0, merged.stderr)
    }

    func testAnExportNeverReplacesAnSQLiteDatabaseOrFollowsALink() throws {
        let registry = work.appendingPathComponent("registry.sqlite")
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [registry.path, "create table scene(id text); insert into scene values ('a');"]
        try sqlite.run()
        sqlite.waitUntilExit()
        let before = try digest(registry)
        XCTAssertThrowsError(try AtomicOutput(target: registry).write { path in try Data("x".utf8).write(to: URL(fileURLWithPath: path)) }) { error in
            XCTAssertTrue("\(error)".contains("is an SQLite database (a registry?)"), "\(error)")
        }
        XCTAssertEqual(try digest(registry), before)
        let link = work.appendingPathComponent("export.csv")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: registry.path)
        XCTAssertThrowsError(try AtomicOutput(target: link).write { path in try Data("x".utf8).write(to: URL(fileURLWithPath: path)) })
        XCTAssertEqual(try digest(registry), before)
        // An earlier export (a file landwatch may replace) is replaced; nothing temporary is left beside it.
        let csv = work.appendingPathComponent("violations.csv")
        try Data("old\n".utf8).write(to: csv)
        try AtomicOutput(target: csv).write { path in try Data("new\n".utf8).write(to: URL(fileURLWithPath: path)) }
        XCTAssertEqual(try String(contentsOf: csv, encoding: .utf8), "new\n")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: work.path).contains { $0.contains(".partial") })
    }
}
