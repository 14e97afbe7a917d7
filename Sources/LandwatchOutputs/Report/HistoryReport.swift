import Foundation

/// What the history report shows: each zone's metrics over the dates seen and violations per month by status, as
/// the registry holds them (`landwatch report --db`). Plain values, so that it is testable without a registry.
package struct HistoryData: Sendable {
    /// A measure charted over time.
    package enum Measure: String, CaseIterable, Sendable {
        case green = "green_coverage", intensity, suhi = "suhi_c"
    }

    package struct Zone: Sendable {
        package var id: String
        package var name: String
        /// Per measure, (date, value) oldest first; shares in percent, SUHI in °C.
        package var series: [Measure: [(date: String, value: Double)]] = [:]

        package init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// The statuses counted per month, in this order.
    package static let statuses = ["new", "persisting", "resolved", "dismissed", "confirmed", "other"]

    package var zones: [Zone]
    /// Every date a zone was measured on, oldest first.
    package var dates: [String]
    /// YYYY-MM, oldest first, with the number of violations in each status at the end of the month (among those with an
    /// event in it).
    package var months: [(month: String, counts: [String: Int])]
    package var from: String?
    package var to: String?
    /// True when SUHI values are the built-up-share proxy (no thermal band), in percent.
    package var suhiIsProxy = false
    /// Distinct violations with an event in the period.
    package var violations = 0

    package init(zones: [Zone], dates: [String], months: [(month: String, counts: [String: Int])], from: String?, to: String?) {
        self.zones = zones
        self.dates = dates
        self.months = months
        self.from = from
        self.to = to
    }

    /// Violations per month from their events: each violation counts once a month, in the status its last event of
    /// that month left it in.
    package static func months(events: [(violation: String, date: String, status: String)]) -> [(month: String, counts: [String: Int])] {
        var last: [String: [String: String]] = [:]  // month -> violation -> status
        for event in events.sorted(by: { $0.date < $1.date }) {
            last[String(event.date.prefix(7)), default: [:]][event.violation] = event.status
        }
        return last.keys.sorted().map { month in
            var counts: [String: Int] = [:]
            for status in last[month]!.values { counts[statuses.contains(status) ? status : "other", default: 0] += 1 }
            return (month, counts)
        }
    }
}

/// The history report: SVG line charts of each zone's green coverage, development intensity and SUHI over time (the
/// top zones by the latest value; the others in a table), and a bar chart of violations per month by status.
package enum HistoryReport {
    /// Zones drawn in one line chart at most; the others are listed in a table under it.
    package static let chartedZones = 8
    /// Characters of a zone name shown in a chart's legend; the full name is in its tooltip and the tables.
    package static let legendCharacters = 22

    static let palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"]
    static let statusColours = ["new": "#c0392b", "persisting": "#e67e22", "resolved": "#27ae60", "dismissed": "#7f8c8d",
                                "confirmed": "#8e44ad", "other": "#34495e"]

    static let english: [String: String] = [
        "title": "Monitoring history", "period": "Period", "nights": "Dates measured", "zones": "Zones",
        "over.time": "Zones over time", "green_coverage": "Green coverage (%)", "intensity": "Development intensity (built-up share, %)",
        "suhi_c": "Heat-island intensity (°C)", "suhi.proxy": "Heat-island proxy (built-up share, %)",
        "violations.month": "Violations per month by status", "month": "Month", "count": "Violations",
        "new": "new", "persisting": "persisting", "resolved": "resolved", "dismissed": "dismissed", "confirmed": "confirmed", "other": "other",
        "zone": "Zone", "name": "Name", "first": "First", "latest": "Latest", "change": "Change", "date": "Date",
        "no.trend": "Only one date is in the registry for this period: there is no trend yet. The values of that date are listed below.",
        "no.metrics": "The registry holds no zone metrics for this period (the nightly pipeline has no metrics stages, or no scene was compared yet).",
        "no.violations": "No violation event in this period.",
        "charted": "The %d zones with the highest latest value are drawn; their values:", "others": "The other %d zones",
        "all.dates": "from the first date to the last", "source": "From the registry %@", "chart.in.page": "chart in index.html",
    ]
    static let chinese: [String: String] = [
        "title": "监测历史", "period": "时段", "nights": "监测日期数", "zones": "分区",
        "over.time": "各分区随时间变化", "green_coverage": "绿化覆盖率（%）", "intensity": "开发强度（建设用地占比，%）",
        "suhi_c": "热岛强度（°C）", "suhi.proxy": "热岛替代指标（建设用地占比，%）",
        "violations.month": "每月违法图斑（按状态）", "month": "月份", "count": "图斑数",
        "new": "新增", "persisting": "持续", "resolved": "已消除", "dismissed": "已排除", "confirmed": "已确认", "other": "其他",
        "zone": "分区", "name": "名称", "first": "首次", "latest": "最新", "change": "变化", "date": "日期",
        "no.trend": "该时段登记库中只有一个日期：尚无趋势。下表列出该日期的数值。",
        "no.metrics": "该时段登记库中没有分区指标（夜间流程未包含指标阶段，或尚未比较任何影像）。",
        "no.violations": "该时段没有违法图斑记录。",
        "charted": "图中绘出最新值最高的 %d 个分区，其数值如下：", "others": "其余 %d 个分区",
        "all.dates": "从第一个日期到最后一个日期", "source": "数据来自登记库 %@", "chart.in.page": "图见 index.html",
    ]

    package static func label(_ key: String, _ language: ReportLanguage) -> String {
        (language == .zh ? chinese : english)[key] ?? english[key] ?? key
    }

    /// The zones ranked by their latest value of `measure` (highest first; zones without it are left out).
    package static func ranked(_ zones: [HistoryData.Zone], by measure: HistoryData.Measure) -> [HistoryData.Zone] {
        zones.filter { !($0.series[measure] ?? []).isEmpty }
            .sorted { ($0.series[measure]!.last!.value, $1.id) > ($1.series[measure]!.last!.value, $0.id) }
    }

    /// The name as a legend shows it: at most ``legendCharacters`` columns, a wide (CJK) character taking two, cut
    /// with "…" when longer.
    package static func short(_ name: String) -> String {
        func columns(_ c: Character) -> Int { c.unicodeScalars.first.map { $0.value >= 0x1100 ? 2 : 1 } ?? 1 }
        guard name.reduce(0, { $0 + columns($1) }) > legendCharacters else { return name }
        var shown = "", used = 0
        for c in name {
            if used + columns(c) > legendCharacters - 1 { break }
            shown.append(c)
            used += columns(c)
        }
        return shown + "…"
    }

    static func number(_ value: Double) -> String { String(format: abs(value) < 10 ? "%.2f" : "%.1f", value) }

    /// Days since 1970-01-01 of a YYYY-MM-DD date (the x axis is in days, so that irregular nights keep their spacing).
    static func day(_ date: String) -> Double {
        let parts = date.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return 0 }
        let (y0, m, d) = (parts[0], parts[1], parts[2])
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Double(era * 146097 + doe - 719468)
    }

    /// One line per zone over the dates; each point a circle carrying its zone, date and value (`data-*`), with a
    /// tooltip; the legend shows names cut to ``legendCharacters`` with the full name in a `<title>`.
    /// - Parameter colours: each zone's colour index (so that a zone keeps its colour across charts); by position when nil.
    package static func lineChart(title: String, zones: [HistoryData.Zone], measure: HistoryData.Measure, dates: [String],
                                  colours: [String: Int]? = nil) -> String {
        let width = 900, height = 380, left = 64, right = 230, top = 44, bottom = 70
        let plotW = Double(width - left - right), plotH = Double(height - top - bottom)
        let values = zones.flatMap { ($0.series[measure] ?? []).map(\.value) }
        let vmin = values.min() ?? 0, vmax = values.max() ?? 1
        var low = min(0, vmin), high = SVGChart.niceMaximum(max(vmax, 1e-9))
        if vmin > 0, vmax - vmin < 0.25 * vmax {
            // Values close together (zones of one town): the axis spans them, from a round value, so lines stay apart.
            let step = SVGChart.niceMaximum(max(vmax - vmin, vmax * 1e-3) * 1.5) / 4
            low = (vmin / step).rounded(.down) * step
            high = low + 4 * step < vmax ? low + 8 * step : low + 4 * step
        }
        let firstDay = day(dates.first ?? ""), lastDay = day(dates.last ?? "")
        let span = max(lastDay - firstDay, 1)
        func x(_ date: String) -> Double { dates.count < 2 ? Double(left) + plotW / 2 : Double(left) + (day(date) - firstDay) / span * plotW }
        func y(_ value: Double) -> Double { Double(top) + (high - value) / (high - low) * plotH }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="history-line" data-measure="\(measure.rawValue)" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" style="font-family: 'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif; font-size: 13px">
            <rect width="\(width)" height="\(height)" fill="#ffffff"/>
            <text x="10" y="24" font-size="15" font-weight="bold">\(ReportDocument.escape(title))</text>

            """
        // Y axis: five ticks with grid lines.
        for step in 0...4 {
            let value = low + (high - low) * Double(step) / 4
            let yy = y(value)
            svg += String(format: "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, yy, width - right, yy)
            svg += String(format: "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">", left - 6, yy + 4)
                + ReportDocument.escape(Quicklook.format(value)) + "</text>\n"
        }
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>\n"
        // X axis: the dates (at most eight labels, evenly chosen).
        let every = max(1, Int((Double(dates.count) / 8).rounded(.up)))
        for (i, date) in dates.enumerated() where i % every == 0 || i == dates.count - 1 {
            svg += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">", x(date), height - bottom + 18)
                + ReportDocument.escape(date) + "</text>"
        }
        svg += "\n"
        for (index, zone) in zones.enumerated() {
            let colour = palette[(colours?[zone.id] ?? index) % palette.count]
            let points = zone.series[measure] ?? []
            let id = ReportDocument.escape(zone.id), name = ReportDocument.escape(zone.name)
            svg += "<g class=\"series\" data-zone=\"\(id)\">"
            if points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
                    + points.map { String(format: "%.1f,%.1f", x($0.date), y($0.value)) }.joined(separator: " ") + "\"/>"
            }
            for point in points {
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\" ", x(point.date), y(point.value), colour)
                    + "data-zone=\"\(id)\" data-date=\"\(point.date)\" data-value=\"\(point.value)\">"
                    + "<title>\(name) \(point.date): \(number(point.value))</title></circle>"
            }
            // The legend entry: a swatch, the name cut to fit, the full name in its tooltip.
            let ly = top + 8 + index * 22
            svg += "<g class=\"legend\"><title>\(name)</title>"
            svg += "<line x1=\"\(width - right + 14)\" y1=\"\(ly)\" x2=\"\(width - right + 34)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"/>"
            svg += "<text x=\"\(width - right + 40)\" y=\"\(ly + 4)\">\(ReportDocument.escape(short(zone.name)))</text></g></g>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// Stacked bars, one per month, one segment per status (`data-month`, `data-status`, `data-count`), a legend of
    /// the statuses in `language`.
    package static func monthChart(title: String, months: [(month: String, counts: [String: Int])], language: ReportLanguage) -> String {
        let width = 900, height = 360, left = 56, right = 150, top = 44, bottom = 60
        let plotW = Double(width - left - right), plotH = Double(height - top - bottom)
        // Counts: a multiple of 4, so that the five ticks are whole numbers.
        let high = Double(4 * Int((Double(max(months.map { $0.counts.values.reduce(0, +) }.max() ?? 1, 1)) / 4).rounded(.up)))
        let slot = plotW / Double(max(months.count, 1)), barW = min(60, slot * 0.7)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="history-months" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            style="font-family: 'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif; font-size: 13px">
            <rect width="\(width)" height="\(height)" fill="#ffffff"/>
            <text x="10" y="24" font-size="15" font-weight="bold">\(ReportDocument.escape(title))</text>

            """
        for step in 0...4 {
            let value = high * Double(step) / 4, yy = Double(top) + plotH - value / high * plotH
            svg += String(format: "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, yy, width - right, yy)
            svg += String(format: "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%@</text>\n", left - 6, yy + 4, Quicklook.format(value))
        }
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>\n"
        for (i, month) in months.enumerated() {
            let cx = Double(left) + slot * (Double(i) + 0.5)
            var base = Double(top) + plotH
            svg += "<g class=\"month\" data-month=\"\(month.month)\">"
            for status in HistoryData.statuses {
                guard let count = month.counts[status], count > 0 else { continue }
                let h = Double(count) / high * plotH
                base -= h
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\" ", cx - barW / 2, base, barW, h,
                              statusColours[status]!)
                    + "data-status=\"\(status)\" data-count=\"\(count)\"><title>\(month.month) \(ReportDocument.escape(label(status, language))): \(count)</title></rect>"
            }
            svg += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%@</text></g>\n", cx, height - bottom + 18, month.month)
        }
        for (i, status) in HistoryData.statuses.enumerated() {
            let ly = top + 8 + i * 22
            svg += "<rect x=\"\(width - right + 14)\" y=\"\(ly - 8)\" width=\"14\" height=\"14\" fill=\"\(statusColours[status]!)\"/>"
                + "<text x=\"\(width - right + 34)\" y=\"\(ly + 4)\">\(ReportDocument.escape(label(status, language)))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// The report as a document: period and counts first, then one line chart per measure (with tables of the
    /// charted zones' values and of the others), then the violations per month.
    package static func document(_ data: HistoryData, language: ReportLanguage, source: String) -> ReportDocument {
        let l = { (key: String) in label(key, language) }
        let period = "\(data.from ?? data.dates.first ?? data.months.first?.month ?? "…") – \(data.to ?? data.dates.last ?? data.months.last?.month ?? "…")"
        var document = ReportDocument(language: language, title: l("title"), subtitle: "\(period) · " + String(format: l("source"), source))
        document.sections.append(.init(id: "summary", title: l("period"), blocks: [.keyFigures([
            .init(label: l("period"), value: period),
            .init(label: l("nights"), value: "\(data.dates.count)"),
            .init(label: l("zones"), value: "\(data.zones.count)"),
            .init(label: l("count"), value: "\(data.violations)"),
        ])]))
        document.sections += trendSections(data, language: language)
        return document
    }

    /// The zones over time (one line chart per measure with tables of the values, or a note when there is one date
    /// or none) and the violations per month by status: the history report's body, and a run report's "over time".
    package static func trendSections(_ data: HistoryData, language: ReportLanguage) -> [ReportDocument.Section] {
        let l = { (key: String) in label(key, language) }
        var overTime = ReportDocument.Section(id: "over-time", title: l("over.time"))
        if data.zones.isEmpty {
            overTime.blocks.append(.note(l("no.metrics")))
        } else if data.dates.count < 2 {
            overTime.blocks.append(.note(l("no.trend")))
            let rows = data.zones.map { zone in
                [zone.id, zone.name] + HistoryData.Measure.allCases.map { m in zone.series[m]?.last.map { number($0.value) } ?? "–" }
            }
            overTime.blocks.append(.table(.init(header: [l("zone"), l("name")] + HistoryData.Measure.allCases.map { measureLabel($0, data, language) },
                                                rows: rows, numeric: [2, 3, 4])))
        } else {
            for measure in HistoryData.Measure.allCases {
                let ranked = ranked(data.zones, by: measure)
                guard !ranked.isEmpty else { continue }
                let charted = Array(ranked.prefix(chartedZones)), others = Array(ranked.dropFirst(chartedZones))
                let title = measureLabel(measure, data, language)
                // A zone keeps its colour in every chart when all zones fit in one; else colours follow the rank.
                let colours = data.zones.count <= chartedZones ? Dictionary(uniqueKeysWithValues: data.zones.enumerated().map { ($1.id, $0) }) : nil
                overTime.blocks.append(.html(lineChart(title: title, zones: charted, measure: measure, dates: data.dates, colours: colours),
                                             markdown: "(\(title): \(l("chart.in.page")))"))
                overTime.blocks.append(.paragraph(String(format: l("charted"), charted.count)))
                overTime.blocks.append(block(valueTable(charted, measure: measure, language: language)))
                if !others.isEmpty {
                    overTime.blocks.append(.paragraph(String(format: l("others"), others.count)))
                    overTime.blocks.append(block(valueTable(others, measure: measure, language: language)))
                }
            }
        }
        var violations = ReportDocument.Section(id: "violations-per-month", title: l("violations.month"))
        if data.months.isEmpty {
            violations.blocks.append(.note(l("no.violations")))
        } else {
            violations.blocks.append(.html(monthChart(title: l("violations.month"), months: data.months, language: language),
                                           markdown: "(\(l("violations.month")): \(l("chart.in.page")))"))
            violations.blocks.append(.table(.init(header: [l("month")] + HistoryData.statuses.map(l),
                                                  rows: data.months.map { m in [m.month] + HistoryData.statuses.map { "\(m.counts[$0] ?? 0)" } },
                                                  numeric: Set(1...HistoryData.statuses.count))))
        }
        return [overTime, violations]
    }

    static func measureLabel(_ measure: HistoryData.Measure, _ data: HistoryData, _ language: ReportLanguage) -> String {
        label(measure == .suhi && data.suhiIsProxy ? "suhi.proxy" : measure.rawValue, language)
    }

    /// A table whose figures stay on one line (`white-space: nowrap` on their cells) when a long name takes the room;
    /// the name wraps, whole. The Markdown shows the same table.
    static func block(_ table: ReportDocument.Table) -> ReportDocument.Block {
        var h = "<table>\n<thead><tr>" + table.header.map { "<th>\(ReportDocument.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in table.rows {
            h += "<tr>" + row.enumerated().map { column, cell in
                column < 2 ? "<td>\(ReportDocument.escape(cell))</td>"
                    : "<td class=\"num\" style=\"white-space: nowrap\">\(ReportDocument.escape(cell))</td>"
            }.joined() + "</tr>\n"
        }
        h += "</tbody>\n</table>"
        let markdown = ([table.header] + table.rows).map { "| " + $0.map(ReportDocument.cell).joined(separator: " | ") + " |" }
        return .html(h, markdown: ([markdown[0], "|" + String(repeating: " --- |", count: table.header.count)] + markdown.dropFirst()).joined(separator: "\n"))
    }

    /// Zone id, full name, first and latest value and the change between them.
    static func valueTable(_ zones: [HistoryData.Zone], measure: HistoryData.Measure, language: ReportLanguage) -> ReportDocument.Table {
        let rows = zones.map { zone -> [String] in
            let series = zone.series[measure] ?? []
            guard let first = series.first, let last = series.last else { return [zone.id, zone.name, "–", "–", "–", "–"] }
            // A no-break space keeps a date and its value on one line when a long name takes the room.
            return [zone.id, zone.name, "\(first.date):\u{00A0}\(number(first.value))", "\(last.date):\u{00A0}\(number(last.value))",
                    (last.value >= first.value ? "+" : "") + number(last.value - first.value), "\(series.count)"]
        }
        return .init(header: [label("zone", language), label("name", language), label("first", language), label("latest", language),
                              label("change", language), label("nights", language)], rows: rows, numeric: [4, 5])
    }

    /// summary.json: the period, the dates, every zone's series and the months' counts (the numbers the charts draw).
    package static func summaryJSON(_ data: HistoryData, language: ReportLanguage) throws -> Data {
        let zones: [[String: Any]] = data.zones.map { zone in
            var object: [String: Any] = ["zone": zone.id, "name": zone.name]
            for measure in HistoryData.Measure.allCases {
                object[measure.rawValue] = (zone.series[measure] ?? []).map { ["date": $0.date, "value": $0.value] }
            }
            return object
        }
        let object: [String: Any] = [
            "status": "complete", "language": language.rawValue, "from": data.from ?? NSNull(), "to": data.to ?? NSNull(),
            "dates": data.dates, "violations": data.violations, "trend": data.dates.count >= 2, "suhi_is_proxy": data.suhiIsProxy,
            "shares_in": "percent", "zones": zones,
            "months": data.months.map { ["month": $0.month, "counts": $0.counts] as [String: Any] },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes index.html and summary.json into `folder` as a whole: into a sibling folder first, which then takes
    /// the place of `folder` (an earlier report there is replaced only once the new one is complete).
    package static func write(_ data: HistoryData, language: ReportLanguage, source: String, to folder: String) throws {
        let target = URL(fileURLWithPath: folder).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let manager = FileManager.default
        let partial = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        // What a writer killed midway left (nightly holds its lock; a second writer of the same folder is not supported).
        for name in (try? manager.contentsOfDirectory(atPath: parent.path)) ?? []
        where name.hasPrefix(".\(target.lastPathComponent).partial-") || name.hasPrefix(".\(target.lastPathComponent).old-") {
            try? manager.removeItem(at: parent.appendingPathComponent(name))
        }
        try manager.createDirectory(at: partial, withIntermediateDirectories: false)
        do {
            try Data(document(data, language: language, source: source).html().utf8).write(to: partial.appendingPathComponent("index.html"))
            try summaryJSON(data, language: language).write(to: partial.appendingPathComponent("summary.json"))
            if manager.fileExists(atPath: target.path) {
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
                try manager.moveItem(at: target, to: old)
                try manager.moveItem(at: partial, to: target)
                try? manager.removeItem(at: old)
            } else {
                try manager.moveItem(at: partial, to: target)
            }
        } catch {
            try? manager.removeItem(at: partial)
            throw error
        }
    }
}
