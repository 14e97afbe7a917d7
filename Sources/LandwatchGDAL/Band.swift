import CGDAL

/// One band of a ``Dataset``. Keeps its dataset open while it lives.
public struct Band {
    let handle: GDALRasterBandH
    /// Band number, from 1.
    public let index: Int
    /// The dataset the band belongs to.
    public let dataset: Dataset
    /// How stored numbers become values in a value VRT (nil: read as stored); see ``ValueTransform``.
    public let transform: ValueTransform?
    /// The transform tabulated (8 and 16-bit integer bands).
    let lookup: ValueLookup?

    init(handle: GDALRasterBandH, index: Int, dataset: Dataset, transform: ValueTransform? = nil, lookup: ValueLookup? = nil) {
        self.handle = handle
        self.index = index
        self.dataset = dataset
        self.transform = transform
        self.lookup = lookup
    }

    /// Applies the band's transform (tabulated when it can be) to values read as Float32.
    private func transformValues(_ buffer: UnsafeMutableBufferPointer<Float>) {
        if let lookup { lookup.apply(buffer) } else { transform?.apply(buffer) }
    }

    /// The pixel type, or nil for a type landwatch does not handle (complex numbers, Int8, 64-bit integers).
    public var dataType: DataType? { DataType(gdal: GDALGetRasterDataType(handle)) }

    /// GDAL's name of the pixel type, for messages, whatever it is.
    public var dataTypeName: String {
        guard let name = GDALGetDataTypeName(GDALGetRasterDataType(handle)) else { return "unknown" }
        return String(cString: name)
    }

    /// How many overviews (reduced-resolution copies) the band has.
    public var overviewCount: Int { Int(GDALGetOverviewCount(handle)) }

    /// The natural block size (tile or strip) of the band.
    public var blockSize: (width: Int, height: Int) {
        var w: Int32 = 0, h: Int32 = 0
        GDALGetBlockSize(handle, &w, &h)
        return (Int(w), Int(h))
    }

    /// The nodata value, or nil when the band has none.
    public var noDataValue: Double? {
        var has: Int32 = 0
        let value = GDALGetRasterNoDataValue(handle, &has)
        return has != 0 ? value : nil
    }

