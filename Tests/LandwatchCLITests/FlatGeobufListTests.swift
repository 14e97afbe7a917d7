import Foundation
import LandwatchGDAL
import XCTest
import LandwatchTestSupport

/// The violation list as FlatGeobuf (issue 25), read as QGIS and web maps read it: over HTTP with range requests
/// (GDAL's `/vsicurl/` against the loopback server of RemoteInputTests), the whole layer and a bounding box at a time
/// through the file's spatial index. The list comes from the shipped enforcement pipeline on the real 2013 Marburg
/// scene against a copy with construction planted into it (testdata/plan/plant.py).
final class FlatGeobufListTests: XCTestCase {
    var work: URL!
    var server: Process?

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-fgb")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(at: work)
    }

    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Serves `folder` over HTTP; the `/vsicurl/` base URL.
    func serve(_ folder: URL) throws -> String {
        let (process, base) = try RangeServer.start(serving: folder)
        server = process
        return base
    }

    func testTheFlatGeobufListReadsOverHTTPWholeAndByBoundingBox() throws {
        let planted = work.appendingPathComponent("planted")
        let plant = try Self.python([CLITests.root.appendingPathComponent("testdata/plan/plant.py").path, planted.path])
        XCTAssertEqual(plant.status, 0, plant.output)
        let scene = "LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt"
        let out = work.appendingPathComponent("out")
        let run = try CLITests.landwatch(["run", "pipelines/nightly-enforcement.yaml", "--out", out.path,
                                          "--set", "before=../testdata/marburg-landsat/\(scene)",
                                          "--set", "after=\(planted.appendingPathComponent(scene).path)", "--allow-read", planted.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let folder = out.appendingPathComponent("violations")
        let geojson = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("violations.geojson"))) as! [String: Any]
        let features = geojson["features"] as! [[String: Any]]
        let ids = features.map { ($0["properties"] as! [String: Any])["id"] as! String }
        XCTAssertGreaterThanOrEqual(ids.count, 3, "the planted patches are listed")

        let base = try serve(folder)
        let remote = "\(base)/violations.fgb"
        // The whole layer, in WGS 84, the same features and columns as the GeoJSON (in the order of the packed
        // R-tree, not by rank: the rank column says it).
        let list = try VectorDataset.open(remote)
        let layer = try list.layer(nil)
        XCTAssertEqual(layer.featureCount, ids.count)
        XCTAssertTrue(layer.crsWKT.contains("\"WGS 84\""), layer.crsWKT)
        let properties = features[0]["properties"] as! [String: Any]
        XCTAssertEqual(Set(layer.fieldNames), Set(properties.keys))
        let rows = try list.attributes(layer: nil, fields: ["id", "rank"])
        XCTAssertEqual(rows.compactMap { $0.values["id"] }.sorted(), ids.sorted())
        XCTAssertEqual(rows.sorted { Int($0.values["rank"] ?? "") ?? 0 < Int($1.values["rank"] ?? "") ?? 0 }.compactMap { $0.values["id"] }, ids)

        // A map view's bounding box: OGR's spatial filter through the packed R-tree gives the patches inside it,
        // and GDAL says the layer has the fast spatial filter (the index) over HTTP.
        let check = """
            import json, sys
            from osgeo import ogr
            ogr.UseExceptions()
            dataset = ogr.Open(sys.argv[1])
            layer = dataset.GetLayer(0)
            assert layer.TestCapability(ogr.OLCFastSpatialFilter), "no spatial index"
            boxes = json.loads(sys.argv[2])
            for fid_box in boxes:
                west, south, east, north = fid_box["box"]
                layer.SetSpatialFilterRect(west, south, east, north)
                found = [f.GetField("id") for f in layer]
                assert fid_box["id"] in found, (fid_box["id"], found)
                assert len(found) < len(boxes) or len(boxes) == 1, found
            layer.SetSpatialFilterRect(0, 0, 1, 1)
            assert layer.GetFeatureCount() == 0
            print("ok", len(boxes))
            """
        let boxes = features.map { feature -> [String: Any] in
            let p = feature["properties"] as! [String: Any]
            return ["id": p["id"] as! String, "box": [p["west"] as! Double, p["south"] as! Double, p["east"] as! Double, p["north"] as! Double]]
        }
        let boxText = String(decoding: try JSONSerialization.data(withJSONObject: boxes), as: UTF8.self)
        let result = try Self.python(["-c", check, remote, boxText])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.hasPrefix("ok \(ids.count)"), result.output)
    }
}
