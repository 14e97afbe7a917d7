import Foundation
import LandwatchGDAL
import LandwatchRenewal
import XCTest

/// `renewal.candidates` on the real Marburg Landsat 8 scene with the example plan, two equal plots planted: 2 × 2
/// pixels (3,600 m²) of the scene's real bare pixel (row 0, column 13) moved onto
/// - P1, rows 3–4 × cols 16–17: in the built-up north of district 330102, beside residents no green of 3 pixels or
///   more (2,700 m²) serves within 60 m;
/// - P2, rows 12–13 × cols 20–21: inside the woods (a park) of district 330103, whose residents are served.
/// The service levels are 60 m of green ≥ 2,700 m² and 150 m of a park ≥ 1 ha: at 30 m pixels the defaults
/// (300 m, 400 m²: one pixel) serve every resident of this wooded scene.
final class CandidatesStageTests: RenewalTestCase {
    static let p1 = (rows: 3..<5, cols: 16..<18)
    static let p2 = (rows: 12..<14, cols: 20..<22)
    static let levels = "radius: 60, min_area: 2700, park_radius: 150, park_min_area: 10000"

    func plantedScene() throws -> String {
        let folder = try copy(Self.marburg, as: "marburg")
        let l8 = try marburgBands(in: folder, prefix: "LC08")
        for plot in [Self.p1, Self.p2] { try plant(folder: folder, files: l8, rows: plot.rows, cols: plot.cols, from: (0, 13)) }
        return folder
    }

    func pipeline(folder: String, greenSpace: String? = nil) -> String {
        """
        version: 1
        name: candidates-marburg
        stages:
          - {id: scene, uses: read.landsat, with: {mtl: "\(folder)/\(Self.l8MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: classes, uses: classify.rules, inputs: [scene]}
          - {id: boundary, uses: read.plan, with: {role: urban_boundary, path: "\(Self.plan)/urban_boundary.gpkg", name_field: name}}
          - {id: zoning, uses: read.plan, with: {role: zoning, path: "\(Self.plan)/zoning.gpkg", id_field: zone_id, code_field: use_code}}
          - {id: zones, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", id_field: code, name_field: name}}
          - {id: redline, uses: read.plan, with: {role: redline, path: "\(Self.plan)/redline.geojson", id_field: hx_id, name_field: name}}
        """ + (greenSpace.map { "\n  - {id: park, uses: read.vector, with: {path: \"\($0)\"}}" } ?? "") + """

          - id: access
            uses: renewal.green_access
            inputs: {classes: classes, zoning: zoning, zones: zones\(greenSpace == nil ? "" : ", green_space: park")}
            with: {\(Self.levels)}
          - id: candidates
            uses: renewal.candidates
            inputs: {classes: classes, urban_boundary: boundary, zoning: zoning, zones: zones, redline: redline}
            with: {\(Self.levels)}
        """
    }

    func candidate(at plot: (rows: Range<Int>, cols: Range<Int>), in result: CandidatesResult, grid: RasterGrid) throws -> CandidatesResult.Plot? {
        let t = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
        let g = grid.geoTransform
        let centre = try t.transform(x: g.originX + Double(plot.cols.lowerBound + 1) * g.pixelWidth,
                                     y: g.originY + Double(plot.rows.lowerBound + 1) * g.pixelHeight)
        return result.plots.first { p in
            abs((p.lon ?? 0) - centre.x) < 0.0005 && abs((p.lat ?? 0) - centre.y) < 0.0003 && p.pixels == 4
        }
    }