    /// Sets the nodata value.
    public func setNoDataValue(_ value: Double) throws(GDALError) {
        let (status, message) = withGDALErrorState { GDALSetRasterNoDataValue(handle, value) }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "set nodata \(value) on band \(index) of \(dataset.path)",
                            gdalMessage: message)
        }
    }

    /// The band description (GDAL's per-band label, for example `B4` or `NDVI`).
    public var bandDescription: String {
        guard let text = GDALGetDescription(handle) else { return "" }
        return String(cString: text)
    }

    public func setDescription(_ text: String) { GDALSetDescription(handle, text) }

    /// Metadata items of the band in a domain (the default domain when nil).
    public func metadata(domain: String? = nil) -> [String: String] {
        parseMetadataList(GDALGetMetadata(handle, domain))
    }

    /// Reads a window into `buffer` as Float32, converting from the band's type (and, in a value VRT, from stored
    /// numbers to values by the band's ``transform``).
    ///
    /// The buffer holds `window.height` rows of `lineStride` values (`lineStride >= window.width`), so a window
    /// can be read into the top-left corner of a larger, block-sized buffer.
    public func read(_ window: Window, into buffer: UnsafeMutableBufferPointer<Float>, lineStride: Int? = nil) throws(GDALError) {
        let stride = lineStride ?? window.width
        if let lookup {
            try read(window, into: buffer, lineStride: stride, lookup: lookup)
            return
        }
        try rasterIO(GF_Read, window, UnsafeMutableRawPointer(buffer.baseAddress!), capacity: buffer.count,
                     type: .float32, lineStride: stride)
        guard transform != nil, window.pixelCount > 0 else { return }
        if stride == window.width {
            transformValues(UnsafeMutableBufferPointer(rebasing: buffer[0..<window.pixelCount]))
        } else {
            for row in 0..<window.height {
                transformValues(UnsafeMutableBufferPointer(rebasing: buffer[(row * stride)..<(row * stride + window.width)]))
            }
        }
    }

    /// Reads a window of an 8 or 16-bit integer band as it is stored and gives each pixel the value `lookup` holds
    /// for its number (a ``ValueTransform`` tabulated): the values ``ValueTransform/apply(_:)`` computes, without GDAL
    /// converting every number to Float32 first. A band of another type is read as Float32 and transformed.
    public func read(_ window: Window, into buffer: UnsafeMutableBufferPointer<Float>, lineStride: Int? = nil,
                     lookup: ValueLookup) throws(GDALError) {
        let stride = lineStride ?? window.width
        let count = window.pixelCount
        guard count > 0 else { return }
        guard stride >= window.width, buffer.count >= (window.height - 1) * stride + window.width else {
            preconditionFailure("buffer of \(buffer.count) values is too small for window \(window) with stride \(stride)")
        }
        func tabulated<Stored: FixedWidthInteger>(_: Stored.Type) throws(GDALError) {
            let raw = UnsafeMutableBufferPointer<Stored>.allocate(capacity: count)
            defer { raw.deallocate() }
            try rasterIO(GF_Read, window, UnsafeMutableRawPointer(raw.baseAddress!), capacity: count, type: lookup.storedType,
                         lineStride: window.width)
            lookup.convert(UnsafeBufferPointer(raw), width: window.width, height: window.height, into: buffer, stride: stride)
        }
        guard dataType == lookup.storedType else {
            preconditionFailure("a table for \(lookup.storedType) used on band \(index) of \(dataset.path), stored as \(dataTypeName)")
        }
        switch lookup.storedType {
        case .uint8: try tabulated(UInt8.self)
        case .uint16: try tabulated(UInt16.self)
        case .int16: try tabulated(Int16.self)
        default: preconditionFailure("value tables exist for 8 and 16-bit integers only")
        }
    }

    /// Reads a window as Float32 into a new array.
    public func read(_ window: Window) throws(GDALError) -> [Float] {
        var values = [Float](repeating: 0, count: window.pixelCount)
        try values.withUnsafeMutableBufferPointer { (buffer) throws(GDALError) in try read(window, into: buffer) }
        return values
    }

    /// The whole band read at a reduced size (nearest neighbour; GDAL uses overviews when the file has them), as
    /// Float32: a quick look at a large scene (its cloud share, say) without holding it at full size.
    public func readOverview(maxSide: Int) throws(GDALError) -> (values: [Float], width: Int, height: Int) {
        let width = dataset.width, height = dataset.height
        let factor = max(1, (max(width, height) + maxSide - 1) / maxSide)
        let outWidth = max(1, width / factor), outHeight = max(1, height / factor)
        var values = [Float](repeating: .nan, count: outWidth * outHeight)
        let (status, message) = values.withUnsafeMutableBytes { buffer in
            withGDALErrorState {
                GDALRasterIOEx(handle, GF_Read, 0, 0, Int32(width), Int32(height), buffer.baseAddress,
                               Int32(outWidth), Int32(outHeight), GDT_Float32, 4, GSpacing(outWidth * 4), nil)
            }
        }
        guard status == CE_None else {
            throw GDALError(kind: .read, operation: "Read failed on band \(index) of \(dataset.path) (overview)", gdalMessage: message)
        }
        if transform != nil { values.withUnsafeMutableBufferPointer { transformValues($0) } }
        return (values, outWidth, outHeight)
    }

    /// Writes a window from a Float32 buffer, converting to the band's type (GDAL rounds and clamps).
    public func write(_ window: Window, from buffer: UnsafeBufferPointer<Float>, lineStride: Int? = nil) throws(GDALError) {
        try rasterIO(GF_Write, window, UnsafeMutableRawPointer(mutating: buffer.baseAddress!), capacity: buffer.count,
                     type: .float32, lineStride: lineStride ?? window.width)
    }

    /// Reads a window in the given type into raw memory laid out as rows of `lineStride` pixels.
    public func readRaw(_ window: Window, into pointer: UnsafeMutableRawPointer, byteCapacity: Int,
                        type: DataType, lineStride: Int) throws(GDALError) {
        try rasterIO(GF_Read, window, pointer, capacity: byteCapacity / type.byteCount, type: type, lineStride: lineStride)
    }

    /// Writes a window from raw values of `type` (UInt32 labels, say), converting to the band's type.
    public func writeRaw(_ window: Window, from pointer: UnsafeRawPointer, byteCapacity: Int,
                         type: DataType, lineStride: Int) throws(GDALError) {
        try rasterIO(GF_Write, window, UnsafeMutableRawPointer(mutating: pointer), capacity: byteCapacity / type.byteCount,
                     type: type, lineStride: lineStride)
    }

    private func rasterIO(_ direction: GDALRWFlag, _ window: Window, _ pointer: UnsafeMutableRawPointer,
                          capacity: Int, type: DataType, lineStride: Int) throws(GDALError) {
        let width = dataset.width, height = dataset.height
        let verb = direction == GF_Read ? "Read" : "Write"
        guard window.fits(width: width, height: height) else {
            throw GDALError(kind: .outOfRange,
                            operation: "\(verb) window out of range on band \(index) of \(dataset.path): requested "
                                + "\(window) on raster of \(width)x\(height)")
        }
        guard lineStride >= window.width, capacity >= (window.height - 1) * lineStride + window.width else {
            preconditionFailure("buffer of \(capacity) values is too small for window \(window) with stride \(lineStride)")
        }
        let (status, message) = withGDALErrorState {
            GDALRasterIOEx(handle, direction, Int32(window.colOffset), Int32(window.rowOffset),
                           Int32(window.width), Int32(window.height), pointer,
                           Int32(window.width), Int32(window.height), type.gdal,
                           GSpacing(type.byteCount), GSpacing(lineStride * type.byteCount), nil)
        }
        guard status == CE_None else {
            throw GDALError(kind: direction == GF_Read ? .read : .write,
                            operation: "\(verb) failed on band \(index) of \(dataset.path), window \(window)",
                            gdalMessage: message ?? (direction == GF_Read ? "no reason given (the file is likely truncated, or its compressed data corrupt)" : nil))
        }
    }

    /// Writes one natural block from a full, padded block buffer of the band's type (GDAL clips edge blocks).
    ///
    /// This bypasses GDAL's block cache, so a writer shared by several threads only needs a lock around this call.
    public func writeBlock(column: Int, row: Int, from pointer: UnsafeMutableRawPointer) throws(GDALError) {
        let (status, message) = withGDALErrorState {
            GDALWriteBlock(handle, Int32(column), Int32(row), pointer)
        }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "Write failed on band \(index) of \(dataset.path), block (\(column),\(row))",
                            gdalMessage: message)
        }
    }
}

