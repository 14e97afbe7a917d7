/// How grave a violation is; a patch takes the gravest of the rules it breaks.
public enum Severity: Int, Sendable, Codable, Comparable, CaseIterable {
    case low = 1
    case medium = 2
    case high = 3

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }

    public var name: String {
        switch self {
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        }
    }

    public var nameZH: String {
        switch self {
        case .low: return "一般"
        case .medium: return "较重"
        case .high: return "严重"
        }
    }

    public init?(name: String) {
        guard let found = Severity.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = found
    }
}

/// One rule that turns a change between two dates into a violation (docs/rules.md). The kind fixes the logic; everything a bureau may want to set (code, names, severity, minimum
/// size, whether an approval exempts it) is data, set in the pipeline file.
public struct ChangeRule: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Not built-up before, built-up now, no approval, inside the red line, on basic farmland, outside the urban
        /// development boundary or on land zoned for a non-construction use.
        case unapprovedConstructionProtected = "unapproved_construction_protected"
        /// The same elsewhere (inside the boundary on land zoned for construction): it still needs a permit.
        case unapprovedConstruction = "unapproved_construction"
        /// Cropland before (or any land inside basic farmland), built-up now.
        case farmlandToBuiltUp = "farmland_to_built_up"
        /// Cropland before (or inside basic farmland), bare now: soil stripped, dug, or abandoned.
        case farmlandToBare = "farmland_to_bare"
        /// Cropland before (or inside basic farmland), water now: ponds dug.
        case farmlandToWater = "farmland_to_water"
        /// Cropland before (or inside basic farmland), forest now: trees or a nursery planted.
        case farmlandToForest = "farmland_to_forest"
        /// New built-up or bare land inside the ecological protection red line.
        case redlineEncroachment = "redline_encroachment"

        /// The bit of this kind in a change raster's `rules` band.
        public var bit: UInt32 { 1 << UInt32(Kind.allCases.firstIndex(of: self)!) }
    }

    public var kind: Kind
    public var code: String
    public var name: String
    public var nameZH: String
    public var severity: Severity
    /// Smallest patch area that counts for this rule, in m² (the larger of this and `minPixels` applies).
    public var minArea: Double
    /// Smallest patch size that counts for this rule, in pixels.
    public var minPixels: Int
    /// True when an approval (construction, temporary use, facility agriculture) covering the pixel makes it legal.
    public var exemptIfApproved: Bool

    public init(kind: Kind, code: String, name: String, nameZH: String, severity: Severity, minArea: Double,
                minPixels: Int = 4, exemptIfApproved: Bool = true) {
        self.kind = kind
        self.code = code
        self.name = name
        self.nameZH = nameZH
        self.severity = severity
        self.minArea = minArea
        self.minPixels = minPixels
        self.exemptIfApproved = exemptIfApproved
    }

    /// The defaults: construction minimum of the order of 200 m², farmland 400 m² (national survey practice on
    /// fine imagery); on 10-30 m imagery the 4-pixel minimum decides.
    public static let defaults: [ChangeRule] = [
        ChangeRule(kind: .unapprovedConstructionProtected, code: "UC-P", name: "Unapproved construction on protected land",
                   nameZH: "未批先建（占用管控区）", severity: .high, minArea: 200),
        ChangeRule(kind: .unapprovedConstruction, code: "UC", name: "Unapproved construction",
                   nameZH: "未批先建", severity: .medium, minArea: 200),
        ChangeRule(kind: .farmlandToBuiltUp, code: "FL-B", name: "Farmland lost to construction",
                   nameZH: "耕地非农化（建设占用）", severity: .high, minArea: 400),
        ChangeRule(kind: .farmlandToBare, code: "FL-S", name: "Farmland stripped or left bare",
                   nameZH: "耕地变裸地（挖损或撂荒）", severity: .low, minArea: 400),
        ChangeRule(kind: .farmlandToWater, code: "FL-W", name: "Farmland dug into ponds",
                   nameZH: "耕地挖塘", severity: .medium, minArea: 400),
        ChangeRule(kind: .farmlandToForest, code: "FL-F", name: "Farmland planted with trees",
                   nameZH: "耕地种树（非粮化）", severity: .medium, minArea: 400),
        ChangeRule(kind: .redlineEncroachment, code: "RL", name: "Construction or bare land inside the ecological red line",
                   nameZH: "生态保护红线内新增建设或裸地", severity: .high, minArea: 200),
    ]
}

