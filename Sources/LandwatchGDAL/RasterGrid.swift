import Foundation

/// Where a raster's pixels lie on the ground: size, geotransform and CRS.
public struct RasterGrid: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public var geoTransform: GeoTransform
    /// The CRS as WKT, empty when the raster has none.
    public var crsWKT: String
    /// A short CRS label for messages (`EPSG:32612`).
    public var crsLabel: String

    public init(width: Int, height: Int, geoTransform: GeoTransform, crsWKT: String, crsLabel: String) {
        self.width = width
        self.height = height
        self.geoTransform = geoTransform
        self.crsWKT = crsWKT
        self.crsLabel = crsLabel
    }

    /// The map extent (xmin, ymin, xmax, ymax) of a north-up grid.
    public var extent: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        let a = geoTransform.mapPoint(col: 0, row: 0)
        let b = geoTransform.mapPoint(col: Double(width), row: Double(height))
        return (min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y))
    }

    /// True when both grids put the same pixels at the same places in the same CRS.
    public func matches(_ other: RasterGrid) throws(GDALError) -> Bool {
        guard width == other.width, height == other.height,
              geoTransform.isClose(to: other.geoTransform, width: width, height: height) else { return false }
        if crsWKT.isEmpty || other.crsWKT.isEmpty { return crsWKT.isEmpty == other.crsWKT.isEmpty }
        if crsWKT == other.crsWKT { return true }
        return try SpatialReference(definition: crsWKT).isSame(as: SpatialReference(definition: other.crsWKT))
    }

    /// A one-line description for messages: `1128x1428 px, 30 m, EPSG:32612, origin (301905, 4147365)`.
    public var description: String {
        let e = extent
        return "\(crsLabel.isEmpty ? "no CRS" : crsLabel) \(width)x\(height) px of \(formatNumber(geoTransform.pixelWidth))"
            + " x \(formatNumber(abs(geoTransform.pixelHeight))), extent [\(formatNumber(e.minX)), \(formatNumber(e.minY)),"
            + " \(formatNumber(e.maxX)), \(formatNumber(e.maxY))]"
    }
}

/// Formats a number without a trailing `.0` for whole values.
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    var text = String(format: "%.4f", value)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}

extension RasterGrid {
    /// Rows `rows` of this grid, as a grid of their own (same columns, CRS and pixel size).
    public func rows(_ rows: Range<Int>) -> RasterGrid {
        var transform = geoTransform
        transform.originX += Double(rows.lowerBound) * transform.rowRotation
        transform.originY += Double(rows.lowerBound) * transform.pixelHeight
        return RasterGrid(width: width, height: rows.count, geoTransform: transform, crsWKT: crsWKT, crsLabel: crsLabel)
    }

    /// The window of `other` that this grid covers, when this grid is a part of it: same CRS and pixel size, pixel
    /// edges on pixel edges, wholly inside. A raster on `other` is then read through the window, not warped.
    public func window(in other: RasterGrid) -> Window? {
        let a = geoTransform, b = other.geoTransform
        let scale = max(abs(b.pixelWidth), abs(b.pixelHeight), 1e-12)
        guard a.isNorthUp, b.isNorthUp, abs(a.pixelWidth - b.pixelWidth) <= 1e-6 * scale,
              abs(a.pixelHeight - b.pixelHeight) <= 1e-6 * scale else { return nil }
        let col = (a.originX - b.originX) / b.pixelWidth, row = (a.originY - b.originY) / b.pixelHeight
        guard abs(col - col.rounded()) <= 1e-6, abs(row - row.rounded()) <= 1e-6 else { return nil }
        let window = Window(colOffset: Int(col.rounded()), rowOffset: Int(row.rounded()), width: width, height: height)
        guard window.colOffset >= 0, window.rowOffset >= 0, window.colOffset + width <= other.width,
              window.rowOffset + height <= other.height else { return nil }
        if crsWKT.isEmpty || other.crsWKT.isEmpty { return crsWKT.isEmpty == other.crsWKT.isEmpty ? window : nil }
        guard crsWKT == other.crsWKT || ((try? SpatialReference(definition: crsWKT).isSame(as: SpatialReference(definition: other.crsWKT))) ?? false) else {
            return nil
        }
        return window
    }
}
