import Foundation

/// The urban-renewal sections of the report, as HTML fragments (a `<section>` each) made from the stages' typed
/// results, in English or Chinese. The report stage places them; nothing here reads files.
public enum RenewalReport {
    public enum Language: String, Sendable {
        case en, zh
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    static func table(_ header: [String], _ rows: [(cells: [String], highlight: Bool)]) -> String {
        "<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
            + rows.map { row in
                "<tr\(row.highlight ? " class=\"warning\"" : "")>" + row.cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
            }.joined() + "</tbody></table>"
    }

    /// Vacant land and idle approved land per zone (count, m², 亩), and the idle approvals with their numbers.
    public static func vacancySection(_ result: VacancyResult, language: Language) -> String {
        let zh = language == .zh
        let title = zh ? "闲置与空置用地" : "Vacant and idle land"
        let intro = zh
            ? "城镇开发边界内在 \(result.dates.first ?? "") 至 \(result.dates.last ?? "") 的 \(result.dates.count) 期分类中持续裸露或未建设至少 \(number(result.minMonths, 0)) 个月的图斑；批准（\(result.dateMeaning == "start" ? "约定动工" : "批准")日期）满 \(number(result.idleAfterMonths, 0)) 个月仍未建设的批而未用土地。"
            : "Patches bare or unbuilt on every clear date for at least \(number(result.minMonths, 0)) months, over \(result.dates.count) classified dates from \(result.dates.first ?? "") to \(result.dates.last ?? "")\(result.insideUrbanBoundary ? " inside the urban development boundary" : ""); approved land still unbuilt \(number(result.idleAfterMonths, 0)) months after its \(result.dateMeaning == "start" ? "agreed start" : "approval") date."
        let header = zh ? ["区域", "名称", "空置图斑", "空置面积 (m²)", "空置 (亩)", "闲置批地", "闲置面积 (m²)", "闲置 (亩)"]
            : ["zone", "name", "vacant patches", "vacant m²", "vacant mu", "idle approvals", "idle m²", "idle mu"]
        let zones = table(header, result.zones.map { z in
            ([z.code, z.name, String(z.vacantPatches), number(z.vacantM2, 0), number(z.vacantMu, 2), String(z.idleApprovals),
              number(z.idleM2, 0), number(z.idleMu, 2)], z.idleApprovals > 0)
        })
        let idle = result.approvals.filter(\.idle)
        let idleHeader = zh ? ["批准文号", "日期", "已过月数", "面积 (亩)", "未建设比例", "状态"]
            : ["approval", "date", "months since", "area (mu)", "unbuilt share", "status"]
        let idleTable = idle.isEmpty ? "<p>\(zh ? "无闲置批地。" : "No idle approved land.")</p>"
            : table(idleHeader, idle.map { a in
                ([a.number, a.date, number(a.ageMonths, 1), number(a.areaMu, 2), number(a.unbuiltShare.map { $0 * 100 }, 0) + " %",
                  zh ? (a.status == "idle_stalled" ? "动工不足且一年未变" : "未建设") : (a.status == "idle_stalled" ? "stalled" : "unbuilt")], true)
            })
        return "<section id=\"renewal-vacancy\"><h2>\(title)</h2><p>\(escape(intro))</p>\(zones)\(idleTable)</section>"
    }

    /// Green-space service coverage per zone and level, zones below their target highlighted.
    public static func greenAccessSection(_ result: GreenAccessResult, language: Language) -> String {
        let zh = language == .zh
        let title = zh ? "公园绿地服务覆盖" : "Green-space access"
        let levels = result.levels.map { level in
            zh ? "\(number(level.radius, 0)) 米内有 ≥\(number(level.minArea, 0)) m² 绿地（目标 \(number(level.target * 100, 0)) %）"
                : "within \(number(level.radius, 0)) m of green ≥ \(number(level.minArea, 0)) m² (target \(number(level.target * 100, 0)) %)"
        }.joined(separator: zh ? "；" : "; ")
        let intro = zh ? "居住用地（\(result.measure == "people" ? "人口" : "面积")）的服务覆盖率：\(levels)。距离为像元中心间直线距离（GDAL proximity），非步行距离。"
            : "Share of residential \(result.measure == "people" ? "population" : "area") served: \(levels). Distances are straight lines between pixel centres (GDAL proximity), not walking distances."
        var header = zh ? ["区域", "名称", result.measure == "people" ? "人口" : "居住面积 (m²)"] : ["zone", "name", result.measure == "people" ? "people" : "residential m²"]
        header += result.levels.map { zh ? "\(number($0.radius, 0)) 米覆盖率" : "\(number($0.radius, 0)) m coverage" }
        let rows = result.zones.map { z -> (cells: [String], highlight: Bool) in
            ([z.code, z.name, number(z.residents, 0)] + z.levels.map { number($0.coverage.map { $0 * 100 }, 1) + " %" + ($0.belowTarget ? " ▼" : "") },
             z.levels.contains(where: \.belowTarget))
        }
        return "<section id=\"renewal-green-access\"><h2>\(title)</h2><p>\(escape(intro))</p>\(table(header, rows))</section>"
    }

