import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest
import LandwatchProducts

/// Plan compliance on real imagery: changes planted into the Landsat 8 scene of 2013 (truth in
/// testdata/plan/planted.json), the real 2001 -> 2013 pair, and the scene against a disturbed copy of itself.
final class ComplianceTests: PipelineTestCase {
    static let marburg = TestPaths.repository.appendingPathComponent("testdata/marburg-landsat")
    static let l8 = "LC08_L1TP_195025_20130707_20170503_01_T1"
    static let l7MTL = marburg.appendingPathComponent("LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt").path
    static let pipeline = TestPaths.repository.appendingPathComponent("pipelines/nightly-enforcement.yaml")

    struct Planted: Decodable {
        struct Patch: Decodable {
            var name: String
            var rows: [Int]
            var cols: [Int]
            var rules: [String]
            var severity: String?
            var zone: String?
        }
        struct Pixel: Decodable { var row: Int, col: Int }
        var source_pixel: Pixel
        var patches: [Patch]
    }

    /// Copies the 2013 scene into `folder`, passing every reflective band through `edit` (band number, pixels).
    func copyScene(to folder: URL, edit: (Int, inout [Float], Int) -> Void) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for suffix in ["MTL.txt", "BQA.TIF"] {
            try FileManager.default.copyItem(at: Self.marburg.appendingPathComponent("\(Self.l8)_\(suffix)"),
                                            to: folder.appendingPathComponent("\(Self.l8)_\(suffix)"))
        }
        for band in 2...7 {
            let source = try Dataset.open(Self.marburg.appendingPathComponent("\(Self.l8)_B\(band).TIF").path)
            let target = folder.appendingPathComponent("\(Self.l8)_B\(band).TIF").path
            try source.copy(to: target, driver: "GTiff").close()
            let copy = try Dataset.openForUpdate(target)
            let window = Window(width: copy.width, height: copy.height)
            var pixels = try copy.band(1).read(window)
            edit(band, &pixels, copy.width)
            try pixels.withUnsafeBufferPointer { try copy.band(1).write(window, from: $0) }
            try copy.close()
        }
        return folder.appendingPathComponent("\(Self.l8)_MTL.txt").path
    }

    func runEnforcement(after: String, before: String = ComplianceTests.l7MTL) throws -> [[String: Any]] {
        let text = try String(contentsOf: Self.pipeline, encoding: .utf8)
        try run(text, overrides: ["before": before, "after": after,
                                  "plan": TestPaths.repository.appendingPathComponent("testdata/plan").path])
        let data = try Data(contentsOf: work.appendingPathComponent("out/violations/violations.geojson"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json["features"] as! [[String: Any]]
    }

    /// The WGS84 longitude and latitude of a pixel centre of the Marburg grid.
    func lonLat(row: Double, col: Double) throws -> (Double, Double) {
        let transform = try CoordinateTransformation(from: SpatialReference(definition: "EPSG:32632"), to: .wgs84())
        let point = try transform.transform(x: 483285 + 30 * (col + 0.5), y: 5628525 - 30 * (row + 0.5))
        return (point.x, point.y)
    }

    func feature(containing point: (Double, Double), in features: [[String: Any]]) -> [String: Any]? {
        features.first { feature in
            let p = feature["properties"] as! [String: Any]
            return (p["west"] as! Double) <= point.0 && point.0 <= (p["east"] as! Double)
                && (p["south"] as! Double) <= point.1 && point.1 <= (p["north"] as! Double)
        }
    }

    func testPlantedConstructionIsFoundWithEveryRuleItBreaks() throws {
        let truth = try JSONDecoder().decode(Planted.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted.json")))
        let mtl = try copyScene(to: work.appendingPathComponent("planted")) { _, pixels, width in
            let roof = pixels[truth.source_pixel.row * width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * width + col] = roof } }
            }
        }
        // Against the same scene unplanted: a real 2001 -> 2013 pair of two sensors changes more between the dates than
        // a mixed village pixel differs from the fields it is planted on, and the change evidence rightly says so
        // (testRealPairGivesAShortList).
        let features = try runEnforcement(after: mtl, before: Self.marburg.appendingPathComponent("\(Self.l8)_MTL.txt").path)
        for patch in truth.patches {
            let centre = try lonLat(row: Double(patch.rows[0] + patch.rows[1] - 1) / 2, col: Double(patch.cols[0] + patch.cols[1] - 1) / 2)
            let found = feature(containing: centre, in: features)
            if patch.rules.isEmpty {
                XCTAssertNil(found, "\(patch.name): must not be reported, found \(found?["properties"] ?? "")")
                continue
            }
            guard let found, let properties = found["properties"] as? [String: Any] else {
                XCTFail("\(patch.name): not found among \(features.count) patches"); continue
            }
            XCTAssertEqual(Set((properties["rules"] as! String).split(separator: ";").map(String.init)), Set(patch.rules), patch.name)
            XCTAssertEqual(properties["severity"] as? String, patch.severity, patch.name)
            let pixels = (patch.rows[1] - patch.rows[0]) * (patch.cols[1] - patch.cols[0])
            XCTAssertEqual(properties["pixels"] as? Int, pixels, patch.name)
            XCTAssertEqual(properties["area_m2"] as? Double, Double(pixels * 900), patch.name)
            XCTAssertEqual(properties["area_mu"] as! Double, Double(pixels * 900) / 666.6667, accuracy: 0.01, patch.name)
            XCTAssertTrue((properties["zones"] as! String).contains(patch.zone!), "\(patch.name): zones \(properties["zones"]!)")
            XCTAssertEqual(properties["after_class"] as? String, "built-up")
            XCTAssertEqual(properties["before_date"] as? String, "2013-07-07")
            XCTAssertGreaterThanOrEqual(properties["score"] as! Int, 50, "\(patch.name): at or over the evidence threshold")
            XCTAssertGreaterThanOrEqual(properties["evidence"] as! Double, 4, patch.name)
            XCTAssertEqual(properties["after_date"] as? String, "2013-07-07")
            // The navigation point lies inside the patch: within its bounding box, and inside the planted pixels.
            let lon = properties["lon"] as! Double, lat = properties["lat"] as! Double
            XCTAssertTrue((properties["west"] as! Double) <= lon && lon <= (properties["east"] as! Double), patch.name)
            XCTAssertTrue((properties["south"] as! Double) <= lat && lat <= (properties["north"] as! Double), patch.name)
            // Chips exist and are PNG.
            let chip = work.appendingPathComponent("out/violations").appendingPathComponent(properties["chip_after"] as! String)
            XCTAssertEqual(try Data(contentsOf: chip).prefix(4), Data([0x89, 0x50, 0x4E, 0x47]), patch.name)
        }
        // Nothing else: the rest of the scene is the same image.
        XCTAssertEqual(features.count, truth.patches.filter { !$0.rules.isEmpty }.count)
        let ranks = features.map { ($0["properties"] as! [String: Any])["rank"] as! Int }
        XCTAssertEqual(ranks, Array(1...features.count))
        let severities = features.map { ($0["properties"] as! [String: Any])["severity"] as! String }
        XCTAssertEqual(severities.firstIndex(of: "medium"), severities.count - 1, "sorted by severity: \(severities)")
        try checkFormats(count: features.count)
    }

    /// GeoJSON per RFC 7946 (lon/lat, exterior rings counter-clockwise), GeoPackage and KML readable by GDAL, CSV
    /// with a byte-order mark that Python's csv module reads.
    func checkFormats(count: Int) throws {
        let folder = work.appendingPathComponent("out/violations")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("violations.geojson"))) as! [String: Any]
        XCTAssertNil(json["crs"], "RFC 7946 GeoJSON carries no crs member")
        for feature in json["features"] as! [[String: Any]] {
            let geometry = feature["geometry"] as! [String: Any]
            let polygons: [[[[Double]]]]
            switch geometry["type"] as? String {
            case "Polygon": polygons = [geometry["coordinates"] as! [[[Double]]]]
            case "MultiPolygon": polygons = geometry["coordinates"] as! [[[[Double]]]]
            default: XCTFail("not a polygon: \(geometry["type"] ?? "")"); continue
            }
            for polygon in polygons {
                for (index, ring) in polygon.enumerated() {
                    XCTAssertTrue(ring.allSatisfy { (8.5...9.0).contains($0[0]) && (50.5...51.0).contains($0[1]) }, "lon, lat order near Marburg")
                    var area = 0.0
                    for i in 0..<(ring.count - 1) { area += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] }
                    if index == 0 { XCTAssertGreaterThan(area, 0, "exterior ring counter-clockwise") } else { XCTAssertLessThan(area, 0, "holes clockwise") }
                }
            }
        }
        let gpkg = try VectorDataset.open(folder.appendingPathComponent("violations.gpkg").path)
        XCTAssertEqual(try gpkg.layer(nil).featureCount, count)
        XCTAssertTrue(try gpkg.layer(nil).crsWKT.contains("4490"), "the GeoPackage is in the plan's CRS (the red line's CGCS2000)")
        let kml = try VectorDataset.open(folder.appendingPathComponent("violations.kml").path)
        XCTAssertEqual(try kml.layer(nil).featureCount, count)
        let csv = try Data(contentsOf: folder.appendingPathComponent("violations.csv"))
        XCTAssertEqual(Array(csv.prefix(3)), [0xEF, 0xBB, 0xBF])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", "import csv,sys; rows=list(csv.DictReader(open(sys.argv[1], encoding='utf-8-sig'))); "
                                 + "assert all(r['id'].startswith('LW-') and float(r['lon']) > 8 for r in rows); print(len(rows))",
                                 folder.appendingPathComponent("violations.csv").path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            XCTAssertEqual(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), String(count))
        }
    }

    func testRealPairGivesAShortList() throws {
        let features = try runEnforcement(after: Self.marburg.appendingPathComponent("\(Self.l8)_MTL.txt").path)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/violations/summary.json"))) as! [String: Any]
        // 41 x 41 pixels of 30 m (1.5 km²): a handful of changed regions, none of 4 pixels.
        XCTAssertLessThanOrEqual(features.count, 2)
        XCTAssertEqual(summary["violations"] as? Int, features.count)
        XCTAssertGreaterThan(summary["patches_of_change"] as! Int, 0, "the pair does change a little")
    }

    func testSceneAgainstADisturbedCopyOfItselfGivesAnEmptyList() throws {
        // Gain of 6 %, noise of about 1 %, a one-pixel shift east, and a cloud (fill) over a corner.
        var generator = SystemRandomNumberGenerator()
        let mtl = try copyScene(to: work.appendingPathComponent("disturbed")) { _, pixels, width in
            let height = pixels.count / width
            var shifted = pixels
            for row in 0..<height {
                for col in 0..<width {
                    let source = pixels[row * width + max(col - 1, 0)]
                    let noise = Float.random(in: -0.01...0.01, using: &generator)
                    shifted[row * width + col] = (source * 1.06 * (1 + noise)).rounded()
                    if row < 12 && col > 28 { shifted[row * width + col] = 0 }
                }
            }
            pixels = shifted
        }
        let features = try runEnforcement(after: mtl, before: Self.marburg.appendingPathComponent("\(Self.l8)_MTL.txt").path)
        XCTAssertEqual(features.count, 0, "\(features.map { $0["properties"]! })")
    }
}