/// The legend codes the rules speak about; 0 where the legend has no such class (the rule then never fires).
public struct ComplianceClasses: Sendable, Equatable, Codable {
    public var cropland: Int
    public var forest: Int
    public var water: Int
    public var builtUp: Int
    public var bare: Int

    public init(cropland: Int, forest: Int, water: Int, builtUp: Int, bare: Int) {
        self.cropland = cropland
        self.forest = forest
        self.water = water
        self.builtUp = builtUp
        self.bare = bare
    }
}

/// The plan at one pixel.
public struct PlanAtPixel: Sendable, Equatable {
    public var redline = false
    public var basicFarmland = false
    /// Inside the urban development boundary; nil when the plan has no boundary layer.
    public var insideUrbanBoundary: Bool? = nil
    /// Zoned for a use that does not allow construction (farmland, forest, water, green space, …).
    public var zonedNonConstruction = false
    public var approved = false

    public init(redline: Bool = false, basicFarmland: Bool = false, insideUrbanBoundary: Bool? = nil,
                zonedNonConstruction: Bool = false, approved: Bool = false) {
        self.redline = redline
        self.basicFarmland = basicFarmland
        self.insideUrbanBoundary = insideUrbanBoundary
        self.zonedNonConstruction = zonedNonConstruction
        self.approved = approved
    }
}

/// The rules of one run, applied to one pixel's classes before and after and the plan under it.
///
/// **New construction** (卫片执法's 新增建设用地) is any new artificial surface: finished roofs and paving (built-up)
/// and earthworks and sites under construction (bare, compacted), where the land was not already built-up or bare:
/// cropland, forest, grassland, water or any other class of the legend → built-up or bare. Harvest is told apart:
/// cropland → bare is a bare field after harvest far more often than a building site, so it is never construction
/// by itself (it is farmland stripped, FL-S, and only when both dates are of one season, see
/// ``bareFarmlandIsSeasonal``); cropland → built-up is construction. Bare → built-up (a site finished) counts as
/// construction only when ``constructionFromBare`` is set: at 10–30 m bare soil and roofs are the classes most
/// confused with each other, and a dry season turns the one into the other.
public struct ChangeRuleSet: Sendable, Equatable, Codable {
    public var rules: [ChangeRule]
    public var classes: ComplianceClasses
    /// Bare → built-up counts as new construction.
    public var constructionFromBare: Bool
    /// True when the dates are of different seasons: cropland → bare is then expected (harvest, fallow) and FL-S
    /// does not fire.
    public var bareFarmlandIsSeasonal: Bool
    /// Bits of the rules an approval exempts.
    private let exemptBits: UInt32
    private let enabledBits: UInt32

    public init(rules: [ChangeRule], classes: ComplianceClasses, constructionFromBare: Bool = false, bareFarmlandIsSeasonal: Bool = false) {
        self.rules = rules
        self.classes = classes
        self.constructionFromBare = constructionFromBare
        self.bareFarmlandIsSeasonal = bareFarmlandIsSeasonal
        exemptBits = rules.filter(\.exemptIfApproved).reduce(0) { $0 | $1.kind.bit }
        enabledBits = rules.reduce(0) { $0 | $1.kind.bit }
    }

    /// The rule with a bit, if the run uses it.
    public func rule(_ kind: ChangeRule.Kind) -> ChangeRule? { rules.first { $0.kind == kind } }

