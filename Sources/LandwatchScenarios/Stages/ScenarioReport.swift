import Foundation

/// The report's scenario comparison as an HTML fragment (a `<section>`, inline SVG, no script, no network): one bar
/// chart per measure across the scenarios (mean over the runs, with the range of the runs as a whisker), one map per
/// scenario when the report gives its image, and the validation table (model, null model, random allocation) when the
/// simulation was assessed.
///
/// - Parameters:
///   - maps: image source (relative to the report) of each scenario's map, by scenario name; scenarios without one
///     are listed with the path of their GeoTIFF.
///   - language: `en` or `zh` for the headings.
public func scenarioReportSection(_ result: ScenarioSimulationResult, maps: [String: String] = [:], language: String = "en") -> String {
    let zh = language == "zh"
    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
    func format(_ value: Double, _ digits: Int) -> String { value.isFinite ? String(format: "%.\(digits)f", value) : "–" }
    /// A scenario's measure summed over its zones (areas) or over the whole area (shares, weighted by cells).
    func total(_ scenario: ScenarioSimulationResult.Scenario, _ pick: (ScenarioSimulationResult.Zone) -> ScenarioSimulationResult.Spread,
               share: Bool) -> ScenarioSimulationResult.Spread {
        let cells = Double(scenario.zones.reduce(0) { $0 + $1.cells })
        func combine(_ f: (ScenarioSimulationResult.Spread) -> Double) -> Double {
            share ? scenario.zones.reduce(0.0) { $0 + f(pick($1)) * Double($1.cells) } / max(cells, 1)
                  : scenario.zones.reduce(0.0) { $0 + f(pick($1)) }
        }
        var spread = ScenarioSimulationResult.Spread([])
        spread.mean = combine(\.mean); spread.min = combine(\.min); spread.max = combine(\.max)
        return spread
    }
    struct Measure { var title: String; var unit: String; var digits: Int; var values: [ScenarioSimulationResult.Spread]; var before: Double? }
    let cellsAll = { (s: ScenarioSimulationResult.Scenario) in Double(s.zones.reduce(0) { $0 + $1.cells }) }
    let measures: [Measure] = [
        Measure(title: zh ? "耕地减少 (公顷)" : "Farmland lost (ha)", unit: "ha", digits: 1,
                values: result.scenarios.map { s in var t = total(s, \.farmlandLostM2, share: false); t.mean /= 1e4; t.min /= 1e4; t.max /= 1e4; return t }, before: nil),
        Measure(title: zh ? "生态保护红线内建设用地 (公顷)" : "Built-up inside the red line (ha)", unit: "ha", digits: 2,
                values: result.scenarios.map { s in var t = total(s, \.redlineBuiltUpM2After, share: false); t.mean /= 1e4; t.min /= 1e4; t.max /= 1e4; return t },
                before: result.scenarios.first.map { $0.zones.reduce(0) { $0 + $1.redlineBuiltUpM2Before } / 1e4 }),
        Measure(title: zh ? "国土开发强度 (%)" : "Development intensity (%)", unit: "%", digits: 1,
                values: result.scenarios.map { s in var t = total(s, \.intensityAfter, share: true); t.mean *= 100; t.min *= 100; t.max *= 100; return t },
                before: result.scenarios.first.map { s in s.zones.reduce(0.0) { $0 + $1.intensityBefore * Double($1.cells) } / max(cellsAll(s), 1) * 100 }),
        Measure(title: zh ? "绿化覆盖率 (%)" : "Green coverage (%)", unit: "%", digits: 1,
                values: result.scenarios.map { s in var t = total(s, \.greenCoverageAfter, share: true); t.mean *= 100; t.min *= 100; t.max *= 100; return t },
                before: result.scenarios.first.map { s in s.zones.reduce(0.0) { $0 + $1.greenCoverageBefore * Double($1.cells) } / max(cellsAll(s), 1) * 100 }),
    ]
    var html = "<section class=\"scenarios\">\n<h2>\(zh ? "多情景模拟" : "Scenarios")</h2>\n"
    html += "<p>\(zh ? "类 PLUS 模拟" : "PLUS-like simulation"): \(result.runs) \(zh ? "次运行/情景" : "runs per scenario") (seed \(result.seed)…\(result.seed + result.runs - 1)), "
        + "\(zh ? "起点" : "start"): \(escape(result.start)), \(zh ? "步数" : "steps"): \(format(result.steps, 2)); "
        + "\(zh ? "驱动因子" : "drivers"): \(escape(result.drivers.joined(separator: ", ")))"
        + (result.untrainedClasses.isEmpty ? "" : "; \(zh ? "无适宜性模型" : "no suitability model"): " + escape(result.untrainedClasses.keys.sorted().joined(separator: ", ")))
        + ".</p>\n"
    let width = 520.0, rowHeight = 26.0, left = 170.0
    for measure in measures {
        let top = max(measure.values.map { $0.max.isFinite ? $0.max : 0 }.max() ?? 0, measure.before ?? 0, 1e-9)
        let height = rowHeight * Double(measure.values.count) + 30
        html += "<figure><figcaption>\(escape(measure.title))</figcaption>\n"
        html += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(measure.title))\">\n"
        let scale = (width - left - 70) / top
        for (index, scenario) in result.scenarios.enumerated() {
            let v = measure.values[index], y = 10 + rowHeight * Double(index)
            html += "<text x=\"\(Int(left - 6))\" y=\"\(Int(y + 15))\" text-anchor=\"end\" font-size=\"12\">\(escape(scenario.name))</text>"
            html += "<rect x=\"\(Int(left))\" y=\"\(Int(y + 3))\" width=\"\(String(format: "%.1f", max(0, v.mean) * scale))\" height=\"16\" fill=\"#4e79a7\"/>"
            if v.max > v.min {
                html += "<line x1=\"\(String(format: "%.1f", left + v.min * scale))\" x2=\"\(String(format: "%.1f", left + v.max * scale))\" y1=\"\(Int(y + 11))\" y2=\"\(Int(y + 11))\" stroke=\"#222\" stroke-width=\"1.5\"/>"
            }
            html += "<text x=\"\(String(format: "%.1f", left + max(0, v.max) * scale + 6))\" y=\"\(Int(y + 15))\" font-size=\"11\">\(format(v.mean, measure.digits))</text>\n"
        }
        if let before = measure.before, before.isFinite {
            let x = left + before * scale
            html += "<line x1=\"\(String(format: "%.1f", x))\" x2=\"\(String(format: "%.1f", x))\" y1=\"6\" y2=\"\(Int(height - 18))\" stroke=\"#e15759\" stroke-dasharray=\"4 3\"/>"
            html += "<text x=\"\(String(format: "%.1f", x))\" y=\"\(Int(height - 4))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#e15759\">\(zh ? "现状" : "today") \(format(before, measure.digits))</text>\n"
        }
        html += "</svg></figure>\n"
    }
    html += "<h3>\(zh ? "情景图" : "Maps")</h3>\n<div class=\"scenario-maps\">\n"
    for scenario in result.scenarios {
        if let source = maps[scenario.name] {
            html += "<figure><img src=\"\(escape(source))\" alt=\"\(escape(scenario.name))\"><figcaption>\(escape(scenario.name))</figcaption></figure>\n"
        } else {
            html += "<p>\(escape(scenario.name)): <a href=\"\(escape(scenario.map))\">\(escape(scenario.map))</a></p>\n"
        }
    }
    html += "</div>\n"
    let assessed = result.scenarios.filter { $0.assessment != nil }
    if !assessed.isEmpty {
        html += "<h3>\(zh ? "模拟验证" : "Validation against the observed map")</h3>\n<table>\n<tr><th>scenario</th><th>model</th><th>kappa</th><th>figure of merit</th><th>quantity disagreement</th><th>allocation disagreement</th></tr>\n"
        for scenario in assessed {
            let a = scenario.assessment!
            func row(_ name: String, _ runs: [SimulationAgreement]) -> String {
                func mean(_ f: (SimulationAgreement) -> Double) -> String { format(runs.map(f).reduce(0, +) / Double(max(runs.count, 1)), 3) }
                return "<tr><td>\(escape(scenario.name))</td><td>\(escape(name))</td><td>\(mean(\.kappa))</td><td>\(mean(\.figureOfMerit))</td><td>\(mean(\.quantityDisagreement))</td><td>\(mean(\.allocationDisagreement))</td></tr>\n"
            }
            html += row("simulate.landuse (mean of \(a.model.count))", a.model) + row("null (no change)", [a.null]) + row("random allocation (mean of \(a.random.count))", a.random)
        }
        html += "</table>\n<p>\(zh ? "区域" : "Region"): \(escape(assessed[0].assessment!.region)). "
            + (zh ? "品质因数只计变化像元；模型的品质因数不高于随机分配时，它没有学到变化发生的位置。" : "The figure of merit counts change only; a model whose figure of merit is not above the random allocation's has not learned where change happens.")
            + "</p>\n"
    }
    html += "</section>\n"
    return html
}
