import CGDAL
import Foundation

/// One feature of a vector layer: its id and its geometry in the target CRS (attributes: ``VectorDataset/attributes(layer:fields:)``).
public struct VectorFeature: Sendable {
    public var fid: Int
    public var geometry: Geometry
}

/// What happened to the features that could not be used as they were.
public struct FeatureReadReport: Sendable {
    /// Features whose geometry was invalid (self-intersecting, say) and was repaired, by FID.
    public var repaired: [Int] = []
    /// Features left out, by FID, with why.
    public var skipped: [(fid: Int, reason: String)] = []
    /// Invalid geometries left as they were (when not repairing), by FID, with GEOS's reason.
    public var invalid: [(fid: Int, reason: String)] = []
    /// Features in the layer.
    public var total = 0
}

extension VectorDataset {
    /// The CRS of a layer (first layer when `name` is nil), or nil when it has none.
    public func spatialReference(layer name: String?) throws(GDALError) -> SpatialReference? {
        let layer = try layerHandle(name)
        guard let srs = OGR_L_GetSpatialRef(layer) else { return nil }
        return SpatialReference.copying(srs)
    }

    func layerHandle(_ name: String?) throws(GDALError) -> OGRLayerH {
        let layerName = name ?? layerNames[0]
        guard let layer = GDALDatasetGetLayerByName(handle, layerName) else {
            throw GDALError(kind: .outOfRange,
                            operation: "layer '\(layerName)' does not exist in \(path) (its layers: \(layerNames.joined(separator: ", ")))")
        }
        return layer
    }

    /// Reads the polygons of every feature of a layer, transformed into `target`.
    ///
    /// `sourceCRS` stands in for a layer without a CRS of its own. Invalid geometries are repaired (GEOS
    /// MakeValid); features without an areal geometry, or whose geometry cannot be repaired or transformed, are
    /// skipped. Both are listed in the report, so that the caller can name them.
    public func readAreas(layer name: String?, sourceCRS: SpatialReference?, target: SpatialReference, repairInvalid: Bool = true)
        throws(GDALError) -> (features: [VectorFeature], report: FeatureReadReport)
    {
        let layer = try layerHandle(name)
        let layerSRS = OGR_L_GetSpatialRef(layer).flatMap { SpatialReference.copying($0) }
        guard let source = sourceCRS ?? layerSRS else {
            throw GDALError(kind: .spatialReference, operation: "layer '\(name ?? layerNames[0])' of \(path) has no CRS")
        }
        let transformation = try CoordinateTransformation(from: source, to: target)
        var features: [VectorFeature] = []
        var report = FeatureReadReport()
        OGR_L_ResetReading(layer)
        while let feature = OGR_L_GetNextFeature(layer) {
            defer { OGR_F_Destroy(feature) }
            report.total += 1
            let fid = Int(OGR_F_GetFID(feature))
            guard let reference = OGR_F_GetGeometryRef(feature), OGR_G_IsEmpty(reference) == 0 else {
                report.skipped.append((fid, "it has no geometry"))
                continue
            }
            var geometry = Geometry(owning: OGR_G_Clone(reference))
            let (valid, reason) = withGDALErrorState { geometry.isValid }
            if !valid, !repairInvalid {
                report.invalid.append((fid, reason ?? "GEOS finds it invalid"))
                continue
            }
            if !valid {
                guard let repaired = geometry.madeValid()?.arealPart(), repaired.isValid else {
                    report.skipped.append((fid, "its geometry is invalid and could not be repaired"))
                    continue
                }
                geometry = repaired
                report.repaired.append(fid)
            }
            guard geometry.isAreal else {
                report.skipped.append((fid, "it is a \(geometry.typeName), not a polygon"))
                continue
            }
            let transformed: Geometry
            do { transformed = try geometry.transformed(by: transformation) } catch {
                report.skipped.append((fid, "it cannot be transformed to \(target.label)"))
                continue
            }
            features.append(VectorFeature(fid: fid, geometry: transformed))
        }
        return (features, report)
    }
}

