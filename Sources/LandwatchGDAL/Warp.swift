import CGDAL

/// How source pixels are sampled when a raster is brought onto another grid.
public enum Resampling: String, Sendable, CaseIterable, Codable {
    /// For classes and masks: values are never mixed.
    case nearest
    /// For reflectance and other continuous values.
    case bilinear
    case cubic
    case average
    case mode

    /// The name gdalwarp's `-r` takes.
    var gdalName: String { self == .nearest ? "near" : rawValue }
}

/// Describes a target grid for warping: CRS, pixel size, and extent or size.
public struct WarpTarget: Sendable, Equatable {
    public var grid: RasterGrid

    public init(grid: RasterGrid) { self.grid = grid }
}

extension Dataset {
    /// Writes a warped VRT that presents this raster on `grid`, and returns its path.
    ///
    /// The VRT is only a recipe: GDAL warps the pixels when a window of it is read, block by block, so memory does
    /// not grow with the scene. The VRT file can be opened by every worker thread on its own.
    public func writeWarpedVRT(to vrtPath: String, onto grid: RasterGrid, resampling: Resampling,
                               sourceNoData: Double?) throws(GDALError) {
        guard !grid.crsWKT.isEmpty else {
            throw GDALError(kind: .spatialReference, operation: "cannot warp \(path) onto a grid without a CRS")
        }
        guard !crsWKT.isEmpty else {
            throw GDALError(kind: .spatialReference,
                            operation: "cannot warp \(path) onto \(grid.crsLabel): the raster has no CRS")
        }
        let e = grid.extent
        var args = [
            "-of", "VRT", "-t_srs", grid.crsWKT,
            "-te", String(e.minX), String(e.minY), String(e.maxX), String(e.maxY),
            "-ts", String(grid.width), String(grid.height),
            "-r", resampling.gdalName,
        ]
        if let sourceNoData {
            args += ["-srcnodata", String(sourceNoData), "-dstnodata", String(sourceNoData)]
        }
        let (result, message) = withGDALErrorState { () -> GDALDatasetH? in
            withCStringList(args) { list -> GDALDatasetH? in
                guard let options = GDALWarpAppOptionsNew(list, nil) else { return nil }
                defer { GDALWarpAppOptionsFree(options) }
                var sources: [GDALDatasetH?] = [handle]
                var usageError: Int32 = 0
                return sources.withUnsafeMutableBufferPointer { buffer in
                    GDALWarp(vrtPath, nil, 1, buffer.baseAddress, options, &usageError)
                }
            }
        }
        guard let result else {
            throw GDALError(kind: .other, operation: "cannot warp \(path) onto \(grid)", gdalMessage: message)
        }
        GDALClose(result)
    }
}
