import Foundation
import LandwatchGDAL
import LandwatchPipeline
@testable import LandwatchRenewal
import Logging
import LandwatchTestSupport
import XCTest

/// `renewal.green_access` against an independent count (green_access_check.py: green patches polygonized, their
/// pixel centres buffered with OGR/GEOS, residential pixel centres counted inside) on the real Marburg Landsat 8
/// scene with the example plan's zoning (residential 0701 in the north) and its two districts.
final class GreenAccessStageTests: RenewalTestCase {
    func pipeline(levels: String, extra: String = "") -> String {
        """
        version: 1
        name: green-access-marburg
        stages:
          - {id: scene, uses: read.landsat, with: {mtl: "\(Self.marburg)/\(Self.l8MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: classes, uses: classify.rules, inputs: [scene]}
          - {id: zoning, uses: read.plan, with: {role: zoning, path: "\(Self.plan)/zoning.gpkg", id_field: zone_id, code_field: use_code}}
          - {id: zones, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", id_field: code, name_field: name}}
          - {id: write, uses: write.raster, inputs: [classes], with: {path: landcover.tif, type: Byte, nodata: 0}}
          - id: access
            uses: renewal.green_access
            inputs: {classes: classes, zoning: zoning, zones: zones\(extra)}
            with: \(levels)
        """
    }

    func independentCount(levels: [(Double, Double)]) throws -> [String: (residential: Int, served: [Int])] {
        let script = TestPaths.repository.appendingPathComponent("Tests/LandwatchRenewalTests/green_access_check.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, work.appendingPathComponent("out/landcover.tif").path, "\(Self.plan)/zones.gpkg", "code",
                             "\(Self.plan)/zoning.gpkg", "use_code", "07", "2,3", "5"] + levels.map { "\($0.0):\($0.1)" }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return object.mapValues { ($0["residential"] as! Int, $0["served"] as! [Int]) }
    }

    func testEqualsAnIndependentBufferCountOnMarburg() throws {
        // 90 m of green of 3 pixels or more, 150 m of a park of 1 ha (12 pixels): radii of 3 and 5 pixels, so that
        // the scene's green does not serve everyone.
        let levels = [(90.0, 2700.0), (150.0, 10_000.0)]
        try run(pipeline(levels: "{radius: 90, min_area: 2700, park_radius: 150, park_min_area: 10000, green: classes}"))
        let result = try GreenAccessResult.decode(Data(contentsOf: work.appendingPathComponent("out/green_access/access.json")))
        let check = try independentCount(levels: levels)
        XCTAssertEqual(result.zones.map(\.code), ["330102", "330103"])
        var partial = 0
        for zone in result.zones {
            let expected = try XCTUnwrap(check[zone.code])
            XCTAssertEqual(zone.residentialPixels, expected.residential, zone.code)
            XCTAssertGreaterThan(zone.residentialPixels, 50, "the zone has residential built-up land")
            for (level, count) in zip(zone.levels, expected.served) {
                XCTAssertLessThanOrEqual(abs(level.servedPixels - count), 1, "\(zone.code) \(level.level): \(level.servedPixels) vs \(count)")
                if level.servedPixels > 0 && level.servedPixels < zone.residentialPixels { partial += 1 }
            }
        }
        XCTAssertGreaterThan(partial, 0, "some zone is partly served: the test compares something")
        let csv = try String(contentsOf: work.appendingPathComponent("out/green_access/access.csv"), encoding: .utf8)
        XCTAssertEqual(Array(try Data(contentsOf: work.appendingPathComponent("out/green_access/access.csv")).prefix(3)), [0xEF, 0xBB, 0xBF], "BOM")
        XCTAssertTrue(csv.hasPrefix("zone,name,residential_pixels") || csv.hasPrefix("\u{FEFF}zone,name,residential_pixels"))
        XCTAssertTrue(result.distance.contains("straight line"))
    }

    func testDefaultsAreThreeHundredAndFiveHundredMetres() throws {
        try run(pipeline(levels: "{}"))
        let result = try GreenAccessResult.decode(Data(contentsOf: work.appendingPathComponent("out/green_access/access.json")))
        XCTAssertEqual(result.levels.map(\.radius), [300, 500])
        XCTAssertEqual(result.levels.map(\.minArea), [400, 10_000])
        // Marburg's villages lie among woods: at 300 m every residential pixel is served.
        for zone in result.zones {
            XCTAssertEqual(zone.levels.map(\.servedPixels), [zone.residentialPixels, zone.residentialPixels], zone.code)
            XCTAssertFalse(zone.levels.contains(where: \.belowTarget))
        }
    }

    /// At the size of a Sentinel-2 tile (10980²): GDAL's block cache is a quarter of the budget (PipelineRunner) and
    /// must hold the proximity's row of mask and distance tiles (5 bytes × 10980 × 512: 27 MB); beside it the stage
    /// needs two rows of 512-pixel tiles of its strips (40 bytes a pixel: one strip, and as much kept free for the
    /// polygonized patches and the program) and the proximity's own rows (16 bytes a column): 573 MB. 128 MB (and
    /// 512 MB, which the check accepted before it counted the cache) is refused with the budget needed; 573 MB is
    /// not, and then the cache, the reserve and the strips stay within the budget.
    func testTheMemoryBudgetMustHoldTheCacheAndTheProximityRows() throws {
        let grid = RasterGrid(width: 10_980, height: 10_980, geoTransform: GeoTransform(originX: 0, pixelWidth: 10, originY: 0, pixelHeight: -10),
                              crsWKT: try SpatialReference(definition: "EPSG:32633").wkt, crsLabel: "EPSG:32633")
        func context(_ budget: Int) throws -> RunContext {
            RunContext(outputRoot: try OutputRoot(path: work.path), workDirectory: work, logger: Logger(label: "test"),
                       memoryBudget: budget, threads: 2, blockSize: 512)
        }
        let proximity = proximityBytes(grid: grid, blockSize: 512)
        XCTAssertEqual(proximity.cache, 10_980 * 512 * 5)
        XCTAssertEqual(proximity.own, 10_980 * 16)
        func strips(_ budget: Int) throws -> Strips {
            try Strips(grid: grid, bytesPerPixel: 40, context: context(budget), stage: "renewal.green_access",
                       cacheNeed: proximity.cache, reserve: proximity.own)
        }
        for budget in [128 << 20, 512 << 20] {
            XCTAssertThrowsError(try strips(budget)) { error in
                XCTAssertEqual("\(error)", "renewal.green_access: the memory budget (\(budget >> 20)M) cannot hold GDAL's block cache (a quarter: "
                               + "\(budget >> 22)M, which must hold the proximity's row of tiles, 27M) beside two rows of 512-pixel tiles across "
                               + "the 10980-pixel grid (429M) and the proximity's own rows (1M); give --memory 573M or more")
                XCTAssertEqual((error as? RunError)?.category, .resources)
            }
        }
        for budget in [573 << 20, 1 << 30] {
            let s = try strips(budget)
            XCTAssertGreaterThanOrEqual(s.rows, 512)
            XCTAssertLessThanOrEqual(budget / 4 + proximity.own + 2 * s.rows * 10_980 * 40, budget)
            XCTAssertGreaterThanOrEqual(budget / 4, proximity.cache)
        }
        XCTAssertEqual(try strips(1 << 30).rows, 916)
    }
}
