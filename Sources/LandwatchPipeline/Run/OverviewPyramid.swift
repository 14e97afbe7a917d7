import Foundation
import LandwatchGDAL

/// Computes the overviews of a raster from its blocks while they stream (in any order, from several threads) as
/// GDAL 3.6's GeoTIFF driver computes internal overviews (`gdaladdo`), so that a Cloud-Optimized GeoTIFF needs no
/// second pass over its full resolution.
///
/// As GDAL does, each level is computed from the one above it: the first overview from the blocks, the next from the
/// first one's finished tiles, and so on, with the values the file stores (rounded to its type) at every level; except
/// `nearest` with several bands (see ``levelsFromFullResolution``), where every level is taken from the blocks.
/// - `average` is GDAL's weighted mean of the valid pixels of each window (nodata and NaN left out). The window of
///   overview pixel `i` spans source `[i × r, (i + 1) × r)` with `r` = source size / overview size; when a size is odd
///   (`r` < 2) its first and last source pixels count by the part of them it covers. A mean that lands on the
///   nodata value is moved off it as GDAL moves it.
/// - `nearest` takes source pixel `Int(0.5 + i × r)`: for a halving, the top-left one of each 2 × 2. Where a level
///   is taken from the full resolution, `r` is the full resolution's size / the level's (300 / 38 for the third
///   level of a 300 pixel wide raster, not 75 / 38 from the second), which picks other pixels when a size was odd.
///
/// A tile of a level is finished when every source pixel under it has arrived; it is then handed to `emit` and fed
/// to the next level. A window cut by a block edge is summed in parts, per pixel, until its last part arrives.
///
/// - Complexity: every source pixel is read once per level (twice where windows overlap). Memory: the tiles of each
///   level that have started but not finished, allocated in strips of rows as their pixels arrive, about a band of
///   tile rows per level and a small fraction of the raster (they are not the raster's pixels: a quarter, a
///   sixteenth, …).
final class OverviewPyramid: @unchecked Sendable {  // each level's state is guarded by its lock; see `Level`
    enum Method: Sendable { case average, nearest }

    /// A finished overview tile, handed to ``emit``.
    struct Tile {
        /// 0 for the first (largest) overview.
        let level: Int
        let column: Int
        let row: Int
        /// `tileSize × tileSize` values per band, as stored (NaN for nodata, and past the level's right and bottom edges).
        let bands: [[Float]]
    }

    let tileSize: Int
    let bandCount: Int
    let method: Method
    let storage: ValueStorage
    /// True when every level is computed from the full resolution rather than from the level above: `nearest` with
    /// more than one band. GDAL 3.6's GTiff BuildOverviews cascades (GDALRegenerateOverviewsMultiBand, each level from
    /// the one above, for nearest too) only for a pixel-interleaved file, which a single band is; a band-interleaved
    /// one, as landwatch writes every raster of several bands (`INTERLEAVE=BAND`; ``COGWriter`` takes no other), is
    /// regenerated band by band (GDALRegenerateOverviews), which cascades for average but computes each nearest
    /// level from the band itself. Checked with gdaladdo on 300x200, 777x555, 1000x700, 601x433, 530x300, 1025x515.
    let levelsFromFullResolution: Bool
    private let levels: [Level]
    private let emit: (Tile) throws -> Void
    private let pool: StripPool

    /// - Parameters:
    ///   - width, height: the full resolution.
    ///   - factors: the overview factors (2, 4, 8, …), as ``Dataset/cogOverviewFactors(width:height:blockSize:)`` gives them.
    ///   - emit: called once per finished tile, from the thread whose block finished it.
    init(width: Int, height: Int, factors: [Int], tileSize: Int, bandCount: Int, method: Method, storage: ValueStorage,
         emit: @escaping (Tile) throws -> Void) {
        self.tileSize = tileSize
        self.bandCount = bandCount
        self.method = method
        self.storage = storage
        self.emit = emit
        levelsFromFullResolution = method == .nearest && bandCount > 1
        let stripRows = min(32, tileSize)
        pool = StripPool(values: tileSize * stripRows)
        var levels: [Level] = []
        var sourceWidth = width, sourceHeight = height
        for (index, factor) in factors.enumerated() {
            // GDAL's overview sizes: the full resolution divided by the factor, rounded up.
            let levelWidth = (width + factor - 1) / factor, levelHeight = (height + factor - 1) / factor
            levels.append(Level(index: index, sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: levelWidth,
                                height: levelHeight, tileSize: tileSize, stripRows: stripRows, method: method))
            if !levelsFromFullResolution {
                sourceWidth = levelWidth
                sourceHeight = levelHeight
            }
        }
        self.levels = levels
    }

