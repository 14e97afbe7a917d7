/// Normalised-difference spectral indices on Float32 pixel buffers, with NaN as nodata.
///
/// Every function here is pure Swift over buffers, so it can be tested and reused without GDAL.
public enum SpectralIndex {
    /// Writes `(a − b) / (a + b)` for each pixel: NDVI is `(NIR − Red) / (NIR + Red)`.
    ///
    /// A pixel is NaN (nodata) where either input is NaN or infinite, or where `a + b` is zero.
    /// The arithmetic runs in Double so that Float32 inputs give the correctly rounded Float32 result.
    /// - Complexity: O(n), one pass; the loop vectorises.
    public static func normalizedDifference(
        _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(a.count == b.count && output.count >= a.count, "index buffers must have the same length")
        for i in 0..<a.count {
            let x = Double(a[i]), y = Double(b[i])
            let sum = x + y
            let value = (x - y) / sum
            output[i] = (sum == 0 || !value.isFinite) ? .nan : Float(value)
        }
    }

    /// Array convenience over ``normalizedDifference(_:_:into:)``.
    public static func normalizedDifference(_ a: [Float], _ b: [Float]) -> [Float] {
        var output = [Float](repeating: .nan, count: a.count)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                output.withUnsafeMutableBufferPointer { normalizedDifference(pa, pb, into: $0) }
            }
        }
        return output
    }
}

extension SpectralIndex {
    /// Bare soil index `((SWIR1 + Red) − (NIR + Blue)) / ((SWIR1 + Red) + (NIR + Blue))`; NaN where undefined.
    /// - Complexity: O(n).
    public static func bareSoil(swir1: UnsafeBufferPointer<Float>, red: UnsafeBufferPointer<Float>,
                                nir: UnsafeBufferPointer<Float>, blue: UnsafeBufferPointer<Float>,
                                into output: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<output.count {
            let a = Double(swir1[i]) + Double(red[i]), b = Double(nir[i]) + Double(blue[i])
            output[i] = finite((a - b) / (a + b), denominator: a + b)
        }
    }

    /// Soil-adjusted vegetation index `(1 + L)(NIR − Red) / (NIR + Red + L)`, L = 0.5 by default.
    /// - Complexity: O(n).
    public static func soilAdjusted(nir: UnsafeBufferPointer<Float>, red: UnsafeBufferPointer<Float>, l: Double,
                                    into output: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<output.count {
            let n = Double(nir[i]), r = Double(red[i])
            let denominator = n + r + l
            output[i] = finite((1 + l) * (n - r) / denominator, denominator: denominator)
        }
    }

    /// Enhanced vegetation index `G(NIR − Red) / (NIR + C1·Red − C2·Blue + L)`, G = 2.5, C1 = 6, C2 = 7.5, L = 1.
    /// - Complexity: O(n).
    public static func enhancedVegetation(nir: UnsafeBufferPointer<Float>, red: UnsafeBufferPointer<Float>,
                                          blue: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<output.count {
            let n = Double(nir[i]), r = Double(red[i]), b = Double(blue[i])
            let denominator = n + 6 * r - 7.5 * b + 1
            output[i] = finite(2.5 * (n - r) / denominator, denominator: denominator)
        }
    }

    /// NaN when the denominator is zero or the value is not finite (a NaN input propagates to here).
    @inline(__always)
    static func finite(_ value: Double, denominator: Double) -> Float {
        (denominator == 0 || !value.isFinite) ? .nan : Float(value)
    }
}

/// Turns stored digital numbers into physical values: `value = dn · scale + offset`, nodata to NaN.
public enum Rescale {
    /// Applies scale and offset in place; pixels equal to `noData`, and non-finite pixels, become NaN.
    /// - Complexity: O(n), one pass.
    public static func apply(_ values: UnsafeMutableBufferPointer<Float>, scale: Double, offset: Double, noData: Double?) {
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
    }
}
