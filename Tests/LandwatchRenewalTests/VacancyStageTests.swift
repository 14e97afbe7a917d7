import Foundation
import LandwatchGDAL
import LandwatchRenewal
import XCTest

/// `renewal.vacancy` on real scenes with planted cases: real bare pixels moved onto forest in copies of the Marburg
/// Landsat 7 (2001-07-30) and Landsat 8 (2013-07-07) products, checked against the example plan's urban boundary and
/// zones, with approvals drawn by the test; and the five-date Slovenia Sentinel-2 series.
///
/// Truth (pixel rows × columns, half-open, of the 41 × 41 grid; the urban boundary is rows 0–22):
/// - A, rows 14–17 × cols 19–22 (16 px, 14,400 m²): bare on both dates (from the real bare pixel (1, 13) of 2001 and
///   (0, 13) of 2013) → vacant, 143.2 months (2001-07-30 to 2013-07-07: 143 whole months and 7 days), 2 clear observations, none missing.
/// - B, rows 18–21 × cols 24–27: bare in 2013 only → not vacant.
/// - C, rows 31–34 × cols 19–22: bare on both dates, outside the urban boundary → not listed.
/// - approval PZ-OLD over rows 13–18 × cols 18–23, approved 2011-01-07 (30 months before the last date), unbuilt → idle.
/// - approval PZ-NEW over rows 13–18 × cols 28–33, approved 2013-01-07 (6 months before), unbuilt → not idle (recent).
final class VacancyStageTests: RenewalTestCase {
    static let plotA = (rows: 14..<18, cols: 19..<23)
    static let plotB = (rows: 18..<22, cols: 24..<28)
    static let plotC = (rows: 31..<35, cols: 19..<23)

    /// The Marburg pair with the planted plots, and the approvals layer; returns the folder.
    func plantedMarburg() throws -> (folder: String, approvals: String) {
        let folder = try copy(Self.marburg, as: "marburg")
        let l7 = try marburgBands(in: folder, prefix: "LE07"), l8 = try marburgBands(in: folder, prefix: "LC08")
        for plot in [Self.plotA, Self.plotC] {
            try plant(folder: folder, files: l7, rows: plot.rows, cols: plot.cols, from: (1, 13))
            try plant(folder: folder, files: l8, rows: plot.rows, cols: plot.cols, from: (0, 13))
        }
        try plant(folder: folder, files: l8, rows: Self.plotB.rows, cols: Self.plotB.cols, from: (0, 13))
        let approvals = try marburgPolygons([
            (13..<19, 18..<24, ["pz_no": "PZ-OLD", "pz_date": "2011-01-07", "kind": "住宅"]),
            (13..<19, 28..<34, ["pz_no": "PZ-NEW", "pz_date": "2013-01-07", "kind": "商业"]),
        ], name: "approvals.geojson")
        return (folder, approvals)
    }

    func marburgPipeline(folder: String, approvals: String, vacancy: String = "{min_months: 12}") -> String {
        """
        version: 1
        name: vacancy-marburg
        stages:
          - {id: s01, uses: read.landsat, with: {mtl: "\(folder)/\(Self.l7MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: s13, uses: read.landsat, with: {mtl: "\(folder)/\(Self.l8MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: c01, uses: classify.rules, inputs: [s01]}
          - {id: c13, uses: classify.rules, inputs: [s13]}
          - {id: boundary, uses: read.plan, with: {role: urban_boundary, path: "\(Self.plan)/urban_boundary.gpkg", name_field: name}}
          - {id: zones, uses: read.plan, with: {role: zones, path: "\(Self.plan)/zones.gpkg", id_field: code, name_field: name}}
          - {id: approvals, uses: read.plan, with: {role: approvals, path: "\(approvals)", id_field: pz_no, name_field: kind}}
          - id: vacancy
            uses: renewal.vacancy
            inputs: {date1: c01, date2: c13, urban_boundary: boundary, zones: zones, approvals: approvals}
            with: \(vacancy.dropLast()), date_field: pz_date}
        """
    }

