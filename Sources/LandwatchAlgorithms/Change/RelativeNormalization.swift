import Foundation

/// Relative radiometric normalisation of a later date onto an earlier one, band by band, fitted on the pixels that
/// did not change (pseudo-invariant features), chosen automatically.
///
/// The method is an iterated robust orthogonal regression, in the spirit of IR-MAD's no-change weighting (Canty &
/// Nielsen 2008) without the canonical transformation: start from every sampled pixel; fit `reference = gain ×
/// subject + offset` per band by orthogonal (major-axis) regression on the current invariant set; standardise each
/// band's residual by its robust spread (1.4826 × MAD); a pixel stays invariant while the sum of its squared
/// standardised residuals is under the chi-square quantile of `probability` for as many degrees of freedom as bands
/// (its no-change probability is at least 1 − `probability`); iterate until the set stops changing. Real change
/// (construction, a cleared field) has large residuals in several bands at once and drops out of the set after the
/// first iteration; a gain, an offset and noise do not. A band whose dates correlate under 0.8 on the invariant pixels
/// (noise a large part of its contrast: blue or red over forest) gets no gain, only an offset (see ``BandFit/regressed``).
public enum RelativeNormalization {
    /// The fit of one band.
    public struct BandFit: Sendable, Codable, Equatable {
        public var band: String
        /// `normalised = gain × subject + offset`.
        public var gain: Double
        public var offset: Double
        /// Root-mean-square residual over the invariant pixels, in the band's units.
        public var residualRMS: Double
        /// Robust spread (1.4826 × MAD) of the residual over the invariant pixels.
        public var residualSigma: Double
        /// Correlation of the two dates over the invariant pixels.
        public var correlation: Double
        /// False when the band correlated under `regressionCorrelation`: noise is much of its contrast and a
        /// regression would shrink it towards a constant (dark forest in blue: gain 0.06), so it is only shifted
        /// (gain 1, offset from the medians of the invariant pixels).
        public var regressed: Bool = true
    }

    /// The fit of every band, and how it was found.
    public struct Fit: Sendable, Codable, Equatable {
        public var bands: [BandFit]
        /// Pixels sampled (valid in every band of both dates).
        public var sampledPixels: Int
        /// Sampled pixels kept as invariant at the end.
        public var invariantPixels: Int
        public var iterations: Int
        public var invariantShare: Double { sampledPixels > 0 ? Double(invariantPixels) / Double(sampledPixels) : 0 }
    }

