/// A rectangle of pixels on a raster: columns `colOffset ..< colOffset + width`, rows `rowOffset ..< rowOffset + height`.
public struct Window: Hashable, Sendable, CustomStringConvertible {
    public var colOffset: Int
    public var rowOffset: Int
    public var width: Int
    public var height: Int

    public init(colOffset: Int, rowOffset: Int, width: Int, height: Int) {
        self.colOffset = colOffset
        self.rowOffset = rowOffset
        self.width = width
        self.height = height
    }

    /// The whole of a raster of the given size.
    public init(width: Int, height: Int) {
        self.init(colOffset: 0, rowOffset: 0, width: width, height: height)
    }

    public var pixelCount: Int { width * height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The overlap of two windows, or nil when they do not overlap.
    public func intersection(_ other: Window) -> Window? {
        let left = max(colOffset, other.colOffset)
        let top = max(rowOffset, other.rowOffset)
        let right = min(colOffset + width, other.colOffset + other.width)
        let bottom = min(rowOffset + height, other.rowOffset + other.height)
        guard right > left, bottom > top else { return nil }
        return Window(colOffset: left, rowOffset: top, width: right - left, height: bottom - top)
    }

    /// True when the window lies entirely inside a raster of the given size.
    public func fits(width rasterWidth: Int, height rasterHeight: Int) -> Bool {
        colOffset >= 0 && rowOffset >= 0 && width > 0 && height > 0
            && colOffset + width <= rasterWidth && rowOffset + height <= rasterHeight
    }

    /// The window cut into tiles of at most `tileWidth` x `tileHeight`, row by row; edge tiles are clipped.
    public func subdivided(tileWidth: Int, tileHeight: Int) -> [Window] {
        precondition(tileWidth > 0 && tileHeight > 0, "tile size must be positive")
        var tiles: [Window] = []
        tiles.reserveCapacity(((width + tileWidth - 1) / tileWidth) * ((height + tileHeight - 1) / tileHeight))
        var row = rowOffset
        while row < rowOffset + height {
            let tileRows = min(tileHeight, rowOffset + height - row)
            var col = colOffset
            while col < colOffset + width {
                let tileCols = min(tileWidth, colOffset + width - col)
                tiles.append(Window(colOffset: col, rowOffset: row, width: tileCols, height: tileRows))
                col += tileWidth
            }
            row += tileHeight
        }
        return tiles
    }

    public var description: String { "(\(colOffset),\(rowOffset)) of size \(width)x\(height)" }
}