extension Dataset {
    /// Burns geometries (in the dataset's CRS) into band 1, each with its own value; later ones win where they
    /// overlap. Pixels no geometry covers keep what the band held, or are set to `background` when it is given
    /// (the band is then written whole, without being read).
    ///
    /// The band is burned one window of at most `chunkBytes` at a time (a row of blocks, split into groups of
    /// block columns), so memory does not grow with the raster. Each window is rasterised by GDAL into an
    /// in-memory raster over a buffer of ours and copied in and out of the band one natural block at a time.
    ///
    /// Why not `GDALRasterizeGeometries` on the band itself: it reads and writes whole-width swaths of many
    /// blocks while holding the dataset's lock. With `GDAL_NUM_THREADS` > 1, GDAL 3.6's GeoTIFF driver turns
    /// such a read of a compressed file into decompression jobs on the process-wide thread pool and waits for
    /// them; a job that needs a block-cache slot flushes another dataset's dirty block, which takes that
    /// dataset's lock, held by another rasterising thread that itself waits on the same (full) pool. Four plan
    /// layers burned at once on 2 threads hung forever that way once the dirty blocks outgrew the cache (fixed
    /// upstream in GDAL 3.7.3/3.8, OSGeo/gdal#8561). Single-block reads and writes never go to the pool for
    /// decompression, and nothing here waits on the pool while holding a lock a pool job could need.
    public func burn(_ geometries: [Geometry], values: [Double], allTouched: Bool, background: Double? = nil,
                     chunkBytes: Int = 16 << 20) throws(GDALError) {
        precondition(geometries.count == values.count, "one burn value per geometry")
        guard !geometries.isEmpty || background != nil else { return }
        let band = try self.band(1)
        guard let type = band.dataType else {
            throw GDALError(kind: .write, operation: "cannot rasterise into \(path): band 1 is of type \(band.dataTypeName)")
        }
        guard let transform = geoTransform else {
            throw GDALError(kind: .write, operation: "cannot rasterise into \(path): it has no geotransform")
        }
        let (blockWidth, blockHeight) = band.blockSize
        let bytes = type.byteCount
        let blocksAcross = (width + blockWidth - 1) / blockWidth
        let blocksDown = (height + blockHeight - 1) / blockHeight
        // Columns of blocks per window: as many as fit in chunkBytes, at least one.
        let groupBlocks = max(1, min(blocksAcross, chunkBytes / max(1, blockWidth * blockHeight * bytes)))
        let envelopes = geometries.map(\.envelope)
        let c = transform.coefficients
        let windowWidth = groupBlocks * blockWidth
        let options = (allTouched ? ["ALL_TOUCHED=TRUE"] : []) + ["CHUNKYSIZE=\(blockHeight)"]
        let capacity = windowWidth * blockHeight * bytes
        let base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { base.deallocate() }
        do {
            let memory = try Dataset.inMemory(over: base, width: windowWidth, height: blockHeight, dataType: type)
            for blockRow in 0..<blocksDown {
                let row0 = blockRow * blockHeight
                let rows = min(blockHeight, height - row0)
                for group in stride(from: 0, to: blocksAcross, by: groupBlocks) {
                    let col0 = group * blockWidth
                    let cols = min(windowWidth, width - col0)
                    // The window's corners in georeferenced coordinates, for picking the geometries that reach it.
                    let corners = [(0.0, 0.0), (Double(windowWidth), 0.0), (0.0, Double(blockHeight)),
                                   (Double(windowWidth), Double(blockHeight))].map { dx, dy in
                        (c[0] + (Double(col0) + dx) * c[1] + (Double(row0) + dy) * c[2],
                         c[3] + (Double(col0) + dx) * c[4] + (Double(row0) + dy) * c[5])
                    }
                    let minX = corners.map(\.0).min()!, maxX = corners.map(\.0).max()!
                    let minY = corners.map(\.1).min()!, maxY = corners.map(\.1).max()!
                    let reaching = envelopes.indices.filter { index in
                        let box = envelopes[index]
                        return box.maxX >= minX && box.minX <= maxX && box.maxY >= minY && box.minY <= maxY
                    }
                    if reaching.isEmpty && background == nil { continue }
                    if let background {
                        // Straight into the buffer: GDALFillRaster on the MEM band would fill its blocks in GDAL's
                        // block cache, reaching the buffer only when flushed (the last window's pixels showed through).
                        var value = background
                        GDALCopyWords64(&value, GDT_Float64, 0, base, type.gdal, Int32(bytes), GPtrDiff_t(capacity / bytes))
                    } else {
                        for column in stride(from: 0, to: cols, by: blockWidth) {
                            let window = Window(colOffset: col0 + column, rowOffset: row0, width: min(blockWidth, cols - column), height: rows)
                            try band.readRaw(window, into: base + column * bytes, byteCapacity: capacity - column * bytes,
                                             type: type, lineStride: windowWidth)
                        }
                    }
                    if !reaching.isEmpty {
                        try memory.setGeoTransform(GeoTransform(coefficients: [
                            c[0] + Double(col0) * c[1] + Double(row0) * c[2], c[1], c[2],
                            c[3] + Double(col0) * c[4] + Double(row0) * c[5], c[4], c[5]]))
                        var handles: [OGRGeometryH?] = reaching.map { geometries[$0].handle }
                        var burnValues = reaching.map { values[$0] }
                        var bands: [Int32] = [1]
                        let (status, message) = withGDALErrorState {
                            withCStringList(options) { list in
                                GDALRasterizeGeometries(memory.handle, 1, &bands, Int32(handles.count), &handles, nil, nil,
                                                        &burnValues, list, nil, nil)
                            }
                        }
                        guard status == CE_None else {
                            throw GDALError(kind: .write, operation: "cannot rasterise \(reaching.count) polygons into \(path)",
                                            gdalMessage: message)
                        }
                        // Anything GDAL left in its block cache reaches the buffer before the buffer is read.
                        GDALFlushCache(memory.handle)
                    }
                    for column in stride(from: 0, to: cols, by: blockWidth) {
                        let window = Window(colOffset: col0 + column, rowOffset: row0, width: min(blockWidth, cols - column), height: rows)
                        try band.writeRaw(window, from: base + column * bytes, byteCapacity: capacity - column * bytes,
                                          type: type, lineStride: windowWidth)
                    }
                }
            }
            try memory.close()
        }
        withExtendedLifetime(geometries) {}
    }

