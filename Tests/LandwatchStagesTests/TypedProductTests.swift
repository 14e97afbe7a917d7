import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest
import LandwatchProducts
import LandwatchOutputs

/// The versioned products passed through a run: compliance.diff's patches and the run record.
final class TypedProductTests: PipelineTestCase {
    func change(at path: String) -> MaterializedRaster {
        MaterializedRaster(path: path, description: ProductDescription(kind: .change, bandNames: ComplianceDiffStage.leadingBands))
    }

    func patch(label: UInt32) throws -> LabelledPatch {
        // One run of two pixels on row 3, labelled as compliance.diff labels a tile.
        let labeler = PatchLabeler(width: 4, ruleCount: ChangeRule.Kind.allCases.count, classCodes: [1, 5], planLayerCount: 0)
        for _ in 0..<3 { labeler.addEmptyRow() }
        let bits: [UInt32] = [0, 1, 1, 0], before: [Float] = [0, 1, 1, 0], after: [Float] = [0, 5, 5, 0]
        let confidence: [Float] = [0, 100, 100, 0], evidence: [Float] = [0, 5, 6, 0]
        bits.withUnsafeBufferPointer { b in before.withUnsafeBufferPointer { bf in after.withUnsafeBufferPointer { af in
            confidence.withUnsafeBufferPointer { c in evidence.withUnsafeBufferPointer { e in
                labeler.addRow(3, bits: b, before: bf, after: af, confidence: c, evidence: e, plan: [])
            } }
        } } }
        let pieces = PatchMerger.pieces(of: labeler, classCodes: [1, 5])
        XCTAssertEqual(pieces.count, 1)
        return try XCTUnwrap(PatchMerger.mergeTiles([(columns: 0..<4, rows: 0..<4, pieces: pieces)]).first)
    }

    func testPatchesAreWrittenWithTheirVersionAndReadBack() throws {
        let raster = work.appendingPathComponent("changes.tif").path
        let labelled = try patch(label: 0)
        try JSONEncoder().encode(ChangePatches(patches: [labelled])).write(to: URL(fileURLWithPath: ChangePatches.path(besides: raster)))
        let text = try String(contentsOfFile: raster + ".patches.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"version\":1"), text)
        let read = try ChangePatches.read(for: change(at: raster))
        XCTAssertEqual(read.version, 1)
        XCTAssertEqual(read.patches.map(\.patch), [labelled.patch])
        XCTAssertEqual(read.patches[0].patch.pixelCount, 2)
    }

    func testABareListOfAnEarlierLandwatchIsReadAndANewerVersionRefused() throws {
        let raster = work.appendingPathComponent("changes.tif").path
        let labelled = try patch(label: 0)
        try JSONEncoder().encode([labelled]).write(to: URL(fileURLWithPath: raster + ".patches.json"))
        let legacy = try ChangePatches.read(for: change(at: raster))
        XCTAssertEqual(legacy.version, 0)
        XCTAssertEqual(legacy.patches.map(\.patch), [labelled.patch])

        var newer = ChangePatches(patches: [labelled])
        newer.version = 7
        try JSONEncoder().encode(newer).write(to: URL(fileURLWithPath: raster + ".patches.json"))
        XCTAssertThrowsError(try ChangePatches.read(for: change(at: raster))) { error in
            XCTAssertTrue("\(error)".contains("patches of version 7, written by a newer landwatch (this one reads up to 1)"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: raster + ".patches.json")
        XCTAssertThrowsError(try ChangePatches.read(for: change(at: raster))) { error in
            XCTAssertTrue("\(error)".contains("cannot read the patches compliance.diff wrote"), "\(error)")
        }
    }

    func testTheRunRecordCarriesItsVersion() throws {
        let record = try run(TestPipelines.zionNDVI)
        XCTAssertEqual(record.version, RunRecord.currentVersion)
        let data = try Data(contentsOf: work.appendingPathComponent("out/run.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["version"] as? Int, 1)
        // A record of before the field reads as version nil (1); one of a newer landwatch is refused.
        var old = json
        old.removeValue(forKey: "version")
        XCTAssertNil(try RunRecord.decode(JSONSerialization.data(withJSONObject: old)).version)
        var newer = json
        newer["version"] = 2
        XCTAssertThrowsError(try RunRecord.decode(JSONSerialization.data(withJSONObject: newer))) { error in
            XCTAssertTrue("\(error)".contains("run.json of version 2, written by a newer landwatch"), "\(error)")
        }
    }

    func testEveryOptionalInputOfTheReportIsARegisteredStageType() {
        var registered = Set<String>()
        for type in standardRegistry.all { registered.insert(type.descriptor.id) }
        let declared = HTMLReportStage.optionalInputs
        for input in declared { XCTAssertTrue(registered.contains(input.stageTypeID), "input \(input.name) reads \(input.stageTypeID)") }
        XCTAssertEqual(Set(declared.map(\.name)).count, declared.count, "an input named twice")
        XCTAssertEqual(declared.map(\.stageTypeID),
                       ["write.raster", "classify.rules", "classify.model", "compliance.diff", "write.violations", "metrics.green",
                        "metrics.intensity", "metrics.heat_island", "assess.accuracy", "renewal.vacancy", "renewal.green_access",
                        "renewal.candidates", "simulate.landuse"])
    }

    func testTheAccuracyFileIsTheTypedProductTheReportReads() throws {
        var matrix = ConfusionMatrix()
        matrix.add(reference: 1, predicted: 1, count: 90)
        matrix.add(reference: 1, predicted: 2, count: 10)
        matrix.add(reference: 2, predicted: 2, count: 50)
        matrix.add(reference: 3, predicted: 2, count: 5)  // class 3 is never predicted: its user's accuracy is null
        let legend = Legend(classes: [LegendClass(code: 1, name: "cropland", nameZH: "耕地", color: "#ffff00"),
                                      LegendClass(code: 2, name: "forest", nameZH: "林地", color: "#00aa00"),
                                      LegendClass(code: 3, name: "water", nameZH: "水体", color: "#0000ff")])
        let data = try AccuracyReport(matrix: matrix, legend: legend).json()
        let result = try AccuracyResult.decode(data)
        XCTAssertEqual(result.version, 1)
        XCTAssertEqual(result.pixels, 155)
        XCTAssertEqual(try XCTUnwrap(result.overallAccuracy), 140.0 / 155, accuracy: 1e-4)
        XCTAssertEqual(result.classes.map(\.code), [1, 2, 3])
        XCTAssertEqual(result.classes.map(\.referencePixels), [100, 50, 5])
        XCTAssertEqual(result.classes.map(\.predictedPixels), [90, 65, 0])
        XCTAssertEqual(try XCTUnwrap(result.classes[0].producersAccuracy), 0.9, accuracy: 1e-4)
        XCTAssertNil(result.classes[2].usersAccuracy)
        XCTAssertEqual(result.classes[1].name, "forest")
    }
}
