import Foundation
import LandwatchGDAL
import LandwatchPipeline
import XCTest
import LandwatchTestSupport

/// Reads outside the allowed folders through every route GDAL takes (issue 22): a VRT's sources (relative and
/// absolute, nested, /etc/passwd), an MTL's FILE_NAME_BAND with `..`, a band file beside the MTL that is a symlink
/// out; each one line naming the file and the path it was reached through; what was read is in run.json; a source a
/// stage reads indirectly is in its resume key. Numbers that trapped (memory, grids) and values read wrong (Int8,
/// Float64 nodata) on real and GDAL-made rasters.
final class IndirectReadTests: XCTestCase {
    var work: URL!, project: URL!, outside: URL!
    static let zion = CLITests.root.appendingPathComponent("testdata/zion-landsat8")
    static let marburg = CLITests.root.appendingPathComponent("testdata/marburg-landsat")
    static let scene = "LC08_L1TP_195025_20130707_20170503_01_T1"

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-roots")
        project = work.appendingPathComponent("project")
        outside = work.appendingPathComponent("outside")
        for folder in [project!, outside!] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: Self.zion.appendingPathComponent("landsat_b4.tif"), to: outside.appendingPathComponent("b4.tif"))
        try FileManager.default.copyItem(at: Self.zion.appendingPathComponent("landsat_b5.tif"), to: project.appendingPathComponent("b5.tif"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func vrt(_ source: String, relative: Bool) -> String {
        """
        <VRTDataset rasterXSize="1128" rasterYSize="1428">
          <SRS>EPSG:32612</SRS><GeoTransform>301905, 30, 0, 4154085, 0, -30</GeoTransform>
          <VRTRasterBand dataType="UInt16" band="1"><SimpleSource>
            <SourceFilename relativeToVRT="\(relative ? 1 : 0)">\(source)</SourceFilename><SourceBand>1</SourceBand>
          </SimpleSource></VRTRasterBand>
        </VRTDataset>
        """
    }

    func ndviPipeline(red: String, name: String = "roots") throws {
        try """
            version: 1
            name: \(name)
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: \(red), nir: b5.tif}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: write-ndvi
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """.write(to: project.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    func problems(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { !($0.hasPrefix("landwatch: ") && $0.contains("problem")) }
    }

    func testAVRTWhoseSourceIsOutsideIsRefusedRelativeAbsoluteOrNested() throws {
        try vrt("../outside/b4.tif", relative: true).write(to: project.appendingPathComponent("relative.vrt"), atomically: true, encoding: .utf8)
        try vrt(outside.appendingPathComponent("b4.tif").path, relative: false).write(to: project.appendingPathComponent("absolute.vrt"), atomically: true, encoding: .utf8)
        try vrt("absolute.vrt", relative: true).write(to: project.appendingPathComponent("nested.vrt"), atomically: true, encoding: .utf8)
        // Content decides for GDAL, not the name: a VRT called .tif.
        try vrt("../outside/b4.tif", relative: true).write(to: project.appendingPathComponent("disguised.tif"), atomically: true, encoding: .utf8)
        for name in ["relative.vrt", "absolute.vrt", "nested.vrt", "disguised.tif"] {
            try ndviPipeline(red: name)
            let result = try CLITests.landwatch(["validate", "roots.yaml"], in: project)
            XCTAssertEqual(result.status, 65, "\(name): \(result.stderr)")
            let lines = problems(result.stderr)
            XCTAssertEqual(lines.count, 1, "\(name): \(result.stderr)")
            XCTAssertTrue(lines.first?.contains("b4.tif") == true && lines.first?.contains("reached through") == true
                          && lines.first?.contains("is outside the folders this run may read") == true, "\(name): \(result.stderr)")
            let run = try CLITests.landwatch(["run", "roots.yaml", "--out", "out"], in: project)
            XCTAssertEqual(run.status, 65, "\(name): \(run.stderr)")
        }
        // Allowed, it runs, and run.json says what was read.
        try ndviPipeline(red: "nested.vrt")
        let allowed = try CLITests.landwatch(["run", "roots.yaml", "--out", "out", "--allow-read", outside.path, "--threads", "2"], in: project)
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        let record = try RunRecord.decode(Data(contentsOf: project.appendingPathComponent("out/run.json")))
        let read = record.filesRead ?? []
        let real = ReadPolicy.realPath(outside.appendingPathComponent("b4.tif").path)
        XCTAssertTrue(read.contains(real), "\(read)")
        XCTAssertTrue(read.contains(ReadPolicy.realPath(project.appendingPathComponent("absolute.vrt").path)), "\(read)")
    }

    func testAVRTPointingAtEtcPasswdIsNeverOpened() throws {
        try vrt("/etc/passwd", relative: false).write(to: project.appendingPathComponent("passwd.vrt"), atomically: true, encoding: .utf8)
        try ndviPipeline(red: "passwd.vrt")
        let result = try CLITests.landwatch(["validate", "roots.yaml"], in: project)
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("/etc/passwd (reached through \(ReadPolicy.realPath(project.path))/passwd.vrt") || result.stderr.contains("/etc/passwd (reached through \(project.path)/passwd.vrt"), result.stderr)
        XCTAssertFalse(result.stderr.contains("not recognized"), result.stderr)
    }

    /// A copy of the Marburg product (MTL, red and NIR bands) in the project folder.
    func landsatCopy() throws -> URL {
        let folder = project.appendingPathComponent("landsat")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for suffix in ["MTL.txt", "B4.TIF", "B5.TIF"] {
            try FileManager.default.copyItem(at: Self.marburg.appendingPathComponent("\(Self.scene)_\(suffix)"),
                                             to: folder.appendingPathComponent("\(Self.scene)_\(suffix)"))
        }
        try """
            version: 1
            name: landsat
            stages:
              - id: scene
                uses: read.landsat
                with: {mtl: landsat/\(Self.scene)_MTL.txt, bands: "red,nir"}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: write-ndvi
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """.write(to: project.appendingPathComponent("landsat.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    func testAnMTLBandNameWithDotsAndABandFileThatIsASymlinkOutAreRefused() throws {
        let folder = try landsatCopy()
        let mtl = folder.appendingPathComponent("\(Self.scene)_MTL.txt")
        let original = try String(contentsOf: mtl, encoding: .utf8)
        // FILE_NAME_BAND_4 leading out of the product's folder.
        try FileManager.default.copyItem(at: folder.appendingPathComponent("\(Self.scene)_B4.TIF"), to: outside.appendingPathComponent("secret.TIF"))
        try original.replacingOccurrences(of: "FILE_NAME_BAND_4 = \"\(Self.scene)_B4.TIF\"", with: "FILE_NAME_BAND_4 = \"../../outside/secret.TIF\"")
            .write(to: mtl, atomically: true, encoding: .utf8)
        let dots = try CLITests.landwatch(["validate", "landsat.yaml"], in: project)
        XCTAssertEqual(dots.status, 65, dots.stderr)
        XCTAssertTrue(dots.stderr.contains("FILE_NAME_BAND_4 '../../outside/secret.TIF' is not a file name beside the MTL"), dots.stderr)
        // The band file beside the MTL is a link to a file outside.
        try original.write(to: mtl, atomically: true, encoding: .utf8)
        let band = folder.appendingPathComponent("\(Self.scene)_B4.TIF")
        try FileManager.default.removeItem(at: band)
        try FileManager.default.createSymbolicLink(atPath: band.path, withDestinationPath: outside.appendingPathComponent("secret.TIF").path)
        let link = try CLITests.landwatch(["validate", "landsat.yaml"], in: project)
        XCTAssertEqual(link.status, 65, link.stderr)
        XCTAssertTrue(link.stderr.contains("secret.TIF") && link.stderr.contains("is outside the folders this run may read"), link.stderr)
    }

    // MARK: - What a stage reads indirectly is in its key

    func testARerunRedoesAStageWhenAVRTSourceOrAnMTLBandFileChanges() throws {
        try FileManager.default.copyItem(at: outside.appendingPathComponent("b4.tif"), to: project.appendingPathComponent("b4.tif"))
        try vrt("b4.tif", relative: true).write(to: project.appendingPathComponent("red.vrt"), atomically: true, encoding: .utf8)
        try ndviPipeline(red: "red.vrt")
        let first = try CLITests.landwatch(["run", "roots.yaml", "--out", "out", "--threads", "2"], in: project)
        XCTAssertEqual(first.status, 0, first.stderr)
        let same = try CLITests.landwatch(["run", "roots.yaml", "--out", "out", "--threads", "2"], in: project)
        XCTAssertTrue(same.stdout.contains("kept from an earlier run, unchanged: write-ndvi"), same.stdout)
        // The VRT is untouched; the file it reads is replaced by another band.
        try FileManager.default.removeItem(at: project.appendingPathComponent("b4.tif"))
        try FileManager.default.copyItem(at: Self.zion.appendingPathComponent("landsat_b3.tif"), to: project.appendingPathComponent("b4.tif"))
        let changed = try CLITests.landwatch(["run", "roots.yaml", "--out", "out", "--threads", "2"], in: project)
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssertFalse(changed.stdout.contains("kept from an earlier run"), changed.stdout)

        let folder = try landsatCopy()
        let landsat = try CLITests.landwatch(["run", "landsat.yaml", "--out", "landsat-out", "--threads", "2"], in: project)
        XCTAssertEqual(landsat.status, 0, landsat.stderr)
        let band = folder.appendingPathComponent("\(Self.scene)_B5.TIF")
        let bytes = try Data(contentsOf: band)
        try FileManager.default.removeItem(at: band)
        try bytes.write(to: band)  // same bytes, a new file: the identity (inode, time) changed
        let rerun = try CLITests.landwatch(["run", "landsat.yaml", "--out", "landsat-out", "--threads", "2"], in: project)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertFalse(rerun.stdout.contains("kept from an earlier run"), rerun.stdout)
    }

    func testTheFilesAStageReadsIndirectlyIncludeAShapefilesSiblingsAndAnMTLsBands() throws {
        let shp = project.appendingPathComponent("plan.shp")
        for ext in ["shp", "dbf", "shx", "prj", "cpg"] { try Data("x".utf8).write(to: project.appendingPathComponent("plan.\(ext)")) }
        let siblings = Set(StageManifest.indirectFiles(of: shp.path).map { URL(fileURLWithPath: $0).lastPathComponent })
        XCTAssertEqual(siblings, ["plan.dbf", "plan.shx", "plan.prj", "plan.cpg"])
        let folder = try landsatCopy()
        let bands = StageManifest.indirectFiles(of: folder.appendingPathComponent("\(Self.scene)_MTL.txt").path).map { URL(fileURLWithPath: $0).lastPathComponent }
        XCTAssertTrue(bands.contains("\(Self.scene)_B4.TIF") && bands.contains("\(Self.scene)_B5.TIF"), "\(bands)")
    }

    // MARK: - Numbers that trapped, values read wrong

    func testAbsurdMemoryBudgetsAndGridsAreOneLineNotATrap() throws {
        try ndviPipeline(red: "b5.tif")
        for memory in ["1e30G", "infG", "nanM", "0.0G", "lots"] {
            let result = try CLITests.landwatch(["run", "roots.yaml", "--memory", memory, "--out", "out"], in: project)
            XCTAssertEqual(result.status, 64, "\(memory): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("--memory '\(memory)'"), result.stderr)
        }
        let merge = try CLITests.landwatch(["merge", "a", "b", "--out", "m", "--memory", "infG"], in: project)
        XCTAssertEqual(merge.status, 64, merge.stderr)
        try """
            version: 1
            name: grid
            grid: {crs: "EPSG:32612", resolution: 0.00001, extent: [300000, 4000000, 400000, 4100000]}
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: b5.tif, nir: b5.tif}}
              - id: ndvi
                uses: index.ndvi
                inputs: [scene]
              - id: write-ndvi
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """.write(to: project.appendingPathComponent("grid.yaml"), atomically: true, encoding: .utf8)
        let grid = try CLITests.landwatch(["validate", "grid.yaml"], in: project)
        XCTAssertEqual(grid.status, 65, grid.stderr)
        XCTAssertTrue(grid.stderr.contains("10000000000 x 10000000000 pixels"), grid.stderr)
    }

    func gdal(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = arguments
        process.currentDirectoryURL = project
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(arguments)")
    }

    func readBack(_ pipeline: String, band: String) throws -> [Float] {
        try """
            version: 1
            name: back
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {value: \(band)}}
              - id: write
                uses: write.raster
                inputs: [scene]
                with: {path: value.tif}
            """.write(to: project.appendingPathComponent("\(pipeline).yaml"), atomically: true, encoding: .utf8)
        let result = try CLITests.landwatch(["run", "\(pipeline).yaml", "--out", "\(pipeline)-out", "--threads", "1"], in: project)
        XCTAssertEqual(result.status, 0, result.stderr)
        guard result.status == 0 else { return [] }
        let dataset = try Dataset.open(project.appendingPathComponent("\(pipeline)-out/value.tif").path)
        return try dataset.band(1).read(Window(width: dataset.width, height: dataset.height))
    }

    func testInt8IsReadSignedAndAFloat64NodataBeyondFloat32IsNodata() throws {
        let common = ["-of", "GTiff", "-outsize", "32", "32", "-bands", "1", "-a_srs", "EPSG:32612", "-a_ullr", "300000", "4100000", "300960", "4099040"]
        try gdal("gdal_create", common + ["-ot", "Byte", "-co", "PIXELTYPE=SIGNEDBYTE", "-burn", "246", "signed.tif"])  // stored 246: −10 as a signed byte
        let signed = try readBack("signed", band: "signed.tif")
        XCTAssertEqual(Set(signed), [-10])
        // ArcGIS's Float64 nodata (−1.797e308) over a corner, 0.25 elsewhere.
        try gdal("gdal_create", common + ["-ot", "Float64", "-burn", "0.25", "-a_nodata", "-1.7976931348623157e308", "f64.tif"])
        try """
            {"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32612"}},"features":[{"type":"Feature","properties":{},
             "geometry":{"type":"Polygon","coordinates":[[[300000,4100000],[300300,4100000],[300300,4099700],[300000,4099700],[300000,4100000]]]}}]}
            """.write(to: project.appendingPathComponent("corner.geojson"), atomically: true, encoding: .utf8)
        try gdal("gdal_rasterize", ["-q", "-burn", "-1.7976931348623157e308", "corner.geojson", "f64.tif"])
        let values = try readBack("float64", band: "f64.tif")
        XCTAssertEqual(values.filter(\.isNaN).count, 100)
        XCTAssertEqual(values.filter { $0 == 0.25 }.count, 32 * 32 - 100)
    }
}
