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

    /// At the size of a Sentinel-2 tile (10980²) the stage's strips (40 bytes a pixel over one row of 512-pixel tiles)
    /// and GDAL's proximity rows need 242 MB: a 128 MB budget is refused with the budget needed, 512 MB is not.
    func testTheMemoryBudgetMustHoldTheProximityRows() throws {
        let grid = RasterGrid(width: 10_980, height: 10_980, geoTransform: GeoTransform(originX: 0, pixelWidth: 10, originY: 0, pixelHeight: -10),
                              crsWKT: try SpatialReference(definition: "EPSG:32633").wkt, crsLabel: "EPSG:32633")
        func context(_ budget: Int) throws -> RunContext {
            RunContext(outputRoot: try OutputRoot(path: work.path), workDirectory: work, logger: Logger(label: "test"),
                       memoryBudget: budget, threads: 2, blockSize: 512)
        }
        let reserve = proximityBytes(grid: grid, blockSize: 512)
        XCTAssertEqual(reserve, 10_980 * 16 + 10_980 * 512 * 5)
        XCTAssertThrowsError(try Strips(grid: grid, bytesPerPixel: 40, context: context(128 << 20), stage: "renewal.green_access",
                                        reserve: reserve)) { error in
            XCTAssertEqual("\(error)", "renewal.green_access: the memory budget (128M) cannot hold one row of 512-pixel tiles across the "
                           + "10980-pixel grid (242M needed, GDAL's proximity rows included); give --memory 483M or more")
            XCTAssertEqual((error as? RunError)?.category, .resources)
        }
        let strips = try Strips(grid: grid, bytesPerPixel: 40, context: context(512 << 20), stage: "renewal.green_access", reserve: reserve)
        XCTAssertGreaterThanOrEqual(strips.rows, 512)
        XCTAssertLessThanOrEqual(strips.rows * 10_980 * 40 + reserve, 512 << 20)
    }
}
