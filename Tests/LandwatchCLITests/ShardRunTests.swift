import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// `landwatch run --shard K/N` and `landwatch merge`: four shards of the enforcement chain on the real Zion scene,
/// with planted construction straddling the shard borders (Sharding/make_pair.py), merged, equal the unsharded run.
final class ShardRunTests: XCTestCase {
    /// One fixture, one unsharded run and four shards for every test of the class (they take a while).
    struct Runs {
        var work: URL
        var pipeline: URL
        var whole: URL
        var shards: [URL]
    }

    nonisolated(unsafe) static var prepared: Result<Runs, Error>?

    static func runs() throws -> Runs {
        if let prepared { return try prepared.get() }
        let result = Result { () throws -> Runs in
            let work = TestPaths.temporaryFolder("landwatch-shards")
            let fixture = work.appendingPathComponent("fixture")
            try FileManager.default.createDirectory(at: fixture, withIntermediateDirectories: true)
            let script = CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Sharding/make_pair.py")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script.path, fixture.path]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
            let pipeline = work.appendingPathComponent("sharding.yaml")
            try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Sharding/sharding.yaml"), to: pipeline)

            let whole = work.appendingPathComponent("whole")
            let unsharded = try CLITests.landwatch(["run", pipeline.path, "--out", whole.path, "--threads", "2"], in: work)
            guard unsharded.status == 0 else { throw RunError(.internal, "unsharded run failed: \(unsharded.stderr)") }
            // The four shards at once, as four pods would run them, each on its own.
            let shards = (1...4).map { work.appendingPathComponent("shard-\($0)") }
            let results = ResultsBox(count: 4)
            DispatchQueue.concurrentPerform(iterations: 4) { index in
                results.set(index, Result {
                    try CLITests.landwatch(["run", pipeline.path, "--shard", "\(index + 1)/4", "--out", shards[index].path, "--threads", "1"], in: work)
                })
            }
            for (index, result) in results.values.enumerated() {
                let run = try result!.get()
                guard run.status == 0 else { throw RunError(.internal, "shard \(index + 1) failed: \(run.stderr)") }
            }
            return Runs(work: work, pipeline: pipeline, whole: whole, shards: shards)
        }
        prepared = result
        return try result.get()
    }

    override class func tearDown() {
        if case .success(let runs)? = prepared { try? FileManager.default.removeItem(at: runs.work) }
        super.tearDown()
    }

    func merge(_ shards: [URL], into out: URL, in work: URL) throws -> CLITests.Result {
        try CLITests.landwatch(["merge"] + shards.map(\.path) + ["--out", out.path, "--threads", "2"], in: work)
    }

    struct Violation: Equatable {
        var id: String
        var area: Double
        var rules: String
    }

    func violations(in folder: URL) throws -> [Violation] {
        let data = try Data(contentsOf: folder.appendingPathComponent("violations/violations.geojson"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (json["features"] as! [[String: Any]]).map { feature in
            let properties = feature["properties"] as! [String: Any]
            return Violation(id: properties["id"] as! String, area: properties["area_m2"] as! Double, rules: properties["rules"] as! String)
        }.sorted { $0.id < $1.id }
    }

    func pixels(_ path: URL) throws -> (values: [Float], type: String, categories: [Band.Category]) {
        let dataset = try Dataset.open(path.path)
        let band = try dataset.band(1)
        return (try band.read(Window(width: dataset.width, height: dataset.height)), band.dataTypeName, band.categories)
    }

    func testFourShardsMergedEqualTheUnshardedRun() throws {
        let runs = try Self.runs()
        // Shards in any order.
        let merged = runs.work.appendingPathComponent("merged")
        let result = try merge([runs.shards[2], runs.shards[0], runs.shards[3], runs.shards[1]], into: merged, in: runs.work)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("merged 4 shards of sharding-test"), result.stdout)

        // Each shard computed its rows with the 1-row halo compliance.diff needs, and left the patches to the merge.
        let record = try RunRecord.decode(Data(contentsOf: runs.shards[1].appendingPathComponent("run.json")))
        XCTAssertEqual(record.shard?.layout.rows, [357, 714])
        XCTAssertEqual(record.shard?.layout.readRows, [356, 715])
        XCTAssertEqual(record.shard?.deferred, ["violations", "report"])
        XCTAssertEqual(record.grid?.height, 359)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs.shards[1].appendingPathComponent("violations").path))

