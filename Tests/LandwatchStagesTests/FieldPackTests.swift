import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
@testable import LandwatchStages
import LandwatchTestSupport
import XCTest
import LandwatchProducts
import LandwatchOutputs

/// Issue 23: what an inspector takes to the site. A multi-patch list of the real Marburg Landsat 8 scene with the
/// changes of testdata/plan/planted.json planted into it (5 reported patches of 4 to 9 pixels, checked against the
/// example plan in CGCS2000), run through pipelines/nightly-enforcement.yaml.
final class FieldPackTests: PipelineTestCase {
    /// The shipped enforcement pipeline with a field package after its list (when the file has none).
    static func withFieldPack(_ text: String, note: String? = "Changes planted into a copy of the real 2013 scene (testdata/plan/planted.json)") -> String {
        text.contains("write.fieldpack") ? text : text + """

          - id: fieldpack
            uses: write.fieldpack
            with: {path: fieldpack, list: violations\(note.map { ", note: \"\($0)\"" } ?? "")}

        """
    }

    /// Runs the planted enforcement pair into `work/out` and returns the list's folder.
    func plantedList() throws -> URL {
        let compliance = ComplianceTests(name: "helper", testClosure: { _ in })
        compliance.work = work
        let truth = try JSONDecoder().decode(ComplianceTests.Planted.self,
                                             from: Data(contentsOf: TestPaths.repository.appendingPathComponent("testdata/plan/planted.json")))
        let mtl = try compliance.copyScene(to: work.appendingPathComponent("planted")) { _, pixels, width in
            let roof = pixels[truth.source_pixel.row * width + truth.source_pixel.col]
            for patch in truth.patches {
                for row in patch.rows[0]..<patch.rows[1] { for col in patch.cols[0]..<patch.cols[1] { pixels[row * width + col] = roof } }
            }
        }
        let text = Self.withFieldPack(try String(contentsOf: ComplianceTests.pipeline, encoding: .utf8))
        try run(text, overrides: ["before": ComplianceTests.marburg.appendingPathComponent("\(ComplianceTests.l8)_MTL.txt").path,
                                  "after": mtl, "plan": TestPaths.repository.appendingPathComponent("testdata/plan").path])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/violations/violations.geojson"))) as! [String: Any]
        let features = json["features"] as! [[String: Any]]
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
        try assertNavigationPointsInside(try plantedList())
    }

