import Foundation
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// Every run writes `stac/item.json` (issue 25), a STAC 1.0.0 Item that `stac-validator` (PyPI, installed by make
/// deps) passes against the schemas of STAC and its projection, processing, classification and label extensions.
/// The validator fetches schemas by URL and there is no network here: testdata/stac-schemas/ holds them (origin in
/// its README) and each URL is mapped to its file (`-s URL FILE`), so the validation is offline and complete.
final class STACOutputTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-stac")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// `stac-validator validate FILE` with every schema mapped to testdata/stac-schemas/: (passed, output).
    static func validate(_ path: String) throws -> (valid: Bool, output: String) {
        let schemas = CLITests.root.appendingPathComponent("testdata/stac-schemas")
        let map = try String(contentsOf: schemas.appendingPathComponent("schema-map.txt"), encoding: .utf8)
        var arguments = ["stac-validator", "validate", path]
        for line in map.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            arguments += ["-s", String(parts[0]), schemas.appendingPathComponent(String(parts[1])).path]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus == 0 && text.contains("\"valid_stac\": true"), text)
    }

    func item(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("stac/item.json"))) as! [String: Any]
    }

    func testTheDemoRunWritesAValidItemWithItsRastersAsCOGAssets() throws {
        let out = work.appendingPathComponent("demo")
        let result = try CLITests.landwatch(["run", "pipelines/demo.yaml", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let verdict = try Self.validate(out.appendingPathComponent("stac/item.json").path)
        XCTAssertTrue(verdict.valid, verdict.output)
        let item = try item(out)
        let record = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("run.json")))
        XCTAssertFalse(record.outputs.contains("stac/item.json"), "the item describes the outputs, as run.json, and is not one")
        let assets = item["assets"] as! [String: [String: Any]]
        XCTAssertEqual(assets.keys.sorted(), ["ndvi.tif", "nlcd-on-scene-grid.tif", "park-boundary.tif"])
        for (_, asset) in assets {
            XCTAssertEqual(asset["type"] as? String, "image/tiff; application=geotiff; profile=cloud-optimized")
            XCTAssertEqual(asset["roles"] as? [String], ["data"])
            XCTAssertTrue((asset["href"] as! String).hasPrefix("../"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("stac").appendingPathComponent(asset["href"] as! String).path))
        }
        // The park mask carries the legend as classification:classes, value and colour.
        let classes = try XCTUnwrap(assets["park-boundary.tif"]?["classification:classes"] as? [[String: Any]])
        XCTAssertEqual(classes.first { $0["value"] as? Int == 5 }?["name"] as? String, "built-up")
        XCTAssertEqual(classes.first { $0["value"] as? Int == 5 }?["color_hint"] as? String, "D64541")
        let properties = item["properties"] as! [String: Any]
        XCTAssertEqual(properties["proj:epsg"] as? Int, 32612)
        XCTAssertEqual(properties["proj:shape"] as? [Int], [1428, 1128])
        XCTAssertEqual(properties["proj:transform"] as? [Double], [30, 0, 301905, 0, -30, 4154085])
        XCTAssertEqual(properties["landwatch:pipeline_sha256"] as? String, record.pipelineSHA256)
        XCTAssertTrue((properties["processing:lineage"] as! String).contains("demo.yaml (sha256 \(record.pipelineSHA256))"))
        XCTAssertEqual((properties["processing:software"] as? [String: String])?["GDAL"], record.gdalVersion)
        let bbox = item["bbox"] as! [Double]
        XCTAssertEqual(bbox[0], -113.24, accuracy: 0.01)
        XCTAssertEqual(bbox[3], 37.52, accuracy: 0.01)

        // The validator is not vacuous: a wrong proj:shape and a missing label field are refused.
        var broken = item
        var brokenProperties = properties
        brokenProperties["proj:shape"] = ["1428", "1128"]
        broken["properties"] = brokenProperties
        let brokenPath = work.appendingPathComponent("broken.json")
        try JSONSerialization.data(withJSONObject: broken).write(to: brokenPath)
        XCTAssertFalse(try Self.validate(brokenPath.path).valid)
        broken = item
        broken["stac_extensions"] = (item["stac_extensions"] as! [String]) + ["https://stac-extensions.github.io/label/v1.0.1/schema.json"]
        try JSONSerialization.data(withJSONObject: broken).write(to: brokenPath)
        XCTAssertFalse(try Self.validate(brokenPath.path).valid, "label: declared without its fields")
    }

    func testTheEnforcementRunsItemHasTheInputDatesClassesAndTheViolationListAsLabels() throws {
        let out = work.appendingPathComponent("enforcement")
        let result = try CLITests.landwatch(["run", "pipelines/nightly-enforcement.yaml", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let verdict = try Self.validate(out.appendingPathComponent("stac/item.json").path)
        XCTAssertTrue(verdict.valid, verdict.output)
        let item = try item(out)
        XCTAssertEqual(Set(item["stac_extensions"] as! [String]), [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json", "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
            "https://stac-extensions.github.io/classification/v1.1.0/schema.json", "https://stac-extensions.github.io/label/v1.0.1/schema.json",
        ])
        let properties = item["properties"] as! [String: Any]
        // The two Landsat acquisitions.
        XCTAssertTrue(properties["datetime"] is NSNull)
        XCTAssertEqual(properties["start_datetime"] as? String, "2001-07-30T00:00:00Z")
        XCTAssertEqual(properties["end_datetime"] as? String, "2013-07-07T00:00:00Z")
        XCTAssertEqual(properties["label:type"] as? String, "vector")
        XCTAssertEqual(properties["proj:epsg"] as? Int, 32632)
        let assets = item["assets"] as! [String: [String: Any]]
        XCTAssertEqual(assets["violations/violations.fgb"]?["type"] as? String, "application/vnd.flatgeobuf")
        XCTAssertEqual(assets["violations/violations.geojson"]?["roles"] as? [String], ["data", "labels"])
        XCTAssertEqual(assets["violations/violations.gpkg"]?["type"] as? String, "application/geopackage+sqlite3")
        XCTAssertNotNil(assets["landcover-after.tif"]?["classification:classes"])
        XCTAssertFalse(assets.keys.contains { $0.contains("/chips/") }, "chips are not assets")
    }

    func testANightlyFolderHasACollectionOfItsScenesItems() throws {
        let inbox = work.appendingPathComponent("inbox"), out = work.appendingPathComponent("nightly")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let pipeline = try NightlyTests.shortNightsPipeline(in: work)
        for (fixture, name, date) in [("before.tif", "night1", "2024-06-30"), ("after.tif", "night2", "2024-07-16")] {
            try FileManager.default.copyItem(atPath: CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path,
                                             toPath: inbox.appendingPathComponent("\(name).tif").path)
            try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(toFile: inbox.appendingPathComponent("\(name).json").path,
                                                                             atomically: true, encoding: .utf8)
        }
        let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let collectionPath = out.appendingPathComponent("stac/collection.json")
        let verdict = try Self.validate(collectionPath.path)
        XCTAssertTrue(verdict.valid, verdict.output)
        let collection = try JSONSerialization.jsonObject(with: Data(contentsOf: collectionPath)) as! [String: Any]
        let links = (collection["links"] as! [[String: Any]]).filter { $0["rel"] as? String == "item" }
        XCTAssertFalse(links.isEmpty)
        for link in links {
            let item = out.appendingPathComponent("stac").appendingPathComponent(link["href"] as! String).standardizedFileURL
            XCTAssertTrue(FileManager.default.fileExists(atPath: item.path), item.path)
            let itemVerdict = try Self.validate(item.path)
            XCTAssertTrue(itemVerdict.valid, itemVerdict.output)
        }
        let interval = ((collection["extent"] as! [String: Any])["temporal"] as! [String: Any])["interval"] as! [[String]]
        XCTAssertEqual(interval[0].count, 2)
    }
}