extension Band {
    /// A class of a categorical raster: its value, name and display colour.
    public struct Category: Sendable, Equatable {
        public var value: Int
        public var name: String
        public var red: UInt8, green: UInt8, blue: UInt8

        public init(value: Int, name: String, red: UInt8, green: UInt8, blue: UInt8) {
            self.value = value
            self.name = name
            self.red = red
            self.green = green
            self.blue = blue
        }
    }

    /// Writes a colour table and category names, so that QGIS and ArcGIS show the classes in their colours and
    /// with their names (Byte and UInt16 GeoTIFFs). Values without a category are transparent black.
    public func setCategories(_ categories: [Category]) throws(GDALError) {
        guard let maxValue = categories.map(\.value).max(), maxValue >= 0, maxValue < 65536 else { return }
        guard let table = GDALCreateColorTable(GPI_RGB) else {
            throw GDALError(kind: .other, operation: "create a colour table")
        }
        defer { GDALDestroyColorTable(table) }
        var names = [String](repeating: "", count: maxValue + 1)
        for value in 0...maxValue {
            var entry = GDALColorEntry(c1: 0, c2: 0, c3: 0, c4: 0)
            if let category = categories.first(where: { $0.value == value }) {
                entry = GDALColorEntry(c1: Int16(category.red), c2: Int16(category.green), c3: Int16(category.blue), c4: 255)
                names[value] = category.name
            }
            GDALSetColorEntry(table, Int32(value), &entry)
        }
        let (status, message) = withGDALErrorState { GDALSetRasterColorTable(handle, table) }
        guard status == CE_None else {
            throw GDALError(kind: .write, operation: "set the colour table of band \(index) of \(dataset.path)", gdalMessage: message)
        }
        withCStringList(names) { list in _ = GDALSetRasterCategoryNames(handle, list) }
    }

    /// The colour table as categories (value and colour; names from the category list), empty when there is none.
    public var categories: [Category] {
        guard let table = GDALGetRasterColorTable(handle) else { return [] }
        let names = GDALGetRasterCategoryNames(handle)
        var result: [Category] = []
        var nameList: [String] = []
        if let names {
            var i = 0
            while let item = names[i] { nameList.append(String(cString: item)); i += 1 }
        }
        for value in 0..<Int(GDALGetColorEntryCount(table)) {
            guard let entry = GDALGetColorEntry(table, Int32(value)) else { continue }
            let name = value < nameList.count ? nameList[value] : ""
            // Formats that store no alpha (GeoTIFF) return every entry opaque: a category has a name or a colour.
            let colored = entry.pointee.c4 != 0 && (entry.pointee.c1 != 0 || entry.pointee.c2 != 0 || entry.pointee.c3 != 0)
            guard !name.isEmpty || colored else { continue }
            result.append(Category(value: value, name: name, red: UInt8(entry.pointee.c1), green: UInt8(entry.pointee.c2),
                                   blue: UInt8(entry.pointee.c3)))
        }
        return result
    }
}