    /// A one-band in-memory raster (GDAL's MEM driver) over memory the caller owns and keeps alive.
    static func inMemory(over pointer: UnsafeMutableRawPointer, width: Int, height: Int, dataType: DataType) throws(GDALError) -> Dataset {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("MEM"),
              let created = GDALCreate(driver, "", Int32(width), Int32(height), 0, dataType.gdal, nil) else {
            throw GDALError(kind: .other, operation: "cannot create a \(width)x\(height) in-memory raster")
        }
        let dataset = Dataset(handle: created, path: "MEM")
        let options = ["DATAPOINTER=0x" + String(UInt(bitPattern: pointer), radix: 16), "PIXELOFFSET=\(dataType.byteCount)",
                       "LINEOFFSET=\(width * dataType.byteCount)"]
        let (status, message) = withGDALErrorState {
            withCStringList(options) { list in GDALAddBand(created, dataType.gdal, list) }
        }
        guard status == CE_None else {
            throw GDALError(kind: .other, operation: "cannot create an in-memory raster over a buffer", gdalMessage: message)
        }
        return dataset
    }
}

extension Band {
    /// Turns the connected regions of equal non-zero value into polygons (GDAL's polygonize), in the dataset's
    /// CRS, with the value of each. `eightConnected` joins pixels that touch at a corner.
    public func polygonize(eightConnected: Bool) throws(GDALError) -> [(value: Int, geometry: Geometry)] {
        guard let driver = OGRGetDriverByName("Memory"),
              let source = OGR_Dr_CreateDataSource(driver, "polygons", nil) else {
            throw GDALError(kind: .other, operation: "GDAL's Memory vector driver is not available")
        }
        defer { OGR_DS_Destroy(source) }
        let srs = try dataset.spatialReference()
        guard let layer = OGR_DS_CreateLayer(source, "polygons", srs?.handle, wkbPolygon, nil) else {
            throw GDALError(kind: .other, operation: "cannot create an in-memory layer")
        }
        let field = OGR_Fld_Create("value", OFTInteger64)
        OGR_L_CreateField(layer, field, 1)
        OGR_Fld_Destroy(field)
        let options = eightConnected ? ["8CONNECTED=8"] : []
        let (status, message) = withGDALErrorState {
            withCStringList(options) { list in GDALPolygonize(handle, handle, layer, 0, list, nil, nil) }
        }
        guard status == CE_None else {
            throw GDALError(kind: .other, operation: "cannot polygonise band \(index) of \(dataset.path)", gdalMessage: message)
        }
        var result: [(Int, Geometry)] = []
        OGR_L_ResetReading(layer)
        while let feature = OGR_L_GetNextFeature(layer) {
            defer { OGR_F_Destroy(feature) }
            guard let geometry = OGR_F_GetGeometryRef(feature) else { continue }
            result.append((Int(OGR_F_GetFieldAsInteger64(feature, 0)), Geometry(owning: OGR_G_Clone(geometry))))
        }
        return result
    }
}

