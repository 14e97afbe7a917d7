import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchScenarios
import LandwatchStages
import LandwatchTestSupport
import Logging
import XCTest

/// plan.evaluate on the example plan (testdata/plan) with three hand-drawn proposals (testdata/plan/proposals.gpkg,
/// make_proposals.py) over the real 2013 Landsat 8 land cover near Marburg, against an independent OGR/numpy
/// computation (plan_evaluate_check.py, Debian's GDAL Python).
final class PlanEvaluateTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-plan-evaluate")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testAreasEqualAnIndependentOGRAndNumpyComputation() throws {
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: TestPaths.repository.appendingPathComponent("pipelines/plan-evaluate.yaml").path, overrides: [:])
        let out = work.appendingPathComponent("out")
        try runner.run(plan, settings: .init(outputDirectory: out.path, memoryBudget: 256 << 20, threads: 2, blockSize: 16))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let result = try decoder.decode(PlanEvaluationResult.self, from: Data(contentsOf: out.appendingPathComponent("plan/evaluation.json")))

        let testdata = TestPaths.testdata.appendingPathComponent("plan")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("plan_evaluate_check.py").path,
                             out.appendingPathComponent("plan/classes.tif").path] +
            ["proposals.gpkg", "redline.geojson", "basic_farmland.shp", "urban_boundary.gpkg", "zones.gpkg"].map { testdata.appendingPathComponent($0).path }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let peer = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let proposals = try XCTUnwrap(peer["proposals"] as? [[String: Any]])
        XCTAssertEqual(result.proposals.count, 3)
        XCTAssertEqual(proposals.count, 3)
        for (ours, theirs) in zip(result.proposals, proposals) {
            XCTAssertEqual(ours.areaM2, theirs["area_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.farmlandM2, theirs["farmland_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.basicFarmlandM2, theirs["basic_farmland_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.redlineM2, theirs["redline_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.forestM2, theirs["forest_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.greenM2, theirs["green_m2"] as! Double, ours.id)
            XCTAssertEqual(ours.outsideBoundaryM2, theirs["outside_boundary_m2"] as? Double, ours.id)
            XCTAssertEqual(ours.crosses, theirs["crosses"] as! [String], ours.id)
            XCTAssertEqual(ours.areaMu, ours.areaM2 / 666.67, accuracy: 1e-9)
        }
        // The proposals as drawn: the industrial park inside the boundary crosses nothing; the tourism project lies
        // mostly in the red line; the warehouse on basic farmland. The last two are flagged.
        XCTAssertEqual(result.proposals.map(\.id), ["XM-2025-01", "XM-2025-02", "XM-2025-03"])
        XCTAssertEqual(result.proposals.map(\.flagged), [false, true, true])
        XCTAssertGreaterThan(result.proposals[1].redlineM2, result.proposals[1].areaM2 / 2)
        let zones = try XCTUnwrap(peer["zones"] as? [[String: Any]])
        XCTAssertEqual(result.zones.count, zones.count)
        for (ours, theirs) in zip(result.zones, zones) {
            XCTAssertEqual(ours.intensityBefore, theirs["intensity_before"] as! Double, accuracy: 1e-12, ours.name)
            XCTAssertEqual(ours.intensityAfter, theirs["intensity_after"] as! Double, accuracy: 1e-12, ours.name)
            XCTAssertEqual(ours.greenCoverageBefore, theirs["green_coverage_before"] as! Double, accuracy: 1e-12, ours.name)
            XCTAssertEqual(ours.greenCoverageAfter, theirs["green_coverage_after"] as! Double, accuracy: 1e-12, ours.name)
            XCTAssertGreaterThan(ours.intensityAfter, ours.intensityBefore)
        }
        // The GeoPackage holds the three polygons in the proposals' CRS with their figures.
        let gpkg = try VectorDataset.open(out.appendingPathComponent("plan/evaluation.gpkg").path)
        XCTAssertEqual(try gpkg.layer(nil).featureCount, 3)
        let rows = try gpkg.attributes(layer: nil, fields: ["id", "flagged", "redline_m2"])
        XCTAssertEqual(rows.map { $0.values["id"] }, ["XM-2025-01", "XM-2025-02", "XM-2025-03"])
        XCTAssertEqual(rows.map { $0.values["flagged"] }, ["0", "1", "1"])
        // The same polygons as FlatGeobuf (issue 25 item 4), in WGS 84 (longitude first): the figures as in the
        // GeoPackage, each polygon's bounding box the GeoPackage's polygon's taken to WGS 84. The packed R-tree orders
        // the features along a Hilbert curve: compared by id.
        let fgbPath = out.appendingPathComponent("plan/evaluation.fgb").path
        let fgb = try VectorDataset.open(fgbPath)
        XCTAssertEqual(try fgb.layer(nil).featureCount, 3)
        let fgbRows = try fgb.attributes(layer: nil, fields: ["id", "flagged", "redline_m2"]).sorted { ($0.values["id"] ?? "") < ($1.values["id"] ?? "") }
        XCTAssertEqual(fgbRows.map { $0.values["id"] }, ["XM-2025-01", "XM-2025-02", "XM-2025-03"])
        XCTAssertEqual(fgbRows.map { $0.values["flagged"] }, ["0", "1", "1"])
        XCTAssertEqual(fgbRows.map { $0.values["redline_m2"] }, rows.map { $0.values["redline_m2"] })
        let wgs84 = try SpatialReference(definition: "EPSG:4326")
        func boxes(_ dataset: VectorDataset) throws -> [String: (minX: Double, minY: Double, maxX: Double, maxY: Double)] {
            let ids = Dictionary(uniqueKeysWithValues: try dataset.attributes(layer: nil, fields: ["id"]).map { ($0.fid, $0.values["id"] ?? "") })
            return Dictionary(uniqueKeysWithValues: try dataset.readAreas(layer: nil, sourceCRS: nil, target: wgs84).features.map { (ids[$0.fid] ?? "", $0.geometry.envelope) })
        }
        let inGPKG = try boxes(gpkg), inFGB = try boxes(fgb)
        XCTAssertEqual(Set(inFGB.keys), Set(inGPKG.keys))
        for (id, a) in inGPKG {
            let b = try XCTUnwrap(inFGB[id])
            XCTAssertEqual(a.minX, b.minX, accuracy: 1e-7, id)
            XCTAssertEqual(a.maxY, b.maxY, accuracy: 1e-7, id)
            XCTAssertTrue((8...9).contains(b.minX) && (50...51).contains(b.minY), "\(id) is not in longitude, latitude around Marburg: \(b)")
        }
        // The FlatGeobuf file carries its packed R-tree: GDAL's reader reports a fast spatial filter (without the
        // index it does not).
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        probe.arguments = ["-c", "import sys\nfrom osgeo import ogr\nds = ogr.Open(sys.argv[1])\nprint(ds.GetLayer().TestCapability(ogr.OLCFastSpatialFilter))", fgbPath]
        let info = Pipe()
        probe.standardOutput = info
        try probe.run()
        let text = String(decoding: info.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines), "True")
    }

    /// Two proposals for one site would share pixels, and the one burned first would silently lose the shared land:
    /// refused before any pixel is read, naming both.
    func testOverlappingProposalsAreRefusedNamingBoth() throws {
        let layer = work.appendingPathComponent("overlapping.geojson")
        func square(_ id: String, _ x: Double, _ y: Double) -> String {
            let d = 0.004
            return """
            {"type": "Feature", "properties": {"xm_id": "\(id)", "name": "site \(id)"}, "geometry": {"type": "Polygon", "coordinates":
             [[[\(x), \(y)], [\(x + d), \(y)], [\(x + d), \(y + d)], [\(x), \(y + d)], [\(x), \(y)]]]}}
            """
        }
        let features = [square("A-1", 8.764, 50.798), square("A-2", 8.770, 50.798), square("A-3", 8.772, 50.800)]
        try #"{"type": "FeatureCollection", "features": ["#.appending(features.joined(separator: ",")).appending("]}")
            .write(to: layer, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: TestPaths.repository.appendingPathComponent("pipelines/plan-evaluate.yaml").path,
                                       overrides: ["proposals": layer.path])
        let out = work.appendingPathComponent("out")
        XCTAssertThrowsError(try runner.run(plan, settings: .init(outputDirectory: out.path, memoryBudget: 256 << 20, threads: 2, blockSize: 16))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("A-2") && message.contains("A-3") && message.contains("overlap"), message)
            XCTAssertFalse(message.contains("A-1 "), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("plan/evaluation.json").path))
    }
}
