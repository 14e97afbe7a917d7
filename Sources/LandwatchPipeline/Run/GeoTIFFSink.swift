import Foundation
import LandwatchGDAL

/// Writes a stream of blocks to a tiled, compressed GeoTIFF under a temporary name, renamed when complete.
///
/// Worker threads call ``write(_:)`` concurrently; a lock is held only around GDAL's block write.
public final class GeoTIFFSink: BlockSink, @unchecked Sendable {  // the dataset and bands are used under `lock`
    public let relativePath: String
    private let output: AtomicOutput
    private var dataset: Dataset?
    /// Each band keeps its dataset open: both are released together, before the rename.
    private var bands: [Band]
    /// [level][band]: the internal overviews whose blocks ``writeOverview(level:column:row:bands:)`` writes.
    private var overviewBands: [[Band]] = []
    private let dataType: DataType
    private let noData: Double
    private let blockSize: Int
    private let lock = NSLock()
    private let scratchPool = ScratchPool()

    /// Creates the file (as `NAME.partial`) on `grid`, one band per name.
    ///
    /// - Parameters:
    ///   - target: absolute path of the finished file.
    ///   - relativePath: the path as the run reports it.
    ///   - noData: written where a pixel is NaN; NaN itself for floating-point outputs by default.
    ///   - overviewFactors: internal overviews to add, empty, tiled and compressed as the full resolution; their
    ///     blocks are written with ``writeOverview(level:column:row:bands:)``.
    public init(target: URL, relativePath: String, grid: RasterGrid, bandNames: [String], dataType: DataType,
                noData: Double, options: GeoTIFFOptions, metadata: [String: String] = [:],
                categories: [Band.Category] = [], overviewFactors: [Int] = [], values: ValueTransform? = nil) throws {
        self.relativePath = relativePath
        self.output = AtomicOutput(target: target)
        self.dataType = dataType
        self.noData = noData
        self.blockSize = options.blockSize
        do {
            let dataset = try Dataset.createGeoTIFF(at: output.temporaryPath, grid: grid, bandCount: bandNames.count,
                                                    dataType: dataType, options: options)
            var bands: [Band] = []
            for (index, name) in bandNames.enumerated() {
                let band = try dataset.band(index + 1)
                try band.setNoDataValue(noData)
                band.setDescription(name)
                // The legend colours the class band (the first); other bands (confidence) stay plain.
                if index == 0, !categories.isEmpty, dataType == .uint8 || dataType == .uint16 { try band.setCategories(categories) }
                bands.append(band)
            }
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { dataset.setMetadataItem(key, value) }
            // Stored numbers that readers turn into values (nodata into NaN): see ValueTransform.
            if let values { dataset.markValuesTransformed(Array(repeating: values, count: bandNames.count)) }
            if !overviewFactors.isEmpty {
                try dataset.addEmptyOverviews(factors: overviewFactors, options: options)
                overviewBands = try overviewFactors.indices.map { level in try bands.map { try $0.overview(level) } }
            }
            self.dataset = dataset
            self.bands = bands
        } catch {
            output.abort()
            throw error
        }
    }

    public func write(_ blocks: [PixelBlock]) throws {
        let block = blocks[0]
        guard block.stride == blockSize && block.capacityRows == blockSize else {
            // Blocks smaller than a tile (a grid smaller than one block): write the window through RasterIO.
            let bands = lock.withLock { self.bands }
            for (index, band) in bands.enumerated() {
                let scratch = scratchPool.take(bytes: block.capacity * dataType.byteCount)
                defer { scratchPool.give(scratch) }
                PixelConversion.convert(block.bands[index], to: dataType, noData: noData, into: scratch)
                try lock.withLock {
                    try band.writeRaw(block.window, from: scratch.baseAddress!, byteCapacity: scratch.count, type: dataType,
                                      lineStride: block.stride)
                }
            }
            return
        }
        let column = block.window.colOffset / blockSize, row = block.window.rowOffset / blockSize
        let bands = lock.withLock { self.bands }
        for (index, band) in bands.enumerated() {
            if dataType == .float32 && noData.isNaN {
                // GDAL only reads the buffer; no copy is needed.
                try block.bands[index].withUnsafeBytes { raw in
                    let pointer = UnsafeMutableRawPointer(mutating: raw.baseAddress!)
                    try lock.withLock { try band.writeBlock(column: column, row: row, from: pointer) }
                }
            } else {
                let scratch = scratchPool.take(bytes: block.capacity * dataType.byteCount)
                defer { scratchPool.give(scratch) }
                PixelConversion.convert(block.bands[index], to: dataType, noData: noData, into: scratch)
                try lock.withLock { try band.writeBlock(column: column, row: row, from: scratch.baseAddress!) }
            }
        }
    }

