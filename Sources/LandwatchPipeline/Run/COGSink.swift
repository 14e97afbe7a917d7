import Foundation
import LandwatchGDAL


/// Writes a stream of blocks as a Cloud-Optimized GeoTIFF, without holding the raster in memory and without reading
/// it again.
///
/// GDAL's COG driver only copies a finished dataset (it has no block-by-block `Create`), so the blocks are written, as
/// by ``GeoTIFFSink``, to a tiled GeoTIFF in the run's work folder (never an output, never published) that has its
/// internal overviews from the start, empty. With `average` and `nearest` the overviews are computed while the blocks
/// stream (``OverviewPyramid``: each level from the one above, as GDAL computes them) and their tiles are written,
/// with the output's codec, as soon as all their pixels have arrived; ``finish()`` then only copies the compressed
/// tiles as they are into COG layout (every tile after the headers, the smallest overview first; see
/// ``Dataset/layOutCOG(fromTiled:to:)`` and ``COGLayout``) at the output's temporary name, which is published like any
/// other output. With `mode` GDAL builds the overviews on the scratch in ``finish()``, reading it again
/// (``Dataset/writeCOG(fromTiled:to:options:resampling:threads:)``). The scratch file is removed in every case. A
/// failure or a kill before the rename leaves nothing that looks finished.
public final class COGSink: BlockSink, @unchecked Sendable {  // `tiled` and `scratch` are only touched by finish/abort, once
    public let relativePath: String
    private let tiled: GeoTIFFSink
    private let pyramid: OverviewPyramid?
    /// Whether the overviews are computed as the blocks stream (else GDAL builds them from the scratch at the end).
    private let streamsOverviews: Bool
    private let scratch: URL
    private let target: URL
    private let options: GeoTIFFOptions
    private let resampling: OverviewResampling
    private let threads: Int

    public init(target: URL, relativePath: String, grid: RasterGrid, bandNames: [String], dataType: DataType, noData: Double,
         options: GeoTIFFOptions, resampling: OverviewResampling, metadata: [String: String], categories: [Band.Category],
         context: RunContext) throws {
        self.relativePath = relativePath
        self.target = target
        self.options = options
        self.resampling = resampling
        self.threads = context.threads
        let name = "cog-" + relativePath.replacingOccurrences(of: "/", with: "_") + "-\(UUID().uuidString.prefix(8)).tif"
        scratch = URL(fileURLWithPath: context.scratchPath(name))
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
        // The scratch's tiles are the output's (copied as they are): the output's codec, level and tile size.
        // The resampling is recorded in the file: `landwatch merge` makes the shards' parts one COG with the same.
        let tiled = try GeoTIFFSink(target: scratch, relativePath: relativePath, grid: grid, bandNames: bandNames, dataType: dataType,
                                    noData: noData, options: options,
                                    metadata: metadata.merging(["OVERVIEW_RESAMPLING": resampling.rawValue]) { $1 },
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
        try tiled.write(blocks)
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
        tiled.abort()
        removeScratch()
    }

    private func removeScratch() {
        unlink(scratch.path)
        unlink(scratch.path + ".aux.xml")
    }
}