    /// The size of each overview level.
    var sizes: [(width: Int, height: Int)] { levels.map { ($0.width, $0.height) } }

    /// Takes one block of the full resolution: `window` of the raster, `stride` values per row in each band's buffer,
    /// values as the stages give them (NaN for nodata).
    func add(window: Window, stride: Int, bands: [[Float]]) throws {
        guard !levels.isEmpty, !window.isEmpty else { return }
        // The levels the blocks feed: the first (which feeds the next, and so on), or every one.
        let fed = levelsFromFullResolution ? levels : [levels[0]]
        if storage.passesValuesThrough {
            try withBuffers(bands) { buffers in
                for level in fed { try add(to: level, window: window, stride: stride, bands: buffers) }
            }
        } else {
            // The values the file stores, so that the overviews are computed from them as GDAL computes them.
            let stored = bands.map { values -> [Float] in
                var copy = [Float](repeating: .nan, count: stride * window.height)
                for row in 0..<window.height {
                    for column in 0..<window.width { copy[row * stride + column] = storage.stored(values[row * stride + column]) }
                }
                return copy
            }
            try withBuffers(stored) { buffers in
                for level in fed { try add(to: level, window: window, stride: stride, bands: buffers) }
            }
        }
    }

    /// Checks that every tile of every level was finished (every pixel of the raster was given once).
    func finish() throws(GDALError) {
        for level in levels {
            let (finished, pending) = level.lock.withLock { (level.finished, level.pending.count) }
            guard finished == level.tilesAcross * level.tilesDown, pending == 0 else {
                throw GDALError(kind: .write, operation: "overview \(level.index + 1) (\(level.width)x\(level.height)): \(finished) of "
                                + "\(level.tilesAcross * level.tilesDown) tiles finished, \(pending) waiting for pixels that never came")
            }
        }
    }

    /// Drops every unfinished tile (after a failure).
    func discard() {
        for level in levels {
            let tiles = level.lock.withLock { () -> [PendingTile] in
                let tiles = Array(level.pending.values)
                level.pending = [:]
                return tiles
            }
            for tile in tiles { tile.release(to: pool) }
        }
    }

    // MARK: - One block into one level

