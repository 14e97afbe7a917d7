import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest
import LandwatchTestSupport

/// Runs pipelines end to end on the real Zion Landsat 8 scene.
final class EngineTests: PipelineTestCase {
    /// The shipped stages and the engine's test stages (TestStages.swift).
    override var registry: StageRegistry { testRegistry }

    static let root = TestPaths.repository
    static let zion = TestPipelines.zion
    static let ndviPipeline = TestPipelines.zionNDVI

    func testNDVIOnRealZionSceneMatchesAnIndependentComputation() throws {
        let record = try run(Self.ndviPipeline)
        XCTAssertEqual(record.status, "succeeded")
        let output = try Dataset.open(work.appendingPathComponent("out/ndvi.tif").path)
        XCTAssertEqual(output.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"], "ZSTD")
        XCTAssertEqual(try output.band(1).blockSize.width, 512)
        XCTAssertTrue(try output.band(1).noDataValue?.isNaN ?? false)
        XCTAssertEqual(try output.spatialReference()?.epsgCode, 32612)
        let ndvi = try output.band(1).read(Window(width: 1128, height: 1428))

        // Independent: raw UInt16 digital numbers, the formula in Double, nodata by hand.
        func raw(_ name: String) throws -> [UInt16] {
            let band = try Dataset.open(Self.zion.appendingPathComponent(name).path).band(1)
            var values = [UInt16](repeating: 0, count: 1128 * 1428)
            try values.withUnsafeMutableBytes {
                try band.readRaw(Window(width: 1128, height: 1428), into: $0.baseAddress!, byteCapacity: $0.count,
                                 type: .uint16, lineStride: 1128)
            }
            return values
        }
        let red = try raw("landsat_b4.tif"), nir = try raw("landsat_b5.tif")
        var checked = 0, nodata = 0
        var maxError = 0.0
        for i in 0..<red.count {
            if red[i] == 65535 || nir[i] == 65535 {
                XCTAssertTrue(ndvi[i].isNaN)
                nodata += 1
                continue
            }
            let r = Double(red[i]) * 2.0e-5 - 0.1, n = Double(nir[i]) * 2.0e-5 - 0.1
            let expected = (n - r) / (n + r)
            maxError = max(maxError, abs(Double(ndvi[i]) - expected))
            checked += 1
        }
        XCTAssertLessThanOrEqual(maxError, 1e-6)
        XCTAssertGreaterThan(checked, 1_500_000)
        XCTAssertEqual(checked + nodata, 1128 * 1428)
    }

    func testFusedStreamingGivesTheSamePixelsAsAWholeArrayComputation() throws {
        // Small blocks and two threads, so that blocks finish out of order and edges are partial.
        try run(Self.ndviPipeline, blockSize: 96)
        let streamed = try readWhole(work.appendingPathComponent("out/ndvi.tif").path)
        var red = try readWhole(Self.zion.appendingPathComponent("landsat_b4.tif").path)
        var nir = try readWhole(Self.zion.appendingPathComponent("landsat_b5.tif").path)
        red.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 2.0e-5, offset: -0.1, noData: 65535) }
        nir.withUnsafeMutableBufferPointer { Rescale.apply($0, scale: 2.0e-5, offset: -0.1, noData: 65535) }
        let whole = SpectralIndex.normalizedDifference(nir, red)
        XCTAssertEqual(streamed.count, whole.count)
        let mismatches = zip(streamed, whole).filter { a, b in !(a == b || (a.isNaN && b.isNaN)) }.count
        XCTAssertEqual(mismatches, 0)
    }

    func testChainIsFusedIntoOnePassAndRecordedInRunJSON() throws {
        let record = try run(Self.ndviPipeline)
        XCTAssertEqual(Set(record.stages.map(\.id)), ["scene", "ndvi", "out"])
        XCTAssertEqual(record.stages.first { $0.id == "out" }?.fusedWith, ["scene", "ndvi", "out"])
        XCTAssertEqual(record.outputs, ["ndvi.tif"])
        let json = try RunRecord.decode(Data(contentsOf: work.appendingPathComponent("out/run.json")))
        XCTAssertEqual(json.status, "succeeded")
        XCTAssertEqual(json.pipelineSHA256, SHA256.hex(Array(Self.ndviPipeline.utf8)))
        XCTAssertEqual(json.inputs.count, 2)
        XCTAssertGreaterThan(json.inputs[0].bytes, 1_000_000)
        XCTAssertEqual(json.gdalVersion, GDALRuntime.version)
        XCTAssertEqual(json.parameters["data"], Self.zion.path)
        // No temporary files remain; the stage manifest (for reruns) is beside run.json, and the STAC Item in stac/.
        let names = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("out").path)
        XCTAssertEqual(Set(names), ["ndvi.tif", "run.json", StageManifest.fileName, "stac"])
    }

    func testIndependentBranchesOverlapInTime() throws {
        let text = """
            version: 1
            stages:
              - id: red
                uses: read.scene
                with: {bands: {red: "\(Self.zion.path)/landsat_b4.tif"}}
              - id: nir
                uses: read.scene
                with: {bands: {nir: "\(Self.zion.path)/landsat_b5.tif"}}
              - id: slow-red
                uses: test.slow
                inputs: [red]
              - id: slow-nir
                uses: test.slow
                inputs: [nir]
              - id: out-red
                uses: write.raster
                inputs: [slow-red]
                with: {path: red.tif}
              - id: out-nir
                uses: write.raster
                inputs: [slow-nir]
                with: {path: nir.tif}
            """
        // One thread per pass: any overlap comes from running the two branches concurrently.
        let record = try run(text, threads: 1, blockSize: 256)
        let a = record.stages.first { $0.id == "out-red" }!, b = record.stages.first { $0.id == "out-nir" }!
        XCTAssertNotEqual(a.fusedWith, b.fusedWith, "independent branches are separate passes")
        let overlap = min(a.finished, b.finished).timeIntervalSince(max(a.started, b.started))
        let shorter = min(a.finished.timeIntervalSince(a.started), b.finished.timeIntervalSince(b.started))
        // 30 blocks x 30 ms each: the passes take about 0.9 s; run one after the other they would not overlap at all
        // (the overlap would be negative).
        XCTAssertGreaterThan(overlap, shorter * 0.2, "overlap \(overlap) s of \(shorter) s")
    }

    func testWholeRasterStageGetsMaterialisedInputsAndKeepWritesThem() throws {
        let text = Self.ndviPipeline.replacingOccurrences(of: """
              - id: out
                uses: write.raster
                inputs: [ndvi]
                with: {path: ndvi.tif}
            """, with: """
              - id: negated
                uses: test.negate
                inputs: [ndvi]
                keep: true
              - id: out
                uses: write.raster
                inputs: [negated]
                with: {path: negated.tif}
            """)
        XCTAssertNotEqual(text, Self.ndviPipeline)
        let record = try run(text, blockSize: 256)
        XCTAssertEqual(record.outputs, ["negated.tif", "work/negated.tif"])
        let negated = try readWhole(work.appendingPathComponent("out/negated.tif").path)
        try run(Self.ndviPipeline, blockSize: 256)
        let ndvi = try readWhole(work.appendingPathComponent("out/ndvi.tif").path)
        XCTAssertEqual(zip(negated, ndvi).filter { a, b in !(a == -b || (a.isNaN && b.isNaN)) }.count, 0)
        // The work directory with the materialised NDVI is gone.
        let names = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("out").path)
        XCTAssertFalse(names.contains { $0.hasPrefix(".landwatch-work") }, "\(names)")
    }

    func testAFailedRunLeavesNoPartialOutputAndRecordsTheFailure() throws {
        let text = """
            version: 1
            stages:
              - id: red
                uses: test.failing
                with: {path: "\(Self.zion.path)/landsat_b4.tif"}
              - id: out
                uses: write.raster
                inputs: [red]
                with: {path: red.tif}
            """
        XCTAssertThrowsError(try run(text)) { error in
            XCTAssertEqual((error as? RunError)?.category, .io)
            XCTAssertEqual((error as? RunError)?.stageID, "red")
            XCTAssertTrue("\(error)".contains("simulated read failure"), "\(error)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("out").path)
        XCTAssertEqual(names, ["run.json"])
        let record = try RunRecord.decode(Data(contentsOf: work.appendingPathComponent("out/run.json")))
        XCTAssertEqual(record.status, "failed")
        // Which failing block a worker reaches first depends on scheduling; every one is below row 512.
        XCTAssertTrue(record.error?.hasPrefix("stage 'red': simulated read failure at (") ?? false, record.error ?? "nil")
        XCTAssertTrue(record.error?.hasSuffix(",512) of size 512x512") ?? false, record.error ?? "nil")
    }

    func testAMemoryBudgetTooSmallForOneBlockIsRefused() throws {
        XCTAssertThrowsError(try run(Self.ndviPipeline, memory: 4 << 20)) { error in
            XCTAssertEqual((error as? RunError)?.category, .resources)
            XCTAssertTrue("\(error)".contains("cannot hold one 512x512 block"), "\(error)")
        }
    }

    func testInputsOnAnotherGridAreWarpedWithTheirResampling() throws {
        let text = """
            version: 1
            grid: {like: scene}
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: "\(Self.zion.path)/landsat_b4.tif"}}
              - id: landcover
                uses: read.scene
                with: {bands: {class: "\(Self.zion.path)/nlcd.tif"}, resampling: nearest}
              - id: out
                uses: write.raster
                inputs: [landcover]
                with: {path: nlcd.tif, type: Byte, nodata: 255}
            """
        try run(text)
        let output = try Dataset.open(work.appendingPathComponent("out/nlcd.tif").path)
        let scene = try Dataset.open(Self.zion.appendingPathComponent("landsat_b4.tif").path)
        XCTAssertTrue(try output.grid().matches(scene.grid()))
        let classes = try output.band(1).read(Window(width: output.width, height: output.height))
        var counts: [Float: Int] = [:]
        for value in classes { counts[value, default: 0] += 1 }
        XCTAssertTrue(Set(counts.keys).isSubset(of: [1, 2, 3, 4, 5, 6, 7, 8, 255]), "\(counts.keys)")
        // Forest (4) and shrubland (5) dominate Zion.
        XCTAssertGreaterThan(counts[4, default: 0] + counts[5, default: 0], classes.count / 2)
    }

    func testMultiBandFileWithBandNumbersEqualsFilePerBand() throws {
        let multi = work.appendingPathComponent("red-nir.tif").path
        do {
            let red = try Dataset.open(Self.zion.appendingPathComponent("landsat_b4.tif").path)
            let grid = red.grid()
            let target = try Dataset.createGeoTIFF(at: multi, grid: grid, bandCount: 2, dataType: .uint16,
                                                   options: GeoTIFFOptions(compression: .none))
            for (index, name) in ["landsat_b4.tif", "landsat_b5.tif"].enumerated() {
                let values = try readWhole(Self.zion.appendingPathComponent(name).path)
                try values.withUnsafeBufferPointer { try target.band(index + 1).write(Window(width: grid.width, height: grid.height), from: $0) }
            }
            try target.close()
        }
        try run(Self.ndviPipeline)
        let perBand = try readWhole(work.appendingPathComponent("out/ndvi.tif").path)
        try run(Self.ndviPipeline.replacingOccurrences(
            of: #"bands: {red: "${data}/landsat_b4.tif", nir: "${data}/landsat_b5.tif"}"#,
            with: "path: \(multi)\n      bands: {red: 1, nir: 2}"))
        let fromMulti = try readWhole(work.appendingPathComponent("out/ndvi.tif").path)
        XCTAssertEqual(zip(perBand, fromMulti).filter { a, b in !(a == b || (a.isNaN && b.isNaN)) }.count, 0)
    }
}
