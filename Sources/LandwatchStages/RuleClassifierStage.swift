import LandwatchAlgorithms
import LandwatchPipeline

/// `classify.rules`: land cover from an ordered decision list over bands and indices, thresholds in the file.
public struct RuleClassifierStage: PixelStage {
    /// Indices the rules may name, computed from the scene's bands by name, with the bands each needs.
    static let indexBands: [String: [String]] = [
        "ndvi": ["nir", "red"], "ndwi": ["green", "nir"], "mndwi": ["green", "swir1"], "ndbi": ["swir1", "nir"],
        "bsi": ["swir1", "red", "nir", "blue"], "savi": ["nir", "red"], "evi": ["nir", "red", "blue"],
        "brightness": ["blue", "green", "red"],
    ]

    /// The rules used when the file gives none, written as a file would. Rules naming an index whose bands the
    /// scene lacks (the SWIR ones on a 4-band scene) are left out. Cropland is not separable from other vegetation
    /// by single-date thresholds: use a trained model for it.
    public static let defaultRules: [(class: String, when: [(String, String)])] = [
        ("water", [("mndwi", "> 0")]),
        ("water", [("ndwi", "> 0.1")]),
        ("built-up", [("ndbi", "> 0"), ("ndvi", "< 0.3"), ("bsi", "< 0.1")]),
        ("bare", [("ndvi", "< 0.2")]),
        ("forest", [("ndvi", ">= 0.35")]),
        ("grassland", [("ndvi", "0.2..0.35")]),
    ]