    /// Why no fit can be trusted.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Fits `subject` onto `reference`. Both are band-major samples of the same pixels (`reference[b][i]` and
    /// `subject[b][i]` are band `b` of pixel `i`), every value finite. Throws when fewer than `minimumShare` of the
    /// pixels (or fewer than `minimumPixels`) stay invariant, or when the invariant pixels of most bands correlate less
    /// than `minimumCorrelation` between the dates: a flooded or snow-covered date, or another place.
    public static func fit(reference: [[Float]], subject: [[Float]], bandNames: [String], probability: Double = 0.99,
                           maxIterations: Int = 20, minimumShare: Double = 0.1, minimumPixels: Int = 50,
                           minimumCorrelation: Double = 0.5, regressionCorrelation: Double = 0.8) throws(Problem) -> Fit {
        precondition(reference.count == subject.count && reference.count == bandNames.count && !reference.isEmpty)
        let count = reference[0].count
        let bandCount = reference.count
        guard count >= minimumPixels else {
            throw Problem("only \(count) pixels are valid on both dates (at least \(minimumPixels) are needed to fit the later date to the earlier one)")
        }
        let limit = chiSquareQuantile(probability: probability, degreesOfFreedom: bandCount)
        var invariant = [Bool](repeating: true, count: count)
        var fits = [(gain: Double, offset: Double, sigma: Double, centre: Double, correlation: Double, regressed: Bool)](
            repeating: (1, 0, 1, 0, 1, true), count: bandCount)
        var iterations = 0
        var residuals = [[Float]](repeating: [Float](repeating: 0, count: count), count: bandCount)
        while iterations < maxIterations {
            iterations += 1
            for band in 0..<bandCount {
                let x = subject[band], y = reference[band]
                var n = 0.0, sx = 0.0, sy = 0.0
                for i in 0..<count where invariant[i] { n += 1; sx += Double(x[i]); sy += Double(y[i]) }
                guard n >= 2 else { break }
                let mx = sx / n, my = sy / n
                var sxx = 0.0, syy = 0.0, sxy = 0.0
                for i in 0..<count where invariant[i] {
                    let dx = Double(x[i]) - mx, dy = Double(y[i]) - my
                    sxx += dx * dx; syy += dy * dy; sxy += dx * dy
                }
                // Orthogonal regression: the major axis of the scatter (equal error in both dates).
                var gain = 1.0
                if abs(sxy) > 1e-12 * max(sxx, syy, 1e-30) {
                    gain = (syy - sxx + ((syy - sxx) * (syy - sxx) + 4 * sxy * sxy).squareRoot()) / (2 * sxy)
                }
                if !gain.isFinite || gain <= 0 { gain = sxx > 0 ? max(sxy / sxx, 1e-6) : 1 }
                var offset = my - gain * mx
                let correlation = sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : (sxx == syy ? 1 : 0)
                // A band the dates agree on less than `regressionCorrelation` (0.8: the real Slovenian pair regresses blue
                // correctly at 0.88, gain 1.16 like its other bands; the harness's noisy forest shrank blue to 0.62 at 0.78):
                // noise is a large part of its contrast, and
                // a regression shrinks the band towards a constant (noise of 0.004 on dark forest gave red a gain of
                // 0.43 for a true 1.0, blue 0.06, and planted roofs came out forest). Such a band is shifted only, by
                // the medians of the invariant pixels: a gain error then scales only the band's small contrast.
                let weak = correlation < regressionCorrelation
                if weak {
                    var xs: [Float] = [], ys: [Float] = []
                    xs.reserveCapacity(Int(n))
                    ys.reserveCapacity(Int(n))
                    for i in 0..<count where invariant[i] { xs.append(x[i]); ys.append(y[i]) }
                    gain = 1
                    offset = median(ys) - median(xs)
                }
                var inside: [Float] = []
                inside.reserveCapacity(Int(n))
                for i in 0..<count {
                    let r = Float(Double(y[i]) - (gain * Double(x[i]) + offset))
                    residuals[band][i] = r
                    if invariant[i] { inside.append(r) }
                }
                let sigma = max(robustSigma(inside), 1e-6 * max(abs(my), 1e-3))
                fits[band] = (gain, offset, sigma, median(inside), correlation, !weak)
            }
            var changed = 0
            var kept = 0
            for i in 0..<count {
                var chi = 0.0
                for band in 0..<bandCount {
                    let z = (Double(residuals[band][i]) - fits[band].centre) / fits[band].sigma
                    chi += z * z
                }
                let now = chi < limit
                if now != invariant[i] { changed += 1 }
                invariant[i] = now
                if now { kept += 1 }
            }
            if kept < 2 { break }
            if Double(changed) <= 0.001 * Double(count) { break }
        }
        let kept = invariant.reduce(0) { $0 + ($1 ? 1 : 0) }
        let share = Double(kept) / Double(count)
        guard kept >= minimumPixels, share >= minimumShare else {
            throw Problem("only \(kept) of \(count) sampled pixels (\(String(format: "%.1f", share * 100)) %) look unchanged between the dates, "
                          + "under the \(String(format: "%.0f", minimumShare * 100)) % needed to fit the later date to the earlier one (a flooded, snow-covered or cloudy date, or another place?)")
        }
        // The dates must agree on the invariant pixels in most bands: a band with little contrast (blue over forest)
        // may correlate weakly on its own, a flooded or snow-covered date or another place disagrees in all.
        let correlations = fits.map(\.correlation).sorted()
        let typical = correlations[correlations.count / 2]
        guard typical >= minimumCorrelation else {
            let listed = zip(bandNames, fits).map { "\($0) \(String(format: "%.2f", $1.correlation))" }.joined(separator: ", ")
            throw Problem("the dates hardly agree on the pixels taken as unchanged: the bands correlate \(listed) between them, "
                          + "under the \(String(format: "%.2f", minimumCorrelation)) needed in most bands (another place, a flooded or snow-covered date?)")
        }
        var bands: [BandFit] = []
        for band in 0..<bandCount {
            var sum = 0.0
            for i in 0..<count where invariant[i] { sum += Double(residuals[band][i]) * Double(residuals[band][i]) }
            bands.append(BandFit(band: bandNames[band], gain: fits[band].gain, offset: fits[band].offset,
                                 residualRMS: (sum / Double(kept)).squareRoot(), residualSigma: fits[band].sigma,
                                 correlation: fits[band].correlation, regressed: fits[band].regressed))
        }
        return Fit(bands: bands, sampledPixels: count, invariantPixels: kept, iterations: iterations)
    }

