import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages

/// Stage types that exist only in tests, to exercise the engine: timing, whole-raster materialisation, failure.
struct SlowCopyStage: PixelStage {
    static let descriptor = StageDescriptor(
        id: "test.slow", summary: "copies band 1, sleeping per block", evaluation: .pixelwise,
        inputs: [InputPort("raster", kinds: ProductKind.rasters, help: "any raster")], output: .index,
        options: [OptionSpec("milliseconds", .integer, default: .integer(30), help: "sleep per block")])
    let milliseconds: Int
    init(options: StageOptions) throws(StageProblem) { milliseconds = options.integer("milliseconds") ?? 30 }
    func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        ProductDescription(kind: .index, bandNames: ["copy"])
    }
    func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        usleep(UInt32(milliseconds * 1000))
        output.bands[0] = inputs[0].bands[0]
    }
}

/// Negates a whole raster: reads its materialised input entirely and writes its output whole.
struct NegateWholeStage: WholeRasterStage {
    static let descriptor = StageDescriptor(
        id: "test.negate", summary: "negates a raster, whole", evaluation: .wholeRaster,
        inputs: [InputPort("raster", kinds: [.index], help: "an index")], output: .index, options: [])
    init(options: StageOptions) throws(StageProblem) {}
    func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        ProductDescription(kind: .index, bandNames: ["negated"])
    }
    func run(inputs: [MaterializedRaster], output: String, grid: RasterGrid, context: RunContext) throws {
        let source = try Dataset.open(inputs[0].path)
        var values = try source.band(1).read(Window(width: grid.width, height: grid.height))
        for i in values.indices { values[i] = -values[i] }
        let target = try Dataset.createGeoTIFF(at: output, grid: grid, bandCount: 1, dataType: .float32,
                                               options: GeoTIFFOptions(blockSize: context.blockSize))
        try values.withUnsafeBufferPointer { try target.band(1).write(Window(width: grid.width, height: grid.height), from: $0) }
        try target.close()
    }
}

/// Reads the Zion red band but fails on every block below row 512.
struct FailingSourceStage: SourceStage {
    static let descriptor = StageDescriptor(
        id: "test.failing", summary: "fails half-way", evaluation: .source, output: .index,
        options: [OptionSpec("path", .inputPath, help: "a raster")])
    let path: String
    init(options: StageOptions) throws(StageProblem) { path = options.string("path")! }
    func describe() throws(StageProblem) -> ProductDescription {
        let grid: RasterGrid
        do { grid = try Dataset.open(path).grid() } catch { throw StageProblem(option: "path", error.description) }
        return ProductDescription(kind: .index, bandNames: ["red"], nativeGrid: grid, sourcePath: path)
    }
    func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        Source(inner: try RasterFileSource(bands: [.init(path: path, band: 1)], onto: grid, resampling: .nearest,
                                           context: context, stageID: "failing"))
    }
    struct Source: BlockSource {
        let inner: RasterFileSource
        var bandCount: Int { 1 }
        func makeReader() throws -> any BlockReader { Reader(inner: try inner.makeReader()) }
    }
    final class Reader: BlockReader {
        let inner: any BlockReader
        init(inner: any BlockReader) { self.inner = inner }
        func read(_ window: Window, into block: inout PixelBlock) throws {
            if window.rowOffset >= 512 { throw GDALError(kind: .read, operation: "simulated read failure at \(window)") }
            try inner.read(window, into: &block)
        }
    }
}

let testRegistry: StageRegistry = {
    var registry = standardRegistry
    registry.register(SlowCopyStage.self)
    registry.register(NegateWholeStage.self)
    registry.register(FailingSourceStage.self)
    return registry
}()
