import Foundation
import LandwatchGDAL
import LandwatchAlgorithms
import LandwatchOutputs
import LandwatchProducts

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
