import Foundation
import LandwatchGDAL


/// Writes a stream of blocks as a Cloud-Optimized GeoTIFF, without holding the raster in memory.
///
/// GDAL's COG driver only copies a finished dataset (it has no block-by-block `Create`), so the blocks are first
/// written, as by ``GeoTIFFSink``, to a tiled GeoTIFF in the run's work folder (never an output, never published);
/// ``finish()`` builds its overviews in place, then copies its compressed tiles as they are into COG layout (every
/// tile after the headers, the smallest overview first; see ``Dataset/writeCOG(fromTiled:to:options:resampling:threads:)``
/// and ``COGLayout``) at the output's temporary name,
/// which is published like any other output. The scratch file is removed in every case. A failure or a kill before the rename leaves nothing that looks finished.
public final class COGSink: BlockSink, @unchecked Sendable {  // `tiled` and `scratch` are only touched by finish/abort, once
    public let relativePath: String
    private let tiled: GeoTIFFSink
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
        // The scratch's tiles are the output's (copied as they are): the output's codec, level and tile size.
        // The resampling is recorded in the file: `landwatch merge` makes the shards' parts one COG with the same.
        tiled = try GeoTIFFSink(target: scratch, relativePath: relativePath, grid: grid, bandNames: bandNames, dataType: dataType,
                                noData: noData, options: options,
                                metadata: metadata.merging(["OVERVIEW_RESAMPLING": resampling.rawValue]) { $1 },
                                categories: categories)
    }

    public func write(_ blocks: [PixelBlock]) throws { try tiled.write(blocks) }

    public func finish() throws -> [String] {
        defer { removeScratch() }
        _ = try tiled.finish()
        let output = AtomicOutput(target: target)
        try output.write { path in
            try Dataset.writeCOG(fromTiled: scratch.path, to: path, options: options, resampling: resampling, threads: threads)
        }
        return [relativePath]
    }

    public func abort() {
        tiled.abort()
        removeScratch()
    }

    private func removeScratch() {
        unlink(scratch.path)
        unlink(scratch.path + ".aux.xml")
    }
}