/// The Sentinel-2 series over Slovenia: a trained model classifies both dates; before is the earlier date or the
/// land-use registry's polygons.
final class SentinelComplianceTests: PipelineTestCase {
    static let data = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2")

    struct Truth: Decodable {
        struct Area: Decodable { var rows: [Int], cols: [Int] }
        struct Patch: Decodable { var name: String, rows: [Int], cols: [Int], rules: [String], severity: String? }
        var source_pixel: ComplianceTests.Planted.Pixel
        var redline: Area
        var approvals: Area
        var patches: [Patch]
    }

    func plant(_ truth: Truth) throws -> String {
        let path = work.appendingPathComponent("S2L1C_20150830_planted.tif").path
        try Dataset.open(Self.data.appendingPathComponent("S2L1C_20150830_13band.tif").path).copy(to: path, driver: "GTiff").close()
        let copy = try Dataset.openForUpdate(path)
        let window = Window(width: copy.width, height: copy.height)
        for band in 1...copy.bandCount {
            var pixels = try copy.band(band).read(window)
            let roof = pixels[truth.source_pixel.row * copy.width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * copy.width + col] = roof } }
            }
            try pixels.withUnsafeBufferPointer { try copy.band(band).write(window, from: $0) }
        }
        try copy.close()
        return path
    }

    /// A rectangle of pixels of the Sentinel-2 grid as a one-feature layer in `crs`.
    func layer(_ area: Truth.Area, crs: String, name: String) throws -> String {
        let grid = try Dataset.open(Self.data.appendingPathComponent("S2L1C_20150830_13band.tif").path).grid()
        let t = grid.geoTransform
        let x0 = t.originX + t.pixelWidth * Double(area.cols[0]), x1 = t.originX + t.pixelWidth * Double(area.cols[1])
        let y0 = t.originY + t.pixelHeight * Double(area.rows[1]), y1 = t.originY + t.pixelHeight * Double(area.rows[0])
        let target = try SpatialReference(definition: crs)
        let transform = try CoordinateTransformation(from: SpatialReference(definition: "EPSG:32633"), to: target)
        let corners = try [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].map { try transform.transform(x: $0.0, y: $0.1) }
        let path = work.appendingPathComponent(name).path
        let writer = try VectorWriter(path: path, driver: "GeoJSON", layer: name, crs: target, geometry: .polygon, fields: [("name", .string)])
        try writer.add(Geometry(wkt: "POLYGON ((" + corners.map { "\($0.x) \($0.y)" }.joined(separator: ", ") + "))"), values: ["name": .string(name)])
        try writer.close()
        return path
    }

    func pipeline(after: String, compareWith: String, redline: String, approvals: String) -> String {
        let d = Self.data.path
        return """
            version: 1
            grid: {like: before-scene}
            stages:
              - id: before-scene
                uses: read.scene
                with: {path: "\(d)/S2L1C_20150711_13band.tif", bands: {blue: 2, green: 3, red: 4, nir: 8, swir1: 12}, date: 2015-07-11}
              - id: after-scene
                uses: read.scene
                with: {path: "\(after)", bands: {blue: 2, green: 3, red: 4, nir: 8, swir1: 12}, date: 2015-08-30}
              - id: reference
                uses: read.scene
                with: {bands: {lulc: "\(d)/LULC_reference.tif"}, resampling: nearest}
              - id: train
                uses: classify.train
                inputs: {scene: before-scene, reference: reference}
                with: {features: "blue,green,red,nir,swir1", reference_map: {1: 1, 2: 2, 3: 3, 4: 3, 8: 5}, holdout_block: 20, min_samples: 5}
              - {id: after-normalised, uses: normalize.relative, inputs: {reference: before-scene, subject: after-scene}}
              - {id: before, uses: classify.model, inputs: {scene: before-scene, model: train}}
              - {id: after, uses: classify.model, inputs: {scene: after-normalised, model: train}}
              - id: landuse
                uses: read.plan
                with: {role: landuse, path: "\(d)/landuse_polygons.gpkg", id_field: RABA_ID, name_field: LULC_NAME, code_field: LULC_ID,
                       codes: {"0": none, "1": cropland, "2": forest, "3": grassland, "4": grassland, "8": built-up}}
              - {id: redline, uses: read.plan, with: {role: redline, path: "\(redline)", name_field: name}}
              - {id: approvals, uses: read.plan, with: {role: approvals, path: "\(approvals)", name_field: name}}
              - id: changes
                uses: compliance.diff
                inputs: {before: before, after: after, landuse: landuse, redline: redline, approvals: approvals,
                         before_image: before-scene, after_image: after-normalised}
                with: {compare_with: \(compareWith), min_confidence: 50}   # calibrated: the share of held-out pixels right
              - id: violations
                uses: write.violations
                inputs: {changes: changes, before_image: before-scene, after_image: after-scene}
                with: {formats: [geojson, csv]}
            """
    }

    func features() throws -> [[String: Any]] {
        let data = try Data(contentsOf: work.appendingPathComponent("out/violations/violations.geojson"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["features"] as! [[String: Any]]
    }

    func centre(_ rows: [Int], _ cols: [Int]) throws -> (Double, Double) {
        let t = try Dataset.open(Self.data.appendingPathComponent("S2L1C_20150830_13band.tif").path).grid().geoTransform
        let x = t.originX + t.pixelWidth * (Double(cols[0] + cols[1]) / 2), y = t.originY + t.pixelHeight * (Double(rows[0] + rows[1]) / 2)
        let point = try CoordinateTransformation(from: SpatialReference(definition: "EPSG:32633"), to: .wgs84()).transform(x: x, y: y)
        return (point.x, point.y)
    }

    func check(_ truth: Truth, against features: [[String: Any]], file: StaticString = #filePath, line: UInt = #line) throws {
        for patch in truth.patches {
            let point = try centre(patch.rows, patch.cols)
            let found = features.first { feature in
                let p = feature["properties"] as! [String: Any]
                return (p["west"] as! Double) <= point.0 && point.0 <= (p["east"] as! Double)
                    && (p["south"] as! Double) <= point.1 && point.1 <= (p["north"] as! Double)
            }
            guard !patch.rules.isEmpty else {
                XCTAssertNil(found, "\(patch.name) must not be reported", file: file, line: line)
                continue
            }
            guard let properties = found?["properties"] as? [String: Any] else {
                XCTFail("\(patch.name): not found among \(features.count) patches", file: file, line: line); continue
            }
            XCTAssertEqual(Set((properties["rules"] as! String).split(separator: ";").map(String.init)), Set(patch.rules), patch.name, file: file, line: line)
            XCTAssertEqual(properties["severity"] as? String, patch.severity, patch.name, file: file, line: line)
            XCTAssertGreaterThanOrEqual(properties["pixels"] as! Int, (patch.rows[1] - patch.rows[0]) * (patch.cols[1] - patch.cols[0]), patch.name,
                                        file: file, line: line)
        }
    }

    func testPlantedChangesAgainstTheEarlierDateAndAgainstTheLandUseRegistry() throws {
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted-slovenia.json")))
        let after = try plant(truth)
        let redline = try layer(truth.redline, crs: "EPSG:4490", name: "redline.geojson")
        let approvals = try layer(truth.approvals, crs: "EPSG:32633", name: "approvals.geojson")
        try run(pipeline(after: after, compareWith: "before", redline: redline, approvals: approvals))
        let byImage = try features()
        try check(truth, against: byImage)
        XCTAssertEqual((byImage.first!["properties"] as! [String: Any])["before_date"] as? String, "2015-07-11")
        // The registry as the legal before state: the same planted patches, plus whatever the registry and the
        // classification disagree on.
        try run(pipeline(after: after, compareWith: "landuse", redline: redline, approvals: approvals), out: "out")
        let byRegistry = try features()
        try check(truth, against: byRegistry)
        // No date for the survey: before_date is empty (null), before_source names the survey.
        let registryRow = byRegistry.first!["properties"] as! [String: Any]
        XCTAssertTrue(registryRow["before_date"] == nil || registryRow["before_date"] is NSNull, "\(registryRow["before_date"] ?? "")")
        XCTAssertEqual(registryRow["before_source"] as? String, "land-use survey")
        XCTAssertEqual((byImage.first!["properties"] as! [String: Any])["before_source"] as? String, "classification")
    }

    func testTwoRealDatesOfOneSeasonGiveAShortList() throws {
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted-slovenia.json")))
        let redline = try layer(truth.redline, crs: "EPSG:4490", name: "redline.geojson")
        let approvals = try layer(truth.approvals, crs: "EPSG:32633", name: "approvals.geojson")
        try run(pipeline(after: Self.data.appendingPathComponent("S2L1C_20150830_13band.tif").path, compareWith: "before",
                         redline: redline, approvals: approvals))
        // 1 km² of forest and a village edge, seven weeks apart: a few patches at most.
        let found = try features()
        XCTAssertLessThanOrEqual(found.count, 5, "\(found.map { $0["properties"]! })")
    }
}

extension ComplianceTests {
    func testIndexChangeThresholdKeepsOnlyChangesThatMovedTheIndex() throws {
        let truth = try JSONDecoder().decode(Planted.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted.json")))
        let mtl = try copyScene(to: work.appendingPathComponent("planted")) { _, pixels, width in
            let roof = pixels[truth.source_pixel.row * width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * width + col] = roof } }
            }
        }
        func count(minimum: Double) throws -> Int {
            try run("""
                version: 1
                grid: {like: a}
                stages:
                  - {id: b, uses: read.landsat, with: {mtl: "\(Self.l7MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
                  - {id: a, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
                  - {id: cb, uses: classify.rules, inputs: [b]}
                  - {id: ca, uses: classify.rules, inputs: [a]}
                  - {id: nb, uses: index.ndvi, inputs: [b]}
                  - {id: na, uses: index.ndvi, inputs: [a]}
                  - id: changes
                    uses: compliance.diff
                    inputs: {before: cb, after: ca, before_index: nb, after_index: na}
                    with: {min_index_change: \(minimum)}
                  - {id: v, uses: write.violations, inputs: {changes: changes}, with: {formats: [csv]}}
                """, out: "out-\(minimum)")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out-\(minimum)/violations/summary.json"))) as! [String: Any]
            return summary["violations"] as! Int
        }
        // Roofs bring top-of-atmosphere NDVI to 0.24 from 0.31-0.71 before: at 0.05 every planted patch of 4+
        // pixels counts (no approvals layer here); at 0.4 only the patch on the densest forest (0.68-0.71 before,
        // the one planted inside the approval) keeps 4 pixels; nothing moves NDVI by 1.5.
        XCTAssertEqual(try count(minimum: 0.05), truth.patches.filter { $0.rules.count > 0 }.count + 1)
        XCTAssertEqual(try count(minimum: 0.4), 1)
        XCTAssertEqual(try count(minimum: 1.5), 0)
    }

    /// The report's list of patches comes from the typed violations.json, which write.violations always writes: a
    /// list written without its GeoJSON format still shows its patches (the report parsed the GeoJSON before, and
    /// said 'none found' without it).
    func testTheReportListsThePatchesOfAListWrittenWithoutGeoJSON() throws {
        let truth = try JSONDecoder().decode(Planted.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted.json")))
        let mtl = try copyScene(to: work.appendingPathComponent("planted")) { _, pixels, width in
            let roof = pixels[truth.source_pixel.row * width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * width + col] = roof } }
            }
        }
        try run("""
            version: 1
            grid: {like: a}
            stages:
              - {id: b, uses: read.landsat, with: {mtl: "\(Self.l7MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
              - {id: a, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
              - {id: cb, uses: classify.rules, inputs: [b]}
              - {id: ca, uses: classify.rules, inputs: [a]}
              - {id: nb, uses: index.ndvi, inputs: [b]}
              - {id: na, uses: index.ndvi, inputs: [a]}
              - id: changes
                uses: compliance.diff
                inputs: {before: cb, after: ca, before_index: nb, after_index: na}
                with: {min_index_change: 0.05}
              - {id: v, uses: write.violations, inputs: {changes: changes}, with: {formats: [csv]}}
              - {id: wa, uses: write.raster, inputs: [ca], with: {path: after.tif, type: Byte, nodata: 0}}
              - {id: report, uses: report.html}
            """)
        let out = work.appendingPathComponent("out")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("violations/violations.geojson").path))
        let list = try ViolationList.read(out.appendingPathComponent("violations/violations.json"))
        XCTAssertEqual(list.violations.count, truth.patches.filter { $0.rules.count > 0 }.count + 1)
        let markdown = try String(contentsOf: out.appendingPathComponent("report/report.md"), encoding: .utf8)
        XCTAssertFalse(markdown.contains("No violation was found."), markdown)
        for entry in list.violations {
            XCTAssertTrue(markdown.contains("| \(entry.rank) | \(entry.id) | \(String(format: "%.0f", entry.area_m2)) |"), "\(entry.id) not in the report")
        }
    }
}

