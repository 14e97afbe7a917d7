import Foundation
import LandwatchGDAL
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

/// STAC as an input (issue 25 item 1), end to end: `nightly --stac` fed by a static ItemCollection and by a fake STAC
/// API (Remote/stac_api.py, which serves files with range requests as range_server.py does) describing the real
/// Marburg scenes of testdata/nightly, and `read.stac` against `read.scene` on the real Landsat 8 and Sentinel-2 files.
final class STACInputTests: XCTestCase {
    var work: URL!
    var served: URL { work.appendingPathComponent("served") }
    var out: URL { work.appendingPathComponent("out") }
    var server: Process?
    /// `http://127.0.0.1:PORT`, the server's root (`served`).
    var url = ""
    /// The shipped nightly-stac.yaml with short nights; `lightPipeline` is the same without its report stage (the
    /// HTML report is most of a night's time and no test here but the comparison with the inbox needs it).
    var pipeline: URL!
    var lightPipeline: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-stac-input")
        for folder in ["api", "scenes", "catalog", "stac"] {
            try FileManager.default.createDirectory(at: served.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let started = try RangeServer.start(serving: served, script: "stac_api.py")
        server = started.process
        url = String(started.base.dropFirst("/vsicurl/".count))
        let folder = work.appendingPathComponent("pipeline")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        pipeline = try NightlyTests.shortNightsPipeline(in: folder, shipped: "nightly-stac.yaml")
        let text = try String(contentsOf: pipeline, encoding: .utf8)
        let report = try XCTUnwrap(text.range(of: "\n  - id: report\n"), "the report is the last stage of nightly-stac.yaml")
        lightPipeline = folder.appendingPathComponent("nightly-light.yaml")
        try String(text[..<report.lowerBound]).appending("\n").write(to: lightPipeline, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(at: work)
    }

    // MARK: - Fixtures

    /// Puts a night's scene on the server at `FOLDER/NAME.tif` (scenes/): a fixture of testdata/nightly (re-encoded when
    /// `distinct`, so that its bytes differ).
    func upload(_ fixture: String, as name: String, distinct: Bool = false, folder: String = "scenes") throws {
        let target = served.appendingPathComponent("\(folder)/\(name).tif").path
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try copy(fixture, to: target, distinct: distinct)
    }

    /// Copies a fixture of testdata/nightly to `target`, re-encoded when `distinct` (the same pixels, other bytes).
    func copy(_ fixture: String, to target: String, distinct: Bool) throws {
        let source = CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path
        if distinct {
            try Dataset.open(source).copy(to: target, driver: "GTiff").close()
            unlink(target + ".aux.xml")
        } else {
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
    }

    /// An Item of the shipped fixture (testdata/stac-items: one 6-band asset `reflectance`, eo:bands common names,
    /// the Marburg footprint) with another id, date and asset href.
    func stackItem(_ id: String, date: String, href: String) throws -> [String: Any] {
        let fixture = CLITests.root.appendingPathComponent("testdata/stac-items/marburg-20130707-after.json")
        var item = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
        item["id"] = id
        var properties = try XCTUnwrap(item["properties"] as? [String: Any])
        properties["datetime"] = "\(date)T10:20:00Z"
        item["properties"] = properties
        var assets = try XCTUnwrap(item["assets"] as? [String: [String: Any]])
        assets["reflectance"]?["href"] = href
        item["assets"] = assets
        return item
    }

    /// Writes `items` as a static ItemCollection at `catalog/items.json` on the server; its URL.
    @discardableResult
    func publish(_ items: [[String: Any]]) throws -> String {
        let collection: [String: Any] = ["type": "FeatureCollection", "features": items]
        try JSONSerialization.data(withJSONObject: collection, options: [.prettyPrinted]).write(to: served.appendingPathComponent("catalog/items.json"))
        return url + "/catalog/items.json"
    }

    /// What the fake API's /search finds tonight: `items`, paged by the request's limit; `status` answers pages (by
    /// number) with an HTTP status; `forever` gives every page a next link.
    func search(_ items: [[String: Any]], status: [String: Int] = [:], forever: Bool = false) throws {
        let config: [String: Any] = ["items": items, "status": status, "forever": forever]
        try JSONSerialization.data(withJSONObject: config).write(to: served.appendingPathComponent("api/search.json"))
    }

    /// The /search requests the fake API got (`GET /search?…`), HEAD requests left out.
    func searchRequests() throws -> [String] {
        let log = served.appendingPathComponent("api/requests.log")
        guard FileManager.default.fileExists(atPath: log.path) else { return [] }
        return try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init).filter { $0.hasPrefix("GET ") }
    }

    func nightly(_ source: String, out: URL? = nil, full: Bool = false, _ extra: [String] = []) throws -> CLITests.Result {
        try CLITests.landwatch(["nightly", "--stac", source, "--pipeline", (full ? pipeline : lightPipeline).path, "--out", (out ?? self.out).path, "--threads", "2",
                                "--allow-read", url + "/scenes/"] + extra)
    }

    func registry(_ folder: URL? = nil) throws -> Registry {
        try Registry(path: (folder ?? out).appendingPathComponent("registry.sqlite").path)
    }

    /// A registry as lines to compare: scenes (date, status), violations (id, status, rules, area, first and last
    /// scene), runs (scene and baseline), zone metrics (green coverage, intensity), each scene named by its date (the inbox names a scene by sensor, date and
    /// content hash, STAC by its Item id).
    func contents(_ registry: Registry) throws -> [String] {
        let scenes = try registry.scenes()
        let dates = Dictionary(uniqueKeysWithValues: scenes.map { ($0.id, $0.date) })
        func scene(_ id: String?) -> String { id.map { dates[$0].map { "scene of \($0)" } ?? $0 } ?? "-" }
        return scenes.map { "\(scene($0.id)) \($0.status)" }.sorted()
            + (try registry.violations()).map { "violation \($0.id) \($0.status.rawValue) \($0.rules) \(Int($0.area_m2.rounded())) m² first \(scene($0.first_scene)) last \(scene($0.last_scene))" }.sorted()
            + (try registry.runs()).map { "run \(scene($0.scene_id)) against \(scene($0.baseline)) \($0.exit_status)" }.sorted()
            + (try registry.zoneMetrics(from: nil, to: nil)).map {
                "zone \($0.zone) \(scene($0.scene_id)) green \($0.green_coverage.map { String($0) } ?? "-") intensity \($0.intensity.map { String($0) } ?? "-")"
            }.sorted()
    }

    /// The lines of stderr that say `text`.
    func lines(_ stderr: String, containing text: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    // MARK: - A static ItemCollection over three nights

    /// Three nights of a static ItemCollection on the loopback server: night 1 lists the baseline; night 2 lists it
    /// again (not redone), the planted construction (listed twice: one scene) and an Item whose asset is not uploaded
    /// yet (404: recorded failed); night 3 the asset is there and the Item is retried. The registry is the one the
    /// folder inbox gives for the same three scenes.
    func testThreeNightsOfAnItemCollectionGiveTheFolderInboxsRegistry() throws {
        let night1 = try stackItem("night1", date: "2024-06-30", href: "../scenes/night1.tif")
        let night2 = try stackItem("night2", date: "2024-07-16", href: "../scenes/night2.tif")
        let night3 = try stackItem("night3", date: "2024-08-01", href: url + "/scenes/night3.tif")

        try upload("before.tif", as: "night1")
        let catalog = try publish([night1])
        var result = try nightly(catalog, full: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 1, done 1, failed 0; violations new 0"), result.stderr)
        XCTAssertTrue(result.stderr.contains("scene night1 recorded as a baseline"), result.stderr)

        try upload("after.tif", as: "night2")
        try publish([night1, night2, night2, night3])
        result = try nightly(catalog, full: true)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(lines(result.stderr, containing: "Item night2 is listed twice").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 2, done 1, failed 1; violations new 1, persisting 0, resolved 0"), result.stderr)
        let missing = try XCTUnwrap(try registry().scenes().first { $0.id == "night3" })
        XCTAssertEqual(missing.status, "failed")
        XCTAssertEqual(missing.stac_item, "night3")
        let reason = missing.failure_reason ?? ""
        XCTAssertTrue(reason.contains("Item night3: asset 'reflectance' (/vsicurl/\(url)/scenes/night3.tif) cannot be read"), reason)
        XCTAssertTrue(reason.contains("404"), reason)
        XCTAssertFalse(reason.contains("\n"), reason)
        XCTAssertEqual(lines(result.stderr, containing: "scene night3 failed").count, 1, result.stderr)

        try upload("after.tif", as: "night3", distinct: true)
        result = try nightly(catalog, full: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 1, done 1, failed 0 (1 retried); violations new 0, persisting 1, resolved 0"), result.stderr)
        // Nothing new on a fourth night: night1 and night2 were seen before, each processed once.
        result = try nightly(catalog, full: true)
        XCTAssertEqual(result.status, 1, result.stderr)
        let stac = try registry()
        XCTAssertEqual(try stac.scenes().map(\.stac_item).sorted { ($0 ?? "") < ($1 ?? "") }, ["night1", "night2", "night3"])
        XCTAssertEqual(try stac.scenes().first { $0.id == "night3" }?.attempts, 2)
        XCTAssertEqual(try stac.runs().count, 2)

        // The folder inbox, the same three scenes on the same three nights.
        let inbox = work.appendingPathComponent("inbox"), inboxOut = work.appendingPathComponent("out-inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let folderPipeline = try NightlyTests.shortNightsPipeline(in: work)
        for (fixture, name, date, distinct) in [("before.tif", "night1", "2024-06-30", false), ("after.tif", "night2", "2024-07-16", false),
                                                ("after.tif", "night3", "2024-08-01", true)] {
            try copy(fixture, to: inbox.appendingPathComponent("\(name).tif").path, distinct: distinct)
            try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(to: inbox.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
            let night = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", folderPipeline.path, "--out", inboxOut.path, "--threads", "2"])
            XCTAssertEqual(night.status, 0, night.stderr)
        }
        let folder = try registry(inboxOut)
        XCTAssertEqual(try contents(stac), try contents(folder))
        XCTAssertEqual(try contents(stac).filter { $0.hasPrefix("violation") }.count, 1)
        XCTAssertGreaterThan(try contents(stac).filter { $0.hasPrefix("zone") }.count, 0, "the zones' metrics are recorded")
        XCTAssertTrue(try folder.scenes().allSatisfy { $0.stac_item == nil })
    }

    /// An asset's identity is its ETag when the server sends one (stac_api.py sends the content's MD5): a touched file
    /// (a new Last-Modified, the same ETag) is not new content; a replaced one is the same Item changed after it was
    /// processed: one warning, not redone unless --force.
    func testAnAssetsETagIsItsContentIdentity() throws {
        try upload("before.tif", as: "night1")
        try upload("after.tif", as: "night2")
        let catalog = try publish([try stackItem("night1", date: "2024-06-30", href: "../scenes/night1.tif"),
                                   try stackItem("night2", date: "2024-07-16", href: "../scenes/night2.tif")])
        var result = try nightly(catalog)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 2, done 2, failed 0; violations new 1"), result.stderr)

        let file = served.appendingPathComponent("scenes/night2.tif")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-86400)], ofItemAtPath: file.path)
        result = try nightly(catalog)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertFalse(result.stderr.contains("its assets changed"), result.stderr)

        try FileManager.default.removeItem(at: file)
        try upload("after.tif", as: "night2", distinct: true)
        result = try nightly(catalog)
        XCTAssertEqual(result.status, 1, result.stderr)
        let changed = lines(result.stderr, containing: "nightly: skipped STAC Item night2: processed on")
        XCTAssertEqual(changed.count, 1, result.stderr)
        XCTAssertTrue(changed.first?.hasSuffix("its assets changed since (--force redoes it)") == true, result.stderr)
        result = try nightly(catalog, ["--force"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 2, done 2, failed 0"), result.stderr)
        XCTAssertEqual(try registry().violations().count, 1, "no duplicate")
    }

    /// The registry's `scene.stac_item` (schema v5) is written and read back on PostgreSQL as on SQLite, for a done
    /// and a failed Item.
    func testTheItemIdIsRecordedOnPostgresAsOnSQLite() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try upload("before.tif", as: "night1")
        let catalog = try publish([try stackItem("night1", date: "2024-06-30", href: "../scenes/night1.tif"),
                                   try stackItem("night3", date: "2024-08-01", href: "../scenes/night3.tif")])
        let onPostgres = try CLITests.landwatch(["nightly", "--stac", catalog, "--pipeline", lightPipeline.path, "--out",
                                                 work.appendingPathComponent("out-postgres").path, "--threads", "2", "--allow-read", url + "/scenes/"],
                                                environment: ["LANDWATCH_DB_URL": server.url])
        XCTAssertEqual(onPostgres.status, 2, onPostgres.stderr)
        let onSQLite = try nightly(catalog)
        XCTAssertEqual(onSQLite.status, 2, onSQLite.stderr)
        let postgres = try PostgresRegistry(url: server.url, passwordAllowedInURL: true, environment: [:])
        let recorded = try postgres.scenes().map { "\($0.id) \($0.status) \($0.stac_item ?? "-") \($0.attempts)" }.sorted()
        XCTAssertEqual(recorded, ["night1 done night1 1", "night3 failed night3 1"])
        XCTAssertEqual(recorded, try registry().scenes().map { "\($0.id) \($0.status) \($0.stac_item ?? "-") \($0.attempts)" }.sorted())
    }

    /// `--stac FILE`: a local ItemCollection whose hrefs are relative to it; its folder may be read without
    /// --allow-read (only testdata/, where the pipeline's defaults and plan are, is allowed), and the Items are the
    /// same deliveries as over HTTP.
    func testALocalItemCollectionIsReadWithItsRelativeHrefs() throws {
        let local = work.appendingPathComponent("delivered")
        try FileManager.default.createDirectory(at: local.appendingPathComponent("scenes"), withIntermediateDirectories: true)
        try copy("before.tif", to: local.appendingPathComponent("scenes/night1.tif").path, distinct: false)
        try copy("after.tif", to: local.appendingPathComponent("scenes/night2.tif").path, distinct: false)
        let collection: [String: Any] = ["type": "FeatureCollection", "features": [
            try stackItem("night1", date: "2024-06-30", href: "scenes/night1.tif"), try stackItem("night2", date: "2024-07-16", href: "./scenes/night2.tif"),
        ]]
        let file = local.appendingPathComponent("items.json")
        try JSONSerialization.data(withJSONObject: collection).write(to: file)
        let result = try CLITests.landwatch(["nightly", "--stac", file.path, "--pipeline", lightPipeline.path, "--out", out.path, "--threads", "2",
                                             "--allow-read", CLITests.root.appendingPathComponent("testdata").path], in: work)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 2, done 2, failed 0; violations new 1"), result.stderr)
        XCTAssertEqual(try registry().scenes().compactMap(\.stac_item).sorted(), ["night1", "night2"])
    }

    // MARK: - A STAC API /search

    /// The search carries the pipeline's stac_* params; `next` links are followed page by page (stac_limit Items each).
    func testASearchIsQueriedWithTheParamsAndFollowedPageByPage() throws {
        for (index, fixture) in ["before.tif", "after.tif", "after.tif"].enumerated() {
            try upload(fixture, as: "night\(index + 1)", distinct: index == 2)
        }
        try search([try stackItem("night1", date: "2024-06-30", href: url + "/scenes/night1.tif"),
                    try stackItem("night2", date: "2024-07-16", href: url + "/scenes/night2.tif"),
                    try stackItem("night3", date: "2024-08-01", href: url + "/scenes/night3.tif")])
        let result = try nightly(url + "/search", ["--set", "stac_limit=2", "--set", "stac_datetime=2024-06-01/2024-08-31",
                                                   "--set", "stac_collections=landwatch-nightly-fixtures"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 3, done 3, failed 0; violations new 1, persisting 1, resolved 0"), result.stderr)
        let pages = Set(try searchRequests())
        XCTAssertEqual(pages, [
            "GET /search?bbox=8.7,50.75,8.85,50.85&datetime=2024-06-01T00%3A00%3A00Z%2F2024-08-31T23%3A59%3A59Z&collections=landwatch-nightly-fixtures&limit=2",
            "GET /search?bbox=8.7%2C50.75%2C8.85%2C50.85&datetime=2024-06-01T00%3A00%3A00Z%2F2024-08-31T23%3A59%3A59Z&collections=landwatch-nightly-fixtures&limit=2&page=2",
        ])
        XCTAssertEqual(try registry().scenes().map(\.id).sorted(), ["night1", "night2", "night3"])
    }

    /// An API that pages forever is read stac_max_pages pages (one line says so, the Items read are processed); an
    /// HTTP 500 on the first page stops the night with one line (exit 66, the registry untouched); on a later page it
    /// is one line and the night goes on with the Items of the pages before, the others come on a later night.
    func testAnAPIThatPagesForeverOrAnswers500() throws {
        try upload("before.tif", as: "night1")
        try upload("after.tif", as: "night2")
        let items = [try stackItem("night1", date: "2024-06-30", href: url + "/scenes/night1.tif"),
                     try stackItem("night2", date: "2024-07-16", href: url + "/scenes/night2.tif")]
        try search(items, forever: true)
        let forever = try nightly(url + "/search", out: work.appendingPathComponent("forever"), ["--set", "stac_limit=1", "--set", "stac_max_pages=3"])
        XCTAssertEqual(forever.status, 0, forever.stderr)
        let limit = lines(forever.stderr, containing: "stac_max_pages")
        XCTAssertEqual(limit.count, 1, forever.stderr)
        XCTAssertTrue(limit.first?.contains("nightly: skipped the Items after page 3 of \(url)/search: the page limit (param stac_max_pages = 3) is reached and a next page is still linked; raise stac_max_pages or narrow the search to take them") == true, forever.stderr)
        XCTAssertTrue(forever.stderr.contains("nightly: scenes new 2, done 2, failed 0"), forever.stderr)
        let requests = Set(try searchRequests())
        XCTAssertEqual(requests.count, 3, "\(requests)")
        XCTAssertEqual(Set(requests.map { $0.contains("&page=") ? String($0.split(separator: "=").last!) : "1" }), ["1", "2", "3"],
                       "pages 1 to 3, never a 4th: \(requests)")

        try search(items, status: ["1": 500])
        let refused = try nightly(url + "/search", out: work.appendingPathComponent("refused"))
        XCTAssertEqual(refused.status, 66, refused.stderr)
        let failure = lines(refused.stderr, containing: "landwatch:")
        XCTAssertEqual(failure.count, 1, refused.stderr)
        XCTAssertTrue(failure.first?.contains("STAC API: cannot open /vsicurl/\(url)/search?bbox=") == true, refused.stderr)
        XCTAssertTrue(failure.first?.contains("HTTP response code: 500") == true, refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("refused/registry.sqlite").path))

        try search(items, status: ["2": 500])
        let later = work.appendingPathComponent("later")
        var night = try nightly(url + "/search", out: later, ["--set", "stac_limit=1"])
        XCTAssertEqual(night.status, 0, night.stderr)
        let page = lines(night.stderr, containing: "nightly: skipped the Items from page 2 of \(url)/search on: that page cannot be read (cannot open /vsicurl/\(url)/search?")
        XCTAssertEqual(page.count, 1, night.stderr)
        XCTAssertTrue(page.first?.contains("&page=2 - caused by: HTTP response code: 500); the Items of the 1 page before it are processed") == true, night.stderr)
        XCTAssertTrue(night.stderr.contains("nightly: scenes new 1, done 1, failed 0"), night.stderr)
        try search(items)
        night = try nightly(url + "/search", out: later, ["--set", "stac_limit=1"])
        XCTAssertEqual(night.status, 0, night.stderr)
        XCTAssertTrue(night.stderr.contains("nightly: scenes new 1, done 1, failed 0; violations new 1"), night.stderr)
    }

    // MARK: - Bad Items

    /// An Item without an asset for a band the pipeline needs, one whose assets lie on two grids, one whose href is
    /// outside the prefixes the run may read, one without a datetime: one line each (recorded failed), and the night
    /// goes on with the others.
    func testBadItemsAreOneLineEachAndTheNightGoesOn() throws {
        try upload("before.tif", as: "night1")
        try upload("after.tif", as: "night2")
        try upload("after.tif", as: "night2", folder: "private")
        // The planted scene split into one file per band, as USGS and Earth Search deliver; SWIR2 at 60 m.
        let names = ["blue", "green", "red", "nir", "swir16", "swir22"]
        var assets: [String: Any] = [:]
        for (index, name) in names.enumerated() {
            let file = served.appendingPathComponent("scenes/split-\(name).tif").path
            try gdal("gdal_translate", ["-q", "-b", "\(index + 1)", served.appendingPathComponent("scenes/night2.tif").path, file])
            if name == "swir22" {
                try gdal("gdalwarp", ["-q", "-tr", "60", "60", "-r", "average", file, file.replacingOccurrences(of: ".tif", with: "-60m.tif")])
            }
            assets[name] = ["href": name == "swir22" ? "split-swir22-60m.tif" : "split-\(name).tif", "type": "image/tiff; application=geotiff",
                            "roles": ["data"], "eo:bands": [["name": name, "common_name": name]]]
        }
        var twoGrids = try stackItem("two-grids", date: "2024-07-16", href: "unused")
        twoGrids["assets"] = assets
        twoGrids["links"] = [["rel": "self", "href": url + "/scenes/two-grids.json"]]
        var noNIR = try stackItem("no-nir", date: "2024-07-16", href: url + "/scenes/night2.tif")
        var stack = try XCTUnwrap((noNIR["assets"] as? [String: [String: Any]])?["reflectance"])
        var bands = try XCTUnwrap(stack["eo:bands"] as? [[String: Any]])
        bands[3]["common_name"] = "rededge"
        stack["eo:bands"] = bands
        noNIR["assets"] = ["reflectance": stack]
        let outside = try stackItem("outside", date: "2024-07-16", href: url + "/private/night2.tif")
        var undated = try stackItem("undated", date: "2024-07-16", href: url + "/scenes/night2.tif")
        undated["properties"] = [:]
        let catalog = try publish([try stackItem("night1", date: "2024-06-30", href: url + "/scenes/night1.tif"), noNIR, twoGrids, outside,
                                   undated, try stackItem("night2", date: "2024-07-16", href: url + "/scenes/night2.tif")])

        let result = try nightly(catalog)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("nightly: scenes new 6, done 2, failed 4; violations new 1"), result.stderr)
        let failed = Dictionary(uniqueKeysWithValues: try registry().scenes().filter { $0.status == "failed" }.map { ($0.id, $0.failure_reason ?? "") })
        XCTAssertEqual(failed.keys.sorted(), ["no-nir", "outside", "two-grids", "undated"])
        XCTAssertEqual(failed["undated"], "/vsicurl/\(url)/catalog/items.json: Item undated: no properties.datetime (nor start_datetime)")
        for (id, reason) in failed {
            XCTAssertFalse(reason.contains("\n"), "\(id): \(reason)")
            XCTAssertEqual(lines(result.stderr, containing: "scene \(id) failed").count, 1, result.stderr)
        }
        XCTAssertTrue(failed["no-nir"]!.contains("Item no-nir has no asset for band 'nir' (no eo:bands common name nir, no asset key nir; its assets: reflectance); name it in 'assets'"), failed["no-nir"]!)
        XCTAssertTrue(failed["two-grids"]!.contains("Item two-grids: asset 'swir22' (band swir2) is on grid"), failed["two-grids"]!)
        XCTAssertTrue(failed["two-grids"]!.contains("but asset 'blue' is on grid"), failed["two-grids"]!)
        XCTAssertTrue(failed["outside"]!.contains("Item outside: asset 'reflectance' href \(url)/private/night2.tif is outside the folders and prefixes this run may read"), failed["outside"]!)
        XCTAssertTrue(failed["outside"]!.contains("allow it with --allow-read PREFIX"), failed["outside"]!)
    }

    func gdal(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(arguments)")
    }

    // MARK: - read.stac against read.scene

    /// `cloud_mask: scl` masks with the Item's 20 m scene classification asset (the L2A SAFE of testdata, SCL 9 where
    /// blue reflectance > 0.2): the NDVI is nodata exactly on the 10 m pixels whose SCL pixel is a masked class, and
    /// the unmasked read's NDVI elsewhere.
    func testReadSTACMasksCloudsWithTheItemsSCLAsset() throws {
        let granule = try XCTUnwrap(FileManager.default.enumerator(atPath: CLITests.root.appendingPathComponent("testdata/sentinel2-safe").path)?
            .compactMap { $0 as? String }.first { $0.contains("MSIL2A") && $0.hasSuffix("IMG_DATA") })
        let images = CLITests.root.appendingPathComponent("testdata/sentinel2-safe/\(granule)")
        func asset(_ file: String, _ common: String?, scale: Double?) -> [String: Any] {
            var asset: [String: Any] = ["href": images.appendingPathComponent(file).path, "type": "image/jp2", "roles": ["data"]]
            if let common { asset["eo:bands"] = [["name": common, "common_name": common]] }
            if let scale { asset["raster:bands"] = [["scale": scale, "offset": 0, "nodata": 0]] }
            return asset
        }
        var item = try stackItem("S2A_T33TWM_20150731", date: "2015-07-31", href: "unused")
        item["assets"] = ["B04": asset("R10m/T33TWM_20150731T100006_B04_10m.jp2", "red", scale: 1e-4),
                          "B08": asset("R10m/T33TWM_20150731T100006_B08_10m.jp2", "nir", scale: 1e-4),
                          "scl": asset("R20m/T33TWM_20150731T100006_SCL_20m.jp2", nil, scale: nil)]
        let itemFile = work.appendingPathComponent("s2-l2a.json")
        try JSONSerialization.data(withJSONObject: item).write(to: itemFile)
        let file = work.appendingPathComponent("scl.yaml")
        try """
            version: 1
            name: stac-scl-mask
            grid: {like: masked}
            stages:
              - {id: masked, uses: read.stac, with: {item: "\(itemFile.path)", band_names: [red, nir], cloud_mask: scl}}
              - {id: clear, uses: read.stac, with: {item: "\(itemFile.path)", band_names: [red, nir]}}
              - {id: ndvi-masked, uses: index.ndvi, inputs: [masked]}
              - {id: ndvi-clear, uses: index.ndvi, inputs: [clear]}
              - {id: write-masked, uses: write.raster, inputs: [ndvi-masked], with: {path: masked.tif}}
              - {id: write-clear, uses: write.raster, inputs: [ndvi-clear], with: {path: clear.tif}}
            """.write(to: file, atomically: true, encoding: .utf8)
        let folder = work.appendingPathComponent("out-scl")
        let run = try CLITests.landwatch(["run", file.path, "--out", folder.path, "--allow-read", work.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let masked = try Dataset.open(folder.appendingPathComponent("masked.tif").path), clear = try Dataset.open(folder.appendingPathComponent("clear.tif").path)
        let scl = try Dataset.open(images.appendingPathComponent("R20m/T33TWM_20150731T100006_SCL_20m.jp2").path)
        let m = try masked.band(1).read(Window(width: masked.width, height: masked.height))
        let c = try clear.band(1).read(Window(width: clear.width, height: clear.height))
        let classes = try scl.band(1).read(Window(width: scl.width, height: scl.height))
        XCTAssertEqual(masked.width, 2 * scl.width)
        var cloudy = 0, wrong = 0
        for row in 0..<masked.height {
            for column in 0..<masked.width {
                let index = row * masked.width + column
                let label = Int(classes[(row / 2) * scl.width + column / 2])
                if [3, 8, 9, 10].contains(label) {
                    cloudy += 1
                    if !m[index].isNaN { wrong += 1 }
                } else if !(m[index] == c[index] || (m[index].isNaN && c[index].isNaN)) {
                    wrong += 1
                }
            }
        }
        XCTAssertEqual(wrong, 0, "\(wrong) pixels not as the SCL says")
        XCTAssertGreaterThan(cloudy, 100, "the SCL marks clouds")
        XCTAssertGreaterThan(c.filter(\.isFinite).count, m.count - 10, "the unmasked NDVI has values everywhere")
    }

    /// The same scene read by read.stac (an Item) and by read.scene (its files, its scaling): the NDVI of both has no
    /// differing pixel. The Landsat 8 Level-1 Item (one asset per band, raster:bands scale and offset) is read over
    /// HTTP; the Sentinel-2 one (one 13-band asset, eo:bands common names) from its local file.
    func testReadSTACGivesTheNDVIOfReadSceneOnTheSameScene() throws {
        let marburg = CLITests.root.appendingPathComponent("testdata/marburg-landsat")
        try FileManager.default.copyItem(at: marburg, to: served.appendingPathComponent("marburg-landsat"))
        try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("testdata/stac-items/marburg-LC08-20130707.json"),
                                         to: served.appendingPathComponent("stac/marburg-LC08-20130707.json"))
        let landsat = "LC08_L1TP_195025_20130707_20170503_01_T1_"
        let cases: [(name: String, item: String, scene: String)] = [
            ("landsat", "/vsicurl/\(url)/stac/marburg-LC08-20130707.json",
             "bands: {red: \(marburg.path)/\(landsat)B4.TIF, nir: \(marburg.path)/\(landsat)B5.TIF}, gain: 2.0e-5, offset: -0.1"),
            ("sentinel2", CLITests.root.appendingPathComponent("testdata/stac-items/slovenia-S2L1C-20150731.json").path,
             "path: \(CLITests.root.appendingPathComponent("testdata/slovenia-sentinel2/S2L1C_20150731_13band.tif").path), bands: {red: 4, nir: 8}"),
        ]
        for (name, item, scene) in cases {
            let file = work.appendingPathComponent("\(name).yaml")
            try """
                version: 1
                name: stac-against-scene
                grid: {like: scene}
                stages:
                  - {id: scene, uses: read.scene, with: {\(scene)}}
                  - {id: stac, uses: read.stac, with: {item: "\(item)", band_names: [red, nir]}}
                  - {id: ndvi-scene, uses: index.ndvi, inputs: [scene]}
                  - {id: ndvi-stac, uses: index.ndvi, inputs: [stac]}
                  - {id: write-scene, uses: write.raster, inputs: [ndvi-scene], with: {path: ndvi-scene.tif}}
                  - {id: write-stac, uses: write.raster, inputs: [ndvi-stac], with: {path: ndvi-stac.tif}}
                """.write(to: file, atomically: true, encoding: .utf8)
            let folder = work.appendingPathComponent("out-\(name)")
            let run = try CLITests.landwatch(["run", file.path, "--out", folder.path, "--allow-read", "/vsicurl/\(url)/", "--allow-read", CLITests.root.path])
            XCTAssertEqual(run.status, 0, run.stderr)
            let a = try Dataset.open(folder.appendingPathComponent("ndvi-scene.tif").path)
            let b = try Dataset.open(folder.appendingPathComponent("ndvi-stac.tif").path)
            XCTAssertEqual(a.width, b.width)
            XCTAssertEqual(a.height, b.height)
            let x = try a.band(1).read(Window(width: a.width, height: a.height)), y = try b.band(1).read(Window(width: b.width, height: b.height))
            let differing = zip(x, y).filter { $0 != $1 && !($0.isNaN && $1.isNaN) }.count
            XCTAssertEqual(differing, 0, "\(name): \(differing) of \(x.count) pixels differ")
            XCTAssertGreaterThan(x.filter { $0.isFinite && $0 != 0 }.count, x.count / 2, "\(name): the NDVI has values")
        }
    }
}
