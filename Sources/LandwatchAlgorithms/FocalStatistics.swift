/// Moving-window statistics (mean, standard deviation, deviation from the mean) over a square window, with
/// nodata (NaN) left out of every window; the texture and terrain-position features of a land-cover model.
///
/// Sums come from summed-area tables, so a window of any size costs the same four lookups per pixel.
public struct FocalStatistics {
    public enum Statistic: String, CaseIterable, Sendable {
        case mean, std, dev
    }

    public let width: Int
    public let height: Int
    private var sum: [Double]
    private var squares: [Double]
    private var counts: [Int32]

    /// Builds the tables of a tile of `width` x `height` values (row-major, NaN for nodata).
    public init(values: UnsafeBufferPointer<Float>, width: Int, height: Int) {
        precondition(values.count >= width * height, "the tile holds fewer values than its size")
        self.width = width
        self.height = height
        let stride = width + 1
        var sum = [Double](repeating: 0, count: stride * (height + 1))
        var squares = sum
        var counts = [Int32](repeating: 0, count: stride * (height + 1))
        for y in 0..<height {
            var rowSum = 0.0, rowSquares = 0.0
            var rowCount: Int32 = 0
            for x in 0..<width {
                let v = values[y * width + x]
                if v.isFinite {
                    let d = Double(v)
                    rowSum += d
                    rowSquares += d * d
                    rowCount += 1
                }
                let at = (y + 1) * stride + x + 1, above = y * stride + x + 1
                sum[at] = sum[above] + rowSum
                squares[at] = squares[above] + rowSquares
                counts[at] = counts[above] + rowCount
            }
        }
        self.sum = sum
        self.squares = squares
        self.counts = counts
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
        let mean = (sum[d] - sum[b] - sum[c] + sum[a]) / Double(n)
        switch statistic {
        case .mean:
            return Float(mean)
        case .dev:
            return centre.isFinite ? Float(Double(centre) - mean) : .nan
        case .std:
            let meanSquare = (squares[d] - squares[b] - squares[c] + squares[a]) / Double(n)
            return Float(max(meanSquare - mean * mean, 0).squareRoot())
        }
    }
}
