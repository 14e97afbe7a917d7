import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest

/// `read.scene` with `sensor`: Sentinel-2 SAFE products (built from real Slovenia pixels by
/// testdata/sentinel2-safe/make_safe.py), stacks checked against the preset, Gaofen calibration from the file.
final class SensorPresetTests: PipelineTestCase {
    static let safe = TestPaths.repository.appendingPathComponent("testdata/sentinel2-safe").path
    static let l1c = "\(safe)/S2A_MSIL1C_20150731T100006_N0400_R122_T33TWM_20220101T000000.SAFE"
    static let l2a = "\(safe)/S2A_MSIL2A_20150731T100006_N0208_R122_T33TWM_20180101T000000.SAFE"
    static let stack = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2/S2L1C_20150731_13band.tif").path
    static let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8").path

    func reading(_ with: String) -> String {
        """
        version: 1
        stages:
          - id: scene
            uses: read.scene
            with: \(with)
          - id: out
            uses: write.raster
            inputs: [scene]
            with: {path: scene.tif}
        """
    }

    func whole(_ path: String, band: Int) throws -> [Float] {
        let dataset = try Dataset.open(path)
        return try dataset.band(band).read(Window(width: dataset.width, height: dataset.height))
    }

    /// Baseline 04.00: reflectance = (DN - 1000) / 10000, the offset taken from RADIO_ADD_OFFSET.
    func testLevel1CSAFEAppliesTheBaselineOffset() throws {
        let record = try run(reading("{sensor: sentinel2-l1c, path: \"\(Self.l1c)\"}"))
        let out = work.appendingPathComponent("out/scene.tif").path
        let names = try (1...6).map { try Dataset.open(out).band($0).bandDescription }
        XCTAssertEqual(names, ["blue", "green", "red", "nir", "swir1", "swir2"])
        for (band, source) in [(1, 2), (3, 4), (4, 8)] {
            let read = try whole(out, band: band), original = try whole(Self.stack, band: source)
            let worst = zip(read, original).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 0.5e-4 + 1e-6, "band \(names[band - 1])")
        }
        // The 20 m SWIR bands are warped onto the 10 m grid of the first band.
        let swir = try whole(out, band: 5)
        XCTAssertEqual(swir.count, 100 * 101)
        XCTAssertGreaterThan(swir.filter { $0 > 0.05 && $0 < 0.6 }.count, 9000)
        XCTAssertEqual(record.stages.first { $0.id == "scene" }.map { _ in true }, true)
    }

    /// The zip as delivered reads in place (GDAL's /vsizip/), with the same values as the unpacked folder.
    func testAZippedProductReadsLikeItsFolder() throws {
        let zip = String(Self.l1c.dropLast(5)) + ".zip"
        try run(reading("{sensor: sentinel2-l1c, path: \"\(zip)\", band_names: \"red,swir1\"}"), out: "zip")
        try run(reading("{sensor: sentinel2-l1c, path: \"\(Self.l1c)\", band_names: \"red,swir1\"}"), out: "folder")
        for band in 1...2 {
            XCTAssertEqual(try whole(work.appendingPathComponent("zip/scene.tif").path, band: band),
                           try whole(work.appendingPathComponent("folder/scene.tif").path, band: band))
        }
        let text = """
            version: 1
            stages:
              - id: clouds
                uses: mask.clouds
                with: {safe: "\(zip)"}
              - id: out
                uses: write.raster
                inputs: [clouds]
                with: {path: clouds.tif}
            """
        try run(text, out: "mask")
        XCTAssertEqual(try whole(work.appendingPathComponent("mask/clouds.tif").path, band: 1).filter { $0 == 1 }.count, 34)
    }

    /// A SAFE product read by its preset, masked by its own cloud mask, written.
    func maskedProduct(_ product: String, sensor: String) -> String {
        """
        version: 1
        grid: {like: scene}
        stages:
          - id: scene
            uses: read.scene
            with: {sensor: \(sensor), path: "\(product)", band_names: "blue,red,nir"}
          - id: clouds
            uses: mask.clouds
            with: {safe: "\(product)"}
          - id: clear
            uses: mask.apply
            inputs: {scene: scene, mask: clouds}
          - id: out
            uses: write.raster
            inputs: [clear]
            with: {path: clear.tif}
        """
    }

    /// The fixtures' cloud: every 10 m pixel whose 20 m cell holds a pixel with blue above 0.2 (compared in double
    /// precision, as the fixture script does: a Float of exactly 0.2f, 0.2000000030, is cloud).
    func cloudCells() throws -> (blue: [Float], cloudy: (Int) -> Bool) {
        let blue = try whole(Self.stack, band: 2)
        var cells = Set<Int>()
        for i in blue.indices where Double(blue[i]) > 0.2 { cells.insert((i / 100 / 2) * 50 + (i % 100) / 2) }
        return (blue, { cells.contains(($0 / 100 / 2) * 50 + ($0 % 100) / 2) })
    }

    func testLevel2ASAFEAndItsSceneClassificationMask() throws {
        let record = try run(maskedProduct(Self.l2a, sensor: "sentinel2-l2a"))
        let masked = record.stages.first { $0.id == "clear" }?.counts?["masked"] ?? -1
        // SCL class 9 (cloud, high probability) in the cloudy 20 m cells.
        let (blue, cloudy) = try cloudCells()
        let expected = blue.indices.filter(cloudy).count
        // The source has a few pixels without data (NaN, stored as DN 0 in the product): nodata as well.
        let empty = blue.indices.filter { blue[$0].isNaN && !cloudy($0) }.count
        XCTAssertGreaterThan(expected, 100)
        XCTAssertEqual(masked, expected + empty)
        let read = try whole(work.appendingPathComponent("out/clear.tif").path, band: 1)
        XCTAssertEqual(read.filter(\.isNaN).count, expected + empty)
        // Baseline 02.08: no offset.
        let i = blue.indices.first { !cloudy($0) }!
        XCTAssertEqual(read[i], blue[i], accuracy: 0.5e-4 + 1e-6)
    }

    /// Level-1C at baseline 04.00: the raster cloud mask MSK_CLASSI_B00 (opaque clouds, cirrus).
    func testLevel1CCloudMaskFromMSKCLASSI() throws {
        let text = maskedProduct(Self.l1c, sensor: "sentinel2-l1c")
        let record = try run(text)
        let (blue, cloudy) = try cloudCells()
        let expected = blue.indices.filter(cloudy).count
        XCTAssertEqual(record.stages.first { $0.id == "clear" }?.counts?["masked"], expected)
        // Without the mask file, the message says what to do instead.
        let copy = work.appendingPathComponent("old.SAFE")
        try FileManager.default.copyItem(atPath: Self.l1c, toPath: copy.path)
        let granule = try FileManager.default.contentsOfDirectory(atPath: copy.appendingPathComponent("GRANULE").path)[0]
        try FileManager.default.removeItem(at: copy.appendingPathComponent("GRANULE/\(granule)/QI_DATA"))
        XCTAssertThrowsError(try run(text.replacingOccurrences(of: "safe: \"\(Self.l1c)\"", with: "safe: \"\(copy.path)\""), out: "old")) { error in
            XCTAssertTrue("\(error)".contains("clouds: \(copy.path)/GRANULE holds no QI_DATA/MSK_CLASSI_B00.jp2 (processing baseline 04.00)"), "\(error)")
        }
    }

    func testAMissingOffsetAtBaseline4IsNamed() throws {
        let copy = work.appendingPathComponent("copy.SAFE")
        try FileManager.default.copyItem(atPath: Self.l1c, toPath: copy.path)
        let mtd = copy.appendingPathComponent("MTD_MSIL1C.xml")
        let text = try String(contentsOf: mtd, encoding: .utf8)
        try text.split(separator: "\n").filter { !$0.contains("RADIO_ADD_OFFSET") }.joined(separator: "\n")
            .write(to: mtd, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(reading("{sensor: sentinel2-l1c, path: \"\(copy.path)\"}"))) { error in
            XCTAssertTrue("\(error)".hasSuffix("scene: \(mtd.path) lacks RADIO_ADD_OFFSET (processing baseline 04.00 carries an offset of -1000 that the metadata must give)"), "\(error)")
        }
        XCTAssertThrowsError(try run(reading("{sensor: sentinel2-l2a, path: \"\(Self.l1c)\"}"))) { error in
            XCTAssertTrue("\(error)".contains("scene: sensor sentinel2-l2a does not match \(Self.l1c)/MTD_MSIL1C.xml, a Level-1C product"), "\(error)")
        }
        try text.write(to: mtd, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("GRANULE"))
        XCTAssertThrowsError(try run(reading("{sensor: sentinel2-l1c, path: \"\(copy.path)\"}"))) { error in
            XCTAssertTrue("\(error)".contains("_B02.jp2, band B02 of the product, is missing"), "\(error)")
        }
    }

    /// A Float export holds reflectance already: the preset's integer scaling is not applied.
    func testAStackIsCheckedAgainstThePreset() throws {
        try run(reading("{sensor: sentinel2-l1c, path: \"\(Self.stack)\", band_names: \"red,nir,cirrus\"}"))
        let out = work.appendingPathComponent("out/scene.tif").path
        XCTAssertEqual(try whole(out, band: 1), try whole(Self.stack, band: 4))
        XCTAssertEqual(try whole(out, band: 3), try whole(Self.stack, band: 11))
        XCTAssertThrowsError(try run(reading("{sensor: sentinel2-l2a, path: \"\(Self.stack)\"}"), out: "bad")) { error in
            XCTAssertTrue("\(error)".hasSuffix("scene: sensor sentinel2-l2a delivers 12 bands (coastal, blue, green, red, rededge1, rededge2, rededge3, nir, nir2, watervapour, swir1, swir2), but \(Self.stack) has 13"), "\(error)")
        }
    }

    /// Gaofen digital numbers: radiance = DN x gain + bias; with ESUN, TOA reflectance π L d² / (ESUN sin θ).
    func testGaofenCalibrationComesFromTheFile() throws {
        let bands = "{blue: \"\(Self.zion)/landsat_b2.tif\", nir: \"\(Self.zion)/landsat_b5.tif\"}"
        try run(reading("{sensor: gf2-pms, bands: \(bands), gains: \"0.1, 0.2, 0.3, 0.4\", biases: \"1, 2, 3, 4\", nodata: 65535}"))
        let dn = try whole("\(Self.zion)/landsat_b5.tif", band: 1)
        let radiance = try whole(work.appendingPathComponent("out/scene.tif").path, band: 2)
        let i = dn.indices.first { dn[$0] > 0 && dn[$0] < 65535 }!
        XCTAssertEqual(radiance[i], dn[i] * 0.4 + 4, accuracy: 1e-3)

        try run(reading("{sensor: gf2-pms, bands: \(bands), gains: \"0.1, 0.2, 0.3, 0.4\", esun: \"1900, 1800, 1500, 1000\", sun_elevation: 60, date: 2015-07-04, nodata: 65535}"), out: "toa")
        let reflectance = try whole(work.appendingPathComponent("toa/scene.tif").path, band: 2)
        // 4 July (day 185) is aphelion: d = 1.0167 AU.
        let d = 1 - 0.01672 * cos(0.9856 * Double(185 - 4) * .pi / 180)
        let expected = Double.pi * Double(dn[i]) * 0.4 * d * d / (1000 * sin(60 * Double.pi / 180))
        XCTAssertEqual(Double(reflectance[i]), expected, accuracy: 1e-5)

        XCTAssertThrowsError(try run(reading("{sensor: gf2-pms, bands: \(bands)}"), out: "bad")) { error in
            XCTAssertTrue("\(error)".contains("scene: gf2-pms delivers digital numbers: give the year's calibration gains (published yearly by CRESDA), one per band: blue, green, red, nir"), "\(error)")
        }
        XCTAssertThrowsError(try run(reading("{sensor: gf2-pms, bands: \(bands), gains: \"0.1, 0.2\"}"), out: "bad")) { error in
            XCTAssertTrue("\(error)".contains("scene: give 4 values, one per band of gf2-pms (blue, green, red, nir); 2 given"), "\(error)")
        }
        XCTAssertThrowsError(try run(reading("{sensor: gf2-pms, bands: \(bands), gains: \"1,1,1,1\", esun: \"1,1,1,1\"}"), out: "bad")) { error in
            XCTAssertTrue("\(error)".contains("scene: TOA reflectance needs the sun elevation: give 'sun_elevation'"), "\(error)")
        }
    }

    static let gaofen = TestPaths.repository.appendingPathComponent("testdata/gaofen-rpc").path
    static let level1A = "\(gaofen)/GF2_PMS1_W113.0_N37.2_20150818_L1A0000000001-MSS1.tiff"

    /// A Level-1A image placed only by RPCs is orthorectified by GDAL's RPC transformer: onto the grid of the same
    /// pixels' geographic original it gives them back; without a grid, onto the UTM zone of its centre.
    func testGaofenLevel1AIsOrthorectifiedByItsRPCs() throws {
        let text = """
            version: 1
            grid: {like: reference}
            stages:
              - id: reference
                uses: read.scene
                with: {path: "\(Self.gaofen)/reference_geographic.tif", bands: {nir: 4}}
              - id: scene
                uses: read.scene
                with: {sensor: gf2-pms, path: "\(Self.level1A)", gains: "1,1,1,1", band_names: "nir", resampling: nearest}
              - id: out
                uses: write.raster
                inputs: [scene]
                with: {path: ortho.tif}
            """
        try run(text)
        let ortho = try whole(work.appendingPathComponent("out/ortho.tif").path, band: 1)
        let reference = try whole("\(Self.gaofen)/reference_geographic.tif", band: 4)
        let valid = reference.indices.filter { reference[$0] > 0 }
        XCTAssertGreaterThan(valid.count, 35000)
        let same = valid.filter { ortho[$0] == reference[$0] }.count
        XCTAssertGreaterThan(Double(same) / Double(valid.count), 0.99, "\(same) of \(valid.count) pixels equal")

        // No grid: the suggested UTM grid (zone 12 north for 113° W), at about 30 m.
        try run(reading("{sensor: gf2-pms, path: \"\(Self.level1A)\", gains: \"1,1,1,1\", band_names: \"red,nir\"}"), out: "utm")
        let utm = try Dataset.open(work.appendingPathComponent("utm/scene.tif").path)
        XCTAssertEqual(try utm.spatialReference()?.epsgCode, 32612)
        XCTAssertEqual(utm.geoTransform!.pixelWidth, 30, accuracy: 6)
        XCTAssertGreaterThan(try utm.band(2).read(Window(width: utm.width, height: utm.height)).filter { $0 > 5000 }.count, 30000)
    }

    /// The product XML beside the image gives the sun elevation (90 - SolarZenith) and the date for reflectance.
    func testGaofenReflectanceTakesTheSunFromTheProductXML() throws {
        try run(reading("{sensor: gf2-pms, path: \"\(Self.level1A)\", gains: \"0.2,0.2,0.2,0.2\", esun: \"1,1,1,1000\", band_names: \"nir\", resampling: nearest}"))
        let out = try Dataset.open(work.appendingPathComponent("out/scene.tif").path)
        let values = try out.band(1).read(Window(width: out.width, height: out.height)).filter { !$0.isNaN }
        // 18 August (day 230): d = 1.0121 AU; sun elevation 59.5 degrees; NIR digital numbers of Zion ~ 10000-30000.
        let d = 1 - 0.01672 * cos(0.9856 * Double(230 - 4) * .pi / 180)
        let k = Double.pi * d * d / (1000 * sin(59.5 * Double.pi / 180)) * 0.2
        let dn = try whole(Self.level1A, band: 4).filter { $0 > 0 }
        XCTAssertEqual(Double(values.max()!), Double(dn.max()!) * k, accuracy: 1e-4)
    }
}