    func testAPlotBesideUnservedResidentsRanksAboveAnEqualPlotInAPark() throws {
        let folder = try plantedScene()
        try run(pipeline(folder: folder))
        let result = try CandidatesResult.decode(Data(contentsOf: work.appendingPathComponent("out/candidates/candidates.json")))
        let grid = try Dataset.open("\(folder)/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF").grid()
        let p1 = try XCTUnwrap(try candidate(at: Self.p1, in: result, grid: grid), "\(result.plots)")
        let p2 = try XCTUnwrap(try candidate(at: Self.p2, in: result, grid: grid), "\(result.plots)")
        XCTAssertEqual(p1.areaM2, 3600)
        XCTAssertEqual(p2.areaM2, 3600)
        XCTAssertEqual(p1.sources, ["leftover"])
        XCTAssertLessThan(p1.rank, p2.rank, "P1 \(p1.score) vs P2 \(p2.score)")
        XCTAssertGreaterThan(p1.gains[0].newlyServed, 0)
        XCTAssertEqual(p2.gains[0].newlyServed, 0)
        XCTAssertGreaterThan(p1.gains[0].gainPoints ?? 0, 0)
        XCTAssertEqual(p2.gains[0].gainPoints, 0)
        XCTAssertEqual(result.weights["heat"], 0, "no LST: the heat weight is left out")
        XCTAssertFalse(result.heatIncluded)
        // Ranked by score, best first; the files hold the same list.
        XCTAssertEqual(result.plots.map(\.score), result.plots.map(\.score).sorted(by: >))
        let csv = try String(contentsOf: work.appendingPathComponent("out/candidates/candidates.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\r\n").count, result.plots.count + 1)
        XCTAssertEqual(Array(try Data(contentsOf: work.appendingPathComponent("out/candidates/candidates.csv")).prefix(3)), [0xEF, 0xBB, 0xBF])
        let gpkg = try VectorDataset.open(work.appendingPathComponent("out/candidates/candidates.gpkg").path).layer(nil)
        XCTAssertEqual(gpkg.featureCount, result.plots.count)
        let geojson = try VectorDataset.open(work.appendingPathComponent("out/candidates/candidates.geojson").path).layer(nil)
        XCTAssertEqual(geojson.featureCount, result.plots.count)
    }

    /// The expected gain of the best plot equals the coverage renewal.green_access computes with that plot (its outline
    /// from candidates.gpkg) added as green space.
    func testTheExpectedGainIsTheCoverageRecomputedWithTheSiteAdded() throws {
        let folder = try plantedScene()
        try run(pipeline(folder: folder))
        let result = try CandidatesResult.decode(Data(contentsOf: work.appendingPathComponent("out/candidates/candidates.json")))
        let best = try XCTUnwrap(result.plots.first)
        XCTAssertGreaterThan(best.gains[0].gainPoints ?? 0, 0, "the best plot gains something")
        // The plot's outline, from the GeoPackage, as a green-space layer.
        let site = work.appendingPathComponent("site.gpkg").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ogr2ogr")
        process.arguments = [site, work.appendingPathComponent("out/candidates/candidates.gpkg").path, "-where", "rank = 1"]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        try FileManager.default.moveItem(at: work.appendingPathComponent("out"), to: work.appendingPathComponent("before"))
        try run(pipeline(folder: folder, greenSpace: site))
        let after = try GreenAccessResult.decode(Data(contentsOf: work.appendingPathComponent("out/green_access/access.json")))
        let zone = try XCTUnwrap(after.zones.first { $0.code == best.zoneCode })
        for (level, gain) in zip(zone.levels, best.gains) {
            XCTAssertEqual(try XCTUnwrap(level.coverage), try XCTUnwrap(gain.coverageAfter), accuracy: 1e-6, "\(level.level)")
        }
        let before = try GreenAccessResult.decode(Data(contentsOf: work.appendingPathComponent("before/green_access/access.json")))
        let zoneBefore = try XCTUnwrap(before.zones.first { $0.code == best.zoneCode })
        XCTAssertEqual(try XCTUnwrap(zoneBefore.levels[0].coverage), try XCTUnwrap(best.gains[0].coverageBefore), accuracy: 1e-9)
        XCTAssertEqual(((zone.levels[0].coverage ?? 0) - (zoneBefore.levels[0].coverage ?? 0)) * 100, try XCTUnwrap(best.gains[0].gainPoints),
                       accuracy: 1e-3)
    }
}
