import LandwatchAlgorithms
import LandwatchPipeline

/// Per-pixel features by name: a band of the scene, or an index computed from its bands by their names.
enum Features {
    /// The indices a feature list or a rule may name, with the bands each needs.
    static let indexBands: [String: [String]] = [
        "ndvi": ["nir", "red"], "ndwi": ["green", "nir"], "mndwi": ["green", "swir1"], "ndbi": ["swir1", "nir"],
        "bsi": ["swir1", "red", "nir", "blue"], "savi": ["nir", "red"], "evi": ["nir", "red", "blue"],
        "brightness": ["blue", "green", "red"],
    ]

    /// True when the scene can provide the feature.
    static func isAvailable(_ name: String, in bands: [String]) -> Bool {
        bands.contains(name) || (indexBands[name]?.allSatisfy(bands.contains) ?? false)
    }

    /// Why a feature cannot be had from a scene, or nil when it can.
    static func problem(with name: String, bands: [String]) -> String? {
        if isAvailable(name, in: bands) { return nil }
        guard let needed = indexBands[name] else {
            return "'\(name)' is neither a band of the scene (\(bands.joined(separator: ", "))) nor an index ("
                + indexBands.keys.sorted().joined(separator: ", ") + ")"
        }
        let missing = needed.filter { !bands.contains($0) }
        return "\(name) needs band\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")), which the scene lacks (its bands: \(bands.joined(separator: ", ")))"
    }

    /// The values of a feature over the first `used` values of a block.
    static func values(_ name: String, _ block: PixelBlock, _ used: Int) -> [Float] {
        if let band = block.band(named: name) { return Array(block.bands[band][0..<used]) }
        var out = [Float](repeating: .nan, count: used)
        let bands = indexBands[name]!.map { Array(block.bands[block.band(named: $0)!][0..<used]) }
        withBuffers(bands) { b in
            out.withUnsafeMutableBufferPointer { o in
                switch name {
                case "ndvi", "ndwi", "mndwi", "ndbi": SpectralIndex.normalizedDifference(b[0], b[1], into: o)
                case "bsi": SpectralIndex.bareSoil(swir1: b[0], red: b[1], nir: b[2], blue: b[3], into: o)
                case "savi": SpectralIndex.soilAdjusted(nir: b[0], red: b[1], l: 0.5, into: o)
                case "evi": SpectralIndex.enhancedVegetation(nir: b[0], red: b[1], blue: b[2], into: o)
                case "brightness": for i in 0..<used { o[i] = (b[0][i] + b[1][i] + b[2][i]) / 3 }
                default: preconditionFailure("unknown index \(name)")
                }
            }
        }
        return out
    }

    /// Calls `body` with read-only views of the arrays.
    static func withBuffers(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> Void) {
        func nest(_ index: Int, _ collected: [UnsafeBufferPointer<Float>]) {
            if index == arrays.count { body(collected); return }
            arrays[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0]) }
        }
        nest(0, [])
    }

    /// Parses a comma-separated feature list.
    static func parse(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