    private func add(to level: Level, window: Window, stride: Int, bands: [UnsafeBufferPointer<Float>]) throws {
        let x0 = window.colOffset, x1 = window.colOffset + window.width
        let y0 = window.rowOffset, y1 = window.rowOffset + window.height
        // The overview pixels whose windows hold source pixels of the block, and the tiles whose sources it reaches.
        let columns = level.x.destinations(touching: x0..<x1), rows = level.y.destinations(touching: y0..<y1)
        let tileColumns = level.x.tiles(touching: x0..<x1), tileRows = level.y.tiles(touching: y0..<y1)

        // Under the lock: the tiles, their strips for the rows this block fills, and their pointers for outside it.
        struct Target {
            let tile: PendingTile
            let key: Int
            let columns: Range<Int>
            let rows: Range<Int>
            let received: Int
            var strips: [[UnsafeMutablePointer<Float>]]  // [band][strip - firstStrip]
            let firstStrip: Int
        }
        var targets: [Target] = []
        level.lock.withLock {
            for tileRow in tileRows {
                for tileColumn in tileColumns {
                    let key = tileRow * level.tilesAcross + tileColumn
                    let tile: PendingTile
                    if let existing = level.pending[key] {
                        tile = existing
                    } else {
                        tile = PendingTile(expected: level.x.sourceSpan(ofTile: tileColumn).count * level.y.sourceSpan(ofTile: tileRow).count,
                                           bandCount: bandCount, strips: (tileSize + level.stripRows - 1) / level.stripRows)
                        level.pending[key] = tile
                    }
                    let xs = level.x.sourceSpan(ofTile: tileColumn).clamped(to: x0..<x1)
                    let ys = level.y.sourceSpan(ofTile: tileRow).clamped(to: y0..<y1)
                    let tileColumnRange = (tileColumn * tileSize)..<min((tileColumn + 1) * tileSize, level.width)
                    let tileRowRange = (tileRow * tileSize)..<min((tileRow + 1) * tileSize, level.height)
                    let ownColumns = columns.clamped(to: tileColumnRange), ownRows = rows.clamped(to: tileRowRange)
                    var strips: [[UnsafeMutablePointer<Float>]] = []
                    var firstStrip = 0
                    if !ownColumns.isEmpty && !ownRows.isEmpty {
                        firstStrip = (ownRows.lowerBound - tileRow * tileSize) / level.stripRows
                        let lastStrip = (ownRows.upperBound - 1 - tileRow * tileSize) / level.stripRows
                        strips = (0..<bandCount).map { band in (firstStrip...lastStrip).map { tile.strip(band: band, $0, from: pool) } }
                    }
                    targets.append(Target(tile: tile, key: key, columns: ownColumns, rows: ownRows, received: xs.count * ys.count,
                                          strips: strips, firstStrip: firstStrip))
                }
            }
        }

        // Outside it: the windows the block holds whole are finished here (no other block has a pixel of theirs);
        // the others are summed over their part in the block.
        var partials: [[(Int, Int, Partial)]] = Array(repeating: [], count: targets.count)  // [target]: (band, pixel, part)
        // A halving (both sizes even) of a block that starts and ends on even pixels: every window lies whole in it.
        let halving = level.halves && (x0 | y0 | window.width | window.height) & 1 == 0
        for (number, target) in targets.enumerated() where !target.columns.isEmpty && !target.rows.isEmpty {
            let originColumn = target.key % level.tilesAcross * tileSize, originRow = target.key / level.tilesAcross * tileSize
            for band in 0..<bandCount {
                let source = bands[band]
                for row in target.rows {
                    let local = row - originRow
                    let strip = target.strips[band][local / level.stripRows - target.firstStrip]
                    let line = strip + (local % level.stripRows) * tileSize - originColumn
                    switch method {
                    case .nearest where halving:
                        let sourceRow = source.baseAddress! + (2 * row - y0) * stride - x0
                        for column in target.columns { line[column] = sourceRow[2 * column] }
                    case .nearest:
                        let sourceRow = source.baseAddress! + (level.y.low[row] - y0) * stride - x0
                        for column in target.columns { line[column] = sourceRow[level.x.low[column]] }
                    case .average where halving:
                        // Each window is a 2 x 2 in the block, every weight 1: GDAL's sums, in its order, without lookups.
                        let top = source.baseAddress! + (2 * row - y0) * stride - x0, bottom = top + stride
                        var first = target.columns.lowerBound
                        if storage.passesValuesThrough {
                            // Four windows at a time, the same operations lane by lane (``halved(_:_:)``).
                            while first + 4 <= target.columns.upperBound {
                                let means = Self.halved(top + 2 * first, bottom + 2 * first)
                                for lane in 0..<4 { line[first + lane] = means[lane] }
                                first += 4
                            }
                        }
                        for column in first..<target.columns.upperBound {
                            let a = top[2 * column], b = top[2 * column + 1], c = bottom[2 * column], d = bottom[2 * column + 1]
                            var count = 0, first = 0.0, second = 0.0
                            if !a.isNaN { first = Double(a); count += 1 }
                            if !b.isNaN { first += Double(b); count += 1 }
                            if !c.isNaN { second = Double(c); count += 1 }
                            if !d.isNaN { second += Double(d); count += 1 }
                            var total = 0.0
                            total += first
                            total += second
                            line[column] = count == 0 ? .nan : storage.average(total: total, weight: Double(count))
                        }
                    case .average:
                        let rowInside = level.y.low[row] >= y0 && level.y.high[row] <= y1
                        for column in target.columns {
                            let inside = rowInside && level.x.low[column] >= x0 && level.x.high[column] <= x1
                            let part = level.sum(column: column, row: row, of: source, window: window, stride: stride)
                            if inside {
                                line[column] = part.count == 0 ? .nan : storage.average(total: part.total, weight: part.weight)
                            } else {
                                partials[number].append((band, local * tileSize + column - originColumn, part))
                            }
                        }
                    }
                }
            }
        }

        // Under the lock again: the parts, the counts, and the tiles this block finished.
        var finished: [(key: Int, tile: PendingTile)] = []
        level.lock.withLock {
            for (number, target) in targets.enumerated() {
                for (band, pixel, part) in partials[number] { target.tile.partial[band][pixel, default: Partial()].add(part) }
                target.tile.received += target.received
                if target.tile.received == target.tile.expected {
                    level.pending[target.key] = nil
                    level.finished += 1
                    finished.append((target.key, target.tile))
                }
            }
        }
        for (key, tile) in finished {
            let column = key % level.tilesAcross, row = key / level.tilesAcross
            let values = tile.assemble(tileSize: tileSize, stripRows: level.stripRows, storage: storage)
            tile.release(to: pool)
            try emit(Tile(level: level.index, column: column, row: row, bands: values))
            if !levelsFromFullResolution && level.index + 1 < levels.count {
                let tileWindow = Window(colOffset: column * tileSize, rowOffset: row * tileSize,
                                        width: min(tileSize, level.width - column * tileSize),
                                        height: min(tileSize, level.height - row * tileSize))
                try withBuffers(values) { try add(to: levels[level.index + 1], window: tileWindow, stride: tileSize, bands: $0) }
            }
        }
    }