    public static let descriptor = StageDescriptor(
        id: "classify.rules",
        summary: "Land cover from an ordered list of threshold rules over bands and indices (first match wins)",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "reflectance with bands named blue, green, red, nir (swir1 optional)")],
        output: .classes,
        options: [
            OptionSpec("rules", .structured(shape: "list of {class, when: {variable: condition}}"), optional: true,
                       help: "ordered rules, e.g. [{class: water, when: {mndwi: '> 0'}}]; variables: scene bands and "
                           + indexBands.keys.sorted().joined(separator: ", ") + "; conditions: '> x', '>= x', '< x', '<= x', 'a..b'. Default: "
                           + defaultRules.map { rule in "\(rule.class) if " + rule.when.map { "\($0.0) \($0.1)" }.joined(separator: " and ") }
                               .joined(separator: "; ")),
            OptionSpec("default", .string, default: .string("0"),
                       help: "class of pixels no rule matches (a legend name or code; 0 = unclassified)"),
        ])

    public let rules: [RuleClassifier.Rule]
    public let fallback: Int
    public let isDefault: Bool

    public init(options: StageOptions) throws(StageProblem) {
        let legend = options.legend
        guard let fallback = legend.code(for: options.string("default") ?? "0") else {
            throw StageProblem(option: "default", "unknown class '\(options.string("default") ?? "")' (legend: "
                               + legend.classes.map(\.name).joined(separator: ", ") + ", or a code)")
        }
        self.fallback = fallback
        guard let node = options.node("rules") else {
            rules = Self.defaultRules.map { rule in
                RuleClassifier.Rule(code: legend.code(for: rule.class)!,
                                    conditions: rule.when.map { RuleClassifier.Condition(variable: $0.0, text: $0.1)! })
            }
            isDefault = true
            return
        }
        isDefault = false
        guard let items = node.items, !items.isEmpty else {
            throw StageProblem(option: "rules", "must be a list of rules {class, when} (found \(node.shortDescription))")
        }
        var rules: [RuleClassifier.Rule] = []
        for item in items {
            guard let className = item.entry("class")?.value.scalarText else {
                throw StageProblem(option: "rules", "a rule needs 'class' (a legend name or code)", at: item.location)
            }
            guard let code = legend.code(for: className) else {
                throw StageProblem(option: "rules", "unknown class '\(className)' (legend: \(legend.classes.map(\.name).joined(separator: ", ")), or a code)",
                                   at: item.entry("class")!.value.location)
            }
            guard let when = item.entry("when")?.value, let conditions = when.entries, !conditions.isEmpty else {
                throw StageProblem(option: "rules", "rule for '\(className)' needs 'when' with at least one condition", at: item.location)
            }
            for extra in item.entries ?? [] where extra.key != "class" && extra.key != "when" {
                throw StageProblem(option: "rules", "unknown key '\(extra.key)' in a rule (a rule has class and when)", at: extra.keyLocation)
            }
            var parsed: [RuleClassifier.Condition] = []
            for condition in conditions {
                guard let text = condition.value.scalarText, let value = RuleClassifier.Condition(variable: condition.key, text: text) else {
                    throw StageProblem(option: "rules", "condition on '\(condition.key)' must be '> x', '>= x', '< x', '<= x' or 'a..b' (found \(condition.value.shortDescription))",
                                       at: condition.value.location)
                }
                parsed.append(value)
            }
            rules.append(RuleClassifier.Rule(code: code, conditions: parsed))
        }
        self.rules = rules
    }

    /// The rules that can run on a scene with these bands (all of them, unless they are the defaults).
    func classifier(for bands: [String]) -> RuleClassifier {
        let usable = rules.filter { rule in
            !isDefault || rule.conditions.allSatisfy { condition in
                bands.contains(condition.variable) || (Self.indexBands[condition.variable]?.allSatisfy(bands.contains) ?? false)
            }
        }
        return RuleClassifier(rules: usable, fallback: fallback)
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let bands = inputs[0].bandNames
        for variable in classifier(for: bands).variables where !bands.contains(variable) {
            guard let needed = Self.indexBands[variable] else {
                throw StageProblem(option: "rules", "variable '\(variable)' is neither a band of the scene (\(bands.joined(separator: ", "))) nor an index ("
                                   + Self.indexBands.keys.sorted().joined(separator: ", ") + ")")
            }
            let missing = needed.filter { !bands.contains($0) }
            if !missing.isEmpty {
                throw StageProblem(option: "rules", "\(variable) needs band\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")), which the scene lacks (its bands: \(bands.joined(separator: ", ")))")
            }
        }
        return ProductDescription(kind: .classes, bandNames: ["class"])
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        let scene = inputs[0]
        let used = scene.usedCount
        let classifier = classifier(for: scene.bandNames)
        var values: [[Float]] = []
        for variable in classifier.variables {
            if let band = scene.band(named: variable) {
                values.append(Array(scene.bands[band][0..<used]))
            } else {
                values.append(Self.compute(variable, scene, used))
            }
        }
        output.bands[0].withUnsafeMutableBufferPointer { out in
            Self.withBuffers(values) { buffers in
                classifier.classify(buffers, count: used, into: out)
            }
        }
    }

    /// An index over the used part of a block.
    static func compute(_ index: String, _ scene: PixelBlock, _ used: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: used)
        let bands = indexBands[index]!.map { Array(scene.bands[scene.band(named: $0)!][0..<used]) }
        withBuffers(bands) { b in
            out.withUnsafeMutableBufferPointer { o in
                switch index {
                case "ndvi", "ndwi", "mndwi", "ndbi": SpectralIndex.normalizedDifference(b[0], b[1], into: o)
                case "bsi": SpectralIndex.bareSoil(swir1: b[0], red: b[1], nir: b[2], blue: b[3], into: o)
                case "savi": SpectralIndex.soilAdjusted(nir: b[0], red: b[1], l: 0.5, into: o)
                case "evi": SpectralIndex.enhancedVegetation(nir: b[0], red: b[1], blue: b[2], into: o)
                case "brightness": for i in 0..<used { o[i] = (b[0][i] + b[1][i] + b[2][i]) / 3 }
                default: preconditionFailure("unknown index \(index)")
                }
            }
        }
        return out
    }

    static func withBuffers(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> Void) {
        func nest(_ index: Int, _ collected: [UnsafeBufferPointer<Float>]) {
            if index == arrays.count { body(collected); return }
            arrays[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0]) }
        }
        nest(0, [])
    }
}
