import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `normalize.relative`: the later date fitted to the earlier one band by band on the pixels that did not change,
/// so that two dates are comparable before they are compared (a sensor's gain, the atmosphere, the sun).
///
/// Two passes over blocks: the first samples pixels valid on both dates (a hash of the pixel's position, so the sample
/// does not depend on the tiling) and fits gains and offsets by iterated robust orthogonal regression
/// (``RelativeNormalization``); the second writes `gain × value + offset` for every band. The fit (gains, offsets,
/// the share of invariant pixels, the residual per band) is recorded in run.json under the stage.
public struct NormalizeStage: NeighbourhoodStage {
    /// What happens when no fit can be trusted.
    public enum FailureChoice: String, OptionChoice {
        case error, warn
    }

    public static let bandList = Option<OptionList?>(
        "bands", help: "bands to fit, comma-separated (default: every band of the subject); others pass through unchanged")
    public static let probability = Option<Double>(
        "probability", default: 0.99, range: 0.5...0.999999,
        help: "a pixel is taken as unchanged while its standardised residual is under the chi-square quantile of this probability")
    public static let minInvariantShare = Option<Double>(
        "min_invariant_share", default: 0.1, range: 0...1,
        help: "refuse the fit when fewer of the valid pixels than this look unchanged (a flooded, snow-covered or cloudy date)")
    public static let sample = Option<Int>(
        "sample", default: 250_000, range: 1_000...50_000_000, help: "about this many pixels are sampled for the fit")
    public static let onFailure = Option<FailureChoice>(
        "on_failure", default: .error,
        help: "when no fit can be trusted: stop (error), or warn and pass the later date through unnormalised (warn)")

