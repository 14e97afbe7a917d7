import LandwatchGDAL

/// The pixels of one window of the run grid, one Float32 buffer per band, NaN for nodata.
///
/// Buffers are block-sized and reused from block to block: a window at the right or bottom edge fills only
/// its top-left `window.width` x `window.height` corner, rows `stride` values apart.
public struct PixelBlock: Sendable {
    public var window: Window
    /// Values per row in each band buffer (the block width).
    public let stride: Int
    /// Rows each buffer can hold (the block height).
    public let capacityRows: Int
    public var bands: [[Float]]
    /// The name of each band, as the producing stage's description gives them.
    public let bandNames: [String]

    public init(bandNames: [String], blockWidth: Int, blockHeight: Int) {
        self.window = Window(width: blockWidth, height: blockHeight)
        self.stride = blockWidth
        self.capacityRows = blockHeight
        self.bandNames = bandNames
        self.bands = Array(repeating: [Float](repeating: .nan, count: blockWidth * blockHeight), count: bandNames.count)
    }

    init(window: Window, stride: Int, capacityRows: Int, bands: [[Float]], bandNames: [String]) {
        self.window = window
        self.stride = stride
        self.capacityRows = capacityRows
        self.bands = bands
        self.bandNames = bandNames
    }

    /// A copy holding only `rows` (rows of the grid, within the window).
    func rows(_ rows: Range<Int>) -> PixelBlock {
        let skip = rows.lowerBound - window.rowOffset
        precondition(skip >= 0 && rows.upperBound <= window.rowOffset + window.height, "rows outside the block's window")
        let part = Window(colOffset: window.colOffset, rowOffset: rows.lowerBound, width: window.width, height: rows.count)
        return PixelBlock(window: part, stride: stride, capacityRows: rows.count,
                          bands: bands.map { Array($0[(skip * stride)..<((skip + rows.count) * stride)]) }, bandNames: bandNames)
    }

    /// The position of a named band.
    public func band(named name: String) -> Int? { bandNames.firstIndex(of: name) }

    /// Values per band that the window uses (the rest of each buffer is padding).
    public var usedCount: Int { (window.height - 1) * stride + window.width }

    /// Values per band buffer.
    public var capacity: Int { stride * capacityRows }

    /// The value at a column and row of the window.
    public func value(band: Int, col: Int, row: Int) -> Float { bands[band][row * stride + col] }

    /// Bytes this block holds.
    public var byteCount: Int { bands.count * capacity * MemoryLayout<Float>.size }

    /// Pixels of the window whose first band is not NaN.
    func validCount(in window: Window) -> Int {
        var count = 0
        bands[0].withUnsafeBufferPointer { values in
            for row in 0..<window.height {
                let start = row * stride
                for i in start..<(start + window.width) where !values[i].isNaN { count += 1 }
            }
        }
        return count
    }
}

/// A producer of blocks that can give each worker thread its own reader (and so its own GDAL handles).
public protocol BlockSource: Sendable {
    var bandCount: Int { get }
    /// A reader for one worker thread; never shared between threads.
    func makeReader() throws -> any BlockReader
}

/// Reads windows of a source for one worker thread.
public protocol BlockReader: AnyObject {
    /// Fills `block` (already sized for `bandCount` bands) with the pixels of `window`.
    func read(_ window: Window, into block: inout PixelBlock) throws
}

/// A consumer of blocks shared by the worker threads; implementations serialise their own writes.
public protocol BlockSink: AnyObject, Sendable {
    /// Writes one block: the same window of each input, in port order. Called concurrently from worker threads.
    func write(_ blocks: [PixelBlock]) throws
    /// Completes the output (flush, rename into place) and returns the paths written, relative to the output root.
    func finish() throws -> [String]
    /// Removes partial output after a failure or cancellation.
    func abort()
}