    /// True when a change from `before` to `after` is new construction (see the type's documentation).
    @inline(__always)
    public func isConstruction(before: Int, after: Int) -> Bool {
        let c = classes
        guard before != after, after == c.builtUp || after == c.bare else { return false }
        if before == c.builtUp { return false }
        if before == c.bare { return constructionFromBare && after == c.builtUp }
        if before == c.cropland && after == c.bare { return false }
        return true
    }

    /// The bits of the rules a pixel breaks (0 when it breaks none). Codes 0 (nodata, cloud) are never a change.
    @inline(__always)
    public func bits(before: Int, after: Int, plan: PlanAtPixel) -> UInt32 {
        guard before != after, before > 0, after > 0 else { return 0 }
        var bits: UInt32 = 0
        let c = classes
        let construction = isConstruction(before: before, after: after)
        if construction {
            let protected = plan.redline || plan.basicFarmland || plan.insideUrbanBoundary == false || plan.zonedNonConstruction
            bits |= protected ? ChangeRule.Kind.unapprovedConstructionProtected.bit : ChangeRule.Kind.unapprovedConstruction.bit
        }
        if (before == c.cropland || plan.basicFarmland) && before != c.builtUp {
            if after == c.builtUp { bits |= ChangeRule.Kind.farmlandToBuiltUp.bit }
            else if after == c.bare { if !bareFarmlandIsSeasonal && before != c.bare { bits |= ChangeRule.Kind.farmlandToBare.bit } }
            else if after == c.water { bits |= ChangeRule.Kind.farmlandToWater.bit }
            else if after == c.forest { bits |= ChangeRule.Kind.farmlandToForest.bit }
        }
        if plan.redline, construction {
            bits |= ChangeRule.Kind.redlineEncroachment.bit
        }
        if plan.approved { bits &= ~exemptBits }
        return bits & enabledBits
    }

    enum CodingKeys: String, CodingKey { case rules, classes, constructionFromBare, bareFarmlandIsSeasonal }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(rules: try container.decode([ChangeRule].self, forKey: .rules),
                  classes: try container.decode(ComplianceClasses.self, forKey: .classes),
                  constructionFromBare: try container.decodeIfPresent(Bool.self, forKey: .constructionFromBare) ?? false,
                  bareFarmlandIsSeasonal: try container.decodeIfPresent(Bool.self, forKey: .bareFarmlandIsSeasonal) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rules, forKey: .rules)
        try container.encode(classes, forKey: .classes)
        try container.encode(constructionFromBare, forKey: .constructionFromBare)
        try container.encode(bareFarmlandIsSeasonal, forKey: .bareFarmlandIsSeasonal)
    }
}

/// What a change product carries besides pixels: the rules behind its bits and what was compared.
public struct ComplianceDescription: Sendable, Equatable {
    public var ruleSet: ChangeRuleSet
    public var beforeDate: String?
    public var afterDate: String?
    /// `classification` or `land-use survey`.
    public var beforeSource: String
    /// The settings of the change test, copied into reports: name and value as written.
    public var settings: [(String, String)]
    /// The evidence threshold (no-change standard deviations) when the change evidence was measured, else nil.
    public var minEvidence: Double?

    public init(ruleSet: ChangeRuleSet, beforeDate: String?, afterDate: String?, beforeSource: String, settings: [(String, String)],
                minEvidence: Double? = nil) {
        self.minEvidence = minEvidence
        self.ruleSet = ruleSet
        self.beforeDate = beforeDate
        self.afterDate = afterDate
        self.beforeSource = beforeSource
        self.settings = settings
    }

    public static func == (lhs: ComplianceDescription, rhs: ComplianceDescription) -> Bool {
        lhs.ruleSet == rhs.ruleSet && lhs.beforeDate == rhs.beforeDate && lhs.afterDate == rhs.afterDate
            && lhs.beforeSource == rhs.beforeSource && lhs.minEvidence == rhs.minEvidence && lhs.settings.map { "\($0.0)=\($0.1)" } == rhs.settings.map { "\($0.0)=\($0.1)" }
    }
}
