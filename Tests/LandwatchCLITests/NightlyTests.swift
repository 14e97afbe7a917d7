import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchPipeline
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

/// `landwatch nightly` as cron runs it: three nights over the real Marburg scene with a planted construction inside
/// the red line (testdata/nightly/make_pair.py), the lock, a corrupt delivery, the exports.
final class NightlyTests: XCTestCase {
    var work: URL!
    var inbox: URL { work.appendingPathComponent("inbox") }
    var out: URL { work.appendingPathComponent("out") }
    var pipeline: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-nightly")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        pipeline = try Self.shortNightsPipeline(in: work)
    }

    /// The shipped pipeline (`shipped` in pipelines/) with nights 16 days apart (the baseline is the scene closest to
    /// 32 days before), written into `folder` with absolute paths to testdata.
    static func shortNightsPipeline(in folder: URL, shipped name: String = "nightly-inbox.yaml") throws -> URL {
        let shipped = CLITests.root.appendingPathComponent("pipelines/\(name)")
        let text = try String(contentsOf: shipped, encoding: .utf8)
            .replacingOccurrences(of: "baseline_days: \"365\"", with: "baseline_days: \"32\"")
            .replacingOccurrences(of: "season_window: \"45\"", with: "season_window: \"17\"")
            .replacingOccurrences(of: "../testdata/", with: CLITests.root.appendingPathComponent("testdata").path + "/")
        let pipeline = folder.appendingPathComponent("nightly.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        return pipeline
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// Puts a delivery in the inbox: a copy of a fixture (re-encoded when `distinct`, so that its content differs).
    func deliver(_ fixture: String, as name: String, date: String, distinct: Bool = false) throws {
        let source = CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path
        let target = inbox.appendingPathComponent("\(name).tif").path
        if distinct {
            try Dataset.open(source).copy(to: target, driver: "GTiff").close()
            unlink(target + ".aux.xml")
        } else {
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(toFile: inbox.appendingPathComponent("\(name).json").path,
                                                                         atomically: true, encoding: .utf8)
    }

    func nightly() throws -> CLITests.Result {
        try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
    }

    func testThreeNightsNewThenPersistingAndDismissedNeverReturns() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        var result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("recorded as a baseline"), result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 1, done 1, failed 0; violations new 0"), result.stderr)

        // Nothing new: exit 1, nothing touched.
        result = try nightly()
        XCTAssertEqual(result.status, 1, result.stderr)

        try deliver("after.tif", as: "night2", date: "2024-07-16")
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 1, persisting 0, resolved 0"), result.stderr)
        let registry = try Registry(path: out.appendingPathComponent("registry.sqlite").path)
        let new = try registry.violations(status: .new)
        XCTAssertEqual(new.count, 1)
        XCTAssertEqual(new[0].area_m2, 14400, accuracy: 1, "the planted 4 x 4 pixels of 900 m²")
        XCTAssertTrue(new[0].rules.contains("UC-P"), new[0].rules)

        // The enforcement team's list of tonight: one line.
        let export = try CLITests.landwatch(["violations", "export", "--db", out.appendingPathComponent("registry.sqlite").path,
                                               "--status", "new", "--since", "2024-07-16", "--format", "csv"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout.split(whereSeparator: \.isNewline).count, 2, export.stdout)
        XCTAssertTrue(export.stdout.contains(new[0].id))
        // The same list as files QGIS and Google Earth open: one polygon with its id, in WGS84.
        for format in ["gpkg", "kml", "geojson", "csv"] {
            let file = work.appendingPathComponent("new.\(format)")
            let written = try CLITests.landwatch(["violations", "export", "--db", out.appendingPathComponent("registry.sqlite").path,
                                                    "--status", "new", "--format", format, "--output", file.path])
            XCTAssertEqual(written.status, 0, written.stderr)
            XCTAssertTrue(written.stderr.contains("1 violations written to"), written.stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains(".partial") }
            XCTAssertEqual(left, [])
            guard format != "csv" else {
                let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\r\n")
                XCTAssertEqual(lines.count, 2)
                XCTAssertTrue(lines[1].hasPrefix(new[0].id + ",new,"), "\(lines)")
                continue
            }
            let vector = try VectorDataset.open(file.path)
            let layer = try vector.layer(nil)
            XCTAssertEqual(layer.featureCount, 1, format)
            XCTAssertTrue(layer.crsWKT.contains("WGS") || format == "geojson", layer.crsWKT)
            let attributes = try vector.attributes(layer: nil, fields: format == "kml" ? ["Name"] : ["id", "status"])
            XCTAssertEqual(attributes.first?.values[format == "kml" ? "Name" : "id"], new[0].id, format)
        }
        let noFile = try CLITests.landwatch(["violations", "export", "--db", out.appendingPathComponent("registry.sqlite").path, "--format", "gpkg"])
        XCTAssertEqual(noFile.status, 64)
        XCTAssertTrue(noFile.stderr.contains("--format gpkg writes a file: give it with --output PATH"), noFile.stderr)
        let noRegistry = try CLITests.landwatch(["violations", "export", "--db", work.appendingPathComponent("typo.sqlite").path])
        XCTAssertEqual(noRegistry.status, 66)
        XCTAssertTrue(noRegistry.stderr.contains("there is no registry at"), noRegistry.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("typo.sqlite").path))

        try deliver("after.tif", as: "night3", date: "2024-08-01", distinct: true)
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0, persisting 1, resolved 0"), result.stderr)
        XCTAssertEqual(try registry.violations(status: .persisting).map(\.id), [new[0].id])
        // One run row per compared scene: night 2 and night 3, both against night 1.
        let runs = try registry.runs()
        XCTAssertEqual(runs.count, 2)
        XCTAssertTrue(runs.allSatisfy { $0.exit_status == "succeeded" && $0.baseline?.contains("2024-06-30") == true }, "\(runs)")

        let dismiss = try CLITests.landwatch(["violations", "dismiss", new[0].id, "--db", out.appendingPathComponent("registry.sqlite").path,
                                                "--reason", "field check: approved forestry building", "--by", "inspector Wang"])
        XCTAssertEqual(dismiss.status, 0, dismiss.stderr)
        // Night 4: the patch again (the same pixels, other bytes: a trailing byte gives another content hash).
        try deliver("after.tif", as: "night4", date: "2024-08-02", distinct: true)
        let night4 = inbox.appendingPathComponent("night4.tif")
        try (Data(contentsOf: night4) + Data([0])).write(to: night4)
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("violations new 0"), result.stderr)
        XCTAssertEqual(try registry.violations(status: .new), [])
        XCTAssertEqual(try registry.violations().count, 1, "no duplicate")
        // Published scene folders are whole; no partial folder is left.
        let scenes = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("scenes").path)
        XCTAssertFalse(scenes.contains { $0.hasSuffix(".partial") }, "\(scenes)")
        XCTAssertEqual(scenes.count, 3)
    }

    func testASecondRunWhileOneHoldsTheLockExits75TouchingNothing() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = open(out.appendingPathComponent("nightly.lock").path, O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(lock, LOCK_EX | LOCK_NB), 0)
        defer { close(lock) }
        let result = try nightly()
        XCTAssertEqual(result.status, 75, result.stderr)
        XCTAssertTrue(result.stderr.contains("another nightly run holds \(out.path)/nightly.lock; this one exits without touching anything"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("registry.sqlite").path))
    }

    /// Two runs started together: one works, the other exits 75 at once.
    func testTwoRunsStartedTogetherOneWorksTheOtherExits75() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        let runs = (0..<2).map { _ -> (Process, Pipe) in
            let process = Process()
            process.executableURL = CLITests.binary
            process.arguments = ["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"]
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            return (process, errors)
        }
        for (process, _) in runs { try process.run() }
        var statuses: [Int32] = []
        for (process, errors) in runs {
            _ = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            statuses.append(process.terminationStatus)
        }
        XCTAssertEqual(statuses.sorted(), [0, 75])
        XCTAssertEqual(try Registry(path: out.appendingPathComponent("registry.sqlite").path).violations(status: .new).count, 1)
    }

    func testACorruptDeliveryIsRecordedAndTheOthersGoOn() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        try Data("not a tiff".utf8).write(to: inbox.appendingPathComponent("broken.tif"))
        try Data("{\"sensor\": \"landsat8-toa\", \"date\": \"2024-07-16\"}".utf8).write(to: inbox.appendingPathComponent("broken.json"))
        try deliver("before.tif", as: "baddate", date: "2024-13-40", distinct: true)
        let result = try nightly()
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("scenes new 4, done 2, failed 2; violations new 1"), result.stderr)
        let scenes = try Registry(path: out.appendingPathComponent("registry.sqlite").path).scenes()
        let failed = scenes.filter { $0.status == "failed" }
        XCTAssertEqual(failed.count, 2)
        XCTAssertTrue(failed.contains { ($0.failure_reason ?? "").contains("baddate.json: date '2024-13-40' is not a date written YYYY-MM-DD") }, "\(failed)")
        XCTAssertTrue(failed.contains { ($0.failure_reason ?? "").contains("broken.tif") }, "\(failed)")
    }

    /// A disk that fills up while a scene's outputs are written: the night stops with one line, the registry does not
    /// record the scene (it is retried next night), and no partial folder is left.
    func testAFullDiskStopsTheNightAndLeavesTheRegistryUnchanged() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root (CI runs as root)") }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", out.path]
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here") }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [out.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        let db = work.appendingPathComponent("registry.sqlite").path
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--db", db, "--threads", "2"])
        XCTAssertTrue([73, 74].contains(result.status), "\(result.status): \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("could not be written, the night stops and the scene is retried next time"), result.stderr)
        let scenes = try Registry(path: db).scenes()
        XCTAssertEqual(scenes.map(\.date), ["2024-06-30"], "only the baseline is recorded")
        XCTAssertEqual(try Registry(path: db).violations(), [])
        let published = (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("scenes").path)) ?? []
        XCTAssertEqual(published, [], "no partial or half-published scene folder")
    }

    /// Sentinel-2 SAFE folders and zips and a Gaofen Level-1A delivery are recognised: sensor, date and footprint
    /// (the Gaofen one from orthorectifying its RPCs). All from one day, so each is a first scene (a baseline).
    func testSentinel2AndGaofenDeliveriesAreRecognised() throws {
        let safe = CLITests.root.appendingPathComponent("testdata/sentinel2-safe")
        for name in try FileManager.default.contentsOfDirectory(atPath: safe.path) where name.hasPrefix("S2A_") {
            try FileManager.default.copyItem(at: safe.appendingPathComponent(name), to: inbox.appendingPathComponent(name))
        }
        let gaofen = CLITests.root.appendingPathComponent("testdata/gaofen-rpc")
        for name in try FileManager.default.contentsOfDirectory(atPath: gaofen.path) where name.hasPrefix("GF2_") {
            try FileManager.default.copyItem(at: gaofen.appendingPathComponent(name), to: inbox.appendingPathComponent(name))
        }
        let result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stderr.contains("skipped"), result.stderr)
        let scenes = try Registry(path: out.appendingPathComponent("registry.sqlite").path).scenes()
        XCTAssertEqual(scenes.map(\.sensor).sorted(), ["gf2-pms", "sentinel2-l1c", "sentinel2-l1c", "sentinel2-l2a"])
        XCTAssertEqual(Set(scenes.map(\.date)), ["2015-07-31", "2015-08-18"])
        XCTAssertTrue(scenes.allSatisfy { $0.status == "done" && $0.footprint_wkt != nil }, "\(scenes)")
        // The Gaofen footprint lies around Zion (113° W, 37.2° N); the Sentinel-2 ones in Slovenia (15.5° E, 45.9° N).
        let gf = try XCTUnwrap(scenes.first { $0.sensor == "gf2-pms" }?.footprint_wkt)
        XCTAssertTrue(gf.contains("-113."), gf)
        XCTAssertTrue(scenes.filter { $0.sensor.hasPrefix("sentinel2") }.allSatisfy { $0.footprint_wkt!.contains(" 45.") }, "\(scenes)")
    }

    /// `--force` redoes every delivery: the pipelines run again, and the registry ends the same (no duplicate).
    func testForceRedoesEverythingWithoutDuplicates() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        XCTAssertEqual(try nightly().status, 0)
        let registry = try Registry(path: out.appendingPathComponent("registry.sqlite").path)
        let before = try registry.violations()
        // A file removed from the published scene folder: only a real rerun of the pipeline brings it back.
        let scene = try XCTUnwrap(registry.runs().first).scene_id
        let landcover = out.appendingPathComponent("scenes/\(scene)/landcover-after.tif")
        try FileManager.default.removeItem(at: landcover)
        let forced = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("scenes new 2, done 2, failed 0"), forced.stderr)
        XCTAssertFalse(forced.stderr.contains("reused"), forced.stderr)
        XCTAssertEqual(try registry.violations().map(\.id), before.map(\.id))
        XCTAssertEqual(try registry.runs().count, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: landcover.path), "the pipeline ran again")
    }

    func testARegistryLockedByAnotherProcessIsOneLineAndExit75() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        XCTAssertEqual(try nightly().status, 0)
        let registry = out.appendingPathComponent("registry.sqlite").path
        // Another process holds a write transaction on the registry for 15 s.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                            + "c.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(15)", registry]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        XCTAssertTrue(String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))

        let dismiss = try CLITests.landwatch(["violations", "dismiss", "LW-1", "--db", registry, "--reason", "field check"])
        XCTAssertEqual(dismiss.status, 75, dismiss.stderr)
        XCTAssertTrue(dismiss.stderr.contains("the registry \(registry) is locked by another process"), dismiss.stderr)
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        let night = try nightly()
        XCTAssertEqual(night.status, 75, night.stderr)
        XCTAssertTrue(night.stderr.contains("is locked by another process"), night.stderr)
        XCTAssertEqual(night.stderr.split(separator: "\n").filter { $0.hasPrefix("landwatch:") }.count, 1, night.stderr)
    }

    /// Four shards started at once over one inbox and one registry end as one unsharded run: every delivery taken by
    /// exactly one shard, the scenes of one place (and so each scene's baseline) in the same shard.
    func testFourShardsAtOnceEndAsOneRun() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        try deliver("after.tif", as: "night3", date: "2024-08-01", distinct: true)
        // Another place (Slovenia): its own cell, so possibly another shard; its first scene becomes its baseline.
        let slovenia = CLITests.root.appendingPathComponent("testdata/slovenia-sentinel2/S2L1C_20150830_13band.tif")
        try FileManager.default.copyItem(at: slovenia, to: inbox.appendingPathComponent("s2.tif"))
        try "{\"sensor\": \"sentinel2-l1c\", \"date\": \"2015-08-30\"}".write(to: inbox.appendingPathComponent("s2.json"), atomically: true, encoding: .utf8)
        let reference = work.appendingPathComponent("reference")
        let single = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", reference.path, "--threads", "1"])
        XCTAssertEqual(single.status, 0, single.stderr)

        let processes = try (1...4).map { k -> (Process, Pipe) in
            let process = Process(), errors = Pipe()
            process.executableURL = CLITests.binary
            process.arguments = ["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "1", "--shard", "\(k)/4"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            return (process, errors)
        }
        var taken = 0
        for (k, (process, errors)) in processes.enumerated() {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertTrue([0, 1, 2].contains(process.terminationStatus), "shard \(k + 1): \(text)")
            let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("shard \(k + 1)/4: nightly: scenes new") }, text)
            taken += Int(line.split(separator: " ").drop { $0 != "new" }.dropFirst().first?.dropLast() ?? "") ?? -100
            for lock in ["nightly-shard-\(k + 1)-of-4.lock"] { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(lock).path)) }
        }
        XCTAssertEqual(taken, 4, "each delivery is taken by exactly one shard")
        XCTAssertEqual(try snapshot(out), try snapshot(reference))
    }

    func testAShardIsChosenByPlaceTheSameWayEveryTime() throws {
        let places = ["landsat-195025", "s2-33TWM", "cell-E8N50", "cell-E14N46", "cell-W122N37"]
        for count in 1...8 {
            for place in places {
                let owners = try (1...count).filter { try Shard(parsing: "\($0)/\(count)").owns(place) }
                XCTAssertEqual(owners.count, 1, "\(place) in \(count) shards")
            }
        }
        for bad in ["5/4", "0/0", "0/4", "1/0", "a/b", "2", "1/2/3"] {
            let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--shard", bad])
            XCTAssertEqual(result.status, 64, bad)
            XCTAssertTrue(result.stderr.contains("--shard \(bad):"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing touched for \(bad)")
        }
    }

    func testAnInboxThatDoesNotExistIsOneLine() throws {
        try FileManager.default.removeItem(at: inbox)
        let result = try nightly()
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("landwatch: the inbox \(inbox.path) does not exist or is not a folder"), result.stderr)
    }

    /// What a finished night leaves: the registry's scenes and violations, the published scene folders and the
    /// violation lists in them (run.json holds times, so it is left out).
    func snapshot(_ out: URL) throws -> [String] {
        let registry = try Registry(path: out.appendingPathComponent("registry.sqlite").path)
        var lines = try registry.scenes().map { "scene \($0.id) \($0.status) \($0.failure_reason ?? "")" }
        lines += try registry.violations().map { "violation \($0.id) \($0.status) \($0.first_seen) \($0.last_seen) \($0.area_m2) \($0.rules)" }
        let scenes = out.appendingPathComponent("scenes")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scenes.path))?.sorted() ?? [] {
            lines.append("folder \(name)")
            let list = scenes.appendingPathComponent(name).appendingPathComponent("violations/violations.geojson")
            if let data = FileManager.default.contents(atPath: list.path) { lines.append("list \(name) \(SHA.hex(data))") }
        }
        return lines
    }

    /// SIGKILL at 20 moments spread over a run of three scenes, then a rerun: the registry and the published outputs
    /// end as after an uninterrupted run, with no duplicate and no partial folder.
    func testKilledAtAnyMomentARerunEndsAsAnUninterruptedRun() throws {
        try deliver("before.tif", as: "night1", date: "2024-06-30")
        try deliver("after.tif", as: "night2", date: "2024-07-16")
        try deliver("after.tif", as: "night3", date: "2024-08-01", distinct: true)
        let reference = work.appendingPathComponent("reference")
        let started = Date()
        let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", reference.path, "--threads", "2"])
        let duration = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = try snapshot(reference)
        XCTAssertTrue(expected.contains { $0.hasPrefix("violation ") && $0.contains(" persisting ") }, "\(expected)")

        var killedMidway = 0, resumedStages = 0
        for k in 1...20 {
            let out = work.appendingPathComponent("killed-\(k)")
            let process = Process()
            process.executableURL = CLITests.binary
            process.arguments = ["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Spread over 85 % of the reference night: on two shared cores a night varies by a tenth or more, and a
            // kill after the end tests nothing.
            usleep(useconds_t(duration * 0.85 * Double(k) / 21 * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedMidway += 1
            }
            process.waitUntilExit()
            let rerun = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
            XCTAssertTrue([0, 1].contains(rerun.status), "kill \(k): \(rerun.stderr)")
            if rerun.stderr.contains("kept (--force redoes them)") { resumedStages += 1 }
            XCTAssertEqual(try snapshot(out), expected, "killed after \(k)/21 of the run")
        }
        XCTAssertGreaterThanOrEqual(killedMidway, 15, "most kills must land while the run is going on")
        print("kill test: \(killedMidway) of 20 kills landed midway; \(resumedStages) reruns kept stages a killed run had completed")
    }
}

/// SHA-256 of test outputs, through the pipeline module's implementation.
enum SHA {
    static func hex(_ data: Data) -> String { LandwatchPipeline.SHA256.hex([UInt8](data)) }
}

/// Landsat product folders in the inbox, run through the shipped enforcement pipeline (MTL paths as before/after).
final class NightlyLandsatTests: XCTestCase {
    func testLandsatFoldersAreReadThroughTheirMTL() throws {
        let work = TestPaths.temporaryFolder("landwatch-nightly-landsat")
        defer { try? FileManager.default.removeItem(at: work) }
        let source = CLITests.root.appendingPathComponent("testdata/marburg-landsat")
        let inbox = work.appendingPathComponent("inbox")
        // Landsat 7 as an unpacked product folder, Landsat 8 as the tar USGS delivers (read in place, unpacked by nightly).
        for prefix in ["LE07_L1TP_195025_20010730_20170204_01_T1", "LC08_L1TP_195025_20130707_20170503_01_T1"] {
            let folder = (prefix.hasPrefix("LC08") ? work : inbox).appendingPathComponent(prefix)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasPrefix(prefix) {
                try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
        }
        try Self.tar(work.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1"),
                     to: inbox.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1.tar"))
        // The shipped pipeline, with the 12 years between the two dates as the baseline distance.
        let text = try String(contentsOf: CLITests.root.appendingPathComponent("pipelines/nightly-enforcement.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "  plan: ../testdata/plan\n", with: "  plan: ../testdata/plan\n  baseline_days: \"4360\"\n")
        let pipeline = CLITests.root.appendingPathComponent("pipelines/.test-\(UUID().uuidString).yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: pipeline) }
        let out = work.appendingPathComponent("out")
        let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 2, done 2, failed 0"), result.stderr)
        let registry = try Registry(path: out.appendingPathComponent("registry.sqlite").path)
        XCTAssertEqual(try registry.scenes().map(\.sensor), ["landsat7-c1-l1", "landsat8-c1-l1"])
        XCTAssertEqual(try registry.scenes().map(\.date), ["2001-07-30", "2013-07-07"])
        let runs = try registry.runs()
        XCTAssertEqual(runs.count, 1)
        let run = try XCTUnwrap(runs.first)
        XCTAssertEqual(run.exit_status, "succeeded")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("scenes").appendingPathComponent(run.scene_id)
            .appendingPathComponent("violations/summary.json").path))
        // The tar was unpacked where later nights read it as their baseline, and the registry points there.
        let landsat8 = try XCTUnwrap(registry.scenes().last)
        XCTAssertTrue(landsat8.path.hasPrefix(out.appendingPathComponent("unpacked").path), landsat8.path)
        XCTAssertTrue(landsat8.path.hasSuffix("_MTL.txt"), landsat8.path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: landsat8.path))

        // A truncated tar beside a good one: recorded as failed with the reason, exit 2; nothing half-unpacked is left.
        let tar = inbox.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1.tar")
        let bytes = try Data(contentsOf: tar)
        try bytes.prefix(bytes.count * 2 / 3).write(to: inbox.appendingPathComponent("LC08_L1TP_195025_20130723_20170503_01_T1.tar"))
        let again = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
        XCTAssertEqual(again.status, 2, again.stderr)
        let failed = try XCTUnwrap(registry.scenes().first { $0.status == "failed" })
        XCTAssertTrue(failed.failure_reason?.contains("LC08_L1TP_195025_20130723_20170503_01_T1.tar") == true, failed.failure_reason ?? "")
        let unpacked = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("unpacked").path)
        XCTAssertFalse(unpacked.contains { $0.hasSuffix(".partial") }, "\(unpacked)")
    }

    /// A tar of a folder's files (flat, as USGS packs Landsat products).
    static func tar(_ folder: URL, to archive: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = ["-cf", archive.path, "-C", folder.path] + (try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted())
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

/// `baseline: landuse`: every delivery, the first one too, is compared with the land-use survey (real Slovenian
/// Sentinel-2 exports and survey polygons, testdata/slovenia-sentinel2), through pipelines/nightly-landuse.yaml.
final class NightlyLanduseTests: XCTestCase {
    func testEveryDeliveryIsComparedWithTheLanduseSurvey() throws {
        let work = TestPaths.temporaryFolder("landwatch-nightly-landuse")
        let inbox = work.appendingPathComponent("inbox"), out = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let data = CLITests.root.appendingPathComponent("testdata/slovenia-sentinel2")
        let pipeline = CLITests.root.appendingPathComponent("pipelines/nightly-landuse.yaml").path
        func deliver(_ file: String, as name: String, date: String, plant: Bool = false) throws {
            let target = inbox.appendingPathComponent("\(name).tif").path
            try Dataset.open(data.appendingPathComponent(file).path).copy(to: target, driver: "GTiff").close()
            unlink(target + ".aux.xml")
            if plant {
                // A 3 x 3 construction in the forest: every band of a real built-up pixel (row 0, column 51).
                let copy = try Dataset.openForUpdate(target)
                let window = Window(width: copy.width, height: copy.height)
                for band in 1...copy.bandCount {
                    var pixels = try copy.band(band).read(window)
                    let roof = pixels[51]
                    for row in 40..<43 { for col in 30..<33 { pixels[row * copy.width + col] = roof } }
                    try pixels.withUnsafeBufferPointer { try copy.band(band).write(window, from: $0) }
                }
                try copy.close()
            }
            try "{\"sensor\": \"sentinel2-l1c\", \"date\": \"\(date)\"}".write(toFile: inbox.appendingPathComponent("\(name).json").path,
                                                                             atomically: true, encoding: .utf8)
        }
        func nightly() throws -> CLITests.Result {
            try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline, "--out", out.path, "--threads", "2"])
        }
        // Where the planted patch is, in degrees.
        let grid = try Dataset.open(data.appendingPathComponent("S2L1C_20150830_13band.tif").path).grid()
        let t = grid.geoTransform
        let centre = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
            .transform(x: t.originX + 31.5 * t.pixelWidth, y: t.originY + 41.5 * t.pixelHeight)
        func planted(_ rows: [ViolationRecord]) -> [ViolationRecord] {
            rows.filter { $0.min_lon <= centre.x && centre.x <= $0.max_lon && $0.min_lat <= centre.y && centre.y <= $0.max_lat }
        }

        // Night 1: the first delivery is compared with the survey at once (no earlier scene is needed).
        try deliver("S2L1C_20150830_13band.tif", as: "night1", date: "2015-08-30")
        var result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stderr.contains("recorded as a baseline"), result.stderr)
        XCTAssertTrue(result.stderr.contains("against landuse"), result.stderr)
        let registry = try Registry(path: out.appendingPathComponent("registry.sqlite").path)
        XCTAssertEqual(try registry.runs().map(\.baseline), ["landuse"])
        let first = try registry.violations()
        XCTAssertEqual(planted(first), [], "nothing is built there yet")

        // Night 2: the same place with the construction planted: one new patch there, the others persisting.
        try deliver("S2L1C_20150830_13band.tif", as: "night2", date: "2015-09-09", plant: true)
        result = try nightly()
        XCTAssertEqual(result.status, 0, result.stderr)
        let new = try registry.violations(status: .new)
        XCTAssertEqual(planted(new).count, 1, "\(new)")
        XCTAssertEqual(planted(new).first?.area_m2 ?? 0, 900, accuracy: 1, "3 x 3 pixels of 100 m²")
        XCTAssertTrue(planted(new).first?.rules.contains("UC") == true)
        XCTAssertEqual(new.count, 1, "everything else was seen on night 1: \(new)")
        XCTAssertEqual(try registry.violations().count, first.count + 1)
        XCTAssertTrue(result.stderr.contains("violations new 1, persisting \(first.count), resolved 0"), result.stderr)

        // A baseline that is neither: one line naming the file and the param, nothing processed.
        let wrong = work.appendingPathComponent("wrong.yaml")
        try String(contentsOfFile: pipeline, encoding: .utf8).replacingOccurrences(of: "baseline: landuse", with: "baseline: lastyear")
            .replacingOccurrences(of: "../testdata/", with: CLITests.root.appendingPathComponent("testdata").path + "/")
            .write(to: wrong, atomically: true, encoding: .utf8)
        try deliver("S2L1C_20150909_13band.tif", as: "night3", date: "2015-09-19")
        let refused = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", wrong.path, "--out", out.path])
        XCTAssertEqual(refused.status, 66, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("wrong.yaml: param baseline: 'lastyear' must be scene"), refused.stderr)
        XCTAssertEqual(try registry.scenes().count, 2)
    }
}
