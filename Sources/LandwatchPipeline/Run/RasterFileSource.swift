import Foundation
import LandwatchAlgorithms
import LandwatchGDAL

/// Streams bands of raster files onto the run grid, block by block, as Float32 with NaN for nodata.
///
/// Files on another grid are read through a warped VRT, so GDAL warps each window as it is read.
/// Every worker thread opens the files again (GDAL handles are not thread-safe).
public struct RasterFileSource: BlockSource {
    /// One output band: a band of a file, with the scaling from stored numbers to values.
    public struct BandInput: Sendable {
        public var path: String
        public var band: Int
        public var scale: Double
        public var offset: Double
        /// Stored value meaning "no data" (before scaling); nil takes the file's own.
        public var noData: Double?
        /// A DEM for orthorectifying a raster placed by RPCs only (Gaofen Level-1A).
        public var rpcDEM: String?
        /// The file as named in the pipeline (`path` may become a warped VRT), for messages.
        var origin: String?
        /// Stored value of saturated pixels, read as nodata: 65535 in UInt16 bands (Landsat, Sentinel-2).
        var saturated: Float?
        /// Float bands are checked for infinities, which no sensor delivers (a broken processing chain).
        var isFloat = false
        /// Float64 bands: values beyond Float32's range become infinities when read as Float32.
        var isFloat64 = false
        /// Int8 stored as Byte with PIXELTYPE=SIGNEDBYTE: 128…255 are −128…−1.
        var isSignedByte = false
        /// The stored type, and whether the band has overviews (for ``RasterFileSource/writeValueVRT(to:grid:blockSize:)``).
        var dataType: DataType?
        var hasOverviews = false
        /// Where the run grid's first pixel lies in the file, when the run grid is a part of the file's grid (a shard's
        /// band of rows, an extent cut from the image): the file is then read through a window, not warped. Also
        /// where a shard's rows lie in the warped VRT of the whole run grid.
        var gridOffset = (col: 0, row: 0)

        public init(path: String, band: Int, scale: Double = 1, offset: Double = 0, noData: Double? = nil) {
            self.path = path
            self.band = band
            self.scale = scale
            self.offset = offset
            self.noData = noData
        }
    }

    public let bands: [BandInput]
    public var bandCount: Int { bands.count }

    /// Prepares reading `bands` onto `grid`, writing a warped VRT in the work directory for each file on another grid.
    public init(bands: [BandInput], onto grid: RasterGrid, resampling: Resampling, context: RunContext, stageID: String) throws {
        var warped: [String: String] = [:]
        var resolved: [BandInput] = []
        for (index, input) in bands.enumerated() {
            var input = input
            let dataset = try Dataset.open(input.path)
            let band = try dataset.band(input.band)
            if input.noData == nil { input.noData = band.noDataValue }
            input.origin = input.path
            if band.dataType == .uint16, input.noData != 65535 { input.saturated = 65535 }
            input.isFloat = band.dataType == .float32 || band.dataType == .float64
            input.isFloat64 = band.dataType == .float64
            input.isSignedByte = band.isSignedByte
            input.dataType = band.dataType
            input.hasOverviews = band.overviewCount > 0
            let usesRPC = try dataset.usesRPC, sameGrid = try dataset.grid().matches(grid)
            if !usesRPC, !sameGrid, let window = grid.window(in: dataset.grid()) {
                input.gridOffset = (window.colOffset, window.rowOffset)
            } else if usesRPC || !sameGrid {
                // A shard warps onto the whole run grid and reads its rows through a window: GDAL warps a warped
                // VRT block by block, so the pixels are those of the unsharded run (a VRT of the shard's rows alone
                // resampled its edge rows otherwise: elevation focal means 0.5 m off near shard borders).
                let target: RasterGrid
                if let full = context.fullGrid, let window = grid.window(in: full) {
                    target = full
                    input.gridOffset = (window.colOffset, window.rowOffset)
                } else {
                    target = grid
                }
                if let vrt = warped[input.path] {
                    input.path = vrt
                } else {
                    let vrt = context.scratchPath("\(stageID)-\(index).vrt")
                    try dataset.writeWarpedVRT(to: vrt, onto: target, resampling: resampling,
                                               sourceNoData: input.noData.flatMap { $0.isNaN ? nil : $0 }, rpcDEM: input.rpcDEM)
                    if dataset.usesRPC {
                        context.logger.info("\(stageID): orthorectifying \(input.path) by its RPCs onto the run grid (\(grid.crsLabel)), \(input.rpcDEM.map { "DEM \($0)" } ?? "no DEM: heights 0"), \(resampling.rawValue)")
                    } else {
                        context.logger.info("\(stageID): warping \(input.path) (\(dataset.grid().crsLabel)) onto the run grid (\(grid.crsLabel)), \(resampling.rawValue)")
                    }
                    warped[input.path] = vrt
                    input.path = vrt
                }
            }
            resolved.append(input)
        }
        self.bands = resolved
    }

