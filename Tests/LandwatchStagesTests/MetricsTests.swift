import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest
import LandwatchSensors
import LandwatchProducts

/// Environmental metrics on the real Marburg scenes and the example districts of testdata/plan.
final class MetricsTests: PipelineTestCase {
    static let marburg = TestPaths.repository.appendingPathComponent("testdata/marburg-landsat")
    static let l8 = marburg.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt").path
    static let l7 = marburg.appendingPathComponent("LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt").path
    static let plan = TestPaths.repository.appendingPathComponent("testdata/plan").path

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent(path))) as! [String: Any]
    }

    /// The scene, its classes, NDVI and the districts, with the metric stages given.
    func pipeline(_ extra: String, mtl: String = MetricsTests.l8) -> String {
        """
        version: 1
        grid: {like: scene}
        stages:
          - {id: scene, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: classes, uses: classify.rules, inputs: [scene]}
          - {id: ndvi, uses: index.ndvi, inputs: [scene]}
          - {id: zones, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", id_field: code, name_field: name}}
          - {id: redline, uses: read.plan, with: {role: redline, path: "\(Self.plan)/redline.geojson"}}
          - {id: w-classes, uses: write.raster, inputs: [classes], with: {path: classes.tif, type: Byte}}
          - {id: w-ndvi, uses: write.raster, inputs: [ndvi], with: {path: ndvi.tif}}
          - {id: w-zones, uses: write.raster, inputs: [zones], with: {path: zones.tif, type: Byte}}
        \(extra)
        """
    }

    func testZonalStatisticsMatchTheRastersTheyWereComputedFrom() throws {
        try run(pipeline("""
              - {id: zonal, uses: metrics.zonal, inputs: {zones: zones, classes: classes, values: ndvi}}
            """))
        let classes = try readWhole(work.appendingPathComponent("out/classes.tif").path)
        let ndvi = try readWhole(work.appendingPathComponent("out/ndvi.tif").path)
        let zones = try readWhole(work.appendingPathComponent("out/zones.tif").path)
        let result = try json("out/zonal.json")
        let rows = result["zones"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["name"] as! String }, ["城西区", "城东区"])
        for (number, row) in zip([1, 2], rows) {
            let inZone = zones.indices.filter { zones[$0] == Float(number) }
            XCTAssertEqual(row["pixels"] as? Int, inZone.count)
            let values = inZone.map { Double(ndvi[$0]) }.filter(\.isFinite)
            let mean = values.reduce(0, +) / Double(values.count)
            let statistics = (row["values"] as! [String: Any])["ndvi"] as! [String: Any]
            XCTAssertEqual(statistics["mean"] as! Double, mean, accuracy: 1e-4)
            XCTAssertEqual(statistics["max"] as! Double, values.max()!, accuracy: 1e-4)
            let forest = inZone.filter { classes[$0] == 2 }.count
            XCTAssertEqual((row["class_km2"] as! [String: Any])["forest"] as! Double, Double(forest) * 900 / 1e6, accuracy: 1e-4)
        }
        XCTAssertEqual(rows.reduce(0) { $0 + ($1["pixels"] as! Int) }, 41 * 41, "the two districts tile the scene")
        let csv = try Data(contentsOf: work.appendingPathComponent("out/zonal.csv"))
        XCTAssertEqual(Array(csv.prefix(3)), [0xEF, 0xBB, 0xBF])
    }

    func testGreenCoverageAndItsChangeAgainstABaselineRun() throws {
        try run(pipeline("""
              - {id: green, uses: metrics.green, inputs: {zones: zones, classes: classes}}
            """, mtl: Self.l7), out: "out2001")
        let classes = try readWhole(work.appendingPathComponent("out2001/classes.tif").path)
        let zones = try readWhole(work.appendingPathComponent("out2001/zones.tif").path)
        let rows2001 = try json("out2001/green.json")["zones"] as! [[String: Any]]
        for (number, row) in zip([1, 2], rows2001) {
            let observed = zones.indices.filter { zones[$0] == Float(number) && classes[$0] > 0 }
            let vegetated = observed.filter { [1, 2, 3].contains(Int(classes[$0])) }.count
            XCTAssertEqual(row["green_coverage"] as! Double, Double(vegetated) / Double(observed.count), accuracy: 1e-6)
        }
        let baseline = work.appendingPathComponent("out2001/green.json").path
        try run(pipeline("""
              - {id: green, uses: metrics.green, inputs: {zones: zones, classes: classes}, with: {baseline: "\(baseline)"}}
            """), out: "out2013")
        let rows2013 = try json("out2013/green.json")["zones"] as! [[String: Any]]
        for (before, after) in zip(rows2001, rows2013) {
            let expected = ((after["green_coverage"] as! Double) - (before["green_coverage"] as! Double)) * 100
            XCTAssertEqual(after["change_percentage_points"] as! Double, expected, accuracy: 1e-2)
        }
        // The typed product the report and the next baseline read is the file, field for field.
        let typed = try GreenCoverageResult.decode(Data(contentsOf: work.appendingPathComponent("out2013/green.json")))
        XCTAssertEqual(typed.version, GreenCoverageResult.currentVersion)
        XCTAssertEqual(typed.zones.map(\.zone), rows2013.map { $0["zone"] as! String })
        XCTAssertEqual(typed.zones.map(\.greenCoverage), rows2013.map { $0["green_coverage"] as? Double })
        XCTAssertEqual(typed.zones.map(\.baselineCoverage), rows2001.map { $0["green_coverage"] as? Double })
        XCTAssertEqual(typed.zones.map(\.changePercentagePoints), rows2013.map { $0["change_percentage_points"] as? Double })
    }

    func testDevelopmentIntensityLevelsPerZone() throws {
        try run(pipeline("""
              - id: intensity
                uses: metrics.intensity
                inputs: {zones: zones, classes: classes, redline: redline}
                with: {warning: 0.05, limit: 0.5, per_zone: {"330103": {warning: 0.0, limit: 0.001}}}
            """))
        let classes = try readWhole(work.appendingPathComponent("out/classes.tif").path)
        let zones = try readWhole(work.appendingPathComponent("out/zones.tif").path)
        let rows = try json("out/intensity.json")["zones"] as! [[String: Any]]
        for (number, row) in zip([1, 2], rows) {
            let observed = zones.indices.filter { zones[$0] == Float(number) && classes[$0] > 0 }
            let built = observed.filter { classes[$0] == 5 }.count
            XCTAssertEqual(row["intensity"] as! Double, Double(built) / Double(observed.count), accuracy: 1e-6)
        }
        XCTAssertEqual(rows[1]["level"] as? String, "exceeded", "the east district's own limit of 0.1 %")
        // The typed product the report reads is the file, field for field.
        let typed = try IntensityResult.decode(Data(contentsOf: work.appendingPathComponent("out/intensity.json")))
        XCTAssertEqual(typed.version, IntensityResult.currentVersion)
        XCTAssertEqual(typed.zones.map(\.zone), rows.map { $0["zone"] as! String })
        XCTAssertEqual(typed.zones.map(\.intensity), rows.map { $0["intensity"] as? Double })
        XCTAssertEqual(typed.zones.map { $0.level?.rawValue }, rows.map { $0["level"] as? String })
        XCTAssertEqual(typed.zones.map { $0.ecoLevel?.rawValue }, rows.map { $0["eco_level"] as? String })
        XCTAssertEqual(typed.zones[1].level, .exceeded)
        XCTAssertEqual(rows[1]["limit"] as? Double, 0.001)
        XCTAssertNotNil(rows[0]["eco_occupation"])
    }

    func testLandSurfaceTemperatureFromEachThermalSensor() throws {
        // Landsat 8 band 10 and Landsat 7 band 6 (low gain) over Marburg in July, Landsat 5 band 6 in Kenya.
        let kenya = TestPaths.repository.appendingPathComponent("testdata/marburg-landsat/kenya-pair/LT05/LT05_L1TP_167055_20000309_20161214_01_T1_MTL.txt").path
        for (mtl, tir, range) in [(Self.l8, "tir1", 10.0...45.0), (Self.l7, "tir", 10.0...45.0), (kenya, "tir", 10.0...60.0)] {
            try run("""
                version: 1
                grid: {like: thermal}
                stages:
                  - {id: scene, uses: read.landsat, with: {mtl: "\(mtl)", bands: "red,nir"}}
                  - {id: thermal, uses: read.landsat, with: {mtl: "\(mtl)", bands: \(tir), values: dn}}
                  - {id: ndvi, uses: index.ndvi, inputs: [scene]}
                  - {id: lst, uses: thermal.lst, inputs: {thermal: thermal, ndvi: ndvi}, with: {mtl: "\(mtl)"}}
                  - {id: w, uses: write.raster, inputs: [lst], with: {path: lst.tif}}
                  - {id: w2, uses: write.raster, inputs: [thermal], with: {path: dn.tif}}
                  - {id: w3, uses: write.raster, inputs: [ndvi], with: {path: ndvi.tif}}
                """, out: "out-\(tir)-\(mtl.hashValue)")
            let folder = work.appendingPathComponent("out-\(tir)-\(mtl.hashValue)")
            let lst = try readWhole(folder.appendingPathComponent("lst.tif").path)
            let dn = try readWhole(folder.appendingPathComponent("dn.tif").path)
            let ndvi = try readWhole(folder.appendingPathComponent("ndvi.tif").path)
            let finite = lst.filter(\.isFinite)
            XCTAssertGreaterThan(finite.count, lst.count / 2)
            let mean = Double(finite.reduce(0, +)) / Double(finite.count)
            XCTAssertTrue(range.contains(mean), "\(mtl): mean LST \(mean) °C")
            // Three pixels recomputed by hand from the MTL's constants (docs/formulas.md): bare or built
            // (NDVI < 0.2), mixed, vegetated (NDVI > 0.5) where the scene has them. The two known mistakes of
            // public code (K1 and K2 swapped; log1p(K1/L + 1)) give other numbers, which the last lines show.
            let product = try LandsatProduct(mtl: MTLFile(path: mtl))
            let calibration = try product.thermalCalibration()
            guard case .radiance(let m, let a, let k1, let k2) = calibration.kind else { return XCTFail("Level-1 expected") }
            let kinds: [(String, (Float) -> Bool)] = [("bare", { $0 < 0.2 }), ("mixed", { $0 >= 0.2 && $0 <= 0.5 }), ("vegetated", { $0 > 0.5 })]
            var checked = 0
            for (kind, test) in kinds {
                guard let i = lst.indices.first(where: { lst[$0].isFinite && test(ndvi[$0]) }) else { continue }
                let radiance = m * Double(dn[i]) + a
                let bt = k2 / log(k1 / radiance + 1)
                let v = Double(ndvi[i])
                let pv = pow(min(max((v - 0.2) / 0.3, 0), 1), 2)
                let epsilon = v < 0.2 ? 0.973 : v > 0.5 ? 0.99 : 0.004 * pv + 0.986
                let expected = bt / (1 + (calibration.wavelength * bt / 14388) * log(epsilon)) - 273.15
                XCTAssertEqual(Double(lst[i]), expected, accuracy: 0.01, "\(mtl): \(kind) pixel \(i)")
                let swapped = k1 / log(k2 / radiance + 1), doubled = k2 / log1p(k1 / radiance + 1)
                XCTAssertGreaterThan(abs(swapped - bt), 1, "K1/K2 swapped would be caught")
                XCTAssertGreaterThan(abs(doubled - bt), 0.05, "log1p(K1/L + 1) would be caught")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 2, "\(mtl): pixels of at least two kinds")
        }
    }

    func testThermalBadInputs() throws {
        // A product whose MTL lacks K1/K2, a scene asked for a thermal band it does not have, a missing name field.
        let text = try String(contentsOfFile: Self.l8, encoding: .utf8).split(separator: "\n")
            .filter { !$0.contains("K1_CONSTANT_BAND_10") }.joined(separator: "\n")
        let mtl = work.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt")
        try text.write(to: mtl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LandsatProduct(mtl: MTLFile(path: mtl.path)).thermalCalibration()) { error in
            XCTAssertTrue("\(error)".contains("no K1_CONSTANT_BAND_10"), "\(error)")
        }
        XCTAssertThrowsError(try run("""
            version: 1
            stages:
              - {id: t, uses: read.landsat, with: {mtl: "\(Self.l8)", bands: tir, values: dn}}
            """)) { error in
            XCTAssertTrue("\(error)".contains("LANDSAT_8 has no band 'tir'"), "\(error)")
        }
        XCTAssertThrowsError(try run(pipeline("""
              - {id: z, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", name_field: district}}
            """))) { error in
            XCTAssertTrue("\(error)".contains("field 'district' does not exist in layer 'zones'"), "\(error)")
        }
    }

    func testSwappedThermalConstantsAreRefused() throws {
        let text = try String(contentsOfFile: Self.l8, encoding: .utf8)
            .replacingOccurrences(of: "K1_CONSTANT_BAND_10 = 774.8853", with: "K1_CONSTANT_BAND_10 = 1321.0789")
            .replacingOccurrences(of: "K2_CONSTANT_BAND_10 = 1321.0789", with: "K2_CONSTANT_BAND_10 = 774.8853")
        let mtl = work.appendingPathComponent("swapped_MTL.txt")
        try text.write(to: mtl, atomically: true, encoding: .utf8)
        let product = try LandsatProduct(mtl: MTLFile(path: mtl.path))
        XCTAssertThrowsError(try product.thermalCalibration()) { error in
            XCTAssertTrue("\(error)".contains("are they swapped?"), "\(error)")
        }
    }
}