    /// The checks of ``testEveryNavigationPointLiesInsideItsOwnPatchInWGS84GCJ02AndThePlanCRS()`` on a list's folder.
    func assertNavigationPointsInside(_ folder: URL) throws {
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
            // Marburg is outside China, where GCJ-02 is WGS84: the same patch moved to Beijing (a shift of whole
            // degrees keeps its shape within 1 %), where GCJ-02 moves points by some 500 m, still holds its point.
            let (dx, dy) = (116.4 - lon, 39.9 - lat)
            let moved = Navigation.gcj02(longitude: lon + dx, latitude: lat + dy)
            XCTAssertTrue(Navigation.isInsideChina(longitude: lon + dx, latitude: lat + dy))
            XCTAssertGreaterThan(abs(moved.longitude - lon - dx), 1e-3, "GCJ-02 offsets Beijing")
            let movedOutline = outline.allRings.map { ring in ring.map { vertex -> (x: Double, y: Double) in
                let g = Navigation.gcj02(longitude: vertex.x + dx, latitude: vertex.y + dy)
                return (g.longitude, g.latitude)
            } }
            XCTAssertTrue(Self.inside((moved.longitude, moved.latitude), movedOutline), "\(id) moved to Beijing: GCJ-02 point outside its outline")
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

    /// Issue 23's multi-patch scene: the real Zion Landsat 8 crop with 9 patches of 4 to 400 pixels planted from
    /// distinct real pixels of its developed land (FieldPack/plant_zion.py), the accuracy harness's plan layers and
    /// rules pipeline with chips and a field package: every patch listed, every navigation point inside its patch in
    /// WGS84, GCJ-02 and the plan CRS, and the PDF, KMZ and answer sheet as for Marburg.
    func testAPlantedZionListOfPatchesFrom4To400PixelsHoldsItsPointsAndOpensEverywhere() throws {
        let planted = work.appendingPathComponent("zion")
        let script = TestPaths.repository.appendingPathComponent("Tests/LandwatchStagesTests/FieldPack/plant_zion.py").path
        _ = try tool("python3", [script, planted.path], package: "python3-gdal python3-numpy python3-yaml")
        let params = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: planted.appendingPathComponent("params.json")))
        try run(try String(contentsOf: planted.appendingPathComponent("pipeline.yaml"), encoding: .utf8), overrides: params)
        let folder = work.appendingPathComponent("out/violations")
        let list = try ViolationList.read(folder.appendingPathComponent(ViolationList.fileName))
        struct Planted: Decodable { var pixels: Int; var rows: [Int]; var cols: [Int] }
        let patches = try JSONDecoder().decode([Planted].self, from: Data(contentsOf: planted.appendingPathComponent("patches.json")))
        XCTAssertEqual(patches.map(\.pixels), [4, 6, 9, 16, 25, 49, 100, 196, 400])
        XCTAssertEqual(list.violations.count, patches.count, "one patch listed per planted patch: \(list.violations.map { ($0.id, $0.pixels) })")
        XCTAssertGreaterThanOrEqual(list.violations.map(\.pixels).max() ?? 0, 300, "the 400-pixel patch")
        XCTAssertLessThanOrEqual(list.violations.map(\.pixels).min() ?? 0, 6, "the 4-pixel patch")
        try assertNavigationPointsInside(folder)
        try assertFieldPackOpens(folder, epsg: 32612, keepAs: "fieldpack-zion")
    }

    /// Keeps a copy of `folder` where LANDWATCH_KEEP_FIELDPACK points (to look at the chips and pages by eye).
    func keep(_ folder: URL, as name: String) {
        guard let keep = ProcessInfo.processInfo.environment["LANDWATCH_KEEP_FIELDPACK"] else { return }
        let target = URL(fileURLWithPath: keep).appendingPathComponent(name)
        try? FileManager.default.removeItem(at: target)
        try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.copyItem(at: folder, to: target)
    }

    /// Item 2: chips of at least 480 px, nearest-neighbour upsampled from a window with 300 m around the patch,
    /// georeferenced; the patch outlined; what lies outside the image hatched as no data; the same stretch for both
    /// dates (an unchanged pixel of the pair, planted nowhere, has the same colour on both chips).
    func testChipsShowTheSurroundingsAtReadableSizeAndPadAnEdgeWithNoData() throws {
        let folder = try plantedList()
        keep(folder, as: "violations")
        let list = try ViolationList.read(folder.appendingPathComponent(ViolationList.fileName))
        XCTAssertEqual(list.overview, "overview.png")
        let overview = try Dataset.open(folder.appendingPathComponent("overview.png").path)
        XCTAssertGreaterThanOrEqual(overview.width, 800)
        XCTAssertEqual(list.overview_transform?.count, 6, "the overview's geotransform is in the list")
        XCTAssertTrue(list.crs_wkt?.contains("32632") ?? false)
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("chips").path).filter { !$0.hasSuffix(".png") }
        XCTAssertEqual(sidecars, [], "nothing but the PNGs in chips/")
        for entry in list.violations {
            let after = try Dataset.open(folder.appendingPathComponent(try XCTUnwrap(entry.chip_after)).path)
            let before = try Dataset.open(folder.appendingPathComponent(try XCTUnwrap(entry.chip_before)).path)
            XCTAssertGreaterThanOrEqual(after.width, 480, entry.id)
            XCTAssertEqual(after.width, after.height, entry.id)
            let transform = GeoTransform(coefficients: try XCTUnwrap(entry.chip_transform, "\(entry.id): the chip's geotransform"))
            // 300 m of surroundings at least on each side of the navigation point's pixel.
            let toGrid = try CoordinateTransformation(from: .wgs84(), to: SpatialReference(definition: "EPSG:32632"))
            let point = try toGrid.transform(x: entry.lon, y: entry.lat)
            let west = transform.originX, north = transform.originY
            let east: Double = west + Double(after.width) * transform.pixelWidth
            let south: Double = north + Double(after.height) * transform.pixelHeight
            let margins: [Double] = [point.x - west, east - point.x, north - point.y, point.y - south]
            XCTAssertGreaterThanOrEqual(margins.min()!, 300, entry.id)
            // Nearest neighbour: each 30 m pixel is a block of whole output pixels.
            XCTAssertEqual(30 / transform.pixelWidth, (30 / transform.pixelWidth).rounded(), accuracy: 1e-9, entry.id)
            let rgb = try (1...3).map { try after.band($0).read(Window(width: after.width, height: after.height)) }
            let beforeRGB = try (1...3).map { try before.band($0).read(Window(width: before.width, height: before.height)) }
            let pixels = after.width * after.height
            func isColour(_ i: Int, _ r: Float, _ g: Float, _ b: Float) -> Bool { rgb[0][i] == r && rgb[1][i] == g && rgb[2][i] == b }
            let yellow = (0..<pixels).filter { isColour($0, 255, 230, 0) }.count
            XCTAssertGreaterThan(yellow, 4 * after.width / 10, "\(entry.id): the outline is drawn")
            // The grid is 41 x 41 pixels: a window of 300 m around a patch near its edge reaches outside, hatched.
            let column = (point.x - 483285) / 30, row = (5628525 - point.y) / 30
            if column < 10 || row < 10 || column > 31 || row > 31 {
                let hatched = (0..<pixels).filter { isColour($0, 200, 200, 200) || isColour($0, 70, 70, 70) }.count
                XCTAssertGreaterThan(hatched, pixels / 50, "\(entry.id) at column \(column), row \(row): outside the image is hatched")
            }
            // Same stretch on both dates: the pair is the same scene outside the planted patches, so the chips agree
            // on most pixels (all but the patches, the outline and the burned-in labels).
            var same = 0
            for i in 0..<pixels where rgb[0][i] == beforeRGB[0][i] && rgb[1][i] == beforeRGB[1][i] && rgb[2][i] == beforeRGB[2][i] { same += 1 }
            XCTAssertGreaterThan(Double(same) / Double(pixels), 0.8, "\(entry.id): one stretch for both dates")
        }
    }

    /// Runs a tool from /usr/bin; skips the test when it is not installed (naming the Debian package).
    @discardableResult
    func tool(_ name: String, _ arguments: [String], package: String, allowFailure: Bool = false) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/\(name)") else {
            throw XCTSkip("\(name) is not installed (Debian's \(package))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(name)")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if !allowFailure { XCTAssertEqual(process.terminationStatus, 0, "\(name) \(arguments.joined(separator: " "))") }
        return String(decoding: data, as: UTF8.self)
    }

    /// Item 1 and "what it must show": the planted list's field package opens in the tools an inspector's office and
    /// phone use. pdfinfo counts a page per patch after the overview; GDAL reads every page's georeferencing and the
    /// patch layer of page 1; the pages pdftoppm renders are not blank and the two QR codes of each patch page decode
    /// to that patch's geo: URI and Amap link; the KMZ holds a point and an outline per patch and its chips; the answer
    /// sheet has one row per id with the columns violations import reads.
    func testTheFieldPackOfAPlantedListOpensInPDFReadersGDALAndAPhoneQRReader() throws {
        try assertFieldPackOpens(try plantedList(), epsg: 32632, keepAs: "fieldpack")
    }

    /// The checks of ``testTheFieldPackOfAPlantedListOpensInPDFReadersGDALAndAPhoneQRReader()`` on a list's folder
    /// whose scene is in UTM `epsg`.
    func assertFieldPackOpens(_ folder: URL, epsg: Int, keepAs name: String) throws {
        let pack = folder.deletingLastPathComponent().appendingPathComponent("fieldpack")
        keep(pack, as: name)
        let list = try ViolationList.read(folder.appendingPathComponent(ViolationList.fileName))
        let sites = FieldPack.sites(of: list, folder: folder)
        let pdf = pack.appendingPathComponent("fieldpack.pdf").path
        let info = try tool("pdfinfo", [pdf], package: "poppler-utils")
        XCTAssertNotNil(info.range(of: "Pages:\\s+\(sites.count + 1)\n", options: .regularExpression), info)
        // Georeferencing of every page (GDAL's subdatasets PDF:N:file), the patch layer of page 1.
        for page in 1...(sites.count + 1) {
            let text = try tool("gdalinfo", ["PDF:\(page):\(pdf)"], package: "gdal-bin")
            XCTAssertTrue(text.contains("Origin = ("), "page \(page) is georeferenced")
            XCTAssertTrue(text.contains("ID[\"EPSG\",\(epsg)]]"), "page \(page): the scene's UTM zone")
        }
        let layers = try tool("ogrinfo", ["-ro", "-q", pdf], package: "gdal-bin")
        XCTAssertTrue(layers.contains(": zones (Polygon)"), "page 1 draws the plan's zones: \(layers)")
        XCTAssertTrue(layers.contains(": patches (Polygon)"), layers)
        XCTAssertTrue(layers.contains(": navigation points (Point)"), layers)
        for site in sites { XCTAssertTrue(layers.contains("patch \(site.id) (Polygon)"), "\(site.id): \(layers)") }
        let patches = try tool("ogrinfo", ["-ro", "-so", pdf, "patches"], package: "gdal-bin")
        XCTAssertTrue(patches.contains("Feature Count: \(sites.count)\n"), patches)
        // Pages rendered as a PDF reader shows them: not blank; each patch page's QR codes are its own links.
        let rendered = work.appendingPathComponent("pages")
        try FileManager.default.createDirectory(at: rendered, withIntermediateDirectories: true)
        try tool("pdftoppm", ["-r", "150", "-png", pdf, rendered.appendingPathComponent("page").path], package: "poppler-utils")
        let pages = try FileManager.default.contentsOfDirectory(atPath: rendered.path).filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(pages.count, sites.count + 1)
        for (index, name) in pages.enumerated() {
            let path = rendered.appendingPathComponent(name).path
            let image = try Dataset.open(path)
            let values = try image.band(1).read(Window(width: image.width, height: image.height))
            let dark = values.filter { $0 < 128 }.count
            XCTAssertGreaterThan(Double(dark) / Double(values.count), 0.01, "\(name) is not blank")
            guard index > 0 else { continue }
            let site = sites[index - 1]
            let codes = Set(try tool("zbarimg", ["--quiet", "--raw", path], package: "zbar-tools").split(separator: "\n").map(String.init))
            XCTAssertEqual(codes, [FieldPack.geoURI(site), FieldPack.amapLink(site)], "\(name): the QR codes of \(site.id)")
            XCTAssertTrue(FieldPack.geoURI(site).hasPrefix("geo:\(String(format: "%.6f", site.lat)),\(String(format: "%.6f", site.lon))"))
        }
        // The KMZ, as GDAL's LIBKML driver reads it: a point and an outline per patch, the chips inside.
        let kmz = pack.appendingPathComponent("fieldpack.kmz").path
        let kml = try VectorDataset.open(kmz)
        XCTAssertEqual(try kml.layer("Navigation points").featureCount, sites.count)
        XCTAssertEqual(try kml.layer("Outlines").featureCount, sites.count)
        let members = VirtualFiles.listRecursively(VirtualFiles.zipRoot(kmz))
        XCTAssertTrue(members.contains("images/marker-high.png"), "the markers travel in the KMZ (offline): \(members)")
        for site in sites {
            XCTAssertTrue(members.contains("images/\(site.id)-after.png"), "\(site.id): \(members)")
            XCTAssertTrue(members.contains("images/\(site.id)-before.png"), site.id)
        }
        // The blank answer sheet: one row per id, the columns violations import reads first.
        let sheet = String(decoding: try Data(contentsOf: pack.appendingPathComponent("fieldcheck.csv")), as: UTF8.self)
        let rows = sheet.dropFirst().split(separator: "\r\n").map(String.init)
        XCTAssertTrue(rows[0].hasPrefix("id,result,date,inspector,note,photos,reason,"), rows[0])
        XCTAssertEqual(rows.dropFirst().map { String($0.split(separator: ",")[0]) }, sites.map(\.id))
        let gpkg = try VectorDataset.open(pack.appendingPathComponent("fieldcheck.gpkg").path)
        XCTAssertEqual(try gpkg.layer(nil).featureCount, sites.count)
    }

    /// Bad input: a list with no patch (the real 2001 -> 2013 pair of Marburg) gives a one-page package that says so,
    /// an answer sheet with its header only and a KMZ without placemarks (the missing font: FieldPackRenderTests).
    func testAListWithNoPatchGivesAOnePagePackageThatSaysSo() throws {
        let text = Self.withFieldPack(try String(contentsOf: ComplianceTests.pipeline, encoding: .utf8), note: nil)
        try run(text, overrides: ["before": ComplianceTests.l7MTL, "after": ComplianceTests.marburg.appendingPathComponent("\(ComplianceTests.l8)_MTL.txt").path,
                                  "plan": TestPaths.repository.appendingPathComponent("testdata/plan").path])
        let list = try ViolationList.read(work.appendingPathComponent("out/violations/violations.json"))
        guard list.violations.isEmpty else { throw XCTSkip("the real pair listed \(list.violations.count) patches: not the empty case") }
        let pack = work.appendingPathComponent("out/fieldpack")
        keep(pack, as: "fieldpack-empty")
        let info = try tool("pdfinfo", [pack.appendingPathComponent("fieldpack.pdf").path], package: "poppler-utils")
        XCTAssertNotNil(info.range(of: "Pages:\\s+1\n", options: .regularExpression), info)
        let sheet = String(decoding: try Data(contentsOf: pack.appendingPathComponent("fieldcheck.csv")), as: UTF8.self)
        XCTAssertEqual(sheet.dropFirst().split(separator: "\r\n").count, 1, "the header alone")
        let members = VirtualFiles.listRecursively(VirtualFiles.zipRoot(pack.appendingPathComponent("fieldpack.kmz").path))
        XCTAssertEqual(members.filter { !$0.hasPrefix("images/marker-") && $0 != "images/" }, ["doc.kml"], "no placemark, no chip")
        let rendered = work.appendingPathComponent("empty")
        try tool("pdftoppm", ["-r", "50", "-png", pack.appendingPathComponent("fieldpack.pdf").path, rendered.path], package: "poppler-utils")
        let page = try Dataset.open(rendered.path + "-1.png")
        let values = try page.band(1).read(Window(width: page.width, height: page.height))
        XCTAssertGreaterThan(values.filter { $0 < 128 }.count, 100, "the page says there is no patch")
    }
}

