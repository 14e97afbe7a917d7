import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchTestSupport
import XCTest

/// Relative normalisation and change evidence on the real Zion scene: a gain, an offset, noise and a one-pixel shift
/// are undone or ignored, a planted surface is seen, and the results do not depend on the block size or the threads.
final class ChangeDetectionTests: PipelineTestCase {
    static let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8")
    static let gains: [Float] = [1.06, 0.95, 1.03, 0.92], offsets: [Float] = [150, -200, 80, 300]   // in digital numbers

    /// The Zion bands 2–5 as one 4-band file, each band `gain × DN + offset` with uniform noise of `noise` DN, shifted
    /// `shift` pixels east (the vacated column nodata), and `plant` applied to (row, col, band values).
    func disturbedCopy(named name: String, noise: Float, shift: Int, plant: [(Int, Int)] = [], donor: (Int, Int)? = nil) throws -> String {
        var generator = ModelStagesTests.SplitMix(seed: 42)
        let path = work.appendingPathComponent(name).path
        let first = try Dataset.open(Self.zion.appendingPathComponent("landsat_b2.tif").path)
        let grid = try first.grid()
        let target = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 4, dataType: .float32, options: GeoTIFFOptions(compression: .none, blockSize: 256))
        let window = Window(width: grid.width, height: grid.height)
        for (index, band) in (2...5).enumerated() {
            let source = try Dataset.open(Self.zion.appendingPathComponent("landsat_b\(band).tif").path)
            var pixels = try source.band(1).read(window)
            if let donor {
                let value = pixels[donor.0 * grid.width + donor.1]
                for (row, col) in plant { pixels[row * grid.width + col] = value }
            }
            var out = [Float](repeating: 65535, count: pixels.count)
            for row in 0..<grid.height {
                for col in shift..<grid.width {
                    let value = pixels[row * grid.width + col - shift]
                    guard value != 65535, value > 0 else { continue }
                    out[row * grid.width + col] = (Self.gains[index] * value + Self.offsets[index] + Float.random(in: -noise...noise, using: &generator)).rounded()
                }
            }
            try out.withUnsafeBufferPointer { try target.band(index + 1).write(window, from: $0) }
            try target.band(index + 1).setNoDataValue(65535)
        }
        try target.close()
        return path
    }

    func pipeline(after: String, extra: String = "") -> String {
        let z = Self.zion.path
        return """
            version: 1
            grid: {like: before-scene}
            stages:
              - id: before-scene
                uses: read.scene
                with: {bands: {blue: "\(z)/landsat_b2.tif", green: "\(z)/landsat_b3.tif", red: "\(z)/landsat_b4.tif", nir: "\(z)/landsat_b5.tif"}, scale: 2.0e-5, offset: -0.1, nodata: 65535, date: 2015-08-18}
              - id: after-scene
                uses: read.scene
                with: {path: "\(after)", bands: {blue: 1, green: 2, red: 3, nir: 4}, scale: 2.0e-5, offset: -0.1, nodata: 65535, date: 2016-08-10}
              - {id: after-normalised, uses: normalize.relative, inputs: {reference: before-scene, subject: after-scene}}
              - {id: before-classes, uses: classify.rules, inputs: [before-scene]}
              - {id: after-classes, uses: classify.rules, inputs: [after-normalised]}
              - id: changes
                uses: compliance.diff
                inputs: {before: before-classes, after: after-classes, before_image: before-scene, after_image: after-normalised}
              - {id: violations, uses: write.violations, inputs: {changes: changes}, with: {path: violations, chips: 0}}
              - {id: keep-normalised, uses: write.raster, inputs: [after-normalised], with: {path: normalised.tif, compression: none}}
              - {id: keep-changes, uses: write.raster, inputs: [changes], with: {path: changes.tif, compression: none}}
            \(extra)
            """
    }

    func bands(_ path: String) throws -> [[Float]] {
        let dataset = try Dataset.open(path)
        return try (1...dataset.bandCount).map { try dataset.band($0).read(Window(width: dataset.width, height: dataset.height)) }
    }

    func violations(_ out: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: work.appendingPathComponent("\(out)/violations/violations.geojson"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["features"] as! [[String: Any]]
    }

    func testAGainOffsetNoiseAndShiftGiveNoReportAndTheFitUndoesTheGain() throws {
        let after = try disturbedCopy(named: "disturbed.tif", noise: 40, shift: 1)
        let record = try run(pipeline(after: after))
        XCTAssertEqual(try violations("out").count, 0, "the scene against a disturbed copy of itself")
        let fit = try XCTUnwrap(record.stages.first { $0.id == "after-normalised" }?.findings?.values)
        for (index, name) in ["blue", "green", "red", "nir"].enumerated() {
            // reflectance = 2e-5 DN - 0.1, DN' = g DN + o  =>  reflectance' = g reflectance + 2e-5 o + 0.1 (g - 1)
            XCTAssertEqual(try XCTUnwrap(fit["\(name).gain"]), 1 / Double(Self.gains[index]), accuracy: 0.01, name)
        }
        XCTAssertGreaterThan(try XCTUnwrap(fit["invariant_share"]), 0.5)
        let diff = try XCTUnwrap(record.stages.first { $0.id == "changes" }?.findings?.values)
        XCTAssertGreaterThan(try XCTUnwrap(diff["weak_evidence_pixels"]), 0, "classes did flip; the evidence left them out")
    }

    func testAPlantedSurfaceIsSeenAndBlocksAndThreadsChangeNothing() throws {
        // A 4 x 4 patch of a bright bare pixel of the scene planted on forest (NDVI over 0.4 around row 200, col 290; the donor is bare rock at row 105, col 63).
        let nlcdForest = (200..<204).flatMap { row in (290..<294).map { (row, $0) } }
        let after = try disturbedCopy(named: "planted.tif", noise: 40, shift: 0, plant: nlcdForest, donor: (105, 63))
        try run(pipeline(after: after), out: "a", threads: 2, blockSize: 512)
        try run(pipeline(after: after), out: "b", threads: 1, blockSize: 96)
        XCTAssertEqual(try bands(work.appendingPathComponent("a/normalised.tif").path), try bands(work.appendingPathComponent("b/normalised.tif").path),
                       "the normalisation blockwise equals the whole-array one")
        let changesA = try bands(work.appendingPathComponent("a/changes.tif").path), changesB = try bands(work.appendingPathComponent("b/changes.tif").path)
        XCTAssertEqual(changesA.count, changesB.count)
        for band in changesA.indices { XCTAssertEqual(changesA[band], changesB[band], "change band \(band + 1)") }
        let listed = try violations("a")
        XCTAssertEqual(listed.count, try violations("b").count)
        let width = try Dataset.open(work.appendingPathComponent("a/changes.tif").path).width
        let evidence = nlcdForest.map { changesA[4][$0.0 * width + $0.1] }
        XCTAssertTrue(evidence.filter { $0 >= 4 }.count >= 12, "the planted pixels carry strong evidence: \(evidence)")
    }

    func testMinEvidenceWithoutTheImagesIsRefusedNotIgnored() throws {
        let text = pipeline(after: try disturbedCopy(named: "copy.tif", noise: 0, shift: 0))
            .replacingOccurrences(of: "inputs: {before: before-classes, after: after-classes, before_image: before-scene, after_image: after-normalised}",
                                  with: "inputs: {before: before-classes, after: after-classes}\n    with: {min_evidence: 3}")
        XCTAssertThrowsError(try run(text)) { error in
            XCTAssertTrue("\(error)".contains("min_evidence needs the inputs before_image and after_image"), "\(error)")
        }
    }
}