    /// The top candidates on a map (an inline SVG of their outlines over the zones' extent) and in a table with the
    /// expected gain in their zone's coverage.
    public static func candidatesSection(_ result: CandidatesResult, top: Int = 10, language: Language) -> String {
        let zh = language == .zh
        let title = zh ? "口袋公园候选地块" : "Pocket-park candidates"
        let plots = Array(result.plots.prefix(top))
        let intro = zh ? "共 \(result.plots.count) 块候选地（400–10,000 m² 的空置、闲置及边角地），按评分排序；生态保护红线与永久基本农田内 \(result.excludedOnProtectedLand) 块不列入。\(result.heatIncluded ? "" : "无地表温度输入，评分不含热岛分项。")"
            : "\(result.plots.count) candidate plots (vacant, idle and leftover land of 400–10,000 m²) ranked by score; \(result.excludedOnProtectedLand) on the red line or basic farmland left out.\(result.heatIncluded ? "" : " No LST input: the heat component is left out of the score.")"
        let header = zh ? ["排名", "编号", "评分", "来源", "面积 (亩)", "区域", "覆盖率增量 (百分点)", "新增服务"]
            : ["rank", "id", "score", "sources", "area (mu)", "zone", "coverage gain (points)", "newly served"]
        let rows = plots.map { p -> (cells: [String], highlight: Bool) in
            let g = p.gains.first
            return ([String(p.rank), p.id, number(p.score, 1), p.sources.joined(separator: ", "), number(p.areaMu, 2), p.zoneName.isEmpty ? p.zoneCode : p.zoneName,
                     number(g?.gainPoints, 2), number(g?.newlyServed, 0)], false)
        }
        return "<section id=\"renewal-candidates\"><h2>\(title)</h2><p>\(escape(intro))</p>\(map(plots))\(table(header, rows))</section>"
    }

    /// An SVG of the plots' outlines (from their WKT) numbered by rank; empty without plots.
    static func map(_ plots: [CandidatesResult.Plot]) -> String {
        let rings = plots.map { ($0.rank, Self.rings($0.wkt)) }
        let points = rings.flatMap { $0.1.flatMap { $0 } }
        guard let minX = points.map(\.0).min(), let maxX = points.map(\.0).max(),
              let minY = points.map(\.1).min(), let maxY = points.map(\.1).max() else { return "" }
        let pad = max(maxX - minX, maxY - minY) * 0.1 + 1
        let (x0, y0, w, h) = (minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad)
        let size = 480.0, scale = size / max(w, h)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w * scale))\" height=\"\(Int(h * scale))\" class=\"renewal-map\">"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#f4f4f0\"/>"
        for (rank, polygon) in rings {
            let path = polygon.map { ring in
                "M" + ring.map { String(format: "%.1f,%.1f", ($0.0 - x0) * scale, (y0 + h - $0.1) * scale) }.joined(separator: "L") + "Z"
            }.joined()
            let first = polygon.first?.first ?? (x0, y0)
            svg += "<path d=\"\(path)\" fill=\"#2d7f3b\" fill-opacity=\"0.6\" stroke=\"#174d22\"/>"
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">\(rank)</text>", (first.0 - x0) * scale + 3, (y0 + h - first.1) * scale - 3)
        }
        return svg + "</svg>"
    }

    /// The rings of a POLYGON or MULTIPOLYGON WKT, as coordinate lists.
    static func rings(_ wkt: String) -> [[(Double, Double)]] {
        var result: [[(Double, Double)]] = []
        var current = ""
        var depth = 0
        for ch in wkt {
            if ch == "(" { depth += 1; current = ""; continue }
            if ch == ")" {
                if !current.isEmpty {
                    let coords = current.split(separator: ",").compactMap { pair -> (Double, Double)? in
                        let xy = pair.split(separator: " ").compactMap { Double($0) }
                        return xy.count >= 2 ? (xy[0], xy[1]) : nil
                    }
                    if !coords.isEmpty { result.append(coords) }
                }
                current = ""
                depth -= 1
                continue
            }
            current.append(ch)
        }
        return result
    }
}
