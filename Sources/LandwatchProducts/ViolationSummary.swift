import Foundation

/// What `write.violations` writes as `summary.json` beside the list: the count and area per rule, the dates and the
/// settings of the diff; what the report reads. Files written before the version field read as version 1.
public struct ViolationSummary: StageProduct, Equatable {
    public static let currentVersion = 1
    public static let fileName = "summary.json"

    public struct Rule: Codable, Sendable, Equatable {
        public var code: String, name: String, name_zh: String, severity: String, min_area_m2: Double, min_pixels: Int
        public var exempt_if_approved: Bool, patches: Int, area_m2: Double, area_mu: Double

        public init(code: String, name: String, name_zh: String, severity: String, min_area_m2: Double, min_pixels: Int,
                    exempt_if_approved: Bool, patches: Int, area_m2: Double, area_mu: Double) {
            self.code = code
            self.name = name
            self.name_zh = name_zh
            self.severity = severity
            self.min_area_m2 = min_area_m2
            self.min_pixels = min_pixels
            self.exempt_if_approved = exempt_if_approved
            self.patches = patches
            self.area_m2 = area_m2
            self.area_mu = area_mu
        }
    }

    public var version: Int? = ViolationSummary.currentVersion
    public var before: String?, after: String?, before_source: String, pixel_area_m2: Double
    public var patches_of_change: Int, violations: Int, area_m2: Double, area_mu: Double
    public var rules: [Rule]
    public var settings: [String: String]

    public init(before: String?, after: String?, before_source: String, pixel_area_m2: Double, patches_of_change: Int,
                violations: Int, area_m2: Double, area_mu: Double, rules: [Rule], settings: [String: String]) {
        self.before = before
        self.after = after
        self.before_source = before_source
        self.pixel_area_m2 = pixel_area_m2
        self.patches_of_change = patches_of_change
        self.violations = violations
        self.area_m2 = area_m2
        self.area_mu = area_mu
        self.rules = rules
        self.settings = settings
    }

    /// The file's JSON (its keys are written as they are named here).
    public static func read(_ url: URL) throws -> ViolationSummary {
        try JSONDecoder().decode(ViolationSummary.self, from: Data(contentsOf: url))
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
