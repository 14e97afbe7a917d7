/// Moving-window statistics (mean, standard deviation, deviation from the mean) over a square window, with
/// nodata (NaN) left out of every window; the texture and terrain-position features of a land-cover model.
///
/// Sums come from summed-area tables, so a window of any size costs the same four lookups per pixel. The tables are
/// kept as unevaluated sums of two doubles (a value and the rounding error of every addition that made it, Ogita,
/// Rump and Oishi's Sum2), so a window's sum is the exact sum of its pixels rounded once: the result does not depend
/// on where the tile starts. With plain doubles it did, by one unit in the last place of Float32, so a scene cut
/// into shards, or run with another block size, gave features (and then trained models) slightly unlike the whole.
public struct FocalStatistics {
    public enum Statistic: String, CaseIterable, Sendable {
        case mean, std, dev
    }

    public let width: Int
    public let height: Int
    private var sum: [Double]
    private var sumError: [Double]
    private var squares: [Double]
    private var squaresError: [Double]
    private var counts: [Int32]

    /// Bytes the tables of a tile of `values` values take.
    public static func tableBytes(values: Int) -> Int { values * (4 * MemoryLayout<Double>.size + MemoryLayout<Int32>.size) }

    /// `a + b` and the rounding error of that addition (Knuth's TwoSum): `a + b == s + e` exactly.
    @inline(__always)
    static func twoSum(_ a: Double, _ b: Double) -> (s: Double, e: Double) {
        let s = a + b
        let bb = s - a
        return (s, (a - (s - bb)) + (b - bb))
    }

    /// Builds the tables of a tile of `width` x `height` values (row-major, NaN for nodata).
    public init(values: UnsafeBufferPointer<Float>, width: Int, height: Int) {
        precondition(values.count >= width * height, "the tile holds fewer values than its size")
        self.width = width
        self.height = height
        let stride = width + 1
        var sum = [Double](repeating: 0, count: stride * (height + 1))
        var sumError = sum, squares = sum, squaresError = sum
        var counts = [Int32](repeating: 0, count: stride * (height + 1))
        for y in 0..<height {
            var rowSum = 0.0, rowSumError = 0.0, rowSquares = 0.0, rowSquaresError = 0.0
            var rowCount: Int32 = 0
            for x in 0..<width {
                let v = values[y * width + x]
                if v.isFinite {
                    let d = Double(v)
                    let (s, e) = Self.twoSum(rowSum, d)
                    rowSum = s
                    rowSumError += e
                    // A Float times itself is exact in a Double (24-bit significands).
                    let (q, f) = Self.twoSum(rowSquares, d * d)
                    rowSquares = q
                    rowSquaresError += f
                    rowCount += 1
                }
                let at = (y + 1) * stride + x + 1, above = y * stride + x + 1
                let (s, e) = Self.twoSum(sum[above], rowSum)
                sum[at] = s
                sumError[at] = sumError[above] + rowSumError + e
                let (q, f) = Self.twoSum(squares[above], rowSquares)
                squares[at] = q
                squaresError[at] = squaresError[above] + rowSquaresError + f
                counts[at] = counts[above] + rowCount
            }
        }
        self.sum = sum
        self.sumError = sumError
        self.squares = squares
        self.squaresError = squaresError
        self.counts = counts
    }

    /// `t[d] - t[b] - t[c] + t[a]` of a table and its error terms, rounded once.
    @inline(__always)
    static func window(_ t: [Double], _ errors: [Double], _ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Double {
        let (s1, e1) = twoSum(t[d], -t[b])
        let (s2, e2) = twoSum(s1, -t[c])
        let (s3, e3) = twoSum(s2, t[a])
        return s3 + (((errors[d] - errors[b]) - errors[c] + errors[a]) + (e1 + e2 + e3))
    }

    /// The statistic over the `size` x `size` window centred on (x, y), the window cut at the tile's edges;
    /// NaN when the window holds no value, or when the centre has none and the statistic is `dev`.
    public func value(_ statistic: Statistic, size: Int, x: Int, y: Int, centre: Float) -> Float {
        let radius = size / 2
        let x0 = max(x - radius, 0), x1 = min(x + radius + 1, width)
        let y0 = max(y - radius, 0), y1 = min(y + radius + 1, height)
        let stride = width + 1
        let a = y0 * stride + x0, b = y0 * stride + x1, c = y1 * stride + x0, d = y1 * stride + x1
        let n = counts[d] - counts[b] - counts[c] + counts[a]
        guard n > 0 else { return .nan }
        let mean = Self.window(sum, sumError, a, b, c, d) / Double(n)
        switch statistic {
        case .mean:
            return Float(mean)
        case .dev:
            return centre.isFinite ? Float(Double(centre) - mean) : .nan
        case .std:
            let meanSquare = Self.window(squares, squaresError, a, b, c, d) / Double(n)
            return Float(max(meanSquare - mean * mean, 0).squareRoot())
        }
    }
}