        // Identical class rasters: every pixel, type and legend.
        for name in ["landcover-before.tif", "landcover-after.tif"] {
            let expected = try pixels(runs.whole.appendingPathComponent(name)), actual = try pixels(merged.appendingPathComponent(name))
            XCTAssertEqual(actual.values.count, 1128 * 1428)
            XCTAssertTrue(zip(expected.values, actual.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name) differs")
            XCTAssertEqual(actual.type, expected.type)
            XCTAssertEqual(actual.categories, expected.categories)
        }
        // The same violations: same ids, areas within one pixel (900 m²), same rules; patches cut by shard borders
        // came back whole (a cut patch would be two smaller violations with other ids).
        let expected = try violations(in: runs.whole), actual = try violations(in: merged)
        XCTAssertGreaterThan(expected.count, 20, "the planted rectangles make violations")
        XCTAssertEqual(actual.map(\.id), expected.map(\.id))
        for (a, e) in zip(actual, expected) {
            XCTAssertEqual(a.area, e.area, accuracy: 900, a.id)
            XCTAssertEqual(a.rules, e.rules, a.id)
        }
        // The farmland layer lies in the first shard's rows only; the other shards ran without it, and its rule holds.
        XCTAssertTrue(actual.contains { $0.rules.contains("FL-") }, "farmland violations in rows 100..250")
        let crossing = try patchesCrossing(rows: [357, 714, 1071], in: merged)
        XCTAssertGreaterThanOrEqual(crossing, 6, "planted patches straddle the shard borders")
        XCTAssertTrue(FileManager.default.fileExists(atPath: merged.appendingPathComponent("report/index.html").path))
        let mergedRecord = try RunRecord.decode(Data(contentsOf: merged.appendingPathComponent("run.json")))
        XCTAssertEqual(mergedRecord.status, "succeeded")
        XCTAssertEqual(mergedRecord.mergedFrom?.count, 4)
        XCTAssertEqual(Set(mergedRecord.stages.map(\.id)), Set(try RunRecord.decode(Data(contentsOf: runs.whole.appendingPathComponent("run.json"))).stages.map(\.id)))
    }

