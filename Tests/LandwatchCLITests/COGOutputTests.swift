import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// `write.raster` writes Cloud-Optimized GeoTIFFs (issue 25): every raster a shipped pipeline writes passes GDAL's
/// own validator (Debian's python3-gdal, `validate_cloud_optimized_geotiff.py`, full check), overviews keep class
/// codes and average values, and `layout: tiled` still gives the plain tiled GeoTIFF.
final class COGOutputTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-cog")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// GDAL's validator on each file: prints "ok" or the errors and warnings, one a line.
    static func validate(_ paths: [String]) throws -> [String: [String]] {
        let script = """
            import json, sys
            from osgeo import gdal
            from osgeo_utils.samples import validate_cloud_optimized_geotiff as v
            gdal.UseExceptions()
            out = {}
            for path in sys.argv[1:]:
                try:
                    warnings, errors, _ = v.validate(path, full_check=True)
                    out[path] = ["error: " + e for e in errors] + ["warning: " + w for w in warnings]
                except v.ValidateCloudOptimizedGeoTIFFException as e:
                    out[path] = ["error: " + str(e)]
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + paths
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw NSError(domain: "validate_cloud_optimized_geotiff", code: 1, userInfo: [NSLocalizedDescriptionKey: message]) }
        return try JSONDecoder().decode([String: [String]].self, from: data)
    }

    func testEveryRasterOfTheDemoIsACloudOptimizedGeoTIFFWithFittingOverviews() throws {
        let out = work.appendingPathComponent("demo")
        let result = try CLITests.landwatch(["run", "pipelines/demo.yaml", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
        let rasters = record.outputs.filter { $0.hasSuffix(".tif") }
        XCTAssertEqual(rasters, ["ndvi.tif", "nlcd-on-scene-grid.tif", "park-boundary.tif"])
        let verdicts = try Self.validate(rasters.map { out.appendingPathComponent($0).path })
        for raster in rasters {
            XCTAssertEqual(verdicts[out.appendingPathComponent(raster).path], [], "\(raster) is not a clean COG")
            let dataset = try Dataset.open(out.appendingPathComponent(raster).path)
            XCTAssertTrue(dataset.isCloudOptimized, raster)
            XCTAssertEqual(dataset.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"], "ZSTD", raster)
        }
        // Nothing of the two-step write is left: no scratch copy, no partial file.
        let left = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(left, [".landwatch-stages.json", "ndvi.tif", "nlcd-on-scene-grid.tif", "park-boundary.tif", "park-boundary.tif.aux.xml", "run.json", "stac"])

        // Class codes stay codes in the overviews (nearest); NDVI overviews are means of 2x2 blocks (average).
        let classes = try overviewAndBase(out.appendingPathComponent("nlcd-on-scene-grid.tif").path)
        XCTAssertTrue(Set(classes.overview).isSubset(of: Set(classes.base)), "an overview of classes holds a value that is no class")
        let ndvi = try overviewAndBase(out.appendingPathComponent("ndvi.tif").path)
        var compared = 0
        for row in 100..<110 {
            for col in 100..<110 {
                let block = [ndvi.base[(2 * row) * ndvi.width + 2 * col], ndvi.base[(2 * row) * ndvi.width + 2 * col + 1],
                             ndvi.base[(2 * row + 1) * ndvi.width + 2 * col], ndvi.base[(2 * row + 1) * ndvi.width + 2 * col + 1]]
                guard block.allSatisfy({ !$0.isNaN }) else { continue }
                XCTAssertEqual(ndvi.overview[row * ndvi.overviewWidth + col], block.reduce(0, +) / 4, accuracy: 1e-5)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 50)
    }

    /// The head of a test pipeline: the Zion scene's red and nir bands and their NDVI (kept when `keepNDVI`).
    static func zionNDVI(name: String, keepNDVI: Bool = false) -> String {
        """
        version: 1
        name: \(name)
        stages:
          - id: scene
            uses: read.scene
            with:
              bands: {red: \(TestPaths.repository.path)/testdata/zion-landsat8/landsat_b4.tif, nir: \(TestPaths.repository.path)/testdata/zion-landsat8/landsat_b5.tif}
              nodata: 65535
          - id: ndvi
            uses: index.ndvi
            inputs: [scene]\(keepNDVI ? "\n    keep: true" : "")

        """
    }

    func testLayoutTiledWritesThePlainTiledGeoTIFFAndAnUnknownLayoutIsRefused() throws {
        let pipeline = work.appendingPathComponent("tiled.yaml")
        func write(_ layout: String) throws {
            try (Self.zionNDVI(name: "tiled") + """
                  - id: out
                    uses: write.raster
                    inputs: [ndvi]
                    with: {path: ndvi.tif, layout: \(layout)}
                """).write(to: pipeline, atomically: true, encoding: .utf8)
        }
        try write("tiled")
        let out = work.appendingPathComponent("tiled")
        let result = try CLITests.landwatch(["run", pipeline.path, "--out", out.path, "--allow-read", TestPaths.repository.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let dataset = try Dataset.open(out.appendingPathComponent("ndvi.tif").path)
        XCTAssertFalse(dataset.isCloudOptimized)
        XCTAssertEqual(try dataset.band(1).blockSize.width, 512)
        XCTAssertEqual(try Self.validate([dataset.path])[dataset.path]?.first { $0.hasPrefix("warning:") }?.contains("overviews"), true)

        try write("cloud")
        let refused = try CLITests.landwatch(["validate", pipeline.path, "--allow-read", TestPaths.repository.path])
        XCTAssertEqual(refused.status, 65, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("tiled.yaml:15:36: out: option 'layout' must be one of cog, tiled (found 'cloud')"), refused.stderr)
    }

    func testMergeOfShardsWritesTheSameCloudOptimizedGeoTIFFs() throws {
        let shards = (1...2).map { work.appendingPathComponent("shard\($0)") }
        for (index, shard) in shards.enumerated() {
            let result = try CLITests.landwatch(["run", "pipelines/demo.yaml", "--shard", "\(index + 1)/2", "--out", shard.path])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let merged = work.appendingPathComponent("merged"), whole = work.appendingPathComponent("whole")
        var result = try CLITests.landwatch(["merge"] + shards.map(\.path) + ["--out", merged.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        result = try CLITests.landwatch(["run", "pipelines/demo.yaml", "--out", whole.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rasters = ["ndvi.tif", "nlcd-on-scene-grid.tif", "park-boundary.tif"]
        let verdicts = try Self.validate(rasters.map { merged.appendingPathComponent($0).path })
        for raster in rasters {
            XCTAssertEqual(verdicts[merged.appendingPathComponent(raster).path], [], "merged \(raster) is not a clean COG")
            let a = try overviewAndBase(merged.appendingPathComponent(raster).path), b = try overviewAndBase(whole.appendingPathComponent(raster).path)
            XCTAssertEqual(a.base.map(\.bitPattern), b.base.map(\.bitPattern), raster)
            XCTAssertEqual(a.overview.map(\.bitPattern), b.overview.map(\.bitPattern), "\(raster): overviews")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: merged.path).filter { $0.contains("mosaic") }, [])
    }

    /// The rasters written outside write.raster are Cloud-Optimized too: kept products of a streamed stage and of a
    /// neighbourhood stage (`keep: true`), metrics.heat_island's hot spots (environment-metrics.yaml) and
    /// simulate.landuse's maps (scenarios-validate.yaml).
    func testKeptProductsHotSpotsAndSimulatedMapsAreCloudOptimizedGeoTIFFs() throws {
        let pipeline = work.appendingPathComponent("kept.yaml")
        try (Self.zionNDVI(name: "kept", keepNDVI: true) + """
              - id: focal
                uses: features.focal
                inputs: [scene]
                with: {features: ndvi, sizes: "5", keep: false}
                keep: true
              - id: out
                uses: write.raster
                inputs: [focal]
                with: {path: focal.tif}
              - id: out2
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """).write(to: pipeline, atomically: true, encoding: .utf8)
        var rasters: [String] = []
        for (file, name, extra) in [(pipeline.path, "kept", ["--allow-read", TestPaths.repository.path]),
                                    ("pipelines/environment-metrics.yaml", "environment", []),
                                    ("pipelines/scenarios-validate.yaml", "scenarios", [])] {
            let out = work.appendingPathComponent(name)
            let result = try CLITests.landwatch(["run", file, "--out", out.path] + extra)
            XCTAssertEqual(result.status, 0, "\(file): \(result.stderr)")
            let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
            rasters += record.outputs.filter { $0.hasSuffix(".tif") }.map { out.appendingPathComponent($0).path }
        }
        for expected in ["kept/work/ndvi.tif", "kept/work/focal.tif", "environment/", "_hotspots.tif", "scenarios/validation/trend.tif"] {
            XCTAssertTrue(rasters.contains { $0.contains(expected) }, "no raster output like \(expected) in \(rasters)")
        }
        let verdicts = try Self.validate(rasters)
        for raster in rasters {
            XCTAssertEqual(verdicts[raster], [], "\(raster) is not a clean COG")
            XCTAssertTrue(try Dataset.open(raster).isCloudOptimized, raster)
        }
    }

    /// The first overview of band 1 (GDAL reads it for the raster at half its size) and the full resolution.
    func overviewAndBase(_ path: String) throws -> (base: [Float], width: Int, overview: [Float], overviewWidth: Int) {
        let dataset = try Dataset.open(path)
        let band = try dataset.band(1)
        XCTAssertEqual(band.overviewCount, 2, path)
        let base = try band.read(Window(width: dataset.width, height: dataset.height))
        let overview = try band.readOverview(maxSide: max(dataset.width, dataset.height) / 2)
        XCTAssertEqual(overview.width, dataset.width / 2)
        return (base, dataset.width, overview.values, overview.width)
    }
}