    public func makeReader() throws -> any BlockReader { try Reader(bands: bands) }

    /// Writes these bands as a value VRT at `path` (see ``ValueTransform``): GDAL SimpleSources of the files' own
    /// integer bands, with the scaling and nodata this reader applies kept as the bands' transforms, so that a scene
    /// only whole-raster stages read is the file itself rather than a Float32 copy written for them (two 4-band
    /// scenes are 3.9 GB of scratch in the enforcement bench). Every value is the reader's (``Band/read(_:into:lineStride:)``
    /// applies the transform with the same arithmetic). Only for integer bands of at most 16 bits (exact as Float32)
    /// read on the run grid or a window of their own, with no overviews (a reduced read would use them, where a
    /// written copy has none). Returns false, writing nothing, otherwise, and when no block of the first band has a
    /// valid pixel (then the pass streams the bands and refuses, or records, imagery without one as ever).
    public func writeValueVRT(to path: String, names: [String], grid: RasterGrid, blockSize: Int) throws -> Bool {
        guard let described = Self.valueBands(bands) else { return false }
        // Imagery without a valid pixel is left to the pass, which refuses it (or, in a shard, records it).
        let reader = try makeReader()
        var block = PixelBlock(bandNames: bands.indices.map { "band\($0 + 1)" }, blockWidth: min(blockSize, grid.width),
                               blockHeight: min(blockSize, grid.height))
        var anyValid = false
        for window in Window(width: grid.width, height: grid.height).subdivided(tileWidth: blockSize, tileHeight: blockSize) {
            try reader.read(window, into: &block)
            if block.validCount(in: window) > 0 { anyValid = true; break }
        }
        guard anyValid else { return false }
        do { try Dataset.writeValueVRT(described, names: names, grid: grid, to: path) } catch {
            throw RunError(.io, "cannot write \(path): \(error)")
        }
        return true
    }

    /// True when ``writeValueVRT(to:names:grid:blockSize:)`` can describe `bands` read onto `grid`, from their
    /// headers (the planner asks, to give such a scene a pass of its own that writes no pixel).
    public static func canWriteValueVRT(bands: [BandInput], onto grid: RasterGrid) -> Bool {
        let resolved = bands.map { input -> BandInput? in
            guard let dataset = try? Dataset.open(input.path), let band = try? dataset.band(input.band), (try? dataset.usesRPC) == false else {
                return nil
            }
            var input = input
            input.origin = input.path
            input.dataType = band.dataType
            input.isSignedByte = band.isSignedByte
            input.hasOverviews = band.overviewCount > 0
            if !((try? dataset.grid().matches(grid)) ?? false) {
                guard let window = grid.window(in: dataset.grid()) else { return nil }
                input.gridOffset = (window.colOffset, window.rowOffset)
            }
            return input
        }
        guard resolved.allSatisfy({ $0 != nil }) else { return false }
        return valueBands(resolved.map { $0! }) != nil
    }