    /// 1.4826 × the median absolute deviation from the median: the standard deviation of normal data, robust to
    /// outliers (up to half of the values).
    public static func robustSigma(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return 0 }
        let thinned = thin(values)
        let median = Self.median(thinned)
        return 1.4826 * Self.median(thinned.map { abs($0 - Float(median)) })
    }

    /// At most `limit` values, taken at an even stride (the order statistics of a large sample move by well under a
    /// percent of the spread, and the result still depends on the values only, not on how they were gathered).
    static func thin(_ values: [Float], limit: Int = 50_001) -> [Float] {
        guard values.count > limit else { return values }
        let stride = Double(values.count) / Double(limit)
        return (0..<limit).map { values[Int(Double($0) * stride)] }
    }

    /// The median of finite values (the mean of the two middle ones for an even count), of at most 50,001 of them
    /// taken at an even stride.
    public static func median(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return .nan }
        var sorted = thin(values)
        sorted.sort()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? Double(sorted[mid]) : (Double(sorted[mid - 1]) + Double(sorted[mid])) / 2
    }

    /// The `probability` quantile of the chi-square distribution (Wilson–Hilferty approximation, within 1 % for
    /// one degree of freedom and better above).
    public static func chiSquareQuantile(probability: Double, degreesOfFreedom k: Int) -> Double {
        let z = normalQuantile(probability)
        let a = 2 / (9 * Double(k))
        let base = 1 - a + z * a.squareRoot()
        return Double(k) * base * base * base
    }

    /// The standard normal quantile (Acklam's rational approximation, relative error under 1.2e-9).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }

    /// Whether pixel (`row`, `column`) of a grid `width` wide is in the sample: a hash of its position against a
    /// threshold, so that the sample does not depend on how the grid is cut into blocks or shards.
    @inline(__always)
    public static func isSampled(row: Int, column: Int, width: Int, oneIn: Int) -> Bool {
        guard oneIn > 1 else { return true }
        return hash(UInt64(truncatingIfNeeded: row &* width &+ column)) % UInt64(oneIn) == 0
    }

    @inline(__always)
    static func hash(_ value: UInt64) -> UInt64 {
        var h = value &+ 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }
}

/// About `target` pixels of a grid, chosen by their positions (never by the tiling, so blocks, tiles and shards
/// sample the same pixels), for the statistics measured before a pass (the normalisation's fit, the change
/// evidence's no-change spread).
///
/// A large grid is sampled in a share of its 512 x 512 **cells**: one cell of every `cellOneIn` consecutive ones
/// (in row order, which one by a hash), at least 64 cells, and one pixel in `oneIn` of those cells by a hash of the
/// pixel's position. A sampler then reads only the tiles that touch a sampled cell: on a 10980² scene 69 of 484
/// cells, a seventh of the reading of a sample spread over every tile, which was most of what the two samples cost.
/// A grid of fewer than 128 cells (under about 5800²) is sampled in every cell, pixel by pixel as before.
public struct PositionSample: Sendable, Equatable {
    public static let cellSize = 512
    /// Sampled cells are at least this many.
    static let minimumCells = 64

    public let width: Int, height: Int
    /// One pixel in this many of a sampled cell.
    public let oneIn: Int
    /// One cell in this many.
    public let cellOneIn: Int
    let cellsAcross: Int

    public init(width: Int, height: Int, target: Int) {
        self.width = width
        self.height = height
        cellsAcross = (width + Self.cellSize - 1) / Self.cellSize
        let cells = cellsAcross * ((height + Self.cellSize - 1) / Self.cellSize)
        cellOneIn = max(1, cells / Self.minimumCells)
        let pixels = Double(width) * Double(height) / Double(cellOneIn)
        oneIn = max(1, Int((pixels / Double(max(target, 1))).rounded(.down)))
    }

    /// Whether the cell at (`cellRow`, `cellColumn`) is sampled.
    @inline(__always)
    public func isSampled(cellRow: Int, cellColumn: Int) -> Bool {
        guard cellOneIn > 1 else { return true }
        let index = cellRow * cellsAcross + cellColumn
        let group = index / cellOneIn
        return UInt64(index % cellOneIn) == RelativeNormalization.hash(UInt64(group) &+ 0x5EED) % UInt64(cellOneIn)
    }

    /// Whether pixel (`row`, `column`) is in the sample.
    @inline(__always)
    public func isSampled(row: Int, column: Int) -> Bool {
        isSampled(cellRow: row / Self.cellSize, cellColumn: column / Self.cellSize)
            && RelativeNormalization.isSampled(row: row, column: column, width: width, oneIn: oneIn)
    }