/// Writes a vector file (GeoJSON, GeoPackage, KML, …) through OGR: one layer of features with typed fields.
public final class VectorWriter {
    public enum FieldType: Sendable { case string, integer, real }
    public enum Value: Sendable {
        case string(String)
        case integer(Int)
        case real(Double)
        case null
    }

    private let dataset: GDALDatasetH
    private let layer: OGRLayerH
    private let fieldIndexes: [String: Int32]
    public let path: String
    private var closed = false

    /// Creates `path` with `driver` (`GeoJSON`, `GPKG`, `KML`, `LIBKML`), one layer in `crs`.
    public init(path: String, driver driverName: String, layer layerName: String, crs: SpatialReference,
                geometry: GeometryKind, fields: [(String, FieldType)],
                datasetOptions: [String] = [], layerOptions: [String] = [], realPrecision: Int? = nil) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName(driverName) else {
            throw GDALError(kind: .other, operation: "GDAL driver \(driverName) is not available")
        }
        let (created, message) = withGDALErrorState {
            withCStringList(datasetOptions) { list in GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, list) }
        }
        guard let created else { throw GDALError(kind: .write, operation: "cannot create \(path)", gdalMessage: message) }
        let (layer, layerMessage) = withGDALErrorState {
            withCStringList(layerOptions) { list in
                GDALDatasetCreateLayer(created, layerName, crs.handle, geometry == .polygon ? wkbMultiPolygon : wkbPoint, list)
            }
        }
        guard let layer else {
            GDALClose(created)
            throw GDALError(kind: .write, operation: "cannot create layer \(layerName) in \(path)", gdalMessage: layerMessage)
        }
        var indexes: [String: Int32] = [:]
        for (index, (name, type)) in fields.enumerated() {
            let ogrType: OGRFieldType = switch type {
            case .string: OFTString
            case .integer: OFTInteger64
            case .real: OFTReal
            }
            let field = OGR_Fld_Create(name, ogrType)
            // Fixed decimals where the format stores them (a Shapefile's DBF writes 15 otherwise: 21.600000000000001).
            if type == .real, let realPrecision {
                OGR_Fld_SetWidth(field, 24)
                OGR_Fld_SetPrecision(field, Int32(realPrecision))
            }
            OGR_L_CreateField(layer, field, 1)
            OGR_Fld_Destroy(field)
            _ = index
        }
        // Drivers may add fields of their own (KML's Name and Description): look each one up by name.
        let definition = OGR_L_GetLayerDefn(layer)
        for (name, _) in fields {
            let index = OGR_FD_GetFieldIndex(definition, name)
            if index >= 0 { indexes[name] = index }
        }
        self.dataset = created
        self.layer = layer
        self.fieldIndexes = indexes
        self.path = path
        _ = OGR_L_StartTransaction(layer)
    }

    public enum GeometryKind: Sendable { case polygon, point }

    deinit { if !closed { GDALClose(dataset) } }

    /// Adds one feature; polygons are stored as multipolygons so every feature of the layer has one type. `style`
    /// is an OGR feature style string (`PEN(c:#FF0000,w:3px)`), for drivers that write styles (KML).
    public func add(_ geometry: Geometry, values: [String: Value], style: String? = nil) throws(GDALError) {
        let feature = OGR_F_Create(OGR_L_GetLayerDefn(layer))!
        defer { OGR_F_Destroy(feature) }
        if let style { OGR_F_SetStyleString(feature, style) }
        for (name, value) in values {
            guard let index = fieldIndexes[name] else { continue }
            switch value {
            case .string(let text): OGR_F_SetFieldString(feature, index, text)
            case .integer(let number): OGR_F_SetFieldInteger64(feature, index, Int64(number))
            case .real(let number): OGR_F_SetFieldDouble(feature, index, number)
            case .null: OGR_F_SetFieldNull(feature, index)
            }
        }
        let flat = OGR_GT_Flatten(OGR_G_GetGeometryType(geometry.handle))
        let stored = flat == wkbPolygon ? OGR_G_ForceToMultiPolygon(OGR_G_Clone(geometry.handle)) : OGR_G_Clone(geometry.handle)
        OGR_F_SetGeometryDirectly(feature, stored)
        let (status, message) = withGDALErrorState { OGR_L_CreateFeature(layer, feature) }
        guard status == OGRERR_NONE else {
            throw GDALError(kind: .write, operation: "cannot write a feature to \(path)", gdalMessage: message)
        }
    }

    /// Commits and closes the file; it is complete only after this returns.
    public func close() throws(GDALError) {
        guard !closed else { return }
        closed = true
        _ = OGR_L_CommitTransaction(layer)
        let (_, message) = withGDALErrorState { GDALClose(dataset) }
        guard CPLGetLastErrorType().rawValue < CE_Failure.rawValue else { throw GDALError(kind: .write, operation: "cannot complete \(path)", gdalMessage: message) }
    }
}

