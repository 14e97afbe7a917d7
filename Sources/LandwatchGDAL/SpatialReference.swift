import CGDAL

/// A coordinate reference system, owned through OGR's `OGRSpatialReferenceH`.
public final class SpatialReference {
    let handle: OGRSpatialReferenceH

    /// Takes ownership of a spatial reference handle.
    init(adopting handle: OGRSpatialReferenceH) {
        self.handle = handle
        // Longitude first for geographic systems, as GIS software and GeoJSON expect.
        OSRSetAxisMappingStrategy(handle, OAMS_TRADITIONAL_GIS_ORDER)
    }

    deinit { OSRDestroySpatialReference(handle) }

    /// Parses anything GDAL's `-t_srs` accepts: `EPSG:4490`, a WKT string, a PROJ string.
    public convenience init(definition: String) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let handle = OSRNewSpatialReference(nil) else {
            throw GDALError(kind: .other, operation: "create a spatial reference")
        }
        CPLErrorReset()
        let status = OSRSetFromUserInput(handle, definition)
        guard status == OGRERR_NONE else {
            let message = lastGDALErrorMessage()
            OSRDestroySpatialReference(handle)
            throw GDALError(kind: .spatialReference, operation: "unknown CRS '\(definition)'", gdalMessage: message)
        }
        self.init(adopting: handle)
    }

    /// The CRS as WKT2 (2019), which keeps datum and axis information intact.
    public var wkt: String {
        var out: UnsafeMutablePointer<CChar>? = nil
        let options = ["FORMAT=WKT2_2019"]
        withCStringList(options) { list in _ = OSRExportToWktEx(handle, &out, constList(list)) }
        defer { if let out { landwatch_cpl_free(out) } }
        return out.map { String(cString: $0) } ?? ""
    }

    /// `EPSG:NNNN` when the CRS is identified by an EPSG code, else nil.
    public var epsgCode: Int? {
        _ = OSRAutoIdentifyEPSG(handle)
        let isGeographic = OSRIsGeographic(handle) != 0
        let node = isGeographic ? "GEOGCS" : "PROJCS"
        for key in [node, nil] as [String?] {
            if let name = OSRGetAuthorityName(handle, key), String(cString: name) == "EPSG",
               let code = OSRGetAuthorityCode(handle, key), let value = Int(String(cString: code)) {
                return value
            }
        }
        return nil
    }

    /// The CRS's name, for example `WGS 84 / UTM zone 12N`.
    public var name: String {
        guard let name = OSRGetName(handle) else { return "unnamed" }
        return String(cString: name)
    }

    /// A short label for messages: `EPSG:32612` when known, else the name.
    public var label: String {
        if let epsgCode { return "EPSG:\(epsgCode)" }
        return name
    }

    /// True when both describe the same CRS (ignoring axis-order metadata).
    public func isSame(as other: SpatialReference) -> Bool {
        OSRIsSame(handle, other.handle) != 0
    }

    /// True for longitude/latitude systems.
    public var isGeographic: Bool { OSRIsGeographic(handle) != 0 }
}

/// Calls `body` with a NULL-terminated C string list built from `strings`, freed afterwards.
func withCStringList<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws -> R) rethrows -> R {
    var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
    for string in strings { list = CSLAddString(list, string) }
    defer { CSLDestroy(list) }
    return try body(list)
}

/// The same list typed as GDAL's `const char* const*` parameters want it.
func constList(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafePointer<UnsafePointer<CChar>?>? {
    list.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }
}