    public static let descriptor = StageDescriptor(
        id: "normalize.relative",
        summary: "The later date fitted to the earlier one, band by band, on pixels that did not change (pseudo-invariant features found automatically)",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("reference", kinds: [.scene], help: "the earlier date, which the other is made comparable to"),
            InputPort("subject", kinds: [.scene], help: "the later date, normalised onto the reference (its bands by name)"),
        ],
        output: .scene,
        keys: [bandList, probability, minInvariantShare, sample, onFailure])

    public let bands: [String]?
    public let probability: Double
    public let minimumShare: Double
    public let sample: Int
    public let warnOnFailure: Bool

    public init(options: StageOptions) throws(StageProblem) {
        if let list = options[Self.bandList]?.items {
            if list.isEmpty { throw StageProblem(option: Self.bandList, "name at least one band") }
            if Set(list).count != list.count { throw StageProblem(option: Self.bandList, "a band is named twice") }
            bands = list
        } else {
            bands = nil
        }
        probability = options[Self.probability]
        minimumShare = options[Self.minInvariantShare]
        sample = options[Self.sample]
        warnOnFailure = options[Self.onFailure] == .warn
    }

    func fitted(_ subject: ProductDescription) -> [String] { bands ?? subject.bandNames }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let reference = inputs[0], subject = inputs[1]
        let names = fitted(subject)
        if let bands {
            let unknown = bands.filter { !subject.bandNames.contains($0) }
            if !unknown.isEmpty {
                throw StageProblem(option: Self.bandList, "the subject has no band \(unknown.joined(separator: ", ")) (its bands: \(subject.bandNames.joined(separator: ", ")))")
            }
        }
        let missing = names.filter { !reference.bandNames.contains($0) }
        if !missing.isEmpty {
            throw StageProblem("the dates have different bands: the reference lacks \(missing.joined(separator: ", ")) (reference: "
                               + reference.bandNames.joined(separator: ", ") + "; subject: " + subject.bandNames.joined(separator: ", ")
                               + "); read both dates with the same band names, or list the common ones in 'bands'")
        }
        var product = subject
        product.nativeGrid = nil
        product.port = nil
        product.kind = .scene
        return product
    }

    public func prepare(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext, tiles: any TileRunner) throws -> any NeighbourhoodKernel {
        let reference = inputs.first { $0.description.port == "reference" } ?? inputs[0]
        let subject = inputs.first { $0.description.port == "subject" } ?? inputs[1]
        let subjectNames = subject.description.bandNames
        let names = fitted(subject.description)
        let referenceBands = names.map { reference.description.band(named: $0)! + 1 }
        let subjectBands = names.map { subject.description.band(named: $0)! + 1 }
        let positions = PositionSample(width: grid.width, height: grid.height, target: sample)

        // 1. The sample: pixels valid in every fitted band of both dates, in pixel order whatever the tiling, read
        // through the engine's tiles.
        let sampler = Sampler(reads: [NeighbourhoodRead(path: reference.path, bands: referenceBands),
                                      NeighbourhoodRead(path: subject.path, bands: subjectBands)],
                              positions: positions)
        let collected = SampleCollector()
        for tile in try tiles.reduce(sampler) {
            guard let part = tile.value as? Sampler.Sample else { continue }
            collected.add(positions: part.positions, values: part.values, stride: names.count * 2)
        }
        let (referenceSample, subjectSample) = collected.bandMajor(bands: names.count)

        // 2. The fit.
        var fit: RelativeNormalization.Fit?
        do {
            fit = try RelativeNormalization.fit(reference: referenceSample, subject: subjectSample, bandNames: names,
                                                probability: probability, minimumShare: minimumShare)
        } catch {
            guard warnOnFailure else {
                throw RunError(.input, "cannot normalise the later date onto the earlier one: \(error.description); set on_failure: warn to compare them unnormalised")
            }
            let message = "the later date is compared unnormalised: \(error.description)"
            context.logger.warning("normalize.relative: \(message)")
            context.findings?.note(message)
        }
        let findings = context.findings
        findings?.set("sampled_pixels", Double(referenceSample.first?.count ?? 0))
        if let fit {
            findings?.set("invariant_pixels", Double(fit.invariantPixels))
            findings?.set("invariant_share", (fit.invariantShare * 10000).rounded() / 10000)
            findings?.set("iterations", Double(fit.iterations))
            for band in fit.bands {
                findings?.set("\(band.band).gain", band.gain)
                findings?.set("\(band.band).offset", band.offset)
                findings?.set("\(band.band).residual_rms", band.residualRMS)
                findings?.set("\(band.band).residual_sigma", band.residualSigma)
                findings?.set("\(band.band).correlation", band.correlation)
                if !band.regressed {
                    findings?.note("\(band.band): the dates correlate \(String(format: "%.2f", band.correlation)) on the unchanged pixels, too little to fit a gain: shifted only (gain 1, offset from the medians; a gain is fitted from 0.80)")
                }
            }
            let share = String(format: "%.0f", fit.invariantShare * 100)
            let gainsText = fit.bands.map { band -> String in
                let gain = String(format: "%.4f", band.gain), offset = String(format: "%+.4f", band.offset)
                return "\(band.band) ×\(gain) \(offset)" + (band.regressed ? "" : " (shifted only: correlation \(String(format: "%.2f", band.correlation)))")
            }.joined(separator: ", ")
            context.logger.info("normalize.relative: \(fit.invariantPixels) of \(fit.sampledPixels) sampled pixels unchanged (\(share) %); \(gainsText)")
        }
        var gains = [Float](repeating: 1, count: subjectNames.count), offsets = [Float](repeating: 0, count: subjectNames.count)
        for band in fit?.bands ?? [] {
            let position = subjectNames.firstIndex(of: band.band)!
            gains[position] = Float(band.gain)
            offsets[position] = Float(band.offset)
        }

        // 3. The normalised later date, every band (unfitted ones pass through), tile by tile.
        return Apply(reads: [NeighbourhoodRead(path: subject.path, bands: Array(1...subjectNames.count), names: subjectNames)],
                     outputBands: subjectNames, gains: gains, offsets: offsets)
    }

    /// Reads reference and subject bands of a tile and keeps the sampled pixels valid in all of them.
    struct Sampler: StatelessNeighbourhoodKernel {
        struct Sample: Sendable {
            var positions: [Int], values: [Float]
        }

        let reads: [NeighbourhoodRead]
        let positions: PositionSample
        var outputBands: [String] { [] }

        func computes(tile: Window) -> Bool {
            positions.touches(rows: tile.rowOffset..<(tile.rowOffset + tile.height), columns: tile.colOffset..<(tile.colOffset + tile.width))
        }

        func compute(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
            sample(reference: inputs[0].bands, subject: inputs[1].bands, tile: output.window)
        }

        func sample(reference rv: [[Float]], subject sv: [[Float]], tile: Window) -> Sample {
            var sampled: [Int] = [], values: [Float] = []
            for row in 0..<tile.height {
                for col in 0..<tile.width {
                    let gridRow = tile.rowOffset + row, gridCol = tile.colOffset + col
                    guard positions.isSampled(row: gridRow, column: gridCol) else { continue }
                    let i = row * tile.width + col
                    var valid = true
                    for b in rv.indices where !(rv[b][i].isFinite && sv[b][i].isFinite) { valid = false; break }
                    guard valid else { continue }
                    sampled.append(gridRow * positions.width + gridCol)
                    for b in rv.indices { values.append(rv[b][i]); values.append(sv[b][i]) }
                }
            }
            return Sample(positions: sampled, values: values)
        }
    }

    /// `gain × value + offset` per band; nodata stays NaN. When the subject is a value VRT of its scene's own file (see
    /// ``ValueTransform``), the output is that VRT with the gains and offsets added to its bands' transforms: the same
    /// values, and no 4-band Float32 copy of the later date written and read back.
    struct Apply: StatelessNeighbourhoodKernel, DirectOutputKernel {
        let reads: [NeighbourhoodRead]
        let outputBands: [String]
        let gains: [Float], offsets: [Float]

        func writeDirectly(to path: String, grid: RasterGrid) throws -> Bool {
            guard let bands = try Dataset.open(reads[0].path).valueVRTBands, bands.count == gains.count else { return false }
            var normalised: [ValueVRTBand] = []
            for (index, band) in bands.enumerated() {
                guard let transform = band.transform.normalised(gain: gains[index], offset: offsets[index]) else { return false }
                var copy = band
                copy.transform = transform
                normalised.append(copy)
            }
            do { try Dataset.writeValueVRT(normalised, names: outputBands, grid: grid, to: path) } catch {
                throw RunError(.io, "cannot write \(path): \(error)")
            }
            return true
        }

        func compute(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
            let count = output.window.pixelCount
            for b in gains.indices {
                let gain = gains[b], offset = offsets[b]
                inputs[0].bands[b].withUnsafeBufferPointer { source in
                    output.bands[b].withUnsafeMutableBufferPointer { target in
                        if gain == 1 && offset == 0 {
                            for i in 0..<count { target[i] = source[i] }
                        } else {
                            for i in 0..<count { let v = source[i]; target[i] = v.isFinite ? gain * v + offset : v }
                        }
                    }
                }
            }
            return nil
        }
    }
}