    /// The means of four 2 x 2 windows side by side (`top` and `bottom` point at their first source pixels), as the
    /// scalar halving computes them for Float32 with NaN for nodata: the valid pixels (NaN ones count 0, which adds
    /// nothing: x + 0 is x, and the total starts from +0 as there), `0 + (a + b) + (c + d)` in Double, divided by
    /// their count, rounded to Float; NaN where none is valid. Bit for bit the scalar loop's values.
    @inline(__always)
    static func halved(_ top: UnsafePointer<Float>, _ bottom: UnsafePointer<Float>) -> SIMD4<Float> {
        let upper = UnsafeRawPointer(top).loadUnaligned(as: SIMD8<Float>.self)
        let lower = UnsafeRawPointer(bottom).loadUnaligned(as: SIMD8<Float>.self)
        let a = upper.evenHalf, b = upper.oddHalf, c = lower.evenHalf, d = lower.oddHalf
        let zero = SIMD4<Float>(repeating: 0), one = SIMD4<Float>(repeating: 1)
        func widened(_ x: SIMD4<Float>) -> SIMD4<Double> { SIMD4<Double>(Double(x[0]), Double(x[1]), Double(x[2]), Double(x[3])) }
        let va = a .== a, vb = b .== b, vc = c .== c, vd = d .== d
        var count = zero.replacing(with: one, where: va)
        count += zero.replacing(with: one, where: vb)
        count += zero.replacing(with: one, where: vc)
        count += zero.replacing(with: one, where: vd)
        let first: SIMD4<Double> = widened(zero.replacing(with: a, where: va)) + widened(zero.replacing(with: b, where: vb))
        let second: SIMD4<Double> = widened(zero.replacing(with: c, where: vc)) + widened(zero.replacing(with: d, where: vd))
        var total = SIMD4<Double>(repeating: 0)
        total += first
        total += second
        let mean = total / widened(count)
        let rounded = SIMD4<Float>(Float(mean[0]), Float(mean[1]), Float(mean[2]), Float(mean[3]))
        return rounded.replacing(with: Float.nan, where: count .== zero)
    }

    private func withBuffers<R>(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) throws -> R) rethrows -> R {
        var pointers: [UnsafeBufferPointer<Float>] = []
        pointers.reserveCapacity(arrays.count)
        func nest(_ index: Int) throws -> R {
            if index == arrays.count { return try body(pointers) }
            return try arrays[index].withUnsafeBufferPointer { buffer in
                pointers.append(buffer)
                return try nest(index + 1)
            }
        }
        return try nest(0)
    }
}

// MARK: - Levels, axes, tiles

extension OverviewPyramid {
    /// How the values the stages give (Float32, NaN for nodata) are stored, and how GDAL rounds a mean to the type.
    struct ValueStorage: Sendable {
        let dataType: DataType
        let noData: Double

        /// True when the stored value is the given one (Float32 with NaN for nodata).
        var passesValuesThrough: Bool { dataType == .float32 && noData.isNaN }

