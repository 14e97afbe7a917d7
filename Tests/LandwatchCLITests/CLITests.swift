import Foundation
import LandwatchCLI
import LandwatchStages
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// Runs the built `landwatch` binary as an operator (or cron) would, and checks output and exit codes.
final class CLITests: XCTestCase {
    static let root = TestPaths.repository

    /// The `landwatch` executable built beside the test bundle.
    static let binary: URL = {
        var directory = Bundle(for: CLITests.self).bundleURL
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("landwatch")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/landwatch")
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func landwatch(_ arguments: [String], in directory: URL = root) throws -> Result {
        try Self.landwatch(arguments, in: directory)
    }

    /// Runs the binary with `arguments` in `directory` (with `environment` added to this process's) and waits for it.
    static func landwatch(_ arguments: [String], in directory: URL = root, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-cli")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testDemoRunsAndSaysWhereItsOutputsAre() throws {
        let out = work.appendingPathComponent("demo").path
        let result = try landwatch(["run", "pipelines/demo.yaml", "--out", out, "--memory", "256M"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("outputs in \(out): ndvi.tif, nlcd-on-scene-grid.tif, park-boundary.tif, run.json"), result.stdout)
        XCTAssertTrue(result.stderr.contains("pass 1: scene -> ndvi -> write-ndvi"), result.stderr)
        XCTAssertTrue(result.stderr.contains("100%"), "plain progress lines when not on a terminal: \(result.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/ndvi.tif"))
    }

    func testValidateReportsEveryProblemAndExits65() throws {
        // The corpus reads testdata/ three folders up: allowed explicitly.
        let result = try landwatch(["validate", "missing-and-mistyped-options.yaml", "--allow-read", Self.root.appendingPathComponent("testdata").path],
                                   in: Self.root.appendingPathComponent("Tests/LandwatchPipelineTests/BadPipelines"))
        XCTAssertEqual(result.status, 65)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, result.stderr)
        XCTAssertEqual(lines.first, "missing-and-mistyped-options.yaml:7:14: scene: option 'scale' must be a number (found the quoted text '0.00002'; write it without quotes)")
        XCTAssertEqual(lines.last, "landwatch: 5 problems in the pipeline file")
        XCTAssertEqual(result.stdout, "")
    }

