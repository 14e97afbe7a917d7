import LandwatchPipeline

/// Per-pixel features by name: a band of the scene, or an index computed from its bands by their names.
enum Features {
    /// The index stages' formulas, by the name a feature list or a rule uses for them.
    static let formulas: [String: any IndexFormula.Type] = Dictionary(
        spectralIndices.map { ($0.outputName, $0) }, uniquingKeysWith: { first, _ in first })

    /// The indices a feature list or a rule may name, with the bands each needs (by their usual names).
    static let indexBands: [String: [String]] = formulas.mapValues { $0.bands.map(\.defaultName) }
        .merging(["brightness": ["blue", "green", "red"]]) { first, _ in first }

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
        let positions = indexBands[name]!.map { block.band(named: $0)! }
        withBands(block, positions, count: used) { b in
            out.withUnsafeMutableBufferPointer { o in
                if let formula = formulas[name] {
                    formula.compute(b, parameters: StageOptions(), into: o)  // the formula's default parameters
                } else {
                    for i in 0..<used { o[i] = (b[0][i] + b[1][i] + b[2][i]) / 3 }  // brightness
                }
            }
        }
        return out
    }

    /// Calls `body` with read-only views of bands of a block, limited to its first `count` values (no copies).
    static func withBands(_ block: PixelBlock, _ positions: [Int], count: Int, _ body: ([UnsafeBufferPointer<Float>]) -> Void) {
        func nest(_ index: Int, _ collected: [UnsafeBufferPointer<Float>]) {
            if index == positions.count { body(collected); return }
            block.bands[positions[index]].withUnsafeBufferPointer { buffer in
                nest(index + 1, collected + [UnsafeBufferPointer(rebasing: buffer[0..<count])])
            }
        }
        nest(0, [])
    }

    /// Calls `body` with read-only views of the arrays.
    static func withBuffers(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> Void) {
        func nest(_ index: Int, _ collected: [UnsafeBufferPointer<Float>]) {
            if index == arrays.count { body(collected); return }
            arrays[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0]) }
        }
        nest(0, [])
    }

    /// A feature list with its patterns expanded: an entry with `*` stands for every band of the scene whose name it
    /// matches (`*` alone: every band; `nir_*`: every date of nir), in the scene's band order. Entries named more than
    /// once count once.
    static func expand(_ entries: [String], bands: [String]) throws(StageProblem) -> [String] {
        var out: [String] = []
        for entry in entries {
            let matched = entry.contains("*") ? bands.filter { matches($0, pattern: entry) } : [entry]
            if matched.isEmpty {
                throw StageProblem(option: "features", "'\(entry)' matches no band of the scene (its bands: \(bands.joined(separator: ", ")))")
            }
            for name in matched where !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// True when `name` matches `pattern`, where `*` stands for any run of characters.
    static func matches(_ name: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return name == pattern }
        var rest = Substring(name)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }

    /// Parses a comma-separated feature list.
    static func parse(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