extension VectorDataset {
    /// The FID and the named attributes (as text) of every feature of a layer, in reading order; geometries are
    /// not read.
    public func attributes(layer name: String?, fields: [String]) throws(GDALError) -> [(fid: Int, values: [String: String])] {
        let layer = try layerHandle(name)
        let definition = OGR_L_GetLayerDefn(layer)
        var indexes: [(String, Int32)] = []
        for field in fields {
            let index = OGR_FD_GetFieldIndex(definition, field)
            guard index >= 0 else {
                throw GDALError(kind: .outOfRange, operation: "field '\(field)' does not exist in layer '\(name ?? layerNames[0])' of \(path)")
            }
            indexes.append((field, index))
        }
        withCStringList(["OGR_GEOMETRY"]) { list in
            _ = OGR_L_SetIgnoredFields(layer, UnsafeMutableRawPointer(list)?.assumingMemoryBound(to: UnsafePointer<CChar>?.self))
        }
        defer { _ = OGR_L_SetIgnoredFields(layer, nil) }
        var result: [(Int, [String: String])] = []
        OGR_L_ResetReading(layer)
        while let feature = OGR_L_GetNextFeature(layer) {
            defer { OGR_F_Destroy(feature) }
            var values: [String: String] = [:]
            for (field, index) in indexes where OGR_F_IsFieldSetAndNotNull(feature, index) != 0 {
                values[field] = String(cString: OGR_F_GetFieldAsString(feature, index))
            }
            result.append((Int(OGR_F_GetFID(feature)), values))
        }
        return result
    }
}

extension Band {
    /// Writes into `target` the distance, in the grid's georeferenced units, from each pixel to the nearest pixel of
    /// this band whose value is in `values` (GDAL's proximity algorithm); pixels farther than `maxDistance` get
    /// `noData`.
    public func proximity(into target: Band, values: [Int], maxDistance: Double, noData: Double) throws(GDALError) {
        let options = ["VALUES=" + values.map(String.init).joined(separator: ","), "DISTUNITS=GEO",
                       "MAXDIST=\(maxDistance)", "NODATA=\(noData)"]
        let (status, message) = withGDALErrorState {
            withCStringList(options) { list in GDALComputeProximity(handle, target.handle, list, nil, nil) }
        }
        guard status == CE_None else {
            throw GDALError(kind: .other, operation: "cannot compute distances from band \(index) of \(dataset.path)", gdalMessage: message)
        }
    }
}