final class ThermalFormulaTests: XCTestCase {
    func testBrightnessTemperatureAvoidsTheKnownMistakes() {
        let calibration = ThermalCalibration(kind: .radiance(multiply: 1, add: 0, k1: 774.8853, k2: 1321.0789), wavelength: 10.895, band: "10")
        // L = 10 W/(m² sr µm): BT = 1321.0789 / ln(774.8853 / 10 + 1) = 302.8 K.
        let bt = calibration.brightnessTemperature(dn: 10)!
        XCTAssertEqual(bt, 1321.0789 / log(77.48853 + 1), accuracy: 1e-9)
        XCTAssertEqual(bt, 302.79, accuracy: 0.01)
        XCTAssertNotEqual(bt, 1321.0789 / log1p(77.48853 + 1), accuracy: 0.5, "log1p(K1/L + 1) adds 1 twice")
        XCTAssertNil(calibration.brightnessTemperature(dn: 0), "0 is fill")
    }

    func testEmissivityThresholds() {
        let model = EmissivityModel()
        XCTAssertEqual(model.emissivity(ndvi: 0.1), 0.973)
        XCTAssertEqual(model.emissivity(ndvi: 0.6), 0.99)
        XCTAssertEqual(model.emissivity(ndvi: 0.35), 0.004 * 0.25 + 0.986, accuracy: 1e-12)
    }

