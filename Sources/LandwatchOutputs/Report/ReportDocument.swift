import Foundation

/// The content of a report, independent of its format: sections of paragraphs, tables, figures and links, rendered
/// the same into HTML (for the browser) and Markdown (for email).
package struct ReportDocument {
    package struct Table {
        package var header: [String]
        package var rows: [[String]]
        /// Rows to highlight (zones over a limit), by index, with a CSS class: `warning` or `over`.
        package var highlights: [Int: String] = [:]
        /// Columns holding numbers, right-aligned.
        package var numeric: Set<Int> = []

        package init(header: [String], rows: [[String]], highlights: [Int: String] = [:], numeric: Set<Int> = []) {
            self.header = header
            self.rows = rows
            self.highlights = highlights
            self.numeric = numeric
        }
    }

    package struct Figure {
        /// Path relative to the report folder.
        package var file: String
        package var caption: String
        /// Colour swatches beside the image: (colour #rrggbb, label).
        package var legend: [(color: String, label: String)] = []
        package var width: Int
        package var height: Int

        package init(file: String, caption: String, legend: [(color: String, label: String)] = [], width: Int, height: Int) {
            self.file = file
            self.caption = caption
            self.legend = legend
            self.width = width
            self.height = height
        }
    }

    /// One figure of the summary box: what it is, its value, a line under it, and `warning` / `over` to make it stand
    /// out.
    package struct KeyFigure {
        package var label: String
        package var value: String
        package var detail: String
        package var highlight: String?

        package init(label: String, value: String, detail: String = "", highlight: String? = nil) {
            self.label = label
            self.value = value
            self.detail = detail
            self.highlight = highlight
        }
    }

    package enum Block {
        /// The summary box at the top: the figures a planner asks for first.
        case keyFigures([KeyFigure])
        case paragraph(String)
        case note(String)
        case table(Table)
        case figure(Figure)
        case links([(label: String, href: String)])
        case preformatted(summary: String, text: String)
        /// A section body another module rendered (escaped there), with what the Markdown shows instead.
        case html(String, markdown: String)
    }

    package struct Section {
        package var id: String
        package var title: String
        package var blocks: [Block] = []

        package init(id: String, title: String, blocks: [Block] = []) {
            self.id = id
            self.title = title
            self.blocks = blocks
        }
    }

    package var language: ReportLanguage
    package var title: String
    package var subtitle: String
    package var sections: [Section] = []

    package init(language: ReportLanguage, title: String, subtitle: String, sections: [Section] = []) {
        self.language = language
        self.title = title
        self.subtitle = subtitle
        self.sections = sections
    }

    // MARK: HTML

    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    package static let css = """
        body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", \
        "Noto Sans", "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1180px; padding: 24px; color: #1d2327; line-height: 1.5; }
        h1 { font-size: 1.7em; margin-bottom: 0.2em; }
        h2 { border-bottom: 2px solid #2c6e49; padding-bottom: 4px; margin-top: 2em; }
        .subtitle { color: #555; margin-top: 0; }
        table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
        th, td { border: 1px solid #ccd; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #eef2f0; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.warning td { background: #fff4d6; }
        tr.over td { background: #fbd9d6; font-weight: bold; }
        figure { margin: 1em 0; display: flex; gap: 18px; align-items: flex-start; flex-wrap: wrap; }
        figure img { border: 1px solid #99a; max-width: 100%; height: auto; }
        figcaption { font-size: 0.9em; color: #333; max-width: 360px; }
        ul.legend { list-style: none; padding: 0; margin: 0.5em 0 0 0; }
        ul.legend li { margin: 2px 0; }
        span.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #555; margin-right: 6px; vertical-align: -2px; }
        p.note { background: #f3f3f3; border-left: 4px solid #999; padding: 6px 10px; }
        pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 0.85em; }
        nav ul { columns: 2; }
        div.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0; }
        div.kf { border: 1px solid #b8c4bc; border-left: 6px solid #2c6e49; border-radius: 4px; padding: 8px 14px; min-width: 200px; \
        max-width: 360px; background: #f7faf8; }
        div.kf.warning { border-left-color: #e6a700; background: #fff8e1; }
        div.kf.over { border-left-color: #c0392b; background: #fdecea; }
        div.kf .label { font-size: 0.85em; color: #444; }
        div.kf .value { font-size: 1.5em; font-weight: bold; }
        div.kf .detail { font-size: 0.85em; color: #333; }
        section.appendix { color: #333; font-size: 0.95em; }
        """

    package func html() -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="\(language.htmlCode)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <h1>\(Self.escape(title))</h1>
            <p class="subtitle">\(Self.escape(subtitle))</p>
            <nav>
            <ul>

            """
        for section in sections { h += "<li><a href=\"#\(section.id)\">\(Self.escape(section.title))</a></li>\n" }
        h += "</ul>\n</nav>\n"
        for section in sections {
            let css = section.id == "provenance" ? " class=\"appendix\"" : ""
            h += "<section id=\"\(section.id)\"\(css)>\n<h2>\(Self.escape(section.title))</h2>\n"
            for block in section.blocks {
                switch block {
                case .keyFigures(let figures):
                    h += "<div class=\"summary\">\n" + figures.map { figure in
                        "<div class=\"kf\(figure.highlight.map { " " + $0 } ?? "")\"><div class=\"label\">\(Self.escape(figure.label))</div>"
                            + "<div class=\"value\">\(Self.escape(figure.value))</div>"
                            + (figure.detail.isEmpty ? "" : "<div class=\"detail\">\(Self.escape(figure.detail))</div>") + "</div>"
                    }.joined(separator: "\n") + "\n</div>\n"
                case .paragraph(let text):
                    h += "<p>\(Self.escape(text))</p>\n"
                case .note(let text):
                    h += "<p class=\"note\">\(Self.escape(text))</p>\n"
                case .table(let table):
                    h += "<table>\n<thead><tr>" + table.header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
                    for (index, row) in table.rows.enumerated() {
                        let css = table.highlights[index].map { " class=\"\($0)\"" } ?? ""
                        h += "<tr\(css)>" + row.enumerated().map { column, cell in
                            table.numeric.contains(column) ? "<td class=\"num\">\(Self.escape(cell))</td>" : "<td>\(Self.escape(cell))</td>"
                        }.joined() + "</tr>\n"
                    }
                    h += "</tbody>\n</table>\n"
                case .figure(let figure):
                    h += "<figure>\n<img src=\"\(Self.escape(figure.file))\" width=\"\(figure.width)\" height=\"\(figure.height)\" alt=\"\(Self.escape(figure.caption))\">\n"
                    h += "<figcaption>\(Self.escape(figure.caption))"
                    if !figure.legend.isEmpty {
                        h += "\n<ul class=\"legend\">\n" + figure.legend.map {
                            "<li><span class=\"swatch\" style=\"background: \($0.color)\">&#160;</span>\(Self.escape($0.label))</li>"
                        }.joined(separator: "\n") + "\n</ul>\n"
                    }
                    h += "</figcaption>\n</figure>\n"
                case .links(let links):
                    h += "<ul>\n" + links.map { "<li><a href=\"\(Self.escape($0.href))\">\(Self.escape($0.label))</a></li>" }.joined(separator: "\n") + "\n</ul>\n"
                case .html(let fragment, _):
                    h += fragment + "\n"
                case .preformatted(let summary, let text):
                    h += "<details>\n<summary>\(Self.escape(summary))</summary>\n<pre>\(Self.escape(text))</pre>\n</details>\n"
                }
            }
            h += "</section>\n"
        }
        h += "</body>\n</html>\n"
        return h
    }

    // MARK: Markdown

    package static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    package func markdown() -> String {
        var m = "# \(title)\n\n\(subtitle)\n"
        for section in sections {
            m += "\n## \(section.title)\n"
            for block in section.blocks {
                switch block {
                case .keyFigures(let figures):
                    m += "\n" + figures.map { figure in
                        "- **\(figure.label)**: \(figure.value)" + (figure.detail.isEmpty ? "" : " (\(figure.detail))")
                            + (figure.highlight == "over" ? " ⚠" : "")
                    }.joined(separator: "\n") + "\n"
                case .paragraph(let text): m += "\n\(text)\n"
                case .note(let text): m += "\n> \(text)\n"
                case .table(let table):
                    m += "\n| " + table.header.map(Self.cell).joined(separator: " | ") + " |\n"
                    m += "| " + table.header.indices.map { table.numeric.contains($0) ? "---:" : "---" }.joined(separator: " | ") + " |\n"
                    for (index, row) in table.rows.enumerated() {
                        let marked = table.highlights[index] == nil ? row : row.enumerated().map { $0 == 0 ? "**\($1)**" : $1 }
                        m += "| " + marked.map(Self.cell).joined(separator: " | ") + " |\n"
                    }
                case .figure(let figure):
                    m += "\n![\(figure.caption)](\(figure.file))\n"
                    if !figure.legend.isEmpty { m += "\n" + figure.legend.map { "- \($0.label)" }.joined(separator: "\n") + "\n" }
                case .links(let links): m += "\n" + links.map { "- [\($0.label)](\($0.href))" }.joined(separator: "\n") + "\n"
                case .preformatted(let summary, let text): m += "\n\(summary):\n\n```\n\(text)\n```\n"
                case .html(_, let markdown): m += "\n\(markdown)\n"
                }
            }
        }
        return m
    }
}
