import Foundation
import LandwatchGDAL
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts

/// What the summary box at the top of the report says, gathered while the sections are built.
struct ReportFacts {
    /// Patches and area per severity (each patch counted once, with its gravest severity).
    var bySeverity: [(severity: String, patches: Int, areaM2: Double)] = []
    var violations: Int?
    var violationAreaM2: Double?
    /// Zones at warning or over a limit: name, measure, value (%), level.
    var zonesFlagged: [(zone: String, measure: String, value: Double?, level: IntensityResult.Level)] = []
    var intensityRan = false
    var greenCoverage: Double?
    /// Change of the green coverage over all zones, in percentage points (area-weighted), nil without a baseline.
    var greenChangePoints: Double?
    var suhiC: Double?
    var suhiProxy = false
    var hottest: (zone: String, suhiC: Double)?
}

/// The severities in the order a planner reads them: gravest first.
let severityOrder = ["high", "medium", "low"]

extension ReportBuilder {
    /// What ran, for the title: enforcement (change against the plan), environment (metrics), or both.
    var reportKind: String {
        let enforcement = !ran(HTMLReportStage.changes).isEmpty || !ran(HTMLReportStage.violations).isEmpty
        let environment = !(ran(HTMLReportStage.green) + ran(HTMLReportStage.intensity) + ran(HTMLReportStage.heatIsland)).isEmpty
        switch (enforcement, environment) {
        case (true, true): return "both"
        case (true, false): return "enforcement"
        case (false, true): return "environment"
        default: return "other"
        }
    }

    /// The acquisition dates of the imagery read, earliest first.
    var sceneDates: [String] {
        let readers: Set<String> = ["read.scene", "read.landsat", "read.series"]
        let dates = pipeline.topologicalOrder.compactMap { id -> String? in
            guard let declaration = pipeline.stage(id), readers.contains(declaration.uses) else { return nil }
            return plan.products[id]?.date
        }
        return Array(Set(dates)).sorted()
    }

    /// Where: the `place` option, else the zones' names when there are a few, else the centre of the grid (WGS84).
    func place(zoneNames: [String]) -> String {
        if let place = stage.place, !place.isEmpty { return place }
        let names = zoneNames.filter { !$0.isEmpty && $0 != t("scene") }
        if !names.isEmpty, names.count <= 4 { return names.joined(separator: t == .zh ? "、" : ", ") }
        let grid = plan.grid
        let e = grid.extent
        if let crs = try? SpatialReference(definition: grid.crsWKT),
           let toWGS84 = try? CoordinateTransformation(from: crs, to: .wgs84()),
           let centre = try? toWGS84.transform(x: (e.minX + e.maxX) / 2, y: (e.minY + e.maxY) / 2) {
            return String(format: t == .zh ? "北纬 %.3f°，东经 %.3f°" : "%.3f° N, %.3f° E", centre.y, centre.x)
        }
        return record.pipelineName
    }

    /// The title: what ran, where, when (an explicit `title` option wins).
    func title(zoneNames: [String]) -> String {
        if let title = stage.title { return title }
        let kind = reportKind
        let what = t(kind == "other" ? "report" : "title.\(kind)")
        let dates = sceneDates
        let when: String
        switch dates.count {
        case 0: when = ""
        case 1: when = dates[0]
        default: when = "\(dates.first!) \(t("to")) \(dates.last!)"
        }
        let separator = t == .zh ? "，" : ", "
        return what + (t == .zh ? "：" : ": ") + ([place(zoneNames: zoneNames)] + (when.isEmpty ? [] : [when])).joined(separator: separator)
    }

    /// The summary box: violations by severity with their area in mu, zones at warning or over a limit, green
    /// coverage and its change, the heat island.
    func summarySection() -> ReportDocument.Section {
        var figures: [ReportDocument.KeyFigure] = []
        if let count = facts.violations {
            let detail = facts.bySeverity.map { item in
                "\(t("severity.\(item.severity)")) \(item.patches) \(t("patches.unit")) \(Self.fmt(item.areaM2 / 666.67, 1)) \(t("mu"))"
            }.joined(separator: t == .zh ? "；" : "; ")
            let high = facts.bySeverity.first { $0.severity == "high" }?.patches ?? 0
            figures.append(.init(label: t("summary.violations"),
                                 value: "\(count) \(t("patches.unit")) · \(Self.fmt((facts.violationAreaM2 ?? 0) / 666.67, 1)) \(t("mu"))",
                                 detail: count == 0 ? t("none.found") : detail, highlight: high > 0 ? "over" : count > 0 ? "warning" : nil))
        }
        if facts.intensityRan {
            let over = facts.zonesFlagged.filter { $0.level == .exceeded }, warning = facts.zonesFlagged.filter { $0.level == .warning }
            let detail = facts.zonesFlagged.prefix(6).map { item in
                "\(item.zone) \(t(item.measure)) \(Self.fmt(item.value, 2)) % (\(t("level.\(item.level.rawValue)")))"
            }.joined(separator: t == .zh ? "；" : "; ") + (facts.zonesFlagged.count > 6 ? " …" : "")
            figures.append(.init(label: t("summary.zones"), value: "\(over.count) \(t("over.unit")) · \(warning.count) \(t("warning.unit"))",
                                 detail: facts.zonesFlagged.isEmpty ? t("summary.zones.none") : detail,
                                 highlight: !over.isEmpty ? "over" : !warning.isEmpty ? "warning" : nil))
        }
        if let green = facts.greenCoverage {
            let change = facts.greenChangePoints.map { (($0 >= 0 ? "+" : "") + Self.fmt($0, 1)) + " " + t("points") } ?? t("summary.no.baseline")
            figures.append(.init(label: t("summary.green"), value: Self.fmt(green * 100, 1) + " %", detail: "\(t("change.label")): \(change)"))
        }
        if facts.suhiProxy {
            figures.append(.init(label: t("summary.suhi"), value: "–", detail: t("proxy")))
        } else if facts.suhiC != nil || facts.hottest != nil {
            let detail = facts.hottest.map { "\(t("summary.hottest")): \($0.zone) \(Self.fmt($0.suhiC, 1)) °C" } ?? ""
            figures.append(.init(label: t("summary.suhi"), value: facts.suhiC.map { Self.fmt($0, 1) + " °C" } ?? "–", detail: detail,
                                 highlight: (facts.suhiC ?? 0) >= 2 ? "warning" : nil))
        }
        var section = ReportDocument.Section(id: "summary", title: t("summary"))
        if figures.isEmpty {
            section.blocks.append(.paragraph(t("nothing.text")))
        } else {
            section.blocks.append(.keyFigures(figures))
        }
        return section
    }

    /// Patches and area per severity from the list (each patch once, with its gravest severity), gravest first.
    static func bySeverity(_ entries: [ViolationList.Entry]) -> [(severity: String, patches: Int, areaM2: Double)] {
        var totals: [String: (Int, Double)] = [:]
        for entry in entries {
            let current = totals[entry.severity] ?? (0, 0)
            totals[entry.severity] = (current.0 + 1, current.1 + entry.area_m2)
        }
        let order = severityOrder + totals.keys.filter { !severityOrder.contains($0) }.sorted()
        return order.compactMap { severity in totals[severity].map { (severity, $0.0, $0.1) } }
    }
}