    func testLevel2SurfaceTemperatureIsScaledOnly() {
        let calibration = ThermalCalibration(kind: .surfaceTemperature(scale: 0.00341802, offset: 149.0), wavelength: 10.895, band: "ST_B10")
        XCTAssertEqual(calibration.surfaceTemperature(dn: 44000, ndvi: nil, isWater: false, emissivity: EmissivityModel())!,
                       0.00341802 * 44000 + 149.0 - 273.15, accuracy: 1e-9)
        XCTAssertNil(calibration.surfaceTemperature(dn: 0, ndvi: nil, isWater: false, emissivity: EmissivityModel()))
    }

    func testPearsonCorrelation() {
        XCTAssertEqual(ZonalTable.correlation([(1, 2), (2, 4), (3, 6)])!, 1, accuracy: 1e-12)
        XCTAssertEqual(ZonalTable.correlation([(1, 3), (2, 2), (3, 1)])!, -1, accuracy: 1e-12)
        XCTAssertNil(ZonalTable.correlation([(1, 1), (2, 2)]))
    }
}

extension MetricsTests {
    func heatIslandPipeline(thermal: Bool) -> String {
        let mtl = Self.l8
        return """
            version: 1
            grid: {like: scene}
            stages:
              - {id: scene, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
              - {id: classes, uses: classify.rules, inputs: [scene]}
              - {id: zones, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", id_field: code, name_field: name}}
              - {id: w-classes, uses: write.raster, inputs: [classes], with: {path: classes.tif, type: Byte}}
            """ + (thermal ? """

              - {id: thermal, uses: read.landsat, with: {mtl: "\(mtl)", bands: tir1, values: dn}}
              - {id: ndvi, uses: index.ndvi, inputs: [scene]}
              - {id: lst, uses: thermal.lst, inputs: {thermal: thermal, ndvi: ndvi, water: classes}, with: {mtl: "\(mtl)"}}
              - {id: w-lst, uses: write.raster, inputs: [lst], with: {path: lst.tif}}
              - {id: heat, uses: metrics.heat_island, inputs: {classes: classes, lst: lst, zones: zones}, with: {ring_width: 150}}
            """ : """

              - {id: heat, uses: metrics.heat_island, inputs: {classes: classes, zones: zones}, with: {ring_width: 150}}
            """)
    }