extension SentinelComplianceTests {
    /// An approvals layer without a feature is a period with no approval: a warning in the log and run.json, every
    /// change unapproved; not a failed run.
    func testAnApprovalsLayerWithNoFeatureIsNoApprovalThisPeriod() throws {
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted-slovenia.json")))
        let after = try plant(truth)
        let redline = try layer(truth.redline, crs: "EPSG:4490", name: "redline.geojson")
        let approvals = try layer(truth.approvals, crs: "EPSG:32633", name: "approvals.geojson")
        try run(pipeline(after: after, compareWith: "before", redline: redline, approvals: approvals))
        let approved = try features().count
        let empty = work.appendingPathComponent("no-approvals.geojson")
        try Data(#"{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}, "features": []}"#.utf8).write(to: empty)
        try run(pipeline(after: after, compareWith: "before", redline: redline, approvals: empty.path), out: "out")
        XCTAssertGreaterThanOrEqual(try features().count, approved, "nothing approved: at least the patches listed with the approvals")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/run.json"))) as! [String: Any]
        let stage = try XCTUnwrap((record["stages"] as! [[String: Any]]).first { $0["id"] as? String == "approvals" })
        let notes = ((stage["findings"] as? [String: Any])?["notes"] as? [String]) ?? []
        XCTAssertTrue(notes.contains { $0.contains("no approvals this period") }, "\(stage)")
    }
}
