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
    /// With `existingOverviews` the source's own overviews are copied instead of computed again.
    public func cogCreationOptions(resampling: OverviewResampling, threads: Int, existingOverviews: Bool = false) -> [String] {
        var options = ["BLOCKSIZE=\(blockSize)", "BIGTIFF=\(bigTIFF)", "COMPRESS=\(compression.rawValue)",
                       "OVERVIEW_COMPRESS=\(compression.rawValue)", "RESAMPLING=\(resampling.rawValue)",
                       existingOverviews ? "OVERVIEWS=FORCE_USE_EXISTING" : "OVERVIEWS=IGNORE_EXISTING",
                       "NUM_THREADS=\(max(threads, 1))"]
        if let level, compression == .zstd || compression == .deflate { options.append("LEVEL=\(level)") }
        return options
    }
}

extension Dataset {
    /// The overview factors of a Cloud-Optimized GeoTIFF: halvings until the smallest level fits in one tile
    /// (as GDAL's COG driver chooses them).
    public static func cogOverviewFactors(width: Int, height: Int, blockSize: Int) -> [Int] {
        var factors: [Int] = []
        var factor = 1
        while (width + factor - 1) / factor > blockSize || (height + factor - 1) / factor > blockSize {
            factor *= 2
            factors.append(factor)
        }
        return factors
    }

    /// Builds the internal overviews of the tiled GeoTIFF at `tiledPath` with the codec, level and tile size of
    /// `options` (the tiles of the full resolution must already be so), then rewrites it into Cloud-Optimized
    /// GeoTIFF layout at `path` copying every compressed tile as it is (``COGLayout``), with its `.aux.xml`.
    ///
    /// Measured on the 10980² NDVI bench's tiled output (GDAL 3.6, Float32, ZSTD 1, 2 threads, GDAL_CACHEMAX=64):
    /// the COG driver computing the overviews itself took 11.6 s; BuildOverviews 1.4-3.9 s, then the COG driver with
    /// OVERVIEWS=FORCE_USE_EXISTING 3.9 s, which decodes and encodes every tile again (as GTiff's
    /// COPY_SRC_OVERVIEWS=YES does, 4.6 s); the raw copy of the tiles instead takes a few tenths of a second.
    ///
    /// - Complexity: streams through GDAL's block cache; memory does not grow with the raster.
    public static func writeCOG(fromTiled tiledPath: String, to path: String, options: GeoTIFFOptions,
                                resampling: OverviewResampling, threads: Int) throws(GDALError) {
        try buildOverviews(of: tiledPath, options: options, resampling: resampling, threads: threads)
        try layOutCOG(fromTiled: tiledPath, to: path)
    }

    /// Rewrites the tiled GeoTIFF at `tiledPath`, whose internal overviews are already written (for instance by
    /// ``addEmptyOverviews(factors:options:)`` and blocks written to them), into Cloud-Optimized GeoTIFF layout at
    /// `path` by copying its compressed tiles as they are (``COGLayout``), with its `.aux.xml`.
    public static func layOutCOG(fromTiled tiledPath: String, to path: String) throws(GDALError) {
        try COGLayout.write(from: tiledPath, to: path)
        let sidecar = tiledPath + ".aux.xml"
        if FileManager.default.fileExists(atPath: sidecar) {
            unlink(path + ".aux.xml")
            guard (try? FileManager.default.copyItem(atPath: sidecar, toPath: path + ".aux.xml")) != nil else {
                throw GDALError(kind: .write, operation: "cannot copy \(sidecar) to \(path).aux.xml")
            }
        }
    }

    /// Turns the finished tiled GeoTIFF at `path` (written with `options`, closed) into a Cloud-Optimized GeoTIFF in
    /// place: its overviews are built, then the file is laid out again (``writeCOG(fromTiled:to:options:resampling:threads:)``)
    /// beside it and renamed over it. Its `.aux.xml`, if any, stays as it is. For the rasters that stages write whole
    /// (hot spots, simulated maps, renewal rasters) under an ``AtomicOutput``'s temporary name, before the commit.
    public static func makeCloudOptimized(at path: String, options: GeoTIFFOptions, resampling: OverviewResampling,
                                          threads: Int) throws(GDALError) {
        let laidOut = path + ".cog"
        do {
            try buildOverviews(of: path, options: options, resampling: resampling, threads: threads)
            try COGLayout.write(from: path, to: laidOut)
        } catch {
            unlink(laidOut)
            throw error
        }
        guard rename(laidOut, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(laidOut)
            throw GDALError(kind: .write, operation: "rename \(laidOut) to \(path): \(reason)")
        }
    }

