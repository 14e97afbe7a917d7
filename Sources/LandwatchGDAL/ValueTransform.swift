import CGDAL
import Foundation

/// How the stored numbers of a band of a **value VRT** become the values a reader gets: a VRT that landwatch writes
/// in its scratch folder instead of a Float32 copy of a scene (two 4-band 10980² scenes are 3.9 GB of Float32, and
/// writing and reading them back was most of the enforcement chain's time).
///
/// The VRT's bands are GDAL SimpleSources of the scene's own integer bands (no per-pixel work in GDAL); the
/// transform is kept in the band's `LANDWATCH` metadata domain and applied by ``Band/read(_:into:lineStride:)`` after
/// GDAL has converted the stored numbers to Float32, exactly as the streamed reader applies it: saturated and nodata
/// stored numbers (and non-finite values) become NaN, then `Float(Double(stored) · scale + offset)`, then, for a date
/// normalised onto another (`normalize.relative`), `gain · value + gainOffset` in Float32. Only files whose dataset
/// metadata says `LANDWATCH/VALUES=transformed` are transformed: a user's file with GDAL scale/offset metadata is read
/// as it is stored, as ever.
public struct ValueTransform: Sendable, Equatable {
    public var scale: Double
    public var offset: Double
    /// Stored number meaning nodata (before scaling).
    public var noData: Double?
    /// Stored number of saturated pixels, read as nodata (65535 in UInt16 bands without that nodata value).
    public var saturated: Float?
    /// A normalisation applied after the scaling, in Float32 (1 and 0: none).
    public var gain: Float
    public var gainOffset: Float

    public init(scale: Double = 1, offset: Double = 0, noData: Double? = nil, saturated: Float? = nil, gain: Float = 1, gainOffset: Float = 0) {
        self.scale = scale
        self.offset = offset
        self.noData = noData
        self.saturated = saturated
        self.gain = gain
        self.gainOffset = gainOffset
    }

    /// The metadata domain of value VRTs.
    public static let domain = "LANDWATCH"
    /// The dataset-level item that marks a value VRT.
    public static let marker = (key: "VALUES", value: "transformed")

    /// Applies the transform in place.
    /// - Complexity: O(n), one pass (two with a normalisation).
    public func apply(_ values: UnsafeMutableBufferPointer<Float>) {
        if let saturated {
            for i in 0..<values.count where values[i] == saturated { values[i] = .nan }
        }
        // The streamed reader (RasterFileSource) applies this same code; Rescale.apply (LandwatchAlgorithms) is the
        // tests' independent computation of it.
        let identity = scale == 1 && offset == 0
        if let noData {
            let nd = Float(noData)
            for i in 0..<values.count {
                let v = values[i]
                values[i] = (v == nd || !v.isFinite) ? .nan : (identity ? v : Float(Double(v) * scale + offset))
            }
        } else if !identity {
            for i in 0..<values.count {
                let v = values[i]
                values[i] = v.isFinite ? Float(Double(v) * scale + offset) : .nan
            }
        } else {
            for i in 0..<values.count where !values[i].isFinite { values[i] = .nan }
        }
        // As normalize.relative's own application (NaN stays NaN).
        if !(gain == 1 && gainOffset == 0) {
            let gain = self.gain, gainOffset = self.gainOffset
            for i in 0..<values.count { let v = values[i]; values[i] = v.isFinite ? gain * v + gainOffset : v }
        }
    }

    /// The transform with a normalisation applied after it; nil when it already has one (they are not composed, so
    /// that the values stay those of the two steps in turn).
    public func normalised(gain: Float, offset: Float) -> ValueTransform? {
        guard self.gain == 1, gainOffset == 0 else { return nil }
        var copy = self
        copy.gain = gain
        copy.gainOffset = offset
        return copy
    }

    /// The band's VRT metadata items.
    var items: [(String, String)] {
        var items = [("SCALE", "\(scale)"), ("OFFSET", "\(offset)")]
        if let noData { items.append(("NODATA", "\(noData)")) }
        if let saturated { items.append(("SATURATED", "\(saturated)")) }
        if !(gain == 1 && gainOffset == 0) { items += [("GAIN", "\(gain)"), ("GAIN_OFFSET", "\(gainOffset)")] }
        return items
    }