    func testPlantedPlotsAndApprovalsOnMarburg() throws {
        let (folder, approvals) = try plantedMarburg()
        try run(marburgPipeline(folder: folder, approvals: approvals))
        let result = try VacancyResult.decode(Data(contentsOf: work.appendingPathComponent("out/vacancy/vacancy.json")))
        XCTAssertEqual(result.dates, ["2001-07-30", "2013-07-07"])
        // The patches: which planted plot each covers, by its pixels' rows and columns.
        let grid = try Dataset.open(folder + "/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF").grid()
        func covers(_ patch: VacancyResult.Patch, _ plot: (rows: Range<Int>, cols: Range<Int>)) throws -> Bool {
            let g = grid.geoTransform
            let x = g.originX + (Double(plot.cols.lowerBound) + 1.5) * g.pixelWidth
            let y = g.originY + (Double(plot.rows.lowerBound) + 1.5) * g.pixelHeight
            let t = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
            let point = try t.transform(x: x, y: y)
            guard let lon = patch.lon, let lat = patch.lat else { return false }
            // The navigation point lies inside the patch: within 1.5 pixels (45 m) of the plot's inner corner pixel.
            return abs(lon - point.x) < 0.00064 && abs(lat - point.y) < 0.0004
        }
        let a = try XCTUnwrap(result.patches.first { try covers($0, Self.plotA) }, "plot A is vacant: \(result.patches)")
        XCTAssertEqual(a.pixels, 16)
        XCTAssertEqual(a.areaM2, 14_400)
        XCTAssertEqual(a.firstDate, "2001-07-30")
        XCTAssertEqual(a.lastDate, "2013-07-07")
        XCTAssertEqual(a.monthsBare, 143.2)
        XCTAssertEqual(a.clearObservations, 2)
        XCTAssertEqual(a.cloudMissingObservations, 0)
        XCTAssertFalse(a.turnedBare)
        XCTAssertEqual(a.zoneCode, "330103")
        XCTAssertEqual(a.approvals, ["PZ-OLD"])
        XCTAssertNil(try result.patches.first { try covers($0, Self.plotB) }, "bare on one date only is not vacancy")
        XCTAssertNil(try result.patches.first { try covers($0, Self.plotC) }, "outside the urban boundary")
        // The approvals: 30 months old and unbuilt is idle, with its number; 6 months old is not.
        let old = try XCTUnwrap(result.approvals.first { $0.number == "PZ-OLD" })
        XCTAssertEqual(old.ageMonths, 30)
        XCTAssertEqual(old.status, "idle_unbuilt")
        XCTAssertTrue(old.idle)
        XCTAssertEqual(old.unbuiltShare, 1)
        let recent = try XCTUnwrap(result.approvals.first { $0.number == "PZ-NEW" })
        XCTAssertEqual(recent.ageMonths, 6)
        XCTAssertEqual(recent.status, "recent")
        XCTAssertFalse(recent.idle)
        XCTAssertEqual(result.idleAfterMonths, 24)
        // The files: GeoPackage, GeoJSON, CSV with BOM for both lists, zones.
        for name in ["vacancy.gpkg", "vacancy.geojson", "vacancy.csv", "idle.gpkg", "idle.geojson", "idle.csv", "zones.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("out/vacancy/\(name)").path), name)
        }
        let idleCSV = try String(contentsOf: work.appendingPathComponent("out/vacancy/idle.csv"), encoding: .utf8)
        XCTAssertEqual(Array(try Data(contentsOf: work.appendingPathComponent("out/vacancy/idle.csv")).prefix(3)), [0xEF, 0xBB, 0xBF], "BOM")
        XCTAssertTrue(idleCSV.hasPrefix("number,") || idleCSV.hasPrefix("\u{FEFF}number,"))
        XCTAssertTrue(idleCSV.contains("PZ-OLD,住宅,2011-01-07,approval,30.0,"), idleCSV)
        XCTAssertTrue(idleCSV.contains("PZ-NEW,商业,2013-01-07,approval,6.0,"), idleCSV)
        let zone = try XCTUnwrap(result.zones.first { $0.code == "330103" })
        XCTAssertEqual(zone.idleApprovals, 1)
        XCTAssertGreaterThanOrEqual(zone.vacantPatches, 1)
        let layer = try VectorDataset.open(work.appendingPathComponent("out/vacancy/idle.gpkg").path).layer(nil)
        XCTAssertEqual(layer.featureCount, 2)
    }

    func testAYearTooShortIsNotVacancy() throws {
        let (folder, approvals) = try plantedMarburg()
        // The pair is 143 months apart: asking for 150 months finds no patch.
        try run(marburgPipeline(folder: folder, approvals: approvals, vacancy: "{min_months: 150}"))
        let result = try VacancyResult.decode(Data(contentsOf: work.appendingPathComponent("out/vacancy/vacancy.json")))
        XCTAssertTrue(result.patches.isEmpty, "\(result.patches)")
    }

    /// The default classification rules with a first rule taking blue TOA reflectance over 0.2 as cloud (class 0:
    /// unclassified, a missing observation), the test read.series makes.
    static let cloudRules = "[{class: 0, when: {blue: '> 0.2'}}, {class: water, when: {mndwi: '> 0.05', ndvi: '< 0.2'}}, "
        + "{class: water, when: {ndwi: '> 0.1', ndvi: '< 0'}}, {class: built-up, when: {ndvi: '< 0.3', ndbi: '> -0.15', bsi: '< 0.1'}}, "
        + "{class: bare, when: {ndvi: '< 0.2'}}, {class: forest, when: {ndvi: '>= 0.35'}}, {class: grassland, when: {ndvi: '0.2..0.35'}}]"