    func testHeatIslandFromTheThermalBand() throws {
        try run(heatIslandPipeline(thermal: true))
        let result = try json("out/heat_island.json")
        XCTAssertEqual(result["is_proxy"] as? Bool, false)
        let classes = try readWhole(work.appendingPathComponent("out/classes.tif").path)
        let lst = try readWhole(work.appendingPathComponent("out/lst.tif").path)
        // The scene's urban mean is the mean LST of its built-up pixels; SUHI is urban minus rural ring.
        let scene = result["scene"] as! [String: Any]
        let built = lst.indices.filter { classes[$0] == 5 && lst[$0].isFinite }.map { Double(lst[$0]) }
        XCTAssertEqual(scene["urban_mean_lst_c"] as! Double, built.reduce(0, +) / Double(built.count), accuracy: 1e-3)
        XCTAssertEqual(scene["suhi_c"] as! Double, (scene["urban_mean_lst_c"] as! Double) - (scene["rural_ring_mean_lst_c"] as! Double), accuracy: 2e-3)
        let ring = scene["rural_ring_pixels"] as! Int
        XCTAssertGreaterThan(ring, 0)
        XCTAssertLessThan(ring, lst.count - built.count, "the ring is a band around the built-up pixels, not the rest of the scene")
        // Hot spots: LST above the scene mean plus 2 standard deviations.
        let values = lst.filter(\.isFinite).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        let hotspots = try readWhole(work.appendingPathComponent("out/heat_island_hotspots.tif").path)
        XCTAssertEqual(hotspots.filter { $0 == 1 }.count, values.filter { $0 > mean + 2 * std }.count)
        XCTAssertEqual((result["zones"] as! [[String: Any]]).count, 2)
        XCTAssertNotNil(result["green_lst_correlation_note"], "two zones are too few for a correlation, and it says so")
    }

