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

    /// A scene only whole-raster stages read is handed to them as a value VRT of its own file: every value (nodata
    /// and saturated pixels included) as the streamed reader gives it, in windows that cross blocks as a halo does,
    /// on the file's grid and on a window cut from it, and with a normalisation's gain added as normalize.relative
    /// adds it.
    func testAValueVRTOfAnIntegerSceneGivesTheStreamedValues() throws {
        // The real red and nir digital numbers, every 97th pixel nodata (65535 in red) or saturated (65535 in nir,
        // whose nodata is 0), in one 2-band UInt16 file.
        let full = try Dataset.open(Self.zion.appendingPathComponent("landsat_b4.tif").path).grid()
        let path = work.appendingPathComponent("scene16.tif").path
        let scene = try Dataset.createGeoTIFF(at: path, grid: full, bandCount: 2, dataType: .uint16,
                                              options: GeoTIFFOptions(compression: .none, blockSize: 512))
        for (index, name) in ["landsat_b4.tif", "landsat_b5.tif"].enumerated() {
            let band = try Dataset.open(Self.zion.appendingPathComponent(name).path).band(1)
            var values = [UInt16](repeating: 0, count: full.width * full.height)
            let whole = Window(width: full.width, height: full.height)
            try values.withUnsafeMutableBytes { try band.readRaw(whole, into: $0.baseAddress!, byteCapacity: $0.count, type: .uint16, lineStride: full.width) }
            for i in stride(from: 0, to: values.count, by: 97) { values[i] = 65535 }
            try scene.band(index + 1).setNoDataValue(index == 0 ? 65535 : 0)
            try values.withUnsafeBytes { try scene.band(index + 1).writeRaw(whole, from: $0.baseAddress!, byteCapacity: $0.count, type: .uint16, lineStride: full.width) }
        }
        try scene.close()
        let inputs = [1, 2].map { RasterFileSource.BandInput(path: path, band: $0, scale: 2.0e-5, offset: -0.1) }
        let context = RunContext(outputRoot: try OutputRoot(path: work.path), workDirectory: work, logger: Logger(label: "test"),
                                 memoryBudget: 64 << 20, threads: 1, blockSize: 512)
        // A window of the file (an extent cut from it): read through the VRT's source rectangle.
        let cut = RasterGrid(width: 700, height: 900, geoTransform: GeoTransform(
            originX: full.geoTransform.originX + 101 * full.geoTransform.pixelWidth, pixelWidth: full.geoTransform.pixelWidth, rowRotation: 0,
            originY: full.geoTransform.originY + 203 * full.geoTransform.pixelHeight, colRotation: 0, pixelHeight: full.geoTransform.pixelHeight),
                             crsWKT: full.crsWKT, crsLabel: full.crsLabel)
        var nodata = 0
        for grid in [full, cut] {
            XCTAssertTrue(RasterFileSource.canWriteValueVRT(bands: inputs, onto: grid))
            let source = try RasterFileSource(bands: inputs, onto: grid, resampling: .nearest, context: context, stageID: "scene")
            let vrt = work.appendingPathComponent("scene-\(grid.width).tif").path
            XCTAssertTrue(try source.writeValueVRT(to: vrt, names: ["red", "nir"], grid: grid, blockSize: 512))
            let reader = try source.makeReader()
            let dataset = try Dataset.open(vrt)
            XCTAssertEqual(try dataset.band(2).bandDescription, "nir")
            // normalize.relative's output: the same VRT with a gain and offset added to each band's transform.
            let bands = try XCTUnwrap(dataset.valueVRTBands)
            let gains: [Float] = [1.07, 0.93], offsets: [Float] = [-0.013, 0.021]
            let normalised = work.appendingPathComponent("normalised-\(grid.width).tif").path
            try Dataset.writeValueVRT(bands.enumerated().map { index, band in
                var copy = band
                copy.transform = band.transform.normalised(gain: gains[index], offset: offsets[index])!
                return copy
            }, names: ["red", "nir"], grid: grid, to: normalised)
            let gained = try Dataset.open(normalised)
            for window in [Window(width: grid.width, height: grid.height), Window(colOffset: 511, rowOffset: 507, width: 130, height: 260)] {
                var block = PixelBlock(bandNames: ["red", "nir"], blockWidth: window.width, blockHeight: window.height)
                try reader.read(window, into: &block)
                for band in 0..<2 {
                    let read = try dataset.band(band + 1).read(window)
                    let mismatches = zip(read, block.bands[band]).filter { a, b in !(a == b || (a.isNaN && b.isNaN)) }.count
                    XCTAssertEqual(mismatches, 0, "band \(band + 1), window \(window), grid \(grid.width) x \(grid.height)")
                    nodata += read.filter(\.isNaN).count
                    // As normalize.relative's tiles compute it: gain × value + offset, NaN stays NaN.
                    let expected = block.bands[band].prefix(window.pixelCount).map { $0.isFinite ? gains[band] * $0 + offsets[band] : $0 }
                    let normalisedRead = try gained.band(band + 1).read(window)
                    XCTAssertEqual(zip(normalisedRead, expected).filter { a, b in !(a == b || (a.isNaN && b.isNaN)) }.count, 0,
                                   "normalised band \(band + 1), window \(window)")
                }
            }
        }
        XCTAssertGreaterThan(nodata, 0, "the scene's nodata and saturated pixels are compared too")
        // Float bands are left to the stream.
        let float = work.appendingPathComponent("float.tif").path
        let copy = try Dataset.createGeoTIFF(at: float, grid: full, bandCount: 1, dataType: .float32, options: GeoTIFFOptions(compression: .none, blockSize: 512))
        try copy.close()
        XCTAssertFalse(RasterFileSource.canWriteValueVRT(bands: [.init(path: float, band: 1)], onto: full))
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
