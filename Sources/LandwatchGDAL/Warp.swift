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
    ///
    /// A raster that carries only rational polynomial coefficients (Gaofen Level-1A) is orthorectified through
    /// GDAL's RPC transformer, with `rpcDEM` for the terrain when given (heights above the ellipsoid otherwise 0).
    public func writeWarpedVRT(to vrtPath: String, onto grid: RasterGrid, resampling: Resampling,
                               sourceNoData: Double?, rpcDEM: String? = nil) throws(GDALError) {
        guard !grid.crsWKT.isEmpty else {
            throw GDALError(kind: .spatialReference, operation: "cannot warp \(path) onto a grid without a CRS")
        }
        let rpc = usesRPC
        guard rpc || !crsWKT.isEmpty else {
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
        if rpc {
            args += ["-rpc"]
            if let rpcDEM { args += ["-to", "RPC_DEM=\(rpcDEM)", "-to", "RPC_DEMINTERPOLATION=bilinear"] }
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

extension Dataset {
    /// True when the raster is placed on the Earth only by rational polynomial coefficients (no geotransform, no
    /// ground control points): a Level-1A delivery to be orthorectified.
    public var usesRPC: Bool { geoTransform == nil && !metadata(domain: "RPC").isEmpty }

    /// The grid GDAL suggests for orthorectifying an RPC raster into `crsDefinition` (default: the UTM zone of the
    /// image centre), at about the image's own ground resolution.
    public func suggestedRPCGrid(crsDefinition: String? = nil, rpcDEM: String? = nil) throws(GDALError) -> RasterGrid {
        let rpc = metadata(domain: "RPC")
        let definition: String
        if let crsDefinition {
            definition = crsDefinition
        } else {
            guard let longitude = rpc["LONG_OFF"].flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
                  let latitude = rpc["LAT_OFF"].flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) else {
                throw GDALError(kind: .spatialReference, operation: "\(path): the RPC metadata lacks LONG_OFF or LAT_OFF")
            }
            let zone = min(60, max(1, Int(((longitude + 180) / 6).rounded(.down)) + 1))
            definition = "EPSG:\((latitude >= 0 ? 32600 : 32700) + zone)"
        }
        let target = try SpatialReference(definition: definition)
        var options = ["METHOD=RPC", "DST_SRS=\(target.wkt)"]
        if let rpcDEM { options.append("RPC_DEM=\(rpcDEM)") }
        let (transformer, message) = withGDALErrorState { () -> UnsafeMutableRawPointer? in
            withCStringList(options) { list in GDALCreateGenImgProjTransformer2(handle, nil, list) }
        }
        guard let transformer else {
            throw GDALError(kind: .spatialReference, operation: "cannot set up the RPC transformer for \(path)", gdalMessage: message)
        }
        defer { GDALDestroyGenImgProjTransformer(transformer) }
        var transform = [Double](repeating: 0, count: 6)
        var extent = [Double](repeating: 0, count: 4)
        var pixels: Int32 = 0, lines: Int32 = 0
        let status = GDALSuggestedWarpOutput2(handle, GDALGenImgProjTransform, transformer, &transform, &pixels, &lines, &extent, 0)
        guard status == CE_None, pixels > 0, lines > 0 else {
            throw GDALError(kind: .other, operation: "cannot work out the orthorectified extent of \(path)")
        }
        return RasterGrid(width: Int(pixels), height: Int(lines),
                          geoTransform: GeoTransform(originX: transform[0], pixelWidth: transform[1], rowRotation: transform[2],
                                                     originY: transform[3], colRotation: transform[4], pixelHeight: transform[5]),
                          crsWKT: target.wkt, crsLabel: target.label)
    }
}