        /// The value as the file stores it (rounded and clamped to the type as ``PixelConversion`` does); NaN where
        /// the file holds nodata.
        func stored(_ value: Float) -> Float {
            if value.isNaN { return .nan }
            let stored: Double
            switch dataType {
            case .uint8: stored = min(max(Double(value).rounded(), 0), 255)
            case .uint16: stored = min(max(Double(value).rounded(), 0), 65535)
            case .int16: stored = min(max(Double(value).rounded(), -32768), 32767)
            case .uint32: stored = min(max(Double(value).rounded(), 0), 4_294_967_295)
            case .int32: stored = min(max(Double(value).rounded(), -2_147_483_648), 2_147_483_647)
            case .float32: stored = Double(value)
            case .float64: stored = Double(value)
            }
            if dataType == .float32 ? Float(stored) == Float(noData) : stored == noData { return .nan }
            return Float(stored)
        }

        /// GDAL 3.6's average of a window as the file stores it: Byte and UInt16 rounded half up, other integer
        /// types through Float32 (then rounded as GDAL copies them), floats as they are; a mean equal to nodata is
        /// replaced by the next value (GDALGetNoDataReplacementValue).
        @inline(__always)
        func average(total: Double, weight: Double) -> Float {
            let mean = total / weight
            if passesValuesThrough { return Float(mean) }  // Float32 with NaN for nodata: no value to move off
            switch dataType {
            case .uint8, .uint16:
                var value = (mean + 0.5).rounded(.towardZero)
                if value == noData { value = replacement }
                return Float(value)
            case .float32, .float64:
                var value = Float(mean)
                if Double(value) == noData { value = Float(replacement) }
                return value
            case .int16, .uint32, .int32:
                var value = Float(mean)
                if Double(value) == noData { value = Float(replacement) }
                return stored(value)
            }
        }

        private var replacement: Double {
            switch dataType {
            case .uint8: noData == 255 ? 254 : noData + 1
            case .uint16: noData == 65535 ? 65534 : noData + 1
            case .int16: noData == 32767 ? 32766 : noData + 1
            case .uint32: noData == 4_294_967_295 ? 4_294_967_294 : noData + 1
            case .int32: noData == 2_147_483_647 ? 2_147_483_646 : noData + 1
            case .float32:
                Float(noData) == .greatestFiniteMagnitude ? Double(Float(noData).nextDown) : Double(Float(noData).nextUp)
            case .float64: noData == .greatestFiniteMagnitude ? noData.nextDown : noData.nextUp
            }
        }
    }

    /// A partial sum of a window: GDAL's weighted total and weight of its valid pixels, and how many there were.
    struct Partial {
        var total: Double = 0
        var weight: Double = 0
        var count = 0

        mutating func add(_ other: Partial) {
            total += other.total
            weight += other.weight
            count += other.count
        }
    }

    /// The source windows of one axis of a level.
    struct Axis {
        let source: Int
        let destination: Int
        let tileSize: Int
        /// Per overview pixel: the source pixels of its window (`low..<high`; for nearest, the one it takes) and, for
        /// average, the weights of the first and the last of them.
        let low: [Int], high: [Int]
        let lowWeight: [Double], highWeight: [Double]
        /// Per tile: the source pixels that its pixels' windows cover (for nearest: up to the next tile's first pick).
        let spans: [Range<Int>]

