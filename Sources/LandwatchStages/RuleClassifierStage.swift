import LandwatchAlgorithms
import LandwatchPipeline

/// `classify.rules`: land cover from an ordered decision list over bands and indices, thresholds in the file.
public struct RuleClassifierStage: PixelStage {
    static var indexBands: [String: [String]] { Features.indexBands }

    /// The rules used when the file gives none, written as a file would. Rules naming an index whose bands the
    /// scene lacks (the SWIR ones on a 4-band scene) are left out. Cropland is not separable from other vegetation
    /// by single-date thresholds: use a trained model for it.
    ///
    /// Checked on real 30 m scenes (docs/change-detection.md): the roofs and paving of Mobile (Landsat 8, 2015) and
    /// of the villages near Marburg (Landsat 8, 2013) have NDVI 0.1–0.3, NDBI −0.15 to 0.1 and BSI −0.15 to 0.05 in
    /// TOA reflectance — the older `ndbi > 0` condition put most of them in bare or grassland; bare soil has BSI over
    /// 0.1; open water MNDWI over 0.1 with NDVI under 0 (turbid coastal water down to 0.05), while roofs and
    /// vegetation stay under −0.05.
    public static let defaultRules: [(class: String, when: [(String, String)])] = [
        ("water", [("mndwi", "> 0.05"), ("ndvi", "< 0.2")]),
        ("water", [("ndwi", "> 0.1"), ("ndvi", "< 0")]),
        ("built-up", [("ndvi", "< 0.3"), ("ndbi", "> -0.15"), ("bsi", "< 0.1")]),
        ("bare", [("ndvi", "< 0.2")]),
        ("forest", [("ndvi", ">= 0.35")]),
        ("grassland", [("ndvi", "0.2..0.35")]),
    ]

    public static let rules = StructuredOption<ClassRules>(
        "rules", shape: "list of {class, when: {variable: condition}}",
        help: "ordered rules, e.g. [{class: water, when: {mndwi: '> 0'}}]; variables: scene bands and "
            + indexBands.keys.sorted().joined(separator: ", ") + "; conditions: '> x', '>= x', '< x', '<= x', 'a..b'. Default: "
            + defaultRules.map { rule in "\(rule.class) if " + rule.when.map { "\($0.0) \($0.1)" }.joined(separator: " and ") }
                .joined(separator: "; "))
    public static let fallbackClass = Option<String>(
        "default", default: "0", help: "class of pixels no rule matches (a legend name or code; 0 = unclassified)")

