import Foundation
import LandwatchAlgorithms
import LandwatchPipeline

/// The typed violation list `write.violations` always writes (`violations.json` in its folder), whatever `formats`
/// says: what `landwatch nightly` records in the registry. The same rows, ids and order as the CSV, GeoJSON, KML and
/// GeoPackage lists.
public struct ViolationList: Codable, Sendable, Equatable {
    public static let fileName = "violations.json"

    /// 2: the plan areas, zone, cropland and approvals of each entry.
    public var version = 2
    /// Dates of the two classifications (the before one is nil against the land-use survey).
    public var before_date: String?
    public var after_date: String?
    /// `classification` or `land-use survey`.
    public var before_source: String
    /// The after image over the whole grid (a PNG beside the list), when chips were drawn, and its geotransform.
    public var overview: String? = nil
    public var overview_transform: [Double]? = nil
    /// The CRS of the chips' and the overview's geotransforms (the run grid's), WKT.
    public var crs_wkt: String? = nil
    public var violations: [Entry]

    public init(before_date: String? = nil, after_date: String? = nil, before_source: String, overview: String? = nil, overview_transform: [Double]? = nil, crs_wkt: String? = nil, violations: [Entry]) {
        self.before_date = before_date
        self.after_date = after_date
        self.before_source = before_source
        self.overview = overview
        self.overview_transform = overview_transform
        self.crs_wkt = crs_wkt
        self.violations = violations
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var rank: Int
        public var id: String
        /// The registry's status the patch takes when recorded (only when the run was given the tracked violations).
        public var status: String?
        /// Rule codes, `;`-separated.
        public var rules: String
        public var severity: String
        /// 0–100; nil when the change detection gave none.
        public var score: Int?
        public var area_m2: Double
        public var pixels: Int
        /// Majority class codes of the patch on the two dates (0: none).
        public var before_class: Int
        public var after_class: Int
        /// Navigation point (inside the patch), WGS84.
        public var lon: Double
        public var lat: Double
        /// The outline in WGS84 longitude/latitude.
        public var geometry_wkt: String
        public var chip_before: String?
        public var chip_after: String?
        /// The zone (`read.plan` role `zones`) holding most of the patch's pixels: its code and name.
        public var zone_code: String? = nil
        public var zone_name: String? = nil
        /// m² of the patch inside the features of each connected plan layer, by role (`redline`, `basic_farmland`,
        /// `urban_boundary`, `zoning`, `approvals`, `zones`), counted from its pixels, not its box.
        public var plan_area_m2: [String: Double]? = nil
        /// m² of the patch outside the urban development boundary (nil: no boundary was connected).
        public var outside_urban_boundary_m2: Double? = nil
        /// m² of the patch that was cropland on the earlier date (or in the land-use survey).
        public var cropland_m2: Double? = nil
        /// The approvals the patch touches: their numbers (the layer's code field, else its id field).
        public var approvals: [String]? = nil
        /// Names of the majority classes (English, Chinese) and of the rules broken (Chinese), from the run's legend
        /// and rule set.
        public var before_class_name: String? = nil
        public var before_class_zh: String? = nil
        public var after_class_name: String? = nil
        public var after_class_zh: String? = nil
        public var rule_names_zh: String? = nil
        /// The plan features touched, by role: "id name" each.
        public var plan_features: [String: [String]]? = nil
        /// The navigation point in GCJ-02 (Amap, Tencent), when the run asked for it (`gcj02: true`).
        public var gcj02_lat: Double? = nil
        public var gcj02_lon: Double? = nil
        /// The navigation point in the plan's CRS (`plan_crs`), at the precision its unit needs.
        public var plan_x: Double? = nil
        public var plan_y: Double? = nil
        public var plan_crs: String? = nil
        /// The GDAL geotransform of both chips' pixels (in the list's `crs_wkt`).
        public var chip_transform: [Double]? = nil

        public init(rank: Int, id: String, status: String? = nil, rules: String, severity: String, score: Int? = nil, area_m2: Double, pixels: Int, before_class: Int, after_class: Int, lon: Double, lat: Double, geometry_wkt: String, chip_before: String? = nil, chip_after: String? = nil, zone_code: String? = nil, zone_name: String? = nil, plan_area_m2: [String: Double]? = nil, outside_urban_boundary_m2: Double? = nil, cropland_m2: Double? = nil, approvals: [String]? = nil, before_class_name: String? = nil, before_class_zh: String? = nil, after_class_name: String? = nil, after_class_zh: String? = nil, rule_names_zh: String? = nil, plan_features: [String: [String]]? = nil, gcj02_lat: Double? = nil, gcj02_lon: Double? = nil, plan_x: Double? = nil, plan_y: Double? = nil, plan_crs: String? = nil, chip_transform: [Double]? = nil) {
            self.rank = rank
            self.id = id
            self.status = status
            self.rules = rules
            self.severity = severity
            self.score = score
            self.area_m2 = area_m2
            self.pixels = pixels
            self.before_class = before_class
            self.after_class = after_class
            self.lon = lon
            self.lat = lat
            self.geometry_wkt = geometry_wkt
            self.chip_before = chip_before
            self.chip_after = chip_after
            self.zone_code = zone_code
            self.zone_name = zone_name
            self.plan_area_m2 = plan_area_m2
            self.outside_urban_boundary_m2 = outside_urban_boundary_m2
            self.cropland_m2 = cropland_m2
            self.approvals = approvals
            self.before_class_name = before_class_name
            self.before_class_zh = before_class_zh
            self.after_class_name = after_class_name
            self.after_class_zh = after_class_zh
            self.rule_names_zh = rule_names_zh
            self.plan_features = plan_features
            self.gcj02_lat = gcj02_lat
            self.gcj02_lon = gcj02_lon
            self.plan_x = plan_x
            self.plan_y = plan_y
            self.plan_crs = plan_crs
            self.chip_transform = chip_transform
        }
    }

    public static func read(_ url: URL) throws -> ViolationList {
        try JSONDecoder().decode(ViolationList.self, from: Data(contentsOf: url))
    }
}

/// The violations a registry tracks over a scene, handed to its run as `tracked-violations.json` in the run's output
/// root (`landwatch nightly` writes it): `write.violations` then names a patch that overlaps a tracked violation by
/// that violation's id, so that the scene's list, its chips and report, the registry and every export agree on one
/// id. The overlap rule is the registry's: the common area is at least `overlap` of the smaller outline's.
public struct TrackedViolations: Codable, Sendable, Equatable {
    public static let fileName = "tracked-violations.json"

    public var overlap: Double
    public var violations: [Site]

    public struct Site: Codable, Sendable, Equatable {
        public var id: String
        /// The status the violation takes when the patch is seen again (the registry's transition).
        public var status_if_seen: String
        /// WGS84 outline.
        public var geometry_wkt: String

        public init(id: String, statusIfSeen: String, geometryWKT: String) {
            self.id = id
            status_if_seen = statusIfSeen
            geometry_wkt = geometryWKT
        }
    }

    public init(overlap: Double, violations: [Site]) {
        self.overlap = overlap
        self.violations = violations
    }

    /// Statuses that keep a site at the end of the list: a decision already taken (legal, or a false alarm).
    public static let decided: Set<String> = ["dismissed", "approved_late", "false_alarm"]
}