    /// Writes one block of an overview made by `overviewFactors`: `bands` hold a full, padded block of values each
    /// (Float32, NaN for nodata), converted to the file's type as the full resolution is.
    public func writeOverview(level: Int, column: Int, row: Int, bands values: [[Float]]) throws {
        let bands = lock.withLock { overviewBands.indices.contains(level) ? overviewBands[level] : [] }
        guard bands.count == values.count else {
            throw GDALError(kind: .write, operation: "\(relativePath): overview \(level + 1) has \(bands.count) bands, given \(values.count)")
        }
        for (band, block) in zip(bands, values) {
            if dataType == .float32 && noData.isNaN {
                try block.withUnsafeBytes { raw in
                    let pointer = UnsafeMutableRawPointer(mutating: raw.baseAddress!)
                    try lock.withLock { try band.writeBlock(column: column, row: row, from: pointer) }
                }
            } else {
                let scratch = scratchPool.take(bytes: block.count * dataType.byteCount)
                defer { scratchPool.give(scratch) }
                PixelConversion.convert(block, to: dataType, noData: noData, into: scratch)
                try lock.withLock { try band.writeBlock(column: column, row: row, from: scratch.baseAddress!) }
            }
        }
    }

    public func finish() throws -> [String] {
        do {
            try lock.withLock { try dataset?.close() }
        } catch {
            abort()
            throw error
        }
        // Closing (the last reference going away) writes GDAL's side file; it must happen before the rename.
        lock.withLock {
            bands = []
            overviewBands = []
            dataset = nil
        }
        try output.commit()
        return [relativePath]
    }

    public func abort() {
        lock.withLock {
            bands = []
            overviewBands = []
            dataset = nil
        }
        output.abort()
    }
}

/// Reusable byte buffers for type conversion, so that writing a block allocates nothing in steady state.
final class ScratchPool: @unchecked Sendable {  // `free` guarded by `lock`; a taken buffer belongs to one writer
    private let lock = NSLock()
    private var free: [UnsafeMutableRawBufferPointer] = []

    func take(bytes: Int) -> UnsafeMutableRawBufferPointer {
        if let buffer = lock.withLock({ free.popLast() }), buffer.count >= bytes { return buffer }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 16)
    }

    func give(_ buffer: UnsafeMutableRawBufferPointer) { lock.withLock { free.append(buffer) } }

    deinit { for buffer in free { buffer.deallocate() } }
}

/// Float32 values (NaN for nodata) to a stored type: rounded, clamped to the type's range, NaN to nodata.
enum PixelConversion {
    static func convert(_ values: [Float], to type: DataType, noData: Double, into raw: UnsafeMutableRawBufferPointer) {
        values.withUnsafeBufferPointer { source in
            switch type {
            case .uint8: fillUnsigned(source, raw, UInt8.self, noData)
            case .uint16: fillUnsigned(source, raw, UInt16.self, noData)
            case .int16: fill(source, raw, Int16.self, noData, -32768, 32767)
            case .uint32: fill(source, raw, UInt32.self, noData, 0, 4_294_967_295)
            case .int32: fill(source, raw, Int32.self, noData, -2_147_483_648, 2_147_483_647)
            case .float32:
                let out = raw.bindMemory(to: Float.self)
                let nd = Float(noData)
                for i in 0..<source.count { out[i] = source[i].isNaN ? nd : source[i] }
            case .float64:
                let out = raw.bindMemory(to: Double.self)
                for i in 0..<source.count { out[i] = source[i].isNaN ? noData : Double(source[i]) }
            }
        }
    }

    /// `fill` for 8 and 16-bit unsigned types in Float32 arithmetic, the same numbers (a Float32 is exact as a Double,
    /// and for a value clamped to [0, max] rounding half away from zero is its integer part plus one when the part
    /// after the point is at least a half, which Float32 subtracts exactly), without a Double conversion per pixel
    /// (the generic conversion was a tenth of the enforcement chain's CPU once class maps were stored as bytes).
    @inline(__always)
    private static func fillUnsigned<T: FixedWidthInteger & UnsignedInteger>(_ source: UnsafeBufferPointer<Float>,
                                                                             _ raw: UnsafeMutableRawBufferPointer, _: T.Type, _ noData: Double) {
        let out = raw.bindMemory(to: T.self).baseAddress!, input = source.baseAddress!
        let nd = T(noData), high = Float(T.max)
        for i in 0..<source.count {
            let v = input[i]
            let clamped = v.isNaN ? 0 : min(max(v, 0), high)
            let whole = Int32(clamped)
            let rounded = whole + (clamped - Float(whole) >= 0.5 ? 1 : 0)
            out[i] = v.isNaN ? nd : T(truncatingIfNeeded: rounded)
        }
    }

    private static func fill<T: BinaryInteger>(_ source: UnsafeBufferPointer<Float>, _ raw: UnsafeMutableRawBufferPointer,
                                               _: T.Type, _ noData: Double, _ low: Double, _ high: Double) {
        let out = raw.bindMemory(to: T.self)
        let nd = T(noData)
        for i in 0..<source.count {
            let v = Double(source[i])
            out[i] = v.isNaN ? nd : T(min(max(v.rounded(), low), high))
        }
    }
}
