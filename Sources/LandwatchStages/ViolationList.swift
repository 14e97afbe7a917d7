import Foundation
import LandwatchGDAL
import LandwatchAlgorithms

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

extension WriteViolationsStage {
    /// Names the patches by the tracked violations they overlap (best overlap first, each tracked violation at most
    /// once, in the list's order), the others by their geohash, never reusing a tracked id; moves the patches already
    /// decided (dismissed, approved late, false alarm) to the end of the list. Returns the statuses to print.
    static func adoptTrackedIDs(_ violations: inout [Violation], tracked: TrackedViolations) throws -> [String: String] {
        let sites = try tracked.violations.map { ($0, try Geometry(wkt: $0.geometry_wkt)) }
        let trackedIDs = Set(tracked.violations.map(\.id))
        var claimed = Set<String>()
        var statuses: [String: String] = [:]
        var unmatched: [Int] = []
        for index in violations.indices {
            let outline = violations[index].wgs84
            var best: (site: TrackedViolations.Site, share: Double)?
            for (site, geometry) in sites where !claimed.contains(site.id) {
                guard let common = outline.intersection(geometry) else { continue }
                let share = common.area / max(min(outline.area, geometry.area), 1e-18)
                if share >= tracked.overlap, share > (best?.share ?? 0) { best = (site, share) }
            }
            if let best {
                claimed.insert(best.site.id)
                violations[index].id = best.site.id
                statuses[best.site.id] = best.site.status_if_seen
            } else {
                unmatched.append(index)
            }
        }
        // New patches keep their geohash id unless a tracked violation (elsewhere) already carries it: then a suffix.
        var used = claimed
        for index in unmatched {
            let base = violations[index].id
            var id = base, suffix = 2
            while used.contains(id) || trackedIDs.contains(id) {
                id = "\(base)-\(suffix)"
                suffix += 1
            }
            violations[index].id = id
            statuses[id] = "new"
            used.insert(id)
        }
        let open = violations.filter { !TrackedViolations.decided.contains(statuses[$0.id] ?? "") }
        let decided = violations.filter { TrackedViolations.decided.contains(statuses[$0.id] ?? "") }
        violations = open + decided
        for index in violations.indices { violations[index].number = index + 1 }
        return statuses
    }

    /// The typed list of ``ViolationList``.
    static func typedList(_ violations: [Violation], statuses: [String: String]?, compliance: ComplianceDescription, legend: Legend,
                          planCRS: String? = nil, planDigits: Int = 2) -> ViolationList {
        ViolationList(before_date: compliance.beforeDate, after_date: compliance.afterDate, before_source: compliance.beforeSource,
                      violations: violations.map { v in
                          ViolationList.Entry(rank: v.number, id: v.id, status: statuses?[v.id], rules: v.rules.map(\.code).joined(separator: ";"),
                                              severity: v.severity.name, score: v.score, area_m2: (v.areaM2 * 10).rounded() / 10,
                                              pixels: v.patch.pixelCount, before_class: v.patch.majorityBefore,
                                              after_class: v.patch.majorityAfter, lon: ViolationTable.round(v.point.lon, 7),
                                              lat: ViolationTable.round(v.point.lat, 7), geometry_wkt: v.wgs84.wkt,
                                              chip_before: v.chips?.before, chip_after: v.chips?.after,
                                              zone_code: v.zone?.code, zone_name: v.zone?.name, plan_area_m2: v.planAreas,
                                              outside_urban_boundary_m2: v.outsideUrbanBoundary, cropland_m2: v.croplandArea,
                                              approvals: v.approvals,
                                              before_class_name: legend.class(code: v.patch.majorityBefore)?.name,
                                              before_class_zh: legend.class(code: v.patch.majorityBefore)?.nameZH,
                                              after_class_name: legend.class(code: v.patch.majorityAfter)?.name,
                                              after_class_zh: legend.class(code: v.patch.majorityAfter)?.nameZH,
                                              rule_names_zh: v.rules.map(\.nameZH).joined(separator: "；"),
                                              plan_features: Dictionary(v.plan.map { role, features in
                                                  (role, features.map { $0.name.isEmpty ? $0.id : "\($0.id) \($0.name)" })
                                              }, uniquingKeysWith: { a, _ in a }),
                                              gcj02_lat: v.gcj.map { ViolationTable.round($0.lat, 7) },
                                              gcj02_lon: v.gcj.map { ViolationTable.round($0.lon, 7) },
                                              plan_x: planCRS == nil ? nil : ViolationTable.round(v.planPoint.x, planDigits),
                                              plan_y: planCRS == nil ? nil : ViolationTable.round(v.planPoint.y, planDigits),
                                              plan_crs: planCRS, chip_transform: v.chipTransform)
                      })
    }
}
