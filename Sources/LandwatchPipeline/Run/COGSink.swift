import Foundation
import LandwatchGDAL


/// Writes a stream of blocks as a Cloud-Optimized GeoTIFF, without holding the raster in memory and without reading
/// it again.
///
/// With `average` and `nearest` overviews, a power-of-two tile size and a codec ``TileCodec`` encodes (ZSTD, DEFLATE,
/// none) the file is written once, directly (``COGWriter``): each block is encoded on the worker thread that computed
/// it and written in row-major order into the output at its temporary name, after a region reserved for the IFDs and
/// the overviews; the overviews are computed while the blocks stream (``OverviewPyramid``: each level from the one
/// above, as GDAL computes them), encoded the same way and kept in a side file in the run's work folder until
/// ``finish()`` puts them in the reserved region and removes what it did not use. The tags come from a template GDAL
/// writes without pixels (a few KB, removed at once).
///
/// Otherwise (`mode`, LZW, another tile size) the blocks are written, as by ``GeoTIFFSink``, to a tiled GeoTIFF in the
/// run's work folder (never an output, never published) with its internal overviews; with `average` and `nearest`
/// they are computed while the blocks stream and written there, with `mode` GDAL builds them in ``finish()``, reading
/// the scratch again (``Dataset/writeCOG(fromTiled:to:options:resampling:threads:)``); ``finish()`` then copies the
/// compressed tiles as they are into COG layout (``Dataset/layOutCOG(fromTiled:to:)``, ``COGLayout``). Both give the
/// same pixels, overviews, tags and layout. Scratch files are removed in every case; a failure or a kill before the
/// rename leaves nothing that looks finished.
public final class COGSink: BlockSink, @unchecked Sendable {  // `tiled` and `scratch` are only touched by finish/abort, once
    public let relativePath: String
    private let tiled: GeoTIFFSink?
    private let direct: Direct?
    private let pyramid: OverviewPyramid?
    /// Whether the overviews are computed as the blocks stream (else GDAL builds them from the scratch at the end).
    private let streamsOverviews: Bool
    private let scratch: URL
    private let target: URL
    private let options: GeoTIFFOptions
    private let resampling: OverviewResampling
    private let threads: Int
    /// True when the file is written once, directly (``COGWriter``); false through a scratch GeoTIFF.
    public var writesDirectly: Bool { direct != nil }

    /// The direct path: the writer, the output's temporary name, and how blocks become tiles.
    private final class Direct: @unchecked Sendable {  // immutable; the writer and the pool guard themselves
        let writer: COGWriter
        let output: AtomicOutput
        let template: String
        let dataType: DataType
        let noData: Double
        let scratchPool = ScratchPool()

        init(writer: COGWriter, output: AtomicOutput, template: String, dataType: DataType, noData: Double) {
            self.writer = writer
            self.output = output
            self.template = template
            self.dataType = dataType
            self.noData = noData
        }

        /// One band of a block (`window` of the image, rows `stride` apart) as an encoded tile: padded with nodata
        /// at the image's edges, converted to the stored type, encoded.
        func encode(_ values: [Float], width: Int, height: Int, stride: Int) throws -> COGWriter.Encoded {
            let tile = writer.tileSize
            let padded: [Float]
            if width == tile && height == tile && stride == tile && values.count >= tile * tile {
                padded = values
            } else {
                var copy = [Float](repeating: .nan, count: tile * tile)
                for row in 0..<height {
                    for column in 0..<width { copy[row * tile + column] = values[row * stride + column] }
                }
                padded = copy
            }
            if dataType == .float32 && noData.isNaN {
                return try padded.withUnsafeBytes { raw in
                    try writer.encode(UnsafeRawBufferPointer(rebasing: raw[0..<writer.tileBytes]))
                }
            }
            let scratch = scratchPool.take(bytes: tile * tile * dataType.byteCount)
            defer { scratchPool.give(scratch) }
            PixelConversion.convert(padded.count == tile * tile ? padded : Array(padded[0..<(tile * tile)]), to: dataType, noData: noData, into: scratch)
            return try writer.encode(UnsafeRawBufferPointer(rebasing: scratch[0..<writer.tileBytes]))
        }
    }