    /// Whether any pixel of `rows` x `columns` may be sampled (a sampler skips the tiles that touch no sampled cell).
    public func touches(rows: Range<Int>, columns: Range<Int>) -> Bool {
        guard cellOneIn > 1 else { return true }
        guard !rows.isEmpty, !columns.isEmpty else { return false }
        for cellRow in (rows.lowerBound / Self.cellSize)...((rows.upperBound - 1) / Self.cellSize) {
            for cellColumn in (columns.lowerBound / Self.cellSize)...((columns.upperBound - 1) / Self.cellSize)
            where isSampled(cellRow: cellRow, cellColumn: cellColumn) {
                return true
            }
        }
        return false
    }
}

/// Per-pixel evidence of change between two dates, against the scene's own no-change spread.
///
/// For a pixel of the later date, the evidence is the smallest, over the earlier date's pixels within `radius`, of
/// the root-mean-square over bands of `(after − before − centre) / sigma`: how many no-change standard deviations the
/// pixel is from the most similar earlier pixel around it. Taking the most similar neighbour makes a one-pixel
/// misregistration no evidence of change; dividing by the no-change spread (measured on the scene itself) makes one
/// threshold work on digital numbers, TOA and surface reflectance alike.
public struct ChangeEvidence: Sendable, Equatable, Codable {
    /// Per band: the median difference (after − before) over unchanged pixels, and its robust spread.
    public var centre: [Float]
    public var sigma: [Float]
    public var radius: Int

    public init(centre: [Float], sigma: [Float], radius: Int) {
        precondition(centre.count == sigma.count)
        self.centre = centre
        self.sigma = sigma.map { max($0, 1e-6) }
        self.radius = radius
    }

    /// The no-change centre and spread of each band from sampled differences `after − before` of pixels whose
    /// classes did not change (band-major). `magnitudes` (the median absolute value of each band, when known) floor
    /// the spread at 0.5 % of it: two copies of one image have no spread at all, and a change of a thousandth of the
    /// signal is not evidence of anything on the ground.
    public static func noChange(differences: [[Float]], magnitudes: [Float]? = nil, radius: Int) -> ChangeEvidence {
        let sigma = differences.enumerated().map { band, values -> Float in
            let floor = magnitudes.map { 0.005 * abs($0[band]) } ?? 0
            return max(Float(RelativeNormalization.robustSigma(values)), floor)
        }
        return ChangeEvidence(centre: differences.map { Float(RelativeNormalization.median($0)) }, sigma: sigma, radius: radius)
    }

    /// The evidence at one pixel. `before[b]` is band `b` of the earlier date over a window `haloWidth` wide whose
    /// pixel (`haloRow`, `haloColumn`) is the pixel; rows `0..<haloHeight`. `after[b]` is band `b` of the later date at
    /// the pixel. NaN when the pixel or every neighbour lacks a value.
    @inline(__always)
    public func evidence(after: [Float], before: [UnsafeBufferPointer<Float>], haloWidth: Int, haloHeight: Int,
                         haloRow: Int, haloColumn: Int) -> Float {
        let bands = sigma.count
        for b in 0..<bands where !after[b].isFinite { return .nan }
        var best = Float.infinity
        let r0 = max(haloRow - radius, 0), r1 = min(haloRow + radius, haloHeight - 1)
        let c0 = max(haloColumn - radius, 0), c1 = min(haloColumn + radius, haloWidth - 1)
        for r in r0...r1 {
            for c in c0...c1 {
                let index = r * haloWidth + c
                var sum: Float = 0
                var valid = true
                for b in 0..<bands {
                    let v = before[b][index]
                    guard v.isFinite else { valid = false; break }
                    let z = (after[b] - v - centre[b]) / sigma[b]
                    sum += z * z
                }
                if valid, sum < best { best = sum }
            }
        }
        return best.isFinite ? (best / Float(bands)).squareRoot() : .nan
    }

    /// A patch's change score, 0–100, from the mean evidence of its pixels and its mean confidence (%): 50 at the
    /// evidence threshold, 75 at twice it, approaching 100 beyond, scaled by the confidence.
    public static func score(meanEvidence: Double?, threshold: Double, meanConfidence: Double) -> Int {
        let confidence = min(max(meanConfidence, 0), 100) / 100
        guard let meanEvidence, meanEvidence.isFinite, threshold > 0 else {
            return Int((50 * confidence).rounded())
        }
        let evidence = 1 - pow(2, -meanEvidence / threshold)
        return Int((100 * evidence * confidence).rounded())
    }
}
