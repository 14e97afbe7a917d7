import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import XCTest

/// Issue 23: what an inspector takes to the site. A multi-patch list of the real Marburg Landsat 8 scene with the
/// changes of testdata/plan/planted.json planted into it (5 reported patches of 4 to 9 pixels, checked against the
/// example plan in CGCS2000), run through pipelines/nightly-enforcement.yaml.
final class FieldPackTests: PipelineTestCase {
    /// Runs the planted enforcement pair into `work/out` and returns the list's folder.
    func plantedList() throws -> URL {
        let compliance = ComplianceTests(name: "helper", testClosure: { _ in })
        compliance.work = work
        let truth = try JSONDecoder().decode(ComplianceTests.Planted.self,
                                             from: Data(contentsOf: EngineTests.root.appendingPathComponent("testdata/plan/planted.json")))
        let mtl = try compliance.copyScene(to: work.appendingPathComponent("planted")) { _, pixels, width in
            let roof = pixels[truth.source_pixel.row * width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * width + col] = roof } }
            }
        }
        let features = try compliance.runEnforcement(
            after: mtl, before: ComplianceTests.marburg.appendingPathComponent("\(ComplianceTests.l8)_MTL.txt").path)
        XCTAssertEqual(features.count, truth.patches.filter { !$0.rules.isEmpty }.count, "the planted list")
        return work.appendingPathComponent("out/violations")
    }

    /// Even-odd point in polygon over every ring (exterior rings and holes of each part).
    static func inside(_ point: (x: Double, y: Double), _ rings: [[(x: Double, y: Double)]]) -> Bool {
        var crossings = 0
        for ring in rings {
            for i in 0..<(ring.count - 1) {
                let a = ring[i], b = ring[i + 1]
                if (a.y > point.y) != (b.y > point.y) {
                    let x = a.x + (point.y - a.y) / (b.y - a.y) * (b.x - a.x)
                    if point.x < x { crossings += 1 }
                }
            }
        }
        return crossings % 2 == 1
    }

    /// Item 3: every navigation point lies inside its own patch, in WGS84 (the GeoJSON's outline and lat/lon), in
    /// GCJ-02 (the outline's vertices shifted by the same formula; the shift varies by under 1e-6 degree over a
    /// patch, far less than its pixels) and in the plan CRS (the GeoPackage's outline and plan_x/plan_y); plan
    /// coordinates carry the precision of the plan CRS's unit (degrees of CGCS2000 here: 7 decimals).
    func testEveryNavigationPointLiesInsideItsOwnPatchInWGS84GCJ02AndThePlanCRS() throws {
        let folder = try plantedList()
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("violations.geojson"))) as! [String: Any]
        let features = json["features"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(features.count, 5)
        var wgs84: [String: (lat: Double, lon: Double)] = [:]
        for feature in features {
            let p = feature["properties"] as! [String: Any]
            let id = p["id"] as! String
            let lat = p["lat"] as! Double, lon = p["lon"] as! Double
            wgs84[id] = (lat, lon)
            let outline = try Geometry(geoJSON: String(decoding: try JSONSerialization.data(withJSONObject: feature["geometry"]!), as: UTF8.self))
            XCTAssertTrue(Self.inside((lon, lat), outline.allRings), "\(id): \(lat), \(lon) outside its WGS84 outline")
            let gcjLat = p["gcj02_lat"] as! Double, gcjLon = p["gcj02_lon"] as! Double
            let expected = Navigation.gcj02(longitude: lon, latitude: lat)
            XCTAssertEqual(gcjLat, expected.latitude, accuracy: 1e-7, id)
            XCTAssertEqual(gcjLon, expected.longitude, accuracy: 1e-7, id)
            let shifted = outline.allRings.map { ring in ring.map { vertex -> (x: Double, y: Double) in
                let g = Navigation.gcj02(longitude: vertex.x, latitude: vertex.y)
                return (g.longitude, g.latitude)
            } }
            XCTAssertTrue(Self.inside((gcjLon, gcjLat), shifted), "\(id): GCJ-02 \(gcjLat), \(gcjLon) outside its GCJ-02 outline")
        }
        // The plan CRS: the GeoPackage's outlines and plan_x / plan_y.
        let gpkg = try VectorDataset.open(folder.appendingPathComponent("violations.gpkg").path)
        let planSRS = try XCTUnwrap(gpkg.spatialReference(layer: nil))
        XCTAssertTrue(planSRS.isGeographic, "the example plan's CRS is CGCS2000 geographic (EPSG:4490)")
        let outlines = Dictionary(uniqueKeysWithValues: try gpkg.readAreas(layer: nil, sourceCRS: nil, target: planSRS).features.map { ($0.fid, $0.geometry) })
        let rows = try gpkg.attributes(layer: nil, fields: ["id", "plan_x", "plan_y"])
        XCTAssertEqual(rows.count, features.count)
        let toPlan = try CoordinateTransformation(from: .wgs84(), to: planSRS)
        for row in rows {
            let id = row.values["id"]!
            let x = try XCTUnwrap(Double(row.values["plan_x"] ?? "")), y = try XCTUnwrap(Double(row.values["plan_y"] ?? ""))
            let outline = try XCTUnwrap(outlines[row.fid])
            XCTAssertTrue(Self.inside((x, y), outline.allRings), "\(id): plan \(x), \(y) outside its outline in the plan CRS")
            // Degrees to 1e-7 (about 1 cm): the WGS84 point taken to the plan CRS lands within 2e-7 of plan_x/plan_y.
            let point = try XCTUnwrap(wgs84[id])
            let expected = try toPlan.transform(x: point.lon, y: point.lat)
            XCTAssertEqual(x, expected.x, accuracy: 2e-7, id)
            XCTAssertEqual(y, expected.y, accuracy: 2e-7, id)
            XCTAssertNotEqual((x * 1000).rounded() / 1000, x, "\(id): plan_x has more than 3 decimals in degrees")
        }
        // People read "lat, lon": the CSV says which column is which, latitude first.
        let csv = String(decoding: try Data(contentsOf: folder.appendingPathComponent("violations.csv")), as: UTF8.self)
        let header = csv.split(separator: "\r\n").first!.split(separator: ",").map(String.init)
        let lat = try XCTUnwrap(header.firstIndex(of: "lat")), lon = try XCTUnwrap(header.firstIndex(of: "lon"))
        let gcjLat = try XCTUnwrap(header.firstIndex(of: "gcj02_lat")), gcjLon = try XCTUnwrap(header.firstIndex(of: "gcj02_lon"))
        XCTAssertEqual(lon, lat + 1)
        XCTAssertEqual(gcjLon, gcjLat + 1)
    }
}
