import Foundation
import LandwatchGDAL
import LandwatchRenewal
import LandwatchTestSupport
import XCTest

/// The shipped multi-date pipeline `pipelines/renewal-series.yaml` on a planted copy of the real Slovenia Sentinel-2
/// series (five dates 2015-07-11 … 09-09, the 2015-08-20 one under cloud), each date classified with the default
/// rules and the cloud taken from read.series (blue TOA reflectance over 0.2, cirrus B10 over 0.01).
///
/// Planted: plot P (rows 60–63 × cols 60–63) with a real clear grassland pixel of each clear date on that date, left
/// under the cloud on 08-20; plot Q (rows 20–23 × cols 20–23) on 2015-07-31 only. The default rules class the cloud
/// over P as something other than bare or grassland (built-up), so without the series' mask the cloud date breaks
/// P's run; with it, P is vacant from 07-11 to 09-09 (2.0 months), 4 clear observations and 1 missing for cloud.
final class RenewalSeriesPipelineTests: RenewalTestCase {
    static let dates = ["20150711", "20150731", "20150820", "20150830", "20150909"]

    func testShippedSeriesPipelineCountsTheCloudDateAsMissing() throws {
        let folder = try copy(Self.slovenia, as: "slovenia")
        // Each date classified with the default rules, written out.
        let stages = Self.dates.map { d in
            "  - {id: s\(d), uses: read.scene, with: {path: \"\(folder)/S2L1C_\(d)_13band.tif\", bands: {blue: 2, green: 3, red: 4, nir: 8, swir1: 12, swir2: 13}}}\n"
                + "  - {id: c\(d), uses: classify.rules, inputs: [s\(d)]}\n"
                + "  - {id: w\(d), uses: write.raster, inputs: [c\(d)], with: {path: c\(d).tif, type: Byte, nodata: 0}}\n"
        }.joined()
        try run("version: 1\nname: classes\nstages:\n" + stages)
        let window = Window(width: 100, height: 101)
        let maps = try Self.dates.map { try Dataset.open(work.appendingPathComponent("out/c\($0).tif").path).band(1).read(window) }
        let plotP = (60..<64).flatMap { r in (60..<64).map { r * 100 + $0 } }
        // The known problem: the default rules give the cloud over P a class that is neither bare (6) nor grassland (3).
        XCTAssertTrue(plotP.allSatisfy { maps[2][$0] != 3 && maps[2][$0] != 6 }, "cloud over P: \(plotP.map { maps[2][$0] })")
        XCTAssertGreaterThan(maps[2].filter { $0 == 5 }.count, 5000, "the cloud date is mostly built-up under the default rules")
        try FileManager.default.removeItem(at: work.appendingPathComponent("out"))
        for (index, d) in Self.dates.enumerated() where index != 2 {
            let file = try Dataset.open("\(folder)/S2L1C_\(d)_13band.tif")
            let blue = try file.band(2).read(window), cirrus = try file.band(11).read(window)
            let source = try XCTUnwrap(maps[index].indices.first { maps[index][$0] == 3 && blue[$0] <= 0.2 && cirrus[$0] <= 0.01 },
                                       "a clear grassland pixel on \(d)")
            try file.close()
            try plant(folder: folder, files: ["S2L1C_\(d)_13band.tif"], rows: 60..<64, cols: 60..<64, from: (source / 100, source % 100))
            if index == 1 {
                try plant(folder: folder, files: ["S2L1C_\(d)_13band.tif"], rows: 20..<24, cols: 20..<24, from: (source / 100, source % 100))
            }
        }
        let shipped = try String(contentsOf: TestPaths.repository.appendingPathComponent("pipelines/renewal-series.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "data: ../testdata/slovenia-sentinel2", with: "data: \(folder)")
        XCTAssertNotEqual(shipped, try String(contentsOf: TestPaths.repository.appendingPathComponent("pipelines/renewal-series.yaml"), encoding: .utf8))

        let grid = try Dataset.open("\(folder)/S2L1C_20150711_13band.tif").grid()
        let t = try CoordinateTransformation(from: SpatialReference(definition: grid.crsWKT), to: .wgs84())
        func near(_ p: VacancyResult.Patch, _ row: Int, _ col: Int) throws -> Bool {
            let c = try t.transform(x: grid.geoTransform.originX + (Double(col) + 0.5) * 10, y: grid.geoTransform.originY - (Double(row) + 0.5) * 10)
            return abs((p.lon ?? 0) - c.x) < 0.0006 && abs((p.lat ?? 0) - c.y) < 0.0004
        }
        func vacancy() throws -> VacancyResult {
            try VacancyResult.decode(Data(contentsOf: work.appendingPathComponent("out/vacancy/vacancy.json")))
        }

        // With the series' cloud mask: P vacant across every clear date, the cloud date missing.
        try run(shipped)
        let result = try vacancy()
        XCTAssertEqual(result.dates, ["2015-07-11", "2015-07-31", "2015-08-20", "2015-08-30", "2015-09-09"])
        let planted = try XCTUnwrap(try result.patches.first { try near($0, 62, 62) }, "\(result.patches)")
        XCTAssertEqual(planted.pixels, 16)
        XCTAssertEqual(planted.firstDate, "2015-07-11")
        XCTAssertEqual(planted.lastDate, "2015-09-09")
        XCTAssertEqual(planted.monthsBare, 2.0)
        XCTAssertEqual(planted.clearObservations, 4)
        XCTAssertEqual(planted.cloudMissingObservations, 1)
        XCTAssertFalse(planted.turnedBare)
        XCTAssertNil(try result.patches.first { try near($0, 22, 22) }, "unbuilt on one date only")

        // Without it, the cloud classed built-up breaks P's run: no patch of P starts before the cloud date.
        try FileManager.default.removeItem(at: work.appendingPathComponent("out"))
        try run(shipped.replacingOccurrences(of: ", series: series}", with: "}"))
        let unmasked = try vacancy()
        XCTAssertNil(try unmasked.patches.first { try near($0, 62, 62) && $0.firstDate < "2015-08-20" }, "\(unmasked.patches)")
    }
}
