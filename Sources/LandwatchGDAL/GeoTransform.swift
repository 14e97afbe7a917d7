/// GDAL's affine geotransform: map x = originX + col·pixelWidth + row·rowRotation, map y = originY + col·colRotation + row·pixelHeight.
public struct GeoTransform: Hashable, Sendable, Codable, CustomStringConvertible {
    public var originX: Double
    public var pixelWidth: Double
    public var rowRotation: Double
    public var originY: Double
    public var colRotation: Double
    public var pixelHeight: Double

    public init(originX: Double, pixelWidth: Double, rowRotation: Double = 0,
                originY: Double, colRotation: Double = 0, pixelHeight: Double) {
        self.originX = originX
        self.pixelWidth = pixelWidth
        self.rowRotation = rowRotation
        self.originY = originY
        self.colRotation = colRotation
        self.pixelHeight = pixelHeight
    }

    /// From GDAL's six coefficients, in GDAL's order.
    public init(coefficients c: [Double]) {
        precondition(c.count == 6, "a geotransform has six coefficients")
        self.init(originX: c[0], pixelWidth: c[1], rowRotation: c[2], originY: c[3], colRotation: c[4], pixelHeight: c[5])
    }

    /// GDAL's six coefficients.
    public var coefficients: [Double] { [originX, pixelWidth, rowRotation, originY, colRotation, pixelHeight] }

    /// True when the raster is north-up (no rotation terms).
    public var isNorthUp: Bool { rowRotation == 0 && colRotation == 0 }

    /// The map coordinate of a pixel corner.
    public func mapPoint(col: Double, row: Double) -> (x: Double, y: Double) {
        (originX + col * pixelWidth + row * rowRotation, originY + col * colRotation + row * pixelHeight)
    }

    /// True when both transforms agree to within `tolerance` of a pixel at the far corner of a raster of the given size.
    public func isClose(to other: GeoTransform, width: Int, height: Int, tolerance: Double = 1e-6) -> Bool {
        let scale = max(abs(pixelWidth), abs(pixelHeight), 1e-12)
        let corners = [(0.0, 0.0), (Double(width), Double(height))]
        for (col, row) in corners {
            let a = mapPoint(col: col, row: row)
            let b = other.mapPoint(col: col, row: row)
            if abs(a.x - b.x) > tolerance * scale || abs(a.y - b.y) > tolerance * scale { return false }
        }
        return abs(pixelWidth - other.pixelWidth) <= tolerance * scale
            && abs(pixelHeight - other.pixelHeight) <= tolerance * scale
    }

    public var description: String {
        "origin (\(originX), \(originY)), pixel \(pixelWidth) x \(pixelHeight)"
            + (isNorthUp ? "" : ", rotation \(rowRotation), \(colRotation)")
    }
}