        init(source: Int, destination: Int, tileSize: Int, method: Method) {
            self.source = source
            self.destination = destination
            self.tileSize = tileSize
            let ratio = Double(source) / Double(destination)
            var low = [Int](repeating: 0, count: destination), high = low
            var lowWeight = [Double](repeating: 1, count: destination), highWeight = lowWeight
            for i in 0..<destination {
                switch method {
                case .nearest:
                    // GDALResampleChunk_Near: static_cast<int>(0.5 + iDstPixel * dfXRatioDstToSrc).
                    low[i] = min(Int(0.5 + Double(i) * ratio), source - 1)
                    high[i] = low[i] + 1
                case .average:
                    // GDALResampleChunk_AverageOrRMS: the window, its epsilon, and the weights of its ends.
                    let start = Double(i) * ratio, end = Double(i + 1) * ratio
                    let first = Int(start + 1e-8)
                    var last = Int((end - 1e-8).rounded(.up))
                    if last == first { last += 1 }
                    last = min(last, source)
                    low[i] = first
                    high[i] = last
                    lowWeight[i] = last == first + 1 ? 1 : 1 - (start - Double(first))
                    highWeight[i] = 1 - (Double(last) - end)
                }
            }
            var spans: [Range<Int>] = []
            let tiles = (destination + tileSize - 1) / tileSize
            for tile in 0..<tiles {
                let firstPixel = tile * tileSize, lastPixel = min((tile + 1) * tileSize, destination) - 1
                switch method {
                case .nearest: spans.append(low[firstPixel]..<(lastPixel + 1 < destination ? low[lastPixel + 1] : source))
                case .average: spans.append(low[firstPixel]..<high[lastPixel])
                }
            }
            if method == .nearest, let first = spans.first {
                spans[0] = 0..<first.upperBound  // the source pixels before the first pick belong to no window; count them here
            }
            self.low = low
            self.high = high
            self.lowWeight = lowWeight
            self.highWeight = highWeight
            self.spans = spans
        }

        func sourceSpan(ofTile tile: Int) -> Range<Int> { spans[tile] }

        /// The overview pixels whose windows hold a pixel of `sources`.
        func destinations(touching sources: Range<Int>) -> Range<Int> {
            // first i with high[i] > lower bound; last i with low[i] < upper bound (both arrays never decrease)
            var a = 0, b = destination
            while a < b { let m = (a + b) / 2; if high[m] > sources.lowerBound { b = m } else { a = m + 1 } }
            let first = a
            a = first; b = destination
            while a < b { let m = (a + b) / 2; if low[m] < sources.upperBound { a = m + 1 } else { b = m } }
            return first..<max(first, a)
        }

        /// The tiles whose source spans meet `sources`.
        func tiles(touching sources: Range<Int>) -> [Int] {
            spans.indices.filter { spans[$0].overlaps(sources) }
        }
    }

    final class Level {
        let index: Int
        let width: Int, height: Int
        let x: Axis, y: Axis
        let tilesAcross: Int, tilesDown: Int
        /// True when both sizes are exactly halved: window `i` is source pixels `2i` and `2i + 1`, weights 1.
        let halves: Bool
        let stripRows: Int
        let lock = NSLock()
        /// Tiles with some of their source pixels arrived, by `row × tilesAcross + column`. Guarded by `lock`.
        var pending: [Int: PendingTile] = [:]
        var finished = 0

        init(index: Int, sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, tileSize: Int, stripRows: Int, method: Method) {
            self.index = index
            self.width = width
            self.height = height
            x = Axis(source: sourceWidth, destination: width, tileSize: tileSize, method: method)
            y = Axis(source: sourceHeight, destination: height, tileSize: tileSize, method: method)
            tilesAcross = (width + tileSize - 1) / tileSize
            tilesDown = (height + tileSize - 1) / tileSize
            halves = sourceWidth == 2 * width && sourceHeight == 2 * height
            self.stripRows = stripRows
        }

