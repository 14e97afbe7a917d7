import CGDAL
import Foundation

/// How overviews of a Cloud-Optimized GeoTIFF are computed from the full-resolution pixels.
public enum OverviewResampling: String, Sendable, CaseIterable {
    /// One source pixel per overview pixel: class codes and masks stay codes. The cheapest.
    case nearest = "NEAREST"
    /// The most frequent value of each 2x2 block: class maps keep their small classes better, at more cost.
    case mode = "MODE"
    /// The mean of the valid pixels: for continuous values (reflectance, indices, temperatures).
    case average = "AVERAGE"
}

extension GeoTIFFOptions {
    /// The options of GDAL's COG driver for the same codec, level and tile size: internal tiles, overviews down to
    /// one tile computed with `resampling`, compressed as the full resolution, and `threads` encoding threads.
    public func cogCreationOptions(resampling: OverviewResampling, threads: Int) -> [String] {
        var options = ["BLOCKSIZE=\(blockSize)", "BIGTIFF=\(bigTIFF)", "COMPRESS=\(compression.rawValue)",
                       "OVERVIEW_COMPRESS=\(compression.rawValue)", "RESAMPLING=\(resampling.rawValue)",
                       "OVERVIEWS=IGNORE_EXISTING", "NUM_THREADS=\(max(threads, 1))"]
        if let level, compression == .zstd || compression == .deflate { options.append("LEVEL=\(level)") }
        return options
    }
}

extension Dataset {
    /// Copies this dataset into Cloud-Optimized GeoTIFF layout at `path` with GDAL's COG driver: the same pixels,
    /// band names, nodata, colours and metadata, internal overviews and the image data after the headers, so
    /// that a reader over HTTP needs one range request for the headers and one per tile.
    ///
    /// - Complexity: streams: the pixels are read block by block (through GDAL's block cache, sized by
    ///   ``GDALRuntime/configure(cacheBytes:threads:)``); the overviews are first written to a temporary file beside
    ///   `path` (a third of the pixels at most), then everything is copied once more into its final place. Memory
    ///   does not grow with the raster.
    public func copyAsCOG(to path: String, options: GeoTIFFOptions, resampling: OverviewResampling, threads: Int) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("COG") else {
            throw GDALError(kind: .other, operation: "GDAL's COG driver is not available (GDAL 3.1 or later has it)")
        }
        let (copied, message) = withGDALErrorState {
            withCStringList(options.cogCreationOptions(resampling: resampling, threads: threads)) { list in
                GDALCreateCopy(driver, path, handle, 0, list, nil, nil)
            }
        }
        guard let copied else {
            throw GDALError(kind: .write, operation: "cannot write \(path) as a Cloud-Optimized GeoTIFF", gdalMessage: message)
        }
        let (_, closeMessage) = withGDALErrorState { GDALClose(copied) }
        if let closeMessage, CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal {
            throw GDALError(kind: .write, operation: "close \(path)", gdalMessage: closeMessage)
        }
    }

    /// True when GDAL's GeoTIFF reader recognises the file's layout as a Cloud-Optimized GeoTIFF's
    /// (`LAYOUT=COG` in the `IMAGE_STRUCTURE` metadata; written by the COG driver).
    public var isCloudOptimized: Bool {
        metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    }
}

extension Band {
    /// How many overviews (reduced-resolution copies) the band has.
    public var overviewCount: Int { Int(GDALGetOverviewCount(handle)) }
}
