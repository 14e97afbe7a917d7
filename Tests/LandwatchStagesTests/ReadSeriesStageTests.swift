import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest

/// `read.series` on the real Slovenia Sentinel-2 L1C dates: the cloudy date is left out, cloudy pixels become
/// nodata, the band names carry the date.
final class ReadSeriesStageTests: PipelineTestCase {
    static let data = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2").path

    func pipeline(maxCloud: Double = 0.3, minDates: Int = 1, maskClouds: Bool = true) -> String {
        """
        version: 1
        stages:
          - id: series
            uses: read.series
            with:
              scenes:
                2015-07-11: \(Self.data)/S2L1C_20150711_13band.tif
                2015-07-31: \(Self.data)/S2L1C_20150731_13band.tif
                2015-08-20: \(Self.data)/S2L1C_20150820_13band.tif
                2015-08-30: \(Self.data)/S2L1C_20150830_13band.tif
              bands: {blue: 2, nir: 8}
              max_cloud: \(maxCloud)
              min_dates: \(minDates)
              mask_clouds: \(maskClouds)
          - id: out
            uses: write.raster
            inputs: [series]
            with: {path: series.tif}
        """
    }

    func testTheCloudyDateIsLeftOutAndCloudyPixelsBecomeNodata() throws {
        try run(pipeline())
        let out = try Dataset.open(work.appendingPathComponent("out/series.tif").path)
        let names = try (1...out.bandCount).map { try out.band($0).bandDescription }
        XCTAssertEqual(names, ["blue_20150711", "nir_20150711", "blue_20150731", "nir_20150731", "blue_20150830", "nir_20150830"])
        let window = Window(width: out.width, height: out.height)
        // 2015-07-31 has a few bright pixels (blue above 0.2): nodata in both of its bands, and only there.
        let source = try Dataset.open("\(Self.data)/S2L1C_20150731_13band.tif")
        let blue = try source.band(2).read(window), nir = try source.band(8).read(window)
        let cloudy = Set(blue.indices.filter { blue[$0] > 0.2 })
        XCTAssertGreaterThan(cloudy.count, 50)
        XCTAssertLessThan(cloudy.count, 200)
        let outBlue = try out.band(3).read(window), outNIR = try out.band(4).read(window)
        for i in blue.indices {
            if cloudy.contains(i) {
                XCTAssertTrue(outBlue[i].isNaN && outNIR[i].isNaN, "pixel \(i) is cloud")
            } else {
                XCTAssertEqual(outBlue[i], blue[i])
                XCTAssertEqual(outNIR[i], nir[i])
            }
        }
        // Nothing in 2015-07-11 is cloud.
        XCTAssertFalse(try out.band(1).read(window).contains { $0.isNaN })
    }

    func testWithoutMaskingTheKeptDatesAreUnchanged() throws {
        try run(pipeline(maskClouds: false))
        let out = try Dataset.open(work.appendingPathComponent("out/series.tif").path)
        let window = Window(width: out.width, height: out.height)
        XCTAssertEqual(try out.band(3).read(window), try Dataset.open("\(Self.data)/S2L1C_20150731_13band.tif").band(2).read(window))
    }

    func testTooFewClearDatesIsAnErrorNamingTheShares() throws {
        XCTAssertThrowsError(try run(pipeline(maxCloud: 0.005, minDates: 3))) { error in
            XCTAssertTrue("\(error)".contains("series: only 2 of 4 dates have at most 0.5 % cloud, and min_dates is 3 (cloud shares: 2015-07-11 0 %, 2015-07-31 0.9 %, 2015-08-20 98 %, 2015-08-30 0 %)"), "\(error)")
        }
    }

    func testAFileWithTooFewBandsIsNamed() throws {
        let text = pipeline().replacingOccurrences(of: "bands: {blue: 2, nir: 8}", with: "bands: {blue: 2, nir: 14}")
        XCTAssertThrowsError(try run(text)) { error in
            XCTAssertTrue("\(error)".contains("series: \(Self.data)/S2L1C_20150711_13band.tif (2015-07-11) has 13 bands; band 14 does not exist"), "\(error)")
        }
    }

    func testABadDateIsNamed() throws {
        let text = pipeline().replacingOccurrences(of: "2015-08-30:", with: "2015-08-32:")
        XCTAssertThrowsError(try run(text)) { error in
            XCTAssertTrue("\(error)".contains("series: '2015-08-32' is not a date written YYYY-MM-DD"), "\(error)")
        }
    }

    /// A feature list may name the dates of a band by pattern; a pattern that matches nothing is named.
    func testFeaturePatternsExpandOverTheDates() throws {
        func training(_ features: String) -> String {
            pipeline().replacingOccurrences(of: """
                  - id: out
                    uses: write.raster
                    inputs: [series]
                    with: {path: series.tif}
                """, with: """
                  - id: reference
                    uses: read.scene
                    with: {bands: {lulc: "\(Self.data)/LULC_reference.tif"}, resampling: nearest}
                  - id: train
                    uses: classify.train
                    inputs: {scene: series, reference: reference}
                    with: {features: "\(features)", reference_map: {2: 2, 3: 3, 4: 3}, holdout_block: 20, rounds: 5}
                """)
        }
        try run(training("nir_*, blue_20150711"))
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/model.json.meta.json"))) as! [String: Any]
        XCTAssertEqual(metadata["features"] as? [String], ["nir_20150711", "nir_20150731", "nir_20150830", "blue_20150711"])
        XCTAssertThrowsError(try run(training("nir_*,swir1_*"), out: "bad")) { error in
            XCTAssertTrue("\(error)".contains("train: 'swir1_*' matches no band of the scene (its bands: blue_20150711, nir_20150711, "), "\(error)")
        }
    }
}