        /// GDAL's weighted sums over the part of the window of overview pixel (`column`, `row`) that lies in the block,
        /// in GDAL's order (by source row, each row's pixels first).
        @inline(__always)
        func sum(column: Int, row: Int, of source: UnsafeBufferPointer<Float>, window: Window, stride: Int) -> Partial {
            let xLow = x.low[column], xHigh = x.high[column], yLow = y.low[row], yHigh = y.high[row]
            let firstColumn = max(xLow, window.colOffset), endColumn = min(xHigh, window.colOffset + window.width)
            let firstRow = max(yLow, window.rowOffset), endRow = min(yHigh, window.rowOffset + window.height)
            var part = Partial()
            guard firstColumn < endColumn && firstRow < endRow else { return part }
            let base = source.baseAddress!
            if xHigh - xLow == 2 && yHigh - yLow == 2 && x.lowWeight[column] == 1 && x.highWeight[column] == 1
                && y.lowWeight[row] == 1 && y.highWeight[row] == 1 && firstColumn == xLow && endColumn == xHigh
                && firstRow == yLow && endRow == yHigh {
                // A halving's 2 × 2 window, whole in the block: every weight is 1.
                let top = base + (yLow - window.rowOffset) * stride + (xLow - window.colOffset)
                let a = top[0], b = top[1], c = top[stride], d = top[stride + 1]
                var line = 0.0, lineWeight = 0.0
                if !a.isNaN { line = Double(a); lineWeight = 1; part.count += 1 }
                if !b.isNaN { line += Double(b); lineWeight += 1; part.count += 1 }
                part.total = line
                part.weight = lineWeight
                line = 0; lineWeight = 0
                if !c.isNaN { line = Double(c); lineWeight = 1; part.count += 1 }
                if !d.isNaN { line += Double(d); lineWeight += 1; part.count += 1 }
                part.total += line
                part.weight += lineWeight
                return part
            }
            for sourceRow in firstRow..<endRow {
                let rowWeight = sourceRow == yLow ? y.lowWeight[row] : (sourceRow + 1 == yHigh ? y.highWeight[row] : 1)
                let line = base + (sourceRow - window.rowOffset) * stride - window.colOffset
                var total = 0.0, weight = 0.0
                for sourceColumn in firstColumn..<endColumn {
                    let value = line[sourceColumn]
                    guard !value.isNaN else { continue }
                    let columnWeight = sourceColumn == xLow ? x.lowWeight[column] : (sourceColumn + 1 == xHigh ? x.highWeight[column] : 1)
                    total += Double(value) * columnWeight
                    weight += columnWeight
                    part.count += 1
                }
                part.total += total * rowWeight
                part.weight += weight * rowWeight
            }
            return part
        }
    }

    /// An overview tile some of whose source pixels have arrived.
    final class PendingTile {
        let expected: Int
        /// Source pixels arrived so far; the tile is finished when it reaches `expected`.
        var received = 0
        /// [band][strip]: finished values, `stripRows` rows of `tileSize` each, allocated when a pixel of theirs comes.
        private var strips: [[UnsafeMutablePointer<Float>?]]
        /// [band]: sums of windows cut by a block edge, by pixel (`row × tileSize + column`).
        var partial: [[Int: Partial]]

        init(expected: Int, bandCount: Int, strips count: Int) {
            self.expected = expected
            strips = Array(repeating: Array(repeating: nil, count: count), count: bandCount)
            partial = Array(repeating: [:], count: bandCount)
        }

        /// The strip, allocated (NaN-filled) on first use. Called under the level's lock.
        func strip(band: Int, _ index: Int, from pool: StripPool) -> UnsafeMutablePointer<Float> {
            if let strip = strips[band][index] { return strip }
            let strip = pool.take()
            strips[band][index] = strip
            return strip
        }

        /// The tile's values, `tileSize × tileSize` per band: the strips, the summed windows' means, NaN elsewhere.
        func assemble(tileSize: Int, stripRows: Int, storage: ValueStorage) -> [[Float]] {
            strips.indices.map { band in
                var values = [Float](repeating: .nan, count: tileSize * tileSize)
                values.withUnsafeMutableBufferPointer { out in
                    for (index, strip) in strips[band].enumerated() {
                        guard let strip else { continue }
                        let rows = min(stripRows, tileSize - index * stripRows)
                        (out.baseAddress! + index * stripRows * tileSize).update(from: strip, count: rows * tileSize)
                    }
                    for (pixel, part) in partial[band] {
                        out[pixel] = part.count == 0 ? .nan : storage.average(total: part.total, weight: part.weight)
                    }
                }
                return values
            }
        }

        func release(to pool: StripPool) {
            for band in strips.indices {
                for index in strips[band].indices {
                    if let strip = strips[band][index] { pool.give(strip) }
                    strips[band][index] = nil
                }
            }
            partial = []
        }
    }

    /// Strips of tile rows, reused: the pyramid holds at most the strips of its unfinished tiles.
    final class StripPool: @unchecked Sendable {  // `free` guarded by `lock`
        let values: Int
        private let lock = NSLock()
        private var free: [UnsafeMutablePointer<Float>] = []

        init(values: Int) { self.values = values }

        func take() -> UnsafeMutablePointer<Float> {
            let strip = lock.withLock { free.popLast() } ?? UnsafeMutablePointer<Float>.allocate(capacity: values)
            strip.initialize(repeating: .nan, count: values)
            return strip
        }

        func give(_ strip: UnsafeMutablePointer<Float>) { lock.withLock { free.append(strip) } }

        deinit { for strip in free { strip.deallocate() } }
    }
}
