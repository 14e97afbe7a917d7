import CGDAL

/// How an output GeoTIFF is written.
public struct GeoTIFFOptions: Sendable, Equatable {
    /// Codecs Debian's GDAL writes. ZSTD at level 1 encodes about 4x faster than DEFLATE at similar size.
    public enum Compression: String, Sendable, CaseIterable {
        case none = "NONE", zstd = "ZSTD", deflate = "DEFLATE", lzw = "LZW"
    }

    public var compression: Compression
    /// Codec level; nil leaves GDAL's default. ZSTD defaults to 1 here: GDAL's own default (9) is slower than DEFLATE.
    public var level: Int?
    /// Tile edge in pixels (a multiple of 16).
    public var blockSize: Int
    /// BIGTIFF=IF_SAFER unless set.
    public var bigTIFF: String
    /// SPARSE_OK=TRUE: tiles never written stay absent (offset 0) instead of being filled at closing; for the
    /// tag templates of ``COGWriter``.
    public var sparse: Bool

    public init(compression: Compression = .zstd, level: Int? = nil, blockSize: Int = 512, bigTIFF: String = "IF_SAFER",
                sparse: Bool = false) {
        self.compression = compression
        self.level = level ?? (compression == .zstd ? 1 : nil)
        self.blockSize = blockSize
        self.bigTIFF = bigTIFF
        self.sparse = sparse
    }

    /// The creation options as GDAL takes them (`-co` values).
    public var creationOptions: [String] {
        var options = ["TILED=YES", "BLOCKXSIZE=\(blockSize)", "BLOCKYSIZE=\(blockSize)", "BIGTIFF=\(bigTIFF)",
                       "COMPRESS=\(compression.rawValue)"]
        if let level {
            switch compression {
            case .zstd: options.append("ZSTD_LEVEL=\(level)")
            case .deflate: options.append("ZLEVEL=\(level)")
            case .lzw, .none: break
            }
        }
        if compression != .none {
            options.append("PREDICTOR=1")
        }
        if sparse { options.append("SPARSE_OK=TRUE") }
        return options
    }
}

extension Dataset {
    /// Creates a tiled GeoTIFF on a grid, with every band of one type.
    ///
    /// - Complexity: writes only the header; pixels are written later, block by block.
    public static func createGeoTIFF(
        at path: String, grid: RasterGrid, bandCount: Int, dataType: DataType, options: GeoTIFFOptions
    ) throws(GDALError) -> Dataset {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("GTiff") else {
            throw GDALError(kind: .other, operation: "GDAL's GTiff driver is not available")
        }
        let (created, message) = withGDALErrorState {
            withCStringList(options.creationOptions + (bandCount > 1 ? ["INTERLEAVE=BAND"] : [])) { list in
                GDALCreate(driver, path, Int32(grid.width), Int32(grid.height), Int32(bandCount), dataType.gdal, list)
            }
        }
        guard let created else {
            throw GDALError(kind: .write, operation: "cannot create \(path)", gdalMessage: message)
        }
        let dataset = Dataset(handle: created, path: path)
        try dataset.setGeoTransform(grid.geoTransform)
        try dataset.setCRS(grid.crsWKT)
        return dataset
    }

    /// Creates an in-memory raster (GDAL's MEM driver), for tests and small scratch rasters.
    public static func createInMemory(width: Int, height: Int, bandCount: Int, dataType: DataType) throws(GDALError) -> Dataset {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("MEM") else {
            throw GDALError(kind: .other, operation: "GDAL's MEM driver is not available")
        }
        let (created, message) = withGDALErrorState {
            GDALCreate(driver, "", Int32(width), Int32(height), Int32(bandCount), dataType.gdal, nil)
        }
        guard let created else {
            throw GDALError(kind: .write, operation: "cannot create a \(width)x\(height) in-memory raster", gdalMessage: message)
        }
        return Dataset(handle: created, path: "MEM")
    }

    /// Copies this dataset to a new file with a driver (`GTiff`, `VRT`, …) and creation options.
    @discardableResult
    public func copy(to path: String, driver driverName: String, options: [String] = []) throws(GDALError) -> Dataset {
        guard let driver = GDALGetDriverByName(driverName) else {
            throw GDALError(kind: .other, operation: "GDAL driver \(driverName) is not available")
        }
        let (copied, message) = withGDALErrorState {
            withCStringList(options) { list in GDALCreateCopy(driver, path, handle, 0, list, nil, nil) }
        }
        guard let copied else {
            throw GDALError(kind: .write, operation: "cannot write \(path)", gdalMessage: message)
        }
        return Dataset(handle: copied, path: path)
    }
}

/// Files in GDAL's virtual file systems (`/vsimem/`).
public enum VirtualFiles {
    /// Deletes a file in GDAL's virtual or real file system; returns false if it did not exist.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        VSIUnlink(path) == 0
    }
}