    func testValidateAcceptsTheDemo() throws {
        let result = try landwatch(["validate", "pipelines/demo.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "pipelines/demo.yaml: ok: 7 stages, grid EPSG:32612 1128x1428 px of 30 x 30, extent [301905, 4111245, 335745, 4154085]\n")
    }

    func testMissingPipelineFile() throws {
        let result = try landwatch(["run", "nowhere.yaml"])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.hasPrefix("nowhere.yaml:1:1: pipeline: cannot read the pipeline file (no such file)\n"), result.stderr)
    }

    func testOutputDirectoryThatCannotBeWrittenExits73WithNothingWritten() throws {
        let blocker = work.appendingPathComponent("a-file")
        FileManager.default.createFile(atPath: blocker.path, contents: Data())
        let result = try landwatch(["run", "pipelines/demo.yaml", "--out", blocker.path + "/out"])
        XCTAssertEqual(result.status, 73)
        XCTAssertEqual(result.stderr, "landwatch: run failed: output directory \(blocker.path)/out cannot be created: Not a directory\n")
    }

    func testBadUsageExits64WithTheUsageLine() throws {
        let result = try landwatch(["run", "pipelines/demo.yaml", "--memory", "lots"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("--memory 'lots' is not a size (write for example 256M or 2G)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Usage: landwatch run"), result.stderr)
        let set = try landwatch(["run", "pipelines/demo.yaml", "--set", "novalue"])
        XCTAssertEqual(set.status, 64)
        XCTAssertTrue(set.stderr.contains("--set 'novalue' must be name=value"), set.stderr)
    }

    func testInfoDescribesARasterAndRefusesANonRaster() throws {
        let result = try landwatch(["info", "testdata/zion-landsat8/landsat_b4.tif"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            testdata/zion-landsat8/landsat_b4.tif
              driver: GTiff
              size: 1128 x 1428 pixels, 1 band
              crs: EPSG:32612 (WGS 84 / UTM zone 12N)
              pixel size: 30.0 x 30.0
              extent: 301905.0, 4111245.0, 335745.0, 4154085.0
              band 1: UInt16, block 1128 x 3, nodata 65535.0

            """)
        let bad = try landwatch(["info", "testdata/README.md"])
        XCTAssertEqual(bad.status, 66)
        XCTAssertTrue(bad.stderr.hasPrefix("landwatch: cannot open raster testdata/README.md - caused by:"), bad.stderr)
    }

    func testStagesListsEveryRegisteredTypeWithItsOptions() throws {
        let text = try landwatch(["stages"])
        XCTAssertEqual(text.status, 0)
        for type in standardRegistry.all { XCTAssertTrue(text.stdout.contains(type.descriptor.id + "  ("), type.descriptor.id) }
        XCTAssertTrue(text.stdout.contains("- scale: number = 1"), text.stdout)
        XCTAssertTrue(text.stdout.contains("- path: output path (required)"), text.stdout)
        let json = try landwatch(["stages", "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        // The list is the registry's own, in registration order.
        XCTAssertEqual(entries?.compactMap { $0["id"] as? String }, standardRegistry.all.map { $0.descriptor.id })
        XCTAssertGreaterThanOrEqual(entries?.count ?? 0, 13)
        let write = entries?.first { $0["id"] as? String == "write.raster" }?["options"] as? [[String: Any]]
        XCTAssertEqual(write?.first { $0["name"] as? String == "compression" }?["default"] as? String, "zstd")
    }

    func testHelpNamesTheSubcommandsAndExitCodes() throws {
        let help = LandwatchCommand.helpMessage()
        for word in ["run", "validate", "stages", "info", "65 invalid pipeline file", "73 the output directory cannot be written"] {
            XCTAssertTrue(help.contains(word), "help lacks '\(word)': \(help)")
        }
        let runHelp = try landwatch(["run", "--help"])
        XCTAssertTrue(runHelp.stdout.contains("--memory <memory>"), runHelp.stdout)
        XCTAssertTrue(runHelp.stdout.contains("--set <name=value>"), runHelp.stdout)
    }
}

/// What a cron job's kill does to a run: nothing that looks finished is left behind.
final class InterruptTests: XCTestCase {
    func testSIGINTMidRunRemovesPartialOutputsAndExits130() throws {
        let work = TestPaths.temporaryFolder("landwatch-int")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // Sixteen copies of the Zion NIR band, 4 x 4 (4512 x 5712), read back through a VRT mosaic, written
        // with DEFLATE at its slowest level: long enough to interrupt.
        let band = CLITests.root.appendingPathComponent("testdata/zion-landsat8/landsat_b5.tif").path
        var tiles = ""
        for row in 0..<4 {
            for col in 0..<4 {
                let offset = (col * 1128, row * 1428)
                tiles += """
                <SimpleSource><SourceFilename>\(band)</SourceFilename><SourceBand>1</SourceBand>
                <SrcRect xOff="0" yOff="0" xSize="1128" ySize="1428"/><DstRect xOff="\(offset.0)" yOff="\(offset.1)" xSize="1128" ySize="1428"/></SimpleSource>
                """
            }
        }
        let vrt = """
            <VRTDataset rasterXSize="4512" rasterYSize="5712">
              <SRS>EPSG:32612</SRS><GeoTransform>301905, 30, 0, 4154085, 0, -30</GeoTransform>
              <VRTRasterBand dataType="UInt16" band="1">\(tiles)</VRTRasterBand>
            </VRTDataset>
            """
        try vrt.write(to: work.appendingPathComponent("big.vrt"), atomically: true, encoding: .utf8)
        try """
            version: 1
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
                with: {path: ndvi.tif, compression: deflate, level: 9}
            """.write(to: work.appendingPathComponent("big.yaml"), atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = CLITests.binary
        // The VRT's source lies in testdata: a folder the run must be allowed to read (issue 22).
        process.arguments = ["run", "big.yaml", "--out", "out", "--threads", "1", "--allow-read", CLITests.root.appendingPathComponent("testdata").path]
        process.currentDirectoryURL = work
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        // Wait until the output is being written, then interrupt. Temporary files are in the run's private folder
        // (.landwatch-work-PID): write.raster writes its blocks and their overviews into a tiled scratch there (under
        // its temporary name .cog-ndvi.tif-*.tif.partial-*, then cog-ndvi.tif-*.tif for an instant), then lays it out
        // as a Cloud-Optimized GeoTIFF in staging/ndvi.tif.partial.
        let private_ = work.appendingPathComponent("out/.landwatch-work-\(process.processIdentifier)").path
        func writing() -> Bool {
            let names = (FileManager.default.enumerator(atPath: private_)?.allObjects as? [String]) ?? []
            return names.map { ($0 as NSString).lastPathComponent }.contains {
                $0.hasSuffix("ndvi.tif.partial") || $0.hasPrefix("cog-ndvi.tif") || $0.hasPrefix(".cog-ndvi.tif")
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while !writing() && Date() < deadline && process.isRunning { usleep(20_000) }
        XCTAssertTrue(writing(), "the run never started writing")
        usleep(200_000)
        XCTAssertTrue(process.isRunning, "the run finished before it could be interrupted")
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.contains("interrupted; partial outputs removed"), stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("out").path)
        XCTAssertEqual(left, [], "nothing may be left that looks like output")
    }
}

/// Reruns into the same output folder redo only what is missing or out of date (the manifest of stage keys).
final class ResumeTests: XCTestCase {
    func testARerunKeepsCompleteStagesAndRedoesWhatChangedOrIsMissing() throws {
        let work = TestPaths.temporaryFolder("landwatch-resume")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        for name in ["before", "after"] {
            try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("testdata/nightly/\(name).tif"),
                                             to: work.appendingPathComponent("\(name).tif"))
        }
        var stages = ""
        for name in ["before", "after"] {
            stages += """
              - id: \(name)-scene
                uses: read.scene
                with: {path: \(name).tif, bands: {blue: 1, green: 2, red: 3, nir: 4, swir1: 5, swir2: 6}}
              - id: \(name)-classes
                uses: classify.rules
                inputs: [\(name)-scene]
              - id: write-\(name)
                uses: write.raster
                inputs: [\(name)-classes]
                with: {path: \(name)-classes.tif, type: Byte, nodata: 0}

            """
        }
        let pipeline = work.appendingPathComponent("resume.yaml")
        try "version: 1\nname: resume\nparams: {ndvi_min: \"0.3\"}\ngrid: {like: after-scene}\nstages:\n\(stages)"
            .write(to: pipeline, atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("out")
        func run(_ extra: [String] = []) throws -> CLITests.Result {
            let result = try CLITests.landwatch(["run", pipeline.path, "--out", out.path, "--threads", "2"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result
        }
        func modified(_ name: String) throws -> Date {
            try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(name).path)[.modificationDate] as? Date)
        }
        var result = try run()
        XCTAssertFalse(result.stdout.contains("kept from an earlier run"), result.stdout)
        let first = try (modified("before-classes.tif"), modified("after-classes.tif"))
        let classes = try Data(contentsOf: out.appendingPathComponent("after-classes.tif"))

        // Nothing changed: every stage is kept, no file is written again, run.json still lists every output.
        usleep(20_000)
        result = try run()
        XCTAssertTrue(result.stdout.contains("kept from an earlier run, unchanged: write-before, write-after"), result.stdout)
        XCTAssertEqual(try modified("before-classes.tif"), first.0)
        XCTAssertEqual(try modified("after-classes.tif"), first.1)
        let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
        XCTAssertEqual(record.status, "succeeded")
        XCTAssertEqual(record.outputs, ["after-classes.tif", "before-classes.tif"])
        XCTAssertEqual(record.stages.filter { $0.reused == true }.map(\.id).sorted(), ["write-after", "write-before"])

        // An input replaced (new modification time): only the stages downstream of it run again.
        usleep(20_000)
        let after = work.appendingPathComponent("after.tif")
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: after.path)
        result = try run()
        XCTAssertTrue(result.stdout.contains("unchanged: write-before (--force"), result.stdout)
        XCTAssertEqual(try modified("before-classes.tif"), first.0)
        XCTAssertGreaterThan(try modified("after-classes.tif"), first.1)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("after-classes.tif")), classes, "same input, same pixels")

        // An output deleted (a crash before it was renamed into place): only its stage runs again.
        try FileManager.default.removeItem(at: out.appendingPathComponent("before-classes.tif"))
        result = try run()
        XCTAssertTrue(result.stdout.contains("unchanged: write-after (--force"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("before-classes.tif").path))

        // A changed option changes the key of its stage.
        let edited = try String(contentsOf: pipeline, encoding: .utf8)
            .replacingOccurrences(of: "path: before-classes.tif, type: Byte, nodata: 0", with: "path: before-classes.tif, type: Byte, nodata: 255")
        try edited.write(to: pipeline, atomically: true, encoding: .utf8)
        result = try run()
        XCTAssertTrue(result.stdout.contains("unchanged: write-after (--force"), result.stdout)

        // --force redoes all.
        let beforeForce = try modified("after-classes.tif")
        usleep(20_000)
        result = try run(["--force"])
        XCTAssertFalse(result.stdout.contains("kept from an earlier run"), result.stdout)
        XCTAssertGreaterThan(try modified("after-classes.tif"), beforeForce)
    }
}

/// A pipeline file names inputs only under the folders the operator allows, symlinks included.
final class ReadRootTests: XCTestCase {
    func testInputsOutsideTheAllowedFoldersAreRefusedUnlessAllowed() throws {
        let work = TestPaths.temporaryFolder("landwatch-read-roots")
        let folder = work.appendingPathComponent("pipelines"), elsewhere = work.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("testdata/nightly/before.tif"),
                                         to: elsewhere.appendingPathComponent("scene.tif"))
        // A link inside the pipeline's folder that leads out of it counts as where it leads.
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("link.tif"), withDestinationURL: elsewhere.appendingPathComponent("scene.tif"))
        func pipeline(_ path: String) throws -> String {
            let file = folder.appendingPathComponent("p-\(UUID().uuidString.prefix(6)).yaml")
            try """
                version: 1
                stages:
                  - {id: scene, uses: read.scene, with: {path: "\(path)", bands: {red: 3, nir: 4}}}
                  - {id: ndvi, uses: index.ndvi, inputs: [scene]}
                  - {id: w, uses: write.raster, inputs: [ndvi], with: {path: ndvi.tif}}
                """.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
        for path in ["../elsewhere/scene.tif", elsewhere.appendingPathComponent("scene.tif").path, "link.tif"] {
            let file = try pipeline(path)
            let out = work.appendingPathComponent("out-\(UUID().uuidString.prefix(6))").path
            // Run from a folder that holds neither (the current directory is allowed too).
            let refused = try CLITests.landwatch(["run", file, "--out", out], in: work.appendingPathComponent("out-of-the-way").creatingFolder())
            XCTAssertEqual(refused.status, 65, "\(path): \(refused.stderr)")
            XCTAssertTrue(refused.stderr.contains("option 'path' names a file outside the folders this run may read"), refused.stderr)
            XCTAssertTrue(refused.stderr.contains("allow its folder with --allow-read DIR"), refused.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/ndvi.tif"))
            let allowed = try CLITests.landwatch(["run", file, "--out", out, "--allow-read", elsewhere.path],
                                                 in: work.appendingPathComponent("out-of-the-way"))
            XCTAssertEqual(allowed.status, 0, "\(path): \(allowed.stderr)")
        }
        let validate = try CLITests.landwatch(["validate", try pipeline("../elsewhere/scene.tif")], in: work.appendingPathComponent("out-of-the-way"))
        XCTAssertEqual(validate.status, 65, validate.stderr)
    }
}

extension URL {
    /// Creates the folder (and its parents) if needed and returns it.
    func creatingFolder() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}

/// A scene whose blocks would not fit the memory budget at the requested thread count.
final class MemoryBudgetTests: XCTestCase {
    func testTooManyThreadsForTheBudgetAreLoweredWithAWarning() throws {
        let work = TestPaths.temporaryFolder("landwatch-budget")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let zion = CLITests.root.appendingPathComponent("testdata/zion-landsat8").path
        let pipeline = work.appendingPathComponent("ndvi.yaml")
        try """
            version: 1
            stages:
              - {id: scene, uses: read.scene, with: {bands: {red: \(zion)/landsat_b4.tif, nir: \(zion)/landsat_b5.tif}}}
              - {id: ndvi, uses: index.ndvi, inputs: [scene]}
              - {id: w, uses: write.raster, inputs: [ndvi], with: {path: ndvi.tif}}
            """.write(to: pipeline, atomically: true, encoding: .utf8)
        // 1128 x 1428 px in 512-px blocks: 5 MB per worker; a 20 MB budget gives blocks 10 MB, so 2 workers, not 4.
        let lowered = try CLITests.landwatch(["run", pipeline.path, "--out", work.appendingPathComponent("four").path, "--threads", "4", "--memory", "20M"])
        XCTAssertEqual(lowered.status, 0, lowered.stderr)
        XCTAssertTrue(lowered.stderr.contains("pass 1: lowering threads from 4 to 2 to stay within the memory budget of 20 MB"), lowered.stderr)
        let single = try CLITests.landwatch(["run", pipeline.path, "--out", work.appendingPathComponent("one").path, "--threads", "1"])
        XCTAssertEqual(single.status, 0, single.stderr)
        XCTAssertFalse(single.stderr.contains("lowering threads"), single.stderr)
        let a = try Dataset.open(work.appendingPathComponent("four/ndvi.tif").path), b = try Dataset.open(work.appendingPathComponent("one/ndvi.tif").path)
        let window = Window(width: a.width, height: a.height)
        XCTAssertEqual(try a.band(1).read(window), try b.band(1).read(window), "fewer threads, same pixels")
        // Not even one block fits: one line, nothing written.
        let refused = try CLITests.landwatch(["run", pipeline.path, "--out", work.appendingPathComponent("tiny").path, "--memory", "4M"])
        XCTAssertEqual(refused.status, 75, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("cannot hold one 512x512 block of every stage in pass 1"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("tiny/ndvi.tif").path))
    }
}