extension FieldPackTests {
    /// Bad input: a field package pointed at a folder the run wrote no list into is one line naming the option's value,
    /// and no package is left.
    func testAFieldPackWithoutItsListIsOneLine() throws {
        var text = try String(contentsOf: ComplianceTests.pipeline, encoding: .utf8)
        text += "\n  - id: fieldpack\n    uses: write.fieldpack\n    with: {path: fieldpack, list: elsewhere}\n"
        XCTAssertThrowsError(try run(text, overrides: ["before": ComplianceTests.l7MTL, "plan": TestPaths.repository.appendingPathComponent("testdata/plan").path,
                                                      "after": ComplianceTests.marburg.appendingPathComponent("\(ComplianceTests.l8)_MTL.txt").path])) { error in
            XCTAssertTrue("\(error)".contains("write.fieldpack: this run wrote no violation list at 'elsewhere/': add write.violations with path: elsewhere"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out/fieldpack").path))
    }
}

/// The chip window of item 2 for patches from 4 pixels to several kilometres (the window arithmetic alone).
final class FieldPackChipFrameTests: XCTestCase {
    func testSmallPatchesGet300MetresAroundAndLargeOnesTheirWholeBox() {
        // 30 m pixels: a 2 x 2 patch (4 pixels), a 20 x 20 patch (400 pixels), a 1.3 km patch, a 20 km one.
        for (edge, pixelSize) in [(2, 30.0), (20, 30.0), (44, 30.0), (700, 30.0), (3, 10.0), (5000, 10.0)] {
            let columns = 100...(100 + edge - 1), rows = 50...(50 + edge - 1)
            let frame = ChipMaker.frame(columns: columns, rows: rows, pixelSize: pixelSize, minimumWindow: 8)
            let covered = frame.samples * frame.step
            let west = Double(columns.lowerBound - frame.column) * pixelSize
            let east = Double(frame.column + covered - columns.upperBound - 1) * pixelSize
            let north = Double(rows.lowerBound - frame.row) * pixelSize
            let south = Double(frame.row + covered - rows.upperBound - 1) * pixelSize
            let margin = [west, east, north, south].min()!
            if Double(edge) * pixelSize <= 1000 {
                XCTAssertGreaterThanOrEqual(margin, 300, "\(edge) px of \(pixelSize) m: 300 m around")
            } else {
                XCTAssertGreaterThan(margin, 0, "\(edge) px of \(pixelSize) m: the whole box")
                XCTAssertLessThanOrEqual(Double(covered), Double(edge) * 1.3, "\(edge) px: fitted to the box, not a fixed 300 m")
            }
            XCTAssertGreaterThanOrEqual(frame.outputSize, 480, "\(edge) px: at least 480 output pixels")
            XCTAssertLessThanOrEqual(frame.samples, 800, "\(edge) px: at most 800 samples read a side")
        }
    }
}

/// The chips' stretch and the KML's escaping, against the plain computations they replaced.
final class FieldPackStretchAndEscapingTests: XCTestCase {
    func testThePercentilesByQuickselectAreThoseOfASort() {
        // Reflectance-like values with many ties and NaNs (nodata), sizes around the sampling stride.
        var random = SystemRandomNumberGenerator()
        for count in [1, 2, 7, 1000, 123_457, 1_200_000] {
            let values: [Float] = (0..<count).map { i in
                i % 17 == 0 ? .nan : Float(Int.random(in: 0...400, using: &random)) / 1000
            }
            let stride = max(1, count / 500_000)
            let sorted = Swift.stride(from: 0, to: count, by: stride).map { values[$0] }.filter(\.isFinite).sorted()
            let (low, high) = ChipMaker.percentiles(values)
            guard !sorted.isEmpty else { XCTAssertEqual(low, 0); XCTAssertEqual(high, 1); continue }
            let expectedLow = sorted[Int(Double(sorted.count - 1) * 0.02)], expectedHigh = sorted[Int(Double(sorted.count - 1) * 0.98)]
            XCTAssertEqual(low, expectedLow, "\(count) values")
            XCTAssertEqual(high, expectedHigh > expectedLow ? expectedHigh : expectedLow + 1e-6, "\(count) values")
        }
    }

    func testXMLEscapingIsFoundations() {
        for text in ["plain 城西区", "a & b < c > d \"e\"", "&&<<", "", "\"", "x&amp;y"] {
            let foundation = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            XCTAssertEqual(FieldPack.xml(text), foundation)
        }
    }
}
