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
