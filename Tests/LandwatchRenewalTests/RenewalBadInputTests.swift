import Foundation
import LandwatchGDAL
import LandwatchRenewal
import XCTest

/// Bad input to the renewal stages (issue 26): one clear line each, naming the file and line, the stage, the option
/// or the band; the run does not start (validation) or stops with a typed error.
final class RenewalBadInputTests: RenewalTestCase {
    func vacancyPipeline(approvals: String, dateField: String = "pz_date", dates: Int = 2) -> String {
        """
        version: 1
        name: bad-vacancy
        stages:
          - {id: s01, uses: read.landsat, with: {mtl: "\(Self.marburg)/\(Self.l7MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: s13, uses: read.landsat, with: {mtl: "\(Self.marburg)/\(Self.l8MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: c01, uses: classify.rules, inputs: [s01]}
          - {id: c13, uses: classify.rules, inputs: [s13]}
          - {id: approvals, uses: read.plan, with: {role: approvals, path: "\(approvals)", id_field: pz_no}}
          - id: vacancy
            uses: renewal.vacancy
            inputs: {\(dates == 2 ? "date1: c01, date2: c13" : "date1: c13"), approvals: approvals}
            with: {date_field: \(dateField)}
        """
    }

    func approvals(date: String) throws -> String {
        try marburgPolygons([(13..<19, 18..<24, ["pz_no": "PZ-7", "pz_date": date])], name: "approvals-\(UUID().uuidString.prefix(6)).geojson")
    }

    /// The one line of a file that does not validate, without the pipeline's folder.
    func line(_ text: String) throws -> String {
        let message = try XCTUnwrap(problems(text), "the pipeline validates")
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        return message.replacingOccurrences(of: work.path + "/", with: "")
    }

    func testApprovalsWithoutTheDateField() throws {
        let path = try approvals(date: "2011-01-07")
        let message = try line(vacancyPipeline(approvals: path, dateField: "pz_datum"))
        XCTAssertTrue(message.hasPrefix("pipeline.yaml:12:"), message)
        XCTAssertTrue(message.contains("vacancy: option 'date_field': field 'pz_datum' does not exist in approvals layer"), message)
        XCTAssertTrue(message.hasSuffix("(its fields: pz_date, pz_no)"), message)
    }

    func testAnApprovalDateInTheFuture() throws {
        let message = try line(vacancyPipeline(approvals: try approvals(date: "2031-05-01")))
        XCTAssertTrue(message.contains("vacancy: option 'date_field': approval PZ-7"), message)
        XCTAssertTrue(message.contains("date 2031-05-01 in field 'pz_date' is in the future"), message)
    }

    func testAnApprovalDateThatIsNotADate() throws {
        let message = try line(vacancyPipeline(approvals: try approvals(date: "next spring")))
        XCTAssertTrue(message.contains("approval PZ-7"), message)
        XCTAssertTrue(message.contains("'next spring' in field 'pz_date' is not a date (write YYYY-MM-DD)"), message)
    }

    func testASeriesOfOneDate() throws {
        let message = try line(vacancyPipeline(approvals: try approvals(date: "2011-01-07"), dates: 1))
        XCTAssertTrue(message.contains("vacancy: vacancy needs a series of two or more classified dates"), message)
        XCTAssertTrue(message.contains("found one (date1, 2013-07-07)"), message)
    }

    func greenPipeline(options: String = "{}", population: String? = nil) -> String {
        """
        version: 1
        name: bad-green
        grid: {like: scene}
        stages:
          - {id: scene, uses: read.landsat, with: {mtl: "\(Self.marburg)/\(Self.l8MTL)", bands: "blue,green,red,nir,swir1,swir2"}}
          - {id: classes, uses: classify.rules, inputs: [scene]}
        """ + (population.map { "\n  - {id: people, uses: read.scene, with: {path: \"\($0)\", bands: {people: 1}}}" } ?? "") + """

          - id: access
            uses: renewal.green_access
            inputs: {classes: classes\(population == nil ? "" : ", population: people")}
            with: \(options)
        """
    }

    func testNoResidentialClassInTheLegend() throws {
        let message = try line(greenPipeline(options: "{residential_classes: residential}"))
        XCTAssertTrue(message.contains("access: option 'residential_classes': 'residential' is not a class of the legend"), message)
    }

    /// A population raster of `values` on a grid like Marburg's, with `pixel` metres pixels.
    func population(pixel: Double, values: (Int) -> Float) throws -> String {
        let scene = try Dataset.open("\(Self.marburg)/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF")
        let size = Int(41 * 30 / pixel)
        var grid = scene.grid()
        grid = RasterGrid(width: size, height: size, geoTransform: GeoTransform(originX: grid.geoTransform.originX, pixelWidth: pixel,
                                                                              originY: grid.geoTransform.originY, pixelHeight: -pixel),
                          crsWKT: grid.crsWKT, crsLabel: grid.crsLabel)
        let path = work.appendingPathComponent("population-\(Int(pixel)).tif").path
        let out = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .float32, options: GeoTIFFOptions(blockSize: 64))
        let data = (0..<(size * size)).map(values)
        try data.withUnsafeBufferPointer { try out.band(1).write(Window(width: size, height: size), from: $0) }
        try out.close()
        return path
    }

    func testAPopulationRasterOnAnotherGrid() throws {
        let path = try population(pixel: 60) { _ in 4 }
        XCTAssertThrowsError(try run(greenPipeline(population: path))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("population raster \(path) is on grid"), text)
            XCTAssertTrue(text.contains("people per pixel cannot be warped"), text)
        }
    }

    func testAPopulationRasterWithNegativeValues() throws {
        let path = try population(pixel: 30) { $0 == 41 * 3 + 5 ? -2 : 3 }
        XCTAssertThrowsError(try run(greenPipeline(population: path))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("population raster \(path) band 1 has 1 negative pixel (lowest -2.0, first at row 3, column 5)"), text)
        }
    }
}
