import CGDAL
import Foundation

/// An open GDAL raster dataset. Closed when the last reference goes away.
///
/// GDAL datasets are not thread-safe: use one `Dataset` from one thread at a time, and open the same path again
/// for each worker thread.
public final class Dataset {
    let handle: GDALDatasetH
    /// The path or URL the dataset was opened from (or created at).
    public let path: String

    init(handle: GDALDatasetH, path: String) {
        self.handle = handle
        self.path = path
    }

    /// Set by ``close()``; the handle is then gone.
    private var isClosed = false

    /// Per band, the transform from stored numbers to values when the dataset is a value VRT (see ``ValueTransform``);
    /// read from the metadata once.
    lazy var transforms: [ValueTransform?] = {
        guard isValueVRT else { return Array(repeating: nil, count: bandCount) }
        return (1...max(bandCount, 1)).map { index in
            GDALGetRasterBand(handle, Int32(index)).flatMap { ValueTransform(items: parseMetadataList(GDALGetMetadata($0, ValueTransform.domain))) }
        }
    }()

    /// The transforms tabulated, for bands of 8 or 16-bit integers.
    lazy var lookups: [ValueLookup?] = transforms.enumerated().map { index, transform in
        transform.flatMap { transform in
            ValueLookup(transform, storedAs: GDALGetRasterBand(handle, Int32(index + 1)).flatMap { DataType(gdal: GDALGetRasterDataType($0)) })
        }
    }

    deinit { if !isClosed { GDALClose(handle) } }

    /// Opens a raster read-only: any format GDAL reads (GeoTIFF, COG, JP2, VRT, `/vsicurl/…`, `/vsimem/…`).
    public static func open(_ path: String) throws(GDALError) -> Dataset {
        try open(path, flags: landwatch_of_raster_readonly())
    }

    /// Opens a raster for update.
    public static func openForUpdate(_ path: String) throws(GDALError) -> Dataset {
        try open(path, flags: landwatch_of_raster_update())
    }

