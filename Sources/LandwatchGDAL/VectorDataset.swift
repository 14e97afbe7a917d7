import CGDAL
import Foundation

/// An open OGR vector dataset (GeoJSON, GeoPackage, Shapefile, File Geodatabase, …), read-only.
public final class VectorDataset {
    let handle: GDALDatasetH
    public let path: String

    private init(handle: GDALDatasetH, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { GDALClose(handle) }

    /// Opens a vector file. `encoding` (for example `GBK`) is passed to drivers that take one (Shapefile).
    public static func open(_ named: String, encoding: String? = nil) throws(GDALError) -> VectorDataset {
        GDALRuntime.ensureRegistered()
        // An output of this run that is not published yet is read where it is staged.
        let path = StagedOutputs.located(named)
        if !path.hasPrefix("/vsi") && !FileManager.default.fileExists(atPath: path) {
            throw GDALError(kind: .cannotOpen, operation: "cannot open vector \(named): no such file")
        }
        do { try ReadPolicy.shared.check(path) } catch { throw error.gdalError }
        let options = encoding.map { ["ENCODING=\($0)"] } ?? []
        let (handle, message) = withGDALErrorState {
            withCStringList(options) { list in GDALOpenEx(path, landwatch_of_vector_readonly(), nil, constList(list), nil) }
        }
        guard let handle else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open vector \(named)",
                            gdalMessage: message ?? "not a vector format GDAL recognises")
        }
        let dataset = VectorDataset(handle: handle, path: named)
        // The files GDAL reads for it (sidecars, an OGR VRT's sources) are inside the run's read roots too.
        var files: [String] = []
        if let list = GDALGetFileList(handle) {
            var index = 0
            while let entry = list[index] {
                files.append(String(cString: entry))
                index += 1
            }
            CSLDestroy(list)
        }
        do { try ReadPolicy.shared.checkOpened(files, via: path) } catch { throw error.gdalError }
        guard !dataset.layerNames.isEmpty else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open vector \(named): it has no layers")
        }
        return dataset
    }

    /// The layer names, in file order.
    public var layerNames: [String] {
        (0..<Int(GDALDatasetGetLayerCount(handle))).compactMap { index in
            guard let layer = GDALDatasetGetLayer(handle, Int32(index)), let name = OGR_L_GetName(layer) else { return nil }
            return String(cString: name)
        }
    }

    /// What a layer holds: its CRS, attribute fields and feature count.
    public struct LayerInfo: Sendable {
        public var name: String
        /// WKT of the layer's CRS, empty when it has none.
        public var crsWKT: String
        public var fieldNames: [String]
        public var featureCount: Int
    }

    /// Describes a layer (the first when `name` is nil).
    public func layer(_ name: String?) throws(GDALError) -> LayerInfo {
        let layerName = name ?? layerNames[0]
        guard let layer = GDALDatasetGetLayerByName(handle, layerName) else {
            throw GDALError(kind: .outOfRange,
                            operation: "layer '\(layerName)' does not exist in \(path) (its layers: \(layerNames.joined(separator: ", ")))")
        }
        var wkt = ""
        if let srs = OGR_L_GetSpatialRef(layer) {
            var out: UnsafeMutablePointer<CChar>? = nil
            withCStringList(["FORMAT=WKT2_2019"]) { list in _ = OSRExportToWktEx(srs, &out, constList(list)) }
            if let out {
                wkt = String(cString: out)
                landwatch_cpl_free(out)
            }
        }
        var fields: [String] = []
        if let definition = OGR_L_GetLayerDefn(layer) {
            for index in 0..<OGR_FD_GetFieldCount(definition) {
                if let field = OGR_FD_GetFieldDefn(definition, index), let fieldName = OGR_Fld_GetNameRef(field) {
                    fields.append(String(cString: fieldName))
                }
            }
        }
        return LayerInfo(name: layerName, crsWKT: wkt, fieldNames: fields, featureCount: Int(OGR_L_GetFeatureCount(layer, 1)))
    }

    /// What to burn into the raster for each feature.
    public enum BurnValue: Sendable, Equatable {
        /// The same value for every feature.
        case constant(Double)
        /// The value of an attribute field.
        case field(String)
    }

    /// Reprojects a layer onto `grid`'s CRS and burns it into a new tiled GeoTIFF at `target`; pixels no feature
    /// touches are `background`.
    ///
    /// GDAL's rasteriser does not reproject, so the layer is first written, reprojected, to `scratch` (a GeoPackage).
    /// - Complexity: the features are held in memory; the raster is burned a window at a time, so memory does
    ///   not grow with the grid.
    public func rasterize(layer name: String?, onto grid: RasterGrid, burn: BurnValue, allTouched: Bool,
                          background: Double, dataType: DataType, target: String, scratch: String) throws(GDALError) {
        let info = try layer(name)
        guard !grid.crsWKT.isEmpty else {
            throw GDALError(kind: .spatialReference, operation: "cannot rasterise \(path) onto a grid without a CRS")
        }
        guard !info.crsWKT.isEmpty else {
            throw GDALError(kind: .spatialReference,
                            operation: "layer '\(info.name)' of \(path) has no CRS, so it cannot be placed on the grid (\(grid.crsLabel))")
        }
        // 1. Reproject into a scratch GeoPackage.
        let translateArgs = ["-f", "GPKG", "-t_srs", grid.crsWKT, "-nln", "layer", "-overwrite", info.name]
        let (translated, translateMessage) = withGDALErrorState { () -> GDALDatasetH? in
            withCStringList(translateArgs) { list -> GDALDatasetH? in
                guard let options = GDALVectorTranslateOptionsNew(list, nil) else { return nil }
                defer { GDALVectorTranslateOptionsFree(options) }
                var sources: [GDALDatasetH?] = [handle]
                var usageError: Int32 = 0
                return sources.withUnsafeMutableBufferPointer { GDALVectorTranslate(scratch, nil, 1, $0.baseAddress, options, &usageError) }
            }
        }
        guard let translated else {
            throw GDALError(kind: .spatialReference, operation: "cannot reproject layer '\(info.name)' of \(path) to \(grid.crsLabel)",
                            gdalMessage: translateMessage)
        }
        defer { GDALClose(translated) }

        // 2. Read the reprojected features and their burn values, then burn them into a new target on the grid
        //    (every block written once, the background where no feature is; see Dataset.burn for why GDAL's
        //    rasteriser does not work on the target itself).
        guard let translatedLayer = GDALDatasetGetLayerByName(translated, "layer") else {
            throw GDALError(kind: .other, operation: "cannot read back the reprojected layer '\(info.name)' of \(path)")
        }
        var fieldIndex: Int32 = -1
        if case .field(let field) = burn {
            fieldIndex = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(translatedLayer), field)
            guard fieldIndex >= 0 else {
                throw GDALError(kind: .outOfRange, operation: "field '\(field)' does not exist in layer '\(info.name)' of \(path)")
            }
        }
        var geometries: [Geometry] = []
        var values: [Double] = []
        OGR_L_ResetReading(translatedLayer)
        while let feature = OGR_L_GetNextFeature(translatedLayer) {
            defer { OGR_F_Destroy(feature) }
            guard let reference = OGR_F_GetGeometryRef(feature), OGR_G_IsEmpty(reference) == 0 else { continue }
            geometries.append(Geometry(owning: OGR_G_Clone(reference)))
            switch burn {
            case .constant(let value): values.append(value)
            // As gdal_rasterize -a: the field read as a number (an unset or null field burns 0).
            case .field: values.append(OGR_F_GetFieldAsDouble(feature, fieldIndex))
            }
        }
        let raster = try Dataset.createGeoTIFF(at: target, grid: grid, bandCount: 1, dataType: dataType,
                                               options: GeoTIFFOptions(compression: .zstd))
        try raster.burn(geometries, values: values, allTouched: allTouched, background: background)
        try raster.close()
    }
}