/// Samples gathered by several workers, put back in pixel order.
final class SampleCollector: @unchecked Sendable {  // state guarded by `lock`
    private let lock = NSLock()
    private var parts: [(positions: [Int], values: [Float], stride: Int)] = []

    func add(positions: [Int], values: [Float], stride: Int) {
        guard !positions.isEmpty else { return }
        lock.withLock { parts.append((positions, values, stride)) }
    }

    /// Reference and subject samples, band-major, in pixel order (values were added as reference, subject per band).
    func bandMajor(bands: Int) -> ([[Float]], [[Float]]) {
        let all = lock.withLock { parts }
        var order: [(position: Int, part: Int, index: Int)] = []
        for (p, part) in all.enumerated() { for (i, position) in part.positions.enumerated() { order.append((position, p, i)) } }
        order.sort { $0.position < $1.position }
        var reference = [[Float]](repeating: [], count: bands), subject = [[Float]](repeating: [], count: bands)
        for b in 0..<bands { reference[b].reserveCapacity(order.count); subject[b].reserveCapacity(order.count) }
        for entry in order {
            let part = all[entry.part]
            let base = entry.index * part.stride
            for b in 0..<bands {
                reference[b].append(part.values[base + 2 * b])
                subject[b].append(part.values[base + 2 * b + 1])
            }
        }
        return (reference, subject)
    }
}