    private static func open(_ named: String, flags: UInt32) throws(GDALError) -> Dataset {
        GDALRuntime.ensureRegistered()
        // An output of this run that is not published yet is read where it is staged.
        let path = StagedOutputs.located(named)
        if !path.hasPrefix("/vsi") && !FileManager.default.fileExists(atPath: path) {
            throw GDALError(kind: .cannotOpen, operation: "cannot open raster \(named): no such file")
        }
        // The file and whatever a VRT names, against the folders the run may read, before GDAL opens anything.
        do { try ReadPolicy.shared.check(path) } catch { throw error.gdalError }
        let (handle, message) = withGDALErrorState { GDALOpenEx(path, flags, nil, nil, nil) }
        guard let handle else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open raster \(named)",
                            gdalMessage: message ?? "not a raster format GDAL recognises")
        }
        let dataset = Dataset(handle: handle, path: named)
        // What GDAL itself says the dataset reads (sidecars, sources).
        do { try ReadPolicy.shared.checkOpened(dataset.fileList, via: path) } catch { throw error.gdalError }
        guard dataset.bandCount > 0 else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open raster \(named): it has no raster bands")
        }
        return dataset
    }

    /// The files GDAL reads for this dataset (`GDALGetFileList`: the file, its sidecars, a VRT's sources).
    public var fileList: [String] {
        guard let list = GDALGetFileList(handle) else { return [] }
        defer { CSLDestroy(list) }
        var files: [String] = []
        var index = 0
        while let entry = list[index] {
            files.append(String(cString: entry))
            index += 1
        }
        return files
    }

    public var width: Int { Int(GDALGetRasterXSize(handle)) }
    public var height: Int { Int(GDALGetRasterYSize(handle)) }
    public var bandCount: Int { Int(GDALGetRasterCount(handle)) }

    /// The short name of the driver that read the file, for example `GTiff`.
    public var driverName: String {
        guard let driver = GDALGetDatasetDriver(handle), let name = GDALGetDriverShortName(driver) else { return "?" }
        return String(cString: name)
    }

    /// The geotransform, or nil when the file has none.
    public var geoTransform: GeoTransform? {
        var c = [Double](repeating: 0, count: 6)
        let status = c.withUnsafeMutableBufferPointer { GDALGetGeoTransform(handle, $0.baseAddress) }
        guard status == CE_None else { return nil }
        return GeoTransform(coefficients: c)
    }

    /// Sets the geotransform.
    public func setGeoTransform(_ transform: GeoTransform) throws(GDALError) {
        var c = transform.coefficients
        let (status, message) = withGDALErrorState {
            c.withUnsafeMutableBufferPointer { GDALSetGeoTransform(handle, $0.baseAddress) }
        }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "set geotransform of \(path)", gdalMessage: message)
        }
    }

    /// The CRS as WKT, or an empty string when the file has none.
    public var crsWKT: String {
        guard let ref = GDALGetSpatialRef(handle) else { return "" }
        var out: UnsafeMutablePointer<CChar>? = nil
        withCStringList(["FORMAT=WKT2_2019"]) { list in _ = OSRExportToWktEx(ref, &out, constList(list)) }
        defer { if let out { landwatch_cpl_free(out) } }
        return out.map { String(cString: $0) } ?? ""
    }

    /// The CRS, or nil when the file has none.
    public func spatialReference() throws(GDALError) -> SpatialReference? {
        let wkt = crsWKT
        return wkt.isEmpty ? nil : try SpatialReference(definition: wkt)
    }

    /// Sets the CRS from a WKT (or any definition GDAL accepts).
    public func setCRS(_ definition: String) throws(GDALError) {
        guard !definition.isEmpty else { return }
        let srs = try SpatialReference(definition: definition)
        let (status, message) = withGDALErrorState { GDALSetSpatialRef(handle, srs.handle) }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "set CRS of \(path)", gdalMessage: message)
        }
    }

    /// The pixel grid: size, geotransform (identity when missing) and CRS.
    public func grid() -> RasterGrid {
        let wkt = crsWKT
        var label = ""
        if !wkt.isEmpty, let srs = try? SpatialReference(definition: wkt) { label = srs.label }
        return RasterGrid(width: width, height: height,
                          geoTransform: geoTransform ?? GeoTransform(originX: 0, pixelWidth: 1, originY: 0, pixelHeight: 1),
                          crsWKT: wkt, crsLabel: label)
    }

    /// Band `index`, counted from 1 as GDAL does.
    public func band(_ index: Int) throws(GDALError) -> Band {
        guard index >= 1 && index <= bandCount else {
            throw GDALError(kind: .outOfRange,
                            operation: "band \(index) does not exist in \(path), which has \(bandCount) band\(bandCount == 1 ? "" : "s")")
        }
        guard let handle = GDALGetRasterBand(handle, Int32(index)) else {
            throw GDALError(kind: .other, operation: "get band \(index) of \(path)", gdalMessage: lastGDALErrorMessage())
        }
        return Band(handle: handle, index: index, dataset: self, transform: valueTransform(index), lookup: lookups[index - 1])
    }

    /// Metadata items of a domain (the default domain when nil) as key/value pairs.
    public func metadata(domain: String? = nil) -> [String: String] {
        parseMetadataList(GDALGetMetadata(handle, domain))
    }

    /// Sets one metadata item.
    public func setMetadataItem(_ key: String, _ value: String, domain: String? = nil) {
        GDALSetMetadataItem(handle, key, value, domain)
    }

    /// Writes pending blocks to disk. Errors raised while flushing are thrown.
    public func flush() throws(GDALError) {
        let (_, message) = withGDALErrorState { GDALFlushCache(handle) }
        if let message, CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal {
            throw GDALError(kind: .write, operation: "write \(path)", gdalMessage: message)
        }
    }

    /// Flushes and closes explicitly, reporting errors that closing raises (a full disk shows up here).
    /// The object must not be used afterwards.
    public func close() throws(GDALError) {
        guard !isClosed else { return }
        try flush()
        isClosed = true
        // Closing writes what flushing leaves (a new GeoTIFF's directory, side files): readers opening the
        // path afterwards see the complete file.
        let (_, message) = withGDALErrorState { GDALClose(handle) }
        if let message, CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal {
            throw GDALError(kind: .write, operation: "close \(path)", gdalMessage: message)
        }
    }
}

/// Parses GDAL's `KEY=VALUE` string list.
func parseMetadataList(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
    guard let list else { return [:] }
    var result: [String: String] = [:]
    var index = 0
    while let entry = list[index] {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        } else if let colon = text.firstIndex(of: ":") {
            result[String(text[..<colon])] = String(text[text.index(after: colon)...])
        }
        index += 1
    }
    return result
}