    /// Slovenia: five dates (2015-07-11 … 09-09), the 2015-08-20 one under cloud (9,948 of 10,100 pixels have blue
    /// over 0.2: missing). Planted: plot P (rows 60–63 × cols 60–63) with a real grassland pixel of each clear date on
    /// that date (under the cloud on 08-20), plot Q (rows 20–23 × cols 20–23) on 2015-07-31 only. With grassland
    /// counted unbuilt and one month asked: P is vacant from 07-11 to 09-09 (1.95 months: 2.0), 4 clear observations,
    /// 1 missing for cloud; Q is not.
    func testSloveniaSeriesWithACloudDate() throws {
        let folder = try copy(Self.slovenia, as: "slovenia")
        let dates = ["20150711", "20150731", "20150820", "20150830", "20150909"]
        let stages = dates.map { d in
            "  - {id: s\(d), uses: read.scene, with: {path: \"\(folder)/S2L1C_\(d)_13band.tif\", bands: {blue: 2, green: 3, red: 4, nir: 8, swir1: 12, swir2: 13}, date: \"\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))\"}}\n"
                + "  - {id: c\(d), uses: classify.rules, inputs: [s\(d)], with: {rules: \(Self.cloudRules)}}\n"
        }.joined()
        let classes = dates.map { "  - {id: w\($0), uses: write.raster, inputs: [c\($0)], with: {path: c\($0).tif, type: Byte, nodata: 0}}\n" }.joined()
        try run("version: 1\nname: classes\nstages:\n" + stages + classes)
        let maps = try dates.map { try Dataset.open(work.appendingPathComponent("out/c\($0).tif").path).band(1).read(Window(width: 100, height: 101)) }
        XCTAssertGreaterThan(maps[2].filter { $0 == 0 }.count, 9000, "the cloud date is missing")
        for (index, d) in dates.enumerated() where index != 2 {
            let source = try XCTUnwrap(maps[index].firstIndex(of: 3), "a grassland pixel on \(d)")
            let file = ["S2L1C_\(d)_13band.tif"]
            try plant(folder: folder, files: file, rows: 60..<64, cols: 60..<64, from: (source / 100, source % 100))
            if index == 1 { try plant(folder: folder, files: file, rows: 20..<24, cols: 20..<24, from: (source / 100, source % 100)) }
        }
        let inputs = dates.enumerated().map { "date\($0.offset + 1): c\($0.element)" }.joined(separator: ", ")
        try FileManager.default.removeItem(at: work.appendingPathComponent("out"))
        try run("version: 1\nname: vacancy-slovenia\nstages:\n" + stages
                + "  - {id: vacancy, uses: renewal.vacancy, inputs: {\(inputs)}, with: {min_months: 1, unbuilt_classes: [bare, grassland]}}\n")
        let result = try VacancyResult.decode(Data(contentsOf: work.appendingPathComponent("out/vacancy/vacancy.json")))
        XCTAssertEqual(result.dates, ["2015-07-11", "2015-07-31", "2015-08-20", "2015-08-30", "2015-09-09"])
        let grid = try Dataset.open("\(folder)/S2L1C_20150711_13band.tif").grid()
        let t = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
        func near(_ p: VacancyResult.Patch, _ row: Int, _ col: Int) throws -> Bool {
            let c = try t.transform(x: grid.geoTransform.originX + (Double(col) + 0.5) * 10, y: grid.geoTransform.originY - (Double(row) + 0.5) * 10)
            return abs((p.lon ?? 0) - c.x) < 0.0006 && abs((p.lat ?? 0) - c.y) < 0.0004
        }
        let planted = try XCTUnwrap(try result.patches.first { try near($0, 62, 62) }, "\(result.patches)")
        XCTAssertEqual(planted.pixels, 16)
        XCTAssertEqual(planted.firstDate, "2015-07-11")
        XCTAssertEqual(planted.lastDate, "2015-09-09")
        XCTAssertEqual(planted.monthsBare, 2.0)
        XCTAssertEqual(planted.clearObservations, 4)
        XCTAssertEqual(planted.cloudMissingObservations, 1)
        XCTAssertNil(try result.patches.first { try near($0, 22, 22) }, "unbuilt on one date only")
        XCTAssertEqual(result.patches.count, 1, "nothing else in the forest is vacant: \(result.patches)")
    }
}