    public static let descriptor = StageDescriptor(
        id: "classify.rules",
        summary: "Land cover from an ordered list of threshold rules over bands and indices (first match wins)",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "reflectance with bands named blue, green, red, nir (swir1 optional)")],
        output: .classes,
        keys: [rules, fallbackClass])

    /// The `rules:` option: an ordered list of `{class, when: {variable: condition}}`, decoded against the legend.
    public struct ClassRules: ConfigDecodable {
        public var rules: [RuleClassifier.Rule]

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            let legend = context.legend
            // Every wrong rule (and every wrong condition of a rule) is reported, not only the first.
            var problems = ConfigProblems()
            var rules: [RuleClassifier.Rule] = []
            for item in try node.decodeList("must be a list of rules {class, when}") {
                _ = problems.attempt { () throws(ConfigDecodingError) in try item.rejectUnknownKeys(["class", "when"]) { "unknown key '\($0)' in a rule (a rule has class and when)" } }
                let code = problems.attempt { () throws(ConfigDecodingError) -> Int in
                    guard let classEntry = item.entry("class"), let className = classEntry.value.scalarText else {
                        throw ConfigDecodingError("a rule needs 'class' (a legend name or code)", at: item.location)
                    }
                    guard let code = legend.code(for: className) else {
                        throw ConfigDecodingError("unknown class '\(className)' (legend: \(legend.classes.map(\.name).joined(separator: ", ")), or a code)",
                                                  at: classEntry.value.location)
                    }
                    return code
                }
                let className = item.entry("class")?.value.scalarText ?? "?"
                guard let when = item.entry("when")?.value, let conditions = when.entries, !conditions.isEmpty else {
                    _ = problems.attempt { () throws(ConfigDecodingError) in
                        throw ConfigDecodingError("rule for '\(className)' needs 'when' with at least one condition", at: item.location)
                    }
                    continue
                }
                var parsed: [RuleClassifier.Condition] = []
                for condition in conditions {
                    let value = problems.attempt { () throws(ConfigDecodingError) -> RuleClassifier.Condition in
                        guard let text = condition.value.scalarText, let value = RuleClassifier.Condition(variable: condition.key, text: text) else {
                            throw ConfigDecodingError("condition on '\(condition.key)' must be '> x', '>= x', '< x', '<= x' or 'a..b' (found \(condition.value.shortDescription))",
                                                      at: condition.value.location)
                        }
                        return value
                    }
                    if let value { parsed.append(value) }
                }
                if let code, parsed.count == conditions.count { rules.append(RuleClassifier.Rule(code: code, conditions: parsed)) }
            }
            try problems.throwIfAny()
            self.rules = rules
        }
    }

    public let rules: [RuleClassifier.Rule]
    public let fallback: Int
    public let isDefault: Bool

    public init(options: StageOptions) throws(StageProblem) {
        let legend = options.legend
        guard let fallback = legend.code(for: options[Self.fallbackClass]) else {
            throw StageProblem(option: Self.fallbackClass, "unknown class '\(options[Self.fallbackClass])' (legend: "
                               + legend.classes.map(\.name).joined(separator: ", ") + ", or a code)")
        }
        self.fallback = fallback
        if let decoded = try options.decode(Self.rules) {
            rules = decoded.rules
            isDefault = false
        } else {
            rules = Self.defaultRules.map { rule in
                RuleClassifier.Rule(code: legend.code(for: rule.class)!,
                                    conditions: rule.when.map { RuleClassifier.Condition(variable: $0.0, text: $0.1)! })
            }
            isDefault = true
        }
    }

    /// The rules that can run on a scene with these bands (all of them, unless they are the defaults).
    func classifier(for bands: [String]) -> RuleClassifier {
        let usable = rules.filter { rule in
            !isDefault || rule.conditions.allSatisfy { Features.isAvailable($0.variable, in: bands) }
        }
        return RuleClassifier(rules: usable, fallback: fallback)
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let bands = inputs[0].bandNames
        let variables = classifier(for: bands).variables
        for variable in variables {
            if let problem = Features.problem(with: variable, bands: bands) { throw StageProblem(option: Self.rules, problem) }
        }
        // Thresholds are reflectance: digital numbers known from the header or the file's statement are refused here
        // (validate), values that only a look at the data shows at run start (makeWorker).
        let read = RadiometryCheck.bandsRead(by: variables, scene: bands)
        if let problem = try? RadiometryCheck.reflectanceProblem(bands: read, in: inputs[0], read: false) {
            throw StageProblem("classify.rules needs reflectance: \(problem)")
        }
        var product = ProductDescription(kind: .classes, bandNames: ["class"])
        let codes = rules.map(\.code) + [fallback]
        product.wholeNumbers = codes.min()!...codes.max()!
        return product
    }

    /// Checks a reduced read of each band the rules read (once per run; the classification itself is ``apply``).
    public func makeWorker(inputs: [ProductDescription], context: RunContext) throws -> (any PixelWorker)? {
        let read = RadiometryCheck.bandsRead(by: classifier(for: inputs[0].bandNames).variables, scene: inputs[0].bandNames)
        if let problem = try RadiometryCheck.reflectanceProblem(bands: read, in: inputs[0], read: true) {
            throw RunError(.input, "classify.rules needs reflectance: \(problem)")
        }
        return nil
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        let scene = inputs[0]
        let used = scene.usedCount
        let classifier = classifier(for: scene.bandNames)
        let values = classifier.variables.map { Features.values($0, scene, used) }
        output.bands[0].withUnsafeMutableBufferPointer { out in
            Features.withBuffers(values) { buffers in
                classifier.classify(buffers, count: used, into: out)
            }
        }
    }
}