    /// The transform a value VRT's band metadata describes, nil when it describes none.
    init?(items: [String: String]) {
        guard let scale = items["SCALE"].flatMap(Double.init), let offset = items["OFFSET"].flatMap(Double.init) else { return nil }
        self.init(scale: scale, offset: offset, noData: items["NODATA"].flatMap(Double.init),
                  saturated: items["SATURATED"].flatMap(Float.init),
                  gain: items["GAIN"].flatMap(Float.init) ?? 1, gainOffset: items["GAIN_OFFSET"].flatMap(Float.init) ?? 0)
    }
}

/// A ``ValueTransform`` tabulated for every number an 8 or 16-bit integer band can store: the value of each, computed
/// by the transform itself (so the same values), looked up per pixel instead of computed (the double-precision
/// scaling of four bands at every read was a tenth of the enforcement chain's compliance.diff). ``Band`` reads such a
/// band as it is stored (one or two bytes a pixel, no conversion to Float32 by GDAL) and looks each number up.
public final class ValueLookup: Sendable {
    let values: [Float]
    let minimum: Int
    /// The integer type the table is indexed by.
    public let storedType: DataType

    /// The table of `transform` for a band stored as `type`; nil for other types than 8 and 16-bit integers.
    public init?(_ transform: ValueTransform, storedAs type: DataType?) {
        guard let type, [.uint8, .uint16, .int16].contains(type) else { return nil }
        let range = type.valueRange
        minimum = Int(range.lowerBound)
        storedType = type
        var values = (Int(range.lowerBound)...Int(range.upperBound)).map { Float($0) }
        values.withUnsafeMutableBufferPointer { transform.apply($0) }
        self.values = values
    }

    /// Replaces stored numbers (integers as Float32, as GDAL converts them) by their values.
    func apply(_ buffer: UnsafeMutableBufferPointer<Float>) {
        let last = values.count - 1, minimum = self.minimum
        values.withUnsafeBufferPointer { table in
            for i in 0..<buffer.count {
                let index = min(max(Int(buffer[i]) - minimum, 0), last)
                buffer[i] = table[index]
            }
        }
    }

    /// The values of `height` rows of `width` stored numbers (packed), into rows `stride` apart in `output`.
    /// Every number of the type has an entry: no bounds to check.
    @inline(__always)
    func convert<Stored: FixedWidthInteger>(_ raw: UnsafeBufferPointer<Stored>, width: Int, height: Int,
                                            into output: UnsafeMutableBufferPointer<Float>, stride: Int) {
        let minimum = self.minimum
        values.withUnsafeBufferPointer { table in
            let base = table.baseAddress! - minimum, source = raw.baseAddress!, target = output.baseAddress!
            for row in 0..<height {
                let from = source + row * width, to = target + row * stride
                for column in 0..<width { to[column] = base[Int(from[column])] }
            }
        }
    }
}

/// One band of a value VRT: a band of a file read as it is stored, and its transform.
public struct ValueVRTBand: Sendable {
    public var path: String
    public var band: Int
    /// The band's stored type (8 or 16-bit integers: exact as Float32).
    public var dataType: DataType
    /// Where the VRT's first pixel lies in the file (a window of a larger grid).
    public var offset: (col: Int, row: Int)
    public var transform: ValueTransform

    public init(path: String, band: Int, dataType: DataType, offset: (col: Int, row: Int) = (0, 0), transform: ValueTransform) {
        self.path = path
        self.band = band
        self.dataType = dataType
        self.offset = offset
        self.transform = transform
    }
}