    /// The value VRT's bands for `bands`, or nil when one of them cannot be read through one (see
    /// ``writeValueVRT(to:names:grid:blockSize:)``).
    static func valueBands(_ bands: [BandInput]) -> [ValueVRTBand]? {
        var described: [ValueVRTBand] = []
        for input in bands {
            guard input.origin == input.path, input.rpcDEM == nil, !input.isFloat, !input.isSignedByte, !input.hasOverviews,
                  let type = input.dataType, [.uint8, .uint16, .int16].contains(type),
                  input.scale.isFinite, input.offset.isFinite else { return nil }
            let transform = ValueTransform(scale: input.scale, offset: input.offset, noData: input.noData, saturated: input.saturated)
            described.append(ValueVRTBand(path: URL(fileURLWithPath: input.path).path, band: input.band, dataType: type,
                                          offset: input.gridOffset, transform: transform))
        }
        return described
    }

    final class Reader: BlockReader {
        let bands: [BandInput]
        let handles: [Band]
        /// For each input of 8 or 16-bit integers read as stored (not through a value VRT's own transform) whose
        /// saturation, nodata or scaling changes a number: the transform tabulated, which the read applies.
        let lookups: [ValueLookup?]

        init(bands: [BandInput]) throws {
            self.bands = bands
            var datasets: [String: Dataset] = [:]
            var handles: [Band] = []
            for input in bands {
                let dataset = try datasets[input.path] ?? Dataset.open(input.path)
                datasets[input.path] = dataset
                handles.append(try dataset.band(input.band))
            }
            self.handles = handles
            lookups = zip(bands, handles).map { input, band in
                let transform = ValueTransform(scale: input.scale, offset: input.offset, noData: input.noData, saturated: input.saturated)
                guard !input.isFloat, !input.isSignedByte, band.transform == nil, transform != ValueTransform() else { return nil }
                return ValueLookup(transform, storedAs: band.dataType)
            }
        }

        func read(_ window: Window, into block: inout PixelBlock) throws {
            block.window = window
            let stride = block.stride
            let used = (window.height - 1) * stride + window.width
            for (index, input) in bands.enumerated() {
                try block.bands[index].withUnsafeMutableBufferPointer { (buffer) throws in
                    var fileWindow = window
                    fileWindow.colOffset += input.gridOffset.col
                    fileWindow.rowOffset += input.gridOffset.row
                    do {
                        if let lookup = lookups[index] {
                            // Saturation, nodata and scaling tabulated from the one implementation below.
                            try handles[index].read(fileWindow, into: buffer, lineStride: stride, lookup: lookup)
                            return
                        }
                        try handles[index].read(fileWindow, into: buffer, lineStride: stride)
                    } catch {
                        // Through a warped VRT the message names the scratch file: name the input too.
                        guard let origin = input.origin, origin != input.path else { throw error }
                        throw RunError(.io, "reading \(origin) band \(input.band): \(error)")
                    }
                    let values = UnsafeMutableBufferPointer(rebasing: buffer[0..<used])
                    if input.isSignedByte {
                        for i in values.indices where values[i] > 127 { values[i] -= 256 }
                    }
                    // A Float64 nodata beyond Float32's range (ArcGIS's −1.797e308) reads as an infinity: it is nodata.
                    if input.isFloat, let noData = input.noData, !noData.isNaN, Float(noData).isInfinite {
                        let stored = Float(noData)
                        for i in values.indices where values[i] == stored { values[i] = .nan }
                    }
                    if input.isFloat, let at = values.firstIndex(where: \.isInfinite), at % stride < window.width {
                        let what = input.isFloat64 ? "\(values[at] > 0 ? "+" : "-")infinity, or a value beyond Float32's ±3.4e38," : "\(values[at] > 0 ? "+" : "-")infinity"
                        throw RunError(.input, "\(input.origin ?? input.path) band \(input.band): \(what) at row "
                                       + "\(window.rowOffset + at / stride), column \(window.colOffset + at % stride) of the run grid; NaN marks nodata, "
                                       + "an infinity is a broken value (a division by zero upstream?)")
                    }
                    // Saturation, nodata and scaling by the one implementation a value VRT of this band applies too.
                    ValueTransform(scale: input.scale, offset: input.offset, noData: input.noData, saturated: input.saturated).apply(values)
                }
            }
        }
    }
}