    /// Builds the internal overviews of the tiled GeoTIFF at `tiledPath` as ``cogOverviewFactors(width:height:blockSize:)``
    /// gives them, tiled and compressed as `options` says.
    static func buildOverviews(of tiledPath: String, options: GeoTIFFOptions, resampling: OverviewResampling,
                               threads: Int) throws(GDALError) {
        let scratch = try Dataset.openForUpdate(tiledPath)
        let factors = cogOverviewFactors(width: scratch.width, height: scratch.height, blockSize: options.blockSize)
        try scratch.buildOverviews(factors: factors, options: options, resampling: resampling.rawValue, threads: threads)
        try scratch.close()
    }

    /// Adds internal overviews at `factors` to this GeoTIFF, opened for writing (a new one from
    /// ``createGeoTIFF(at:grid:bandCount:dataType:options:)`` too, before or after its blocks are written), tiled
    /// and compressed as `options` says, without computing them: their blocks are written afterwards through
    /// ``Band/overview(_:)``. Bands get their nodata value first: GDAL gives it to the overviews when they are made.
    public func addEmptyOverviews(factors: [Int], options: GeoTIFFOptions) throws(GDALError) {
        try buildOverviews(factors: factors, options: options, resampling: "NONE", threads: 1)
    }

    private func buildOverviews(factors: [Int], options: GeoTIFFOptions, resampling: String, threads: Int) throws(GDALError) {
        guard !factors.isEmpty else { return }
        var levels = factors.map { Int32($0) }
        var overviewOptions = ["COMPRESS_OVERVIEW=\(options.compression.rawValue)", "GDAL_TIFF_OVR_BLOCKSIZE=\(options.blockSize)",
                               "NUM_THREADS=\(max(threads, 1))"]
        if options.compression != .none { overviewOptions.append("PREDICTOR_OVERVIEW=1") }
        if let level = options.level {
            switch options.compression {
            case .zstd: overviewOptions.append("ZSTD_LEVEL_OVERVIEW=\(level)")
            case .deflate: overviewOptions.append("ZLEVEL_OVERVIEW=\(level)")
            case .lzw, .none: break
            }
        }
        let (status, message) = withGDALErrorState {
            withCStringList(overviewOptions) { list in
                GDALBuildOverviewsEx(handle, resampling, Int32(levels.count), &levels, 0, nil, nil, nil, list)
            }
        }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "cannot build the overviews of \(path)", gdalMessage: message)
        }
    }

    /// Copies this dataset into Cloud-Optimized GeoTIFF layout at `path` with GDAL's COG driver: the same pixels,
    /// band names, nodata, colours and metadata, internal overviews and the image data after the headers, so
    /// that a reader over HTTP needs one range request for the headers and one per tile.
    ///
    /// - Complexity: streams: the pixels are read block by block (through GDAL's block cache, sized by
    ///   ``GDALRuntime/configure(cacheBytes:threads:)``); the overviews are first written to a temporary file beside
    ///   `path` (a third of the pixels at most), then everything is copied once more into its final place. Memory
    ///   does not grow with the raster.
    public func copyAsCOG(to path: String, options: GeoTIFFOptions, resampling: OverviewResampling, threads: Int,
                          existingOverviews: Bool = false) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("COG") else {
            throw GDALError(kind: .other, operation: "GDAL's COG driver is not available (GDAL 3.1 or later has it)")
        }
        let (copied, message) = withGDALErrorState {
            withCStringList(options.cogCreationOptions(resampling: resampling, threads: threads,
                                                              existingOverviews: existingOverviews)) { list in
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
    /// The band's size in pixels (an overview's is smaller than its dataset's).
    public var size: (width: Int, height: Int) { (Int(GDALGetRasterBandXSize(handle)), Int(GDALGetRasterBandYSize(handle))) }

    /// The overview at `index` (0 is the largest; see ``overviewCount``), as a band of its own: written with
    /// ``writeBlock(column:row:from:)`` like the full resolution, when the dataset is open for writing.
    public func overview(_ index: Int) throws(GDALError) -> Band {
        guard index >= 0 && index < overviewCount, let handle = GDALGetOverview(handle, Int32(index)) else {
            throw GDALError(kind: .outOfRange, operation: "band \(self.index) of \(dataset.path) has no overview \(index) (it has \(overviewCount))")
        }
        return Band(handle: handle, index: self.index, dataset: dataset)
    }
}