    /// The README's example: the shipped enforcement pipeline (Marburg, 41 x 41 pixels, plan layers each in some of
    /// the rows only) in four shards and merged equals the unsharded run.
    func testTheShippedEnforcementPipelineInFourShardsEqualsTheUnshardedRun() throws {
        let runs = try Self.runs()
        let pipeline = CLITests.root.appendingPathComponent("pipelines/nightly-enforcement.yaml").path
        let folder = runs.work.appendingPathComponent("enforcement")
        let whole = folder.appendingPathComponent("whole")
        let unsharded = try CLITests.landwatch(["run", pipeline, "--out", whole.path], in: CLITests.root)
        XCTAssertEqual(unsharded.status, 0, unsharded.stderr)
        let shards = (1...4).map { folder.appendingPathComponent("shard-\($0)") }
        for (index, shard) in shards.enumerated() {
            let result = try CLITests.landwatch(["run", pipeline, "--shard", "\(index + 1)/4", "--out", shard.path], in: CLITests.root)
            XCTAssertEqual(result.status, 0, "shard \(index + 1): \(result.stderr)")
        }
        let merged = folder.appendingPathComponent("merged")
        let result = try merge(shards, into: merged, in: CLITests.root)
        XCTAssertEqual(result.status, 0, result.stderr)
        for name in ["landcover-before.tif", "landcover-after.tif"] {
            let expected = try pixels(whole.appendingPathComponent(name)), actual = try pixels(merged.appendingPathComponent(name))
            XCTAssertEqual(actual.values.count, 41 * 41)
            XCTAssertTrue(zip(expected.values, actual.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name) differs")
        }
        XCTAssertEqual(try violations(in: merged), try violations(in: whole))
        let summary = { (root: URL) in try String(contentsOf: root.appendingPathComponent("violations/summary.csv"), encoding: .utf8) }
        XCTAssertEqual(try summary(merged), try summary(whole))
        // Pixel counts (clear, masked by cloud) are the whole run's: each shard counts its own rows, not its halo.
        let counts = { (root: URL) throws -> [String: [String: Int]] in
            let record = try RunRecord.decode(Data(contentsOf: root.appendingPathComponent("run.json")))
            return Dictionary(record.stages.compactMap { stage in stage.counts.map { (stage.id, $0) } }, uniquingKeysWith: { a, _ in a })
        }
        let expectedCounts = try counts(whole)
        XCTAssertEqual(expectedCounts["after-clear"]?["clear"], 41 * 41)
        XCTAssertEqual(try counts(merged), expectedCounts)
    }

    /// A DEM on another grid, warped as it is read, and moving-window statistics of it: shards (on rows that are not
    /// whole blocks) give the unsharded run's values to the last bit. Before, a shard warped onto its own rows (edge
    /// rows resampled otherwise: means 0.5 m off) and window sums depended on where the tile started (std of even
    /// areas 1e-8 instead of 0), and a model trained on them differed.
    func testWarpedInputsAndWindowStatisticsDoNotDependOnTheShard() throws {
        let runs = try Self.runs()
        let zion = CLITests.root.appendingPathComponent("testdata/zion-landsat8").path
        let folder = runs.work.appendingPathComponent("focal")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pipeline = folder.appendingPathComponent("focal.yaml")
        try """
        version: 1
        name: focal-shards
        grid: {like: bands}
        stages:
          - {id: bands, uses: read.scene, with: {bands: {red: "\(zion)/landsat_b4.tif", nir: "\(zion)/landsat_b5.tif"}, scale: 2.0e-5, offset: -0.1, nodata: 65535}}
          - {id: dem, uses: read.scene, with: {bands: {elevation: "\(zion)/srtm.tif"}}}
          - {id: stacked, uses: stack.bands, inputs: {first: bands, second: dem}}
          - {id: features, uses: features.focal, inputs: {scene: stacked}, with: {features: "elevation,ndvi", sizes: "5,31", statistics: "mean,std"}}
          - {id: out, uses: write.raster, inputs: [features], with: {path: features.tif}}
        """.write(to: pipeline, atomically: true, encoding: .utf8)
        let common = ["--allow-read", zion, "--threads", "2"]
        let whole = try CLITests.landwatch(["run", pipeline.path, "--out", folder.appendingPathComponent("whole").path] + common, in: folder)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let shards = (1...4).map { folder.appendingPathComponent("shard-\($0)") }
        for (index, shard) in shards.enumerated() {
            let result = try CLITests.landwatch(["run", pipeline.path, "--shard", "\(index + 1)/4", "--out", shard.path] + common, in: folder)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let merged = folder.appendingPathComponent("merged")
        let result = try CLITests.landwatch(["merge"] + shards.map(\.path) + ["--out", merged.path, "--allow-read", zion], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        let a = try Dataset.open(folder.appendingPathComponent("whole/features.tif").path)
        let b = try Dataset.open(merged.appendingPathComponent("features.tif").path)
        XCTAssertEqual(a.bandCount, b.bandCount)
        for index in 1...a.bandCount {
            let x = try a.band(index).read(Window(width: a.width, height: a.height))
            let y = try b.band(index).read(Window(width: b.width, height: b.height))
            let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
            let name = try a.band(index).bandDescription
            XCTAssertEqual(differing, 0, "band \(index) (\(name)): \(differing) values differ")
        }
    }

    /// A scene without one valid pixel: the shards cannot tell (a band of rows may lie in the collar) and succeed; the
    /// merge refuses it with the unsharded run's line, before it writes anything.
    func testAnEmptySceneIsRefusedByTheMergeAsByTheUnshardedRun() throws {
        let runs = try Self.runs()
        let folder = runs.work.appendingPathComponent("empty")
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("testdata/zion-landsat8"), to: data)
        let blank = Process()
        blank.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        blank.arguments = ["-c", """
            from osgeo import gdal
            import numpy, sys
            for b in (2, 3, 4, 5):
                ds = gdal.Open(f"{sys.argv[1]}/landsat_b{b}.tif", gdal.GA_Update)
                ds.GetRasterBand(1).WriteArray(numpy.full((ds.RasterYSize, ds.RasterXSize), 65535, dtype=numpy.uint16))
                ds = None
            """, data.path]
        try blank.run()
        blank.waitUntilExit()
        XCTAssertEqual(blank.terminationStatus, 0)
        let pipeline = CLITests.root.appendingPathComponent("pipelines/landcover-rules.yaml").path
        let common = ["--set", "data=\(data.path)", "--allow-read", folder.path]
        let whole = try CLITests.landwatch(["run", pipeline, "--out", folder.appendingPathComponent("whole").path] + common)
        XCTAssertEqual(whole.status, 66)
        let refusal = "stage 'scene': \(data.path)/landsat_b2.tif: every pixel is nodata on the run grid (1128 x 1428 px"
        XCTAssertTrue(whole.stderr.contains(refusal), whole.stderr)
        let shards = (1...2).map { folder.appendingPathComponent("shard-\($0)") }
        for (index, shard) in shards.enumerated() {
            let result = try CLITests.landwatch(["run", pipeline, "--shard", "\(index + 1)/2", "--out", shard.path] + common)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let merged = folder.appendingPathComponent("merged")
        let result = try CLITests.landwatch(["merge"] + shards.map(\.path) + ["--out", merged.path, "--allow-read", folder.path])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("merge failed: " + refusal), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: merged.path), ["run.json"])
    }

    /// How many violations of the list in `folder` span one of `rows` of the run grid (from their polygons' extents).
    func patchesCrossing(rows: [Int], in folder: URL) throws -> Int {
        let grid = try Dataset.open(folder.appendingPathComponent("landcover-after.tif").path).grid()
        var count = 0
        let data = try Data(contentsOf: folder.appendingPathComponent("violations/violations.geojson"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let toGrid = try CoordinateTransformation(from: SpatialReference.wgs84(), to: SpatialReference(definition: grid.crsWKT))
        for feature in json["features"] as! [[String: Any]] {
            let geometry = feature["geometry"] as! [String: Any]
            var points: [[Double]] = []
            func collect(_ value: Any) {
                if let pair = value as? [Double], pair.count >= 2 { points.append(pair) } else if let list = value as? [Any] { list.forEach(collect) }
            }
            collect(geometry["coordinates"]!)
            let gridRows = try points.map { point -> Double in
                let xy = try toGrid.transform(x: point[0], y: point[1])
                return (xy.y - grid.geoTransform.originY) / grid.geoTransform.pixelHeight
            }
            guard let top = gridRows.min(), let bottom = gridRows.max() else { continue }
            if rows.contains(where: { Double($0) > top + 0.5 && Double($0) < bottom - 0.5 }) { count += 1 }
        }
        return count
    }

    func testMergeNamesAMissingShardOutputAndWritesNothing() throws {
        let runs = try Self.runs()
        let broken = runs.work.appendingPathComponent("shard-2-broken")
        try? FileManager.default.removeItem(at: broken)
        try FileManager.default.copyItem(at: runs.shards[1], to: broken)
        try FileManager.default.removeItem(at: broken.appendingPathComponent("shard/changes.tif"))
        let out = runs.work.appendingPathComponent("merged-broken")
        let result = try merge([runs.shards[0], broken, runs.shards[2], runs.shards[3]], into: out, in: runs.work)
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("shard 2/4 (\(broken.path)): shard/changes.tif is missing"), result.stderr)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertEqual(left.filter { $0 != "run.json" }, [], "nothing but the failed run.json")
    }

    func testMergeNamesMissingAndRepeatedShards() throws {
        let runs = try Self.runs()
        let out = runs.work.appendingPathComponent("merged-missing")
        var result = try merge([runs.shards[0], runs.shards[1], runs.shards[3]], into: out, in: runs.work)
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("shard 3/4 is missing (given: 1, 2, 4): run `landwatch run "), result.stderr)
        XCTAssertTrue(result.stderr.contains("--shard 3/4` and give its output folder too"), result.stderr)
        result = try merge([runs.shards[0], runs.shards[1], runs.shards[1], runs.shards[3]], into: out, in: runs.work)
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("shard 2/4 is given twice"), result.stderr)
        result = try merge([runs.whole], into: out, in: runs.work)
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("run.json is of a run without --shard"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("violations").path))
    }

    func testShardNumbersOutOfRangeAreOneLineEach() throws {
        let runs = try Self.runs()
        for (shard, message) in [("5/4", "K must be between 1 and 4"), ("0/0", "the number of shards N must be at least 1"), ("2", "write it as K/N")] {
            let out = runs.work.appendingPathComponent("bad-\(UUID().uuidString)")
            let result = try CLITests.landwatch(["run", runs.pipeline.path, "--shard", shard, "--out", out.path], in: runs.work)
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("--shard \(shard): \(message)"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written for --shard \(shard)")
        }
        // More shards than rows.
        let out = runs.work.appendingPathComponent("too-many")
        let result = try CLITests.landwatch(["run", runs.pipeline.path, "--shard", "1/2000", "--out", out.path], in: runs.work)
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("the run grid has 1428 rows, so it splits into at most 1428 shards"), result.stderr)
    }
}

/// Results of concurrent runs, by index.
final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Result<CLITests.Result, Error>?]
    init(count: Int) { stored = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<CLITests.Result, Error>) { lock.withLock { stored[index] = value } }
    var values: [Result<CLITests.Result, Error>?] { lock.withLock { stored } }
}