    func testWithoutAThermalBandTheHeatIslandIsAProxyAndSaysSo() throws {
        try run(heatIslandPipeline(thermal: false))
        let result = try json("out/heat_island.json")
        XCTAssertEqual(result["is_proxy"] as? Bool, true)
        XCTAssertTrue((result["kind"] as! String).contains("not a temperature"))
        let zones = result["zones"] as! [[String: Any]]
        XCTAssertNil(zones[0]["suhi_c"])
        XCTAssertNotNil(zones[0]["heat_island_proxy"])
        let csv = String(decoding: try Data(contentsOf: work.appendingPathComponent("out/heat_island.csv")), as: UTF8.self)
        XCTAssertTrue(csv.contains("proxy") && csv.contains("PROXY") && !csv.contains("°C") && !csv.contains("lst"), csv)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out/heat_island_hotspots.tif").path))
    }
}

/// Green coverage and development intensity on a synthetic land-cover map and zones with known answers.
final class SyntheticZoneTests: PipelineTestCase {
    let utm = "EPSG:32650"
    let origin = (x: 195_000.0, y: 2_496_000.0)

    func testKnownAnswersExactlyAndTheCoveredShareOfAZonePartlyOffTheImage() throws {
        // Left half: built-up in the top 20 rows, forest below. Right half: water in the top 10 rows, cloud
        // (no class) in the next 20, grassland below.
        let grid = RasterGrid(width: 100, height: 100,
                              geoTransform: GeoTransform(originX: origin.x, pixelWidth: 10, rowRotation: 0, originY: origin.y, colRotation: 0, pixelHeight: -10),
                              crsWKT: try SpatialReference(definition: utm).wkt, crsLabel: utm)
        let classesPath = work.appendingPathComponent("classes.tif").path
        let dataset = try Dataset.createGeoTIFF(at: classesPath, grid: grid, bandCount: 1, dataType: .uint8, options: GeoTIFFOptions())
        var classes = [Float](repeating: 0, count: 100 * 100)
        for row in 0..<100 {
            for col in 0..<100 {
                classes[row * 100 + col] = col < 50 ? (row < 20 ? 5 : 2) : (row < 10 ? 4 : row < 30 ? 0 : 3)
            }
        }
        try classes.withUnsafeBufferPointer { try dataset.band(1).write(Window(width: 100, height: 100), from: $0) }
        try dataset.band(1).setNoDataValue(0)
        try dataset.close()
        // Zone A covers the left half; zone B the right half and as much again east of the image.
        let zones = work.appendingPathComponent("zones.gpkg").path
        let writer = try VectorWriter(path: zones, driver: "GPKG", layer: "zones", crs: SpatialReference(definition: utm), geometry: .polygon,
                                      fields: [("code", .string), ("name", .string)])
        func rectangle(_ c0: Int, _ c1: Int) throws -> Geometry {
            let x0 = origin.x + Double(c0) * 10, x1 = origin.x + Double(c1) * 10, y0 = origin.y - 1000, y1 = origin.y
            return try Geometry(wkt: "POLYGON ((\(x0) \(y0), \(x1) \(y0), \(x1) \(y1), \(x0) \(y1), \(x0) \(y0)))")
        }
        try writer.add(rectangle(0, 50), values: ["code": .string("A"), "name": .string("west")])
        try writer.add(rectangle(50, 150), values: ["code": .string("B"), "name": .string("east, half off the image")])
        try writer.close()
        // The bureau's own land-cover map, read as it is (a one-band raster of legend codes, 0 = no class).
        try run("""
            version: 1
            stages:
              - {id: classes, uses: read.scene, with: {bands: {class: "\(classesPath)"}, resampling: nearest, nodata: 0}}
              - {id: zones, uses: read.plan, with: {role: zones, path: "\(zones)", id_field: code, name_field: name}}
              - {id: green, uses: metrics.green, inputs: {zones: zones, classes: classes}}
              - {id: intensity, uses: metrics.intensity, inputs: {zones: zones, classes: classes}}
            """)
        let green = (try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/green.json"))) as! [String: Any])["zones"] as! [[String: Any]]
        let intensity = (try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/intensity.json"))) as! [String: Any])["zones"] as! [[String: Any]]
        XCTAssertEqual(green.map { $0["zone"] as! String }, ["A", "B"])
        // A: 5000 pixels, 1000 built-up, 4000 forest. B (on the image): 5000 pixels, 1000 without a class, 500 water, 3500 grass.
        XCTAssertEqual(green[0]["green_coverage"] as? Double, 0.8)
        XCTAssertEqual(green[1]["green_coverage"] as? Double, 0.875)
        XCTAssertEqual(green[1]["observed_share"] as? Double, 0.8)
        XCTAssertEqual(intensity[0]["intensity"] as? Double, 0.2)
        XCTAssertEqual(intensity[1]["intensity"] as? Double, 0)
        XCTAssertEqual(intensity[0]["level"] as? String, "ok")
        // The image covers all of A and half of B (UTM's scale factor here makes pixel areas 0.15 % large).
        XCTAssertEqual(green[0]["covered_share"] as! Double, 1, accuracy: 0.005)
        XCTAssertEqual(green[1]["covered_share"] as! Double, 0.5, accuracy: 0.005)
        XCTAssertEqual(intensity[1]["covered_share"] as! Double, 0.5, accuracy: 0.005)
    }
}

/// The Mobile, Alabama scene (pre-collection Landsat 8, a third of it cirrus): heat island per quarter of the scene.
final class MobileHeatIslandTests: PipelineTestCase {
    func testBuiltUpIsWarmerThanItsRuralRingAndCloudSharesAreReported() throws {
        let mobile = LandsatStagesTests.mobile
        try XCTSkipUnless(FileManager.default.fileExists(atPath: mobile.path), "../shared/data is not beside the checkout (set LANDWATCH_SHARED_DATA)")
        let mtl = mobile.appendingPathComponent("l8_MTL.txt").path
        // Four zones: the quarters of the scene, in WGS 84 lon/lat.
        let grid = try Dataset.open(mobile.appendingPathComponent("l8_B4.tif").path).grid()
        let zones = work.appendingPathComponent("quarters.geojson").path
        let toWGS84 = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
        let writer = try VectorWriter(path: zones, driver: "GeoJSON", layer: "quarters", crs: .wgs84(), geometry: .polygon,
                                      fields: [("code", .string)])
        let t = grid.geoTransform
        for (index, (c0, r0)) in [(0, 0), (1, 0), (0, 1), (1, 1)].enumerated() {
            let x0 = t.originX + Double(c0 * grid.width / 2) * t.pixelWidth, x1 = t.originX + Double((c0 + 1) * grid.width / 2) * t.pixelWidth
            let y0 = t.originY + Double(r0 * grid.height / 2) * t.pixelHeight, y1 = t.originY + Double((r0 + 1) * grid.height / 2) * t.pixelHeight
            let corners = try [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)].map { try toWGS84.transform(x: $0.0, y: $0.1) }
            try writer.add(Geometry(wkt: "POLYGON ((" + corners.map { "\($0.x) \($0.y)" }.joined(separator: ", ") + "))"),
                           values: ["code": .string("Q\(index + 1)")])
        }
        try writer.close()
        try run("""
            version: 1
            grid: {like: scene}
            stages:
              - {id: scene, uses: read.landsat, with: {mtl: "\(mtl)", bands: "blue,green,red,nir,swir1,swir2"}}
              - {id: clouds, uses: mask.clouds, with: {mtl: "\(mtl)", flags: "cloud,cirrus", confidence: medium}}
              - {id: clear, uses: mask.apply, inputs: {scene: scene, mask: clouds}}
              - {id: classes, uses: classify.rules, inputs: [clear]}
              - {id: ndvi, uses: index.ndvi, inputs: [clear]}
              - {id: thermal, uses: read.landsat, with: {mtl: "\(mtl)", bands: tir1, values: dn}}
              - {id: lst, uses: thermal.lst, inputs: {thermal: thermal, ndvi: ndvi, water: classes}, with: {mtl: "\(mtl)"}}
              - {id: zones, uses: read.plan, with: {role: zones, path: "\(zones)", id_field: code}}
              - {id: heat, uses: metrics.heat_island, inputs: {classes: classes, lst: lst, zones: zones}, with: {ring_width: 1000}}
              - {id: zonal, uses: metrics.zonal, inputs: {zones: zones, classes: classes, values: lst}}
            """)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/heat_island.json"))) as! [String: Any]
        let scene = result["scene"] as! [String: Any]
        XCTAssertGreaterThan(scene["suhi_c"] as! Double, 0, "built-up land is warmer than its rural ring: \(scene)")
        let quarters = result["zones"] as! [[String: Any]]
        XCTAssertEqual(quarters.count, 4)
        let clouds = quarters.map { $0["cloud_or_nodata_share"] as! Double }
        XCTAssertTrue(clouds.contains { $0 > 0.05 }, "a third of the scene is cirrus: \(clouds)")
        XCTAssertTrue(result["green_lst_correlation"] is Double, "four zones give a correlation")
        let zonal = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/zonal.json"))) as! [String: Any]
        XCTAssertEqual((zonal["zones"] as! [[String: Any]]).count, 4)
    }
}