extension Dataset {
    /// Writes a value VRT of `bands` on `grid` at `path` (see ``ValueTransform``), with the band names as
    /// descriptions.
    public static func writeValueVRT(_ bands: [ValueVRTBand], names: [String], grid: RasterGrid, to path: String) throws(GDALError) {
        let t = grid.geoTransform
        var xml = "<VRTDataset rasterXSize=\"\(grid.width)\" rasterYSize=\"\(grid.height)\">\n"
            + "  <SRS>\(escaped(grid.crsWKT))</SRS>\n"
            + "  <GeoTransform>\([t.originX, t.pixelWidth, t.rowRotation, t.originY, t.colRotation, t.pixelHeight].map { "\($0)" }.joined(separator: ", "))</GeoTransform>\n"
            + "  <Metadata domain=\"\(ValueTransform.domain)\"><MDI key=\"\(ValueTransform.marker.key)\">\(ValueTransform.marker.value)</MDI></Metadata>\n"
        for (index, band) in bands.enumerated() {
            xml += "  <VRTRasterBand dataType=\"\(band.dataType.rawValue)\" band=\"\(index + 1)\">\n"
            if index < names.count { xml += "    <Description>\(escaped(names[index]))</Description>\n" }
            xml += "    <Metadata domain=\"\(ValueTransform.domain)\">"
                + (band.transform.items + [("SOURCE", band.path), ("SOURCE_BAND", "\(band.band)"), ("SOURCE_XOFF", "\(band.offset.col)"),
                                           ("SOURCE_YOFF", "\(band.offset.row)")])
                    .map { "<MDI key=\"\($0.0)\">\(escaped($0.1))</MDI>" }.joined() + "</Metadata>\n"
                + "    <SimpleSource>\n"
                + "      <SourceFilename relativeToVRT=\"0\">\(escaped(band.path))</SourceFilename>\n"
                + "      <SourceBand>\(band.band)</SourceBand>\n"
                + "      <SrcRect xOff=\"\(band.offset.col)\" yOff=\"\(band.offset.row)\" xSize=\"\(grid.width)\" ySize=\"\(grid.height)\"/>\n"
                + "      <DstRect xOff=\"0\" yOff=\"0\" xSize=\"\(grid.width)\" ySize=\"\(grid.height)\"/>\n"
                + "    </SimpleSource>\n  </VRTRasterBand>\n"
        }
        xml += "</VRTDataset>\n"
        do { try xml.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw GDALError(kind: .write, operation: "write \(path)", gdalMessage: "\(error)")
        }
    }

    /// The bands of this dataset as a value VRT describes them, nil when it is not one.
    public var valueVRTBands: [ValueVRTBand]? {
        guard isValueVRT else { return nil }
        var bands: [ValueVRTBand] = []
        for index in 1...bandCount {
            guard let band = try? band(index), let transform = band.transform, let type = band.dataType else { return nil }
            let items = band.metadata(domain: ValueTransform.domain)
            guard let file = items["SOURCE"], let number = items["SOURCE_BAND"].flatMap(Int.init),
                  let xOff = items["SOURCE_XOFF"].flatMap(Int.init), let yOff = items["SOURCE_YOFF"].flatMap(Int.init) else { return nil }
            bands.append(ValueVRTBand(path: file, band: number, dataType: type, offset: (xOff, yOff), transform: transform))
        }
        return bands
    }

    /// True when this is a value VRT, or a GeoTIFF whose stored numbers landwatch marked the same way (an integer
    /// class map in the scratch folder, nodata read as NaN; see ``markValuesTransformed(_:)``).
    var isValueVRT: Bool {
        (driverName == "VRT" || driverName == "GTiff")
            && metadata(domain: ValueTransform.domain)[ValueTransform.marker.key] == ValueTransform.marker.value
    }

    /// Marks a GeoTIFF being written so that ``Band/read(_:into:lineStride:)`` gives its bands' stored numbers
    /// transformed by `transforms` (one per band), as a value VRT's.
    public func markValuesTransformed(_ transforms: [ValueTransform]) {
        for (index, transform) in transforms.enumerated() {
            guard let band = GDALGetRasterBand(handle, Int32(index + 1)) else { continue }
            for (key, value) in transform.items { GDALSetMetadataItem(band, key, value, ValueTransform.domain) }
        }
        GDALSetMetadataItem(handle, ValueTransform.marker.key, ValueTransform.marker.value, ValueTransform.domain)
    }

    /// The transform of band `index` when this is a value VRT (read once per dataset).
    func valueTransform(_ index: Int) -> ValueTransform? {
        transforms[index - 1]
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

}