    public init(target: URL, relativePath: String, grid: RasterGrid, bandNames: [String], dataType: DataType, noData: Double,
         options: GeoTIFFOptions, resampling: OverviewResampling, metadata: [String: String], categories: [Band.Category],
         context: RunContext) throws {
        self.relativePath = relativePath
        self.target = target
        self.options = options
        self.resampling = resampling
        self.threads = context.threads
        let name = "cog-" + relativePath.replacingOccurrences(of: "/", with: "_") + "-\(UUID().uuidString.prefix(8))"
        scratch = URL(fileURLWithPath: context.scratchPath(name + ".tif"))
        let factors = Dataset.cogOverviewFactors(width: grid.width, height: grid.height, blockSize: options.blockSize)
        // GDAL tiles internal overviews only in powers of two from 64 to 4096 (GDAL_TIFF_OVR_BLOCKSIZE; anything else
        // is 128): with another block size (a run's --block-size 96) the overviews' tiles would not be the pyramid's,
        // and GDAL builds them at the end as for mode.
        let size = options.blockSize
        streamsOverviews = size >= 64 && size <= 4096 && size & (size - 1) == 0
        let streamed: OverviewPyramid.Method? = switch resampling {
        case .average: .average
        case .nearest: .nearest
        case .mode: nil
        }
        let method = streamsOverviews ? streamed : nil
        // The resampling is recorded in the file: `landwatch merge` makes the shards' parts one COG with the same.
        let tagged = metadata.merging(["OVERVIEW_RESAMPLING": resampling.rawValue]) { $1 }

        // The direct path, when the codec can be used outside GDAL's GTiff writer and the overviews stream.
        var direct: Direct?
        var refusal: String?
        if method == nil {
            refusal = resampling == .mode ? "mode overviews are built by GDAL" : "\(size)-pixel tiles (GDAL tiles overviews in powers of two)"
        } else if let codec = TileCodec(compression: options.compression, level: options.level) {
            // The template: GDAL's tags for this grid and these options, without a pixel.
            var sparse = options
            sparse.sparse = true
            let templatePath = context.scratchPath(name + "-template.tif")
            let template = try GeoTIFFSink(target: URL(fileURLWithPath: templatePath), relativePath: relativePath, grid: grid,
                                           bandNames: bandNames, dataType: dataType, noData: noData, options: sparse,
                                           metadata: tagged, categories: categories, overviewFactors: factors)
            _ = try template.finish()
            let output = AtomicOutput(target: target)
            do {
                let made = try COGWriter.make(path: output.temporaryPath, template: templatePath,
                                              sidePath: context.scratchPath(name + "-overviews"), codec: codec,
                                              bytesPerSample: dataType.byteCount, logger: context.logger)
                if let writer = made.writer {
                    direct = Direct(writer: writer, output: output, template: templatePath, dataType: dataType, noData: noData)
                } else {
                    refusal = made.refusal
                }
            } catch {
                output.abort()
                unlink(templatePath)
                unlink(templatePath + ".aux.xml")
                throw error
            }
            if direct == nil {
                output.abort()
                unlink(templatePath)
                unlink(templatePath + ".aux.xml")
            }
        } else {
            refusal = "\(options.compression.rawValue) is encoded by GDAL's GTiff writer only"
        }
        self.direct = direct
        if let direct {
            context.logger.debug("\(relativePath): Cloud-Optimized GeoTIFF written directly (\(options.compression.rawValue), \(size)-pixel tiles)")
            tiled = nil
            let writer = direct.writer
            if let method, !factors.isEmpty {
                pyramid = OverviewPyramid(width: grid.width, height: grid.height, factors: factors, tileSize: size,
                                          bandCount: bandNames.count, method: method,
                                          storage: .init(dataType: dataType, noData: noData)) { tile in
                    let bands = try tile.bands.map { try direct.encode($0, width: size, height: size, stride: size) }
                    try writer.write(image: tile.level + 1, column: tile.column, row: tile.row, bands: bands)
                }
            } else {
                pyramid = nil
            }
            return
        }
        context.logger.debug("\(relativePath): Cloud-Optimized GeoTIFF through a scratch GeoTIFF (\(refusal ?? ""))")

        // The scratch's tiles are the output's (copied as they are): the output's codec, level and tile size.
        let tiled = try GeoTIFFSink(target: scratch, relativePath: relativePath, grid: grid, bandNames: bandNames, dataType: dataType,
                                    noData: noData, options: options, metadata: tagged,
                                    categories: categories, overviewFactors: method == nil ? [] : factors)
        self.tiled = tiled
        if let method, !factors.isEmpty {
            pyramid = OverviewPyramid(width: grid.width, height: grid.height, factors: factors, tileSize: options.blockSize,
                                      bandCount: bandNames.count, method: method,
                                      storage: .init(dataType: dataType, noData: noData)) { tile in
                try tiled.writeOverview(level: tile.level, column: tile.column, row: tile.row, bands: tile.bands)
            }
        } else {
            pyramid = nil
        }
    }

    public func write(_ blocks: [PixelBlock]) throws {
        if let direct {
            let block = blocks[0], size = direct.writer.tileSize
            let bands = try block.bands.map {
                try direct.encode($0, width: block.window.width, height: block.window.height, stride: block.stride)
            }
            try direct.writer.write(image: 0, column: block.window.colOffset / size, row: block.window.rowOffset / size, bands: bands)
        } else {
            try tiled?.write(blocks)
        }
        if let pyramid, let block = blocks.first { try pyramid.add(window: block.window, stride: block.stride, bands: block.bands) }
    }

    public func finish() throws -> [String] {
        defer { removeScratch() }
        do {
            try pyramid?.finish()
        } catch {
            abort()
            throw error
        }
        if let direct {
            do {
                try direct.writer.finish()
                // GDAL's side file of the template (category names), beside the output.
                let sidecar = direct.template + ".aux.xml"
                if FileManager.default.fileExists(atPath: sidecar) {
                    unlink(direct.output.temporaryPath + ".aux.xml")
                    try FileManager.default.copyItem(atPath: sidecar, toPath: direct.output.temporaryPath + ".aux.xml")
                }
                try direct.output.commit()
            } catch {
                abort()
                throw error
            }
            return [relativePath]
        }
        guard let tiled else { return [relativePath] }
        _ = try tiled.finish()
        let output = AtomicOutput(target: target)
        try output.write { path in
            if pyramid == nil && (resampling == .mode || !streamsOverviews) {
                try Dataset.writeCOG(fromTiled: scratch.path, to: path, options: options, resampling: resampling, threads: threads)
            } else {
                try Dataset.layOutCOG(fromTiled: scratch.path, to: path)
            }
        }
        return [relativePath]
    }

    public func abort() {
        pyramid?.discard()
        tiled?.abort()
        if let direct {
            direct.writer.abort()
            direct.output.abort()
        }
        removeScratch()
    }

    private func removeScratch() {
        unlink(scratch.path)
        unlink(scratch.path + ".aux.xml")
        if let direct {
            unlink(direct.template)
            unlink(direct.template + ".aux.xml")
        }
    }
}
