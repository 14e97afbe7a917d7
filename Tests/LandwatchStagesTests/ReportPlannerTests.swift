import Foundation
import LandwatchPipeline
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchOutputs
import LandwatchProducts
import LandwatchStages
import LandwatchTestSupport
import Logging
import XCTest

/// The report in the order of a planner's questions (issue 24): a title from what ran, where and when; a summary box
/// with the run's own figures first; findings, maps, method; the provenance in an appendix at the end.
final class ReportPlannerTests: PipelineTestCase {
    /// Runs a shipped pipeline (beside it, so its relative paths resolve) into the work folder; returns the report.
    func shipped(_ name: String, overrides: [String: String] = [:], edit: (String) -> String = { $0 }) throws -> URL {
        let source = TestPaths.repository.appendingPathComponent("pipelines/\(name).yaml")
        let copy = source.deletingLastPathComponent().appendingPathComponent(".test-\(UUID().uuidString).yaml")
        try edit(try String(contentsOf: source, encoding: .utf8)).write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let out = work.appendingPathComponent(name + "-" + (overrides["language"] ?? "en"))
        try runner.run(try runner.validate(path: copy.path, overrides: overrides), settings: .init(outputDirectory: out.path, threads: 2))
        return out.appendingPathComponent("report")
    }

    /// How many pixels of a PNG have exactly `colour` (RGB).
    static func pixels(of png: URL, colour: [Float]) throws -> Int {
        let image = try Dataset.open(png.path)
        let rgb = try (1...3).map { try image.band($0).read(Window(width: image.width, height: image.height)) }
        return (0..<(image.width * image.height)).filter { i in (0..<3).allSatisfy { rgb[$0][i] == colour[$0] } }.count
    }

    /// The h2 titles of the page, in order.
    static func headings(_ html: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: "<h2>([^<]+)</h2>")
        return pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
    }

    /// The summary box's figure whose label is `label`: its class attribute and its text.
    static func keyFigure(_ html: String, label: String) -> (css: String, text: String)? {
        let pattern = try! NSRegularExpression(pattern: "<div class=\"(kf[^\"]*)\"><div class=\"label\">" + NSRegularExpression.escapedPattern(for: label)
                                               + "</div>(.*?)</div>(?:<div class=\"detail\">(.*?)</div>)?</div>")
        guard let match = pattern.firstMatch(in: html, range: NSRange(html.startIndex..., in: html)) else { return nil }
        let text = (2...3).compactMap { Range(match.range(at: $0), in: html).map { String(html[$0]) } }.joined(separator: " | ")
        return (String(html[Range(match.range(at: 1), in: html)!]), text.replacingOccurrences(of: "<div class=\"value\">", with: ""))
    }

    func testTheReportAnswersAPlannersQuestionsInOrder() throws {
        let report = try shipped("demo-report")
        let out = report.deletingLastPathComponent()
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        // The title says what ran (enforcement and environment), where (the zones) and when (the two dates).
        XCTAssertTrue(html.contains("<h1>Satellite enforcement and environmental monitoring report: 城西区, 城东区, 2001-07-30 to 2013-07-07</h1>"),
                      html.components(separatedBy: "<h1>").dropFirst().first ?? "")
        // Each map is captioned with its own date: the later land cover and the violations are of 2013, though the later
        // image was normalised against the 2001 one (the reference of normalize.relative is not its date).
        XCTAssertTrue(html.contains("<figcaption>Land cover map 2001-07-30 (before-classes)"), "the earlier map's date")
        XCTAssertTrue(html.contains("<figcaption>Land cover map 2013-07-07 (after-classes)"), "the later map's date")
        XCTAssertTrue(html.contains("over the after land cover, with the plan (2013-07-07)"), "the violation map's date")
        // The two dates compared, side by side in true colour under one stretch; the LST map outlines its hot spots.
        XCTAssertTrue(html.contains("<figcaption>True-colour images of the two dates compared: Before 2001-07-30 · After 2013-07-07"))
        let summaryJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summaryJSON["trueColour"] as? String, "pair")
        let heatResult = try HeatIslandResult.decode(Data(contentsOf: out.appendingPathComponent("heat_island.json")))
        let threshold = try XCTUnwrap(heatResult.hotspotThresholdC)
        XCTAssertTrue(html.contains(String(format: "</span>Hot spots &gt; %.1f °C</li>", threshold)), "the hot-spot legend")
        XCTAssertGreaterThan(try Self.pixels(of: report.appendingPathComponent("images/lst.png"), colour: [0, 230, 230]), 20, "hot spots outlined")
        let pair = try Dataset.open(report.appendingPathComponent("images/truecolour.png").path)
        // Each half is an image, not a flat fill: many distinct colours on each side of the gap.
        let rgb = try (1...3).map { try pair.band($0).read(Window(width: pair.width, height: pair.height)) }
        for half in [0..<(pair.width / 3), (pair.width / 3 + 20)..<(2 * pair.width / 3)] {
            var colours = Set<[Float]>()
            for y in 40..<pair.height { for x in half { colours.insert(rgb.map { $0[y * pair.width + x] }) } }
            XCTAssertGreaterThan(colours.count, 200, "true-colour half \(half)")
        }
        let headings = Self.headings(html)
        XCTAssertEqual(headings.first, "Summary")
        XCTAssertEqual(headings.last, "Appendix: provenance (files, hashes, versions, timings)")
        let order = ["Summary", "Suspected violations", "Development intensity", "Green coverage", "Heat island", "Land cover", "Maps",
                     "Thresholds and rules used", "Appendix: provenance (files, hashes, versions, timings)"]
        XCTAssertEqual(headings.filter(order.contains), order)
        // Hashes and timings only in the appendix.
        let appendix = html.range(of: "<h2>Appendix")!.lowerBound
        XCTAssertGreaterThan(html.range(of: "SHA-256")!.lowerBound, appendix)
        XCTAssertGreaterThan(html.range(of: "<th>Seconds</th>")!.lowerBound, appendix)

        // The summary box carries the stages' own figures.
        let intensity = try IntensityResult.decode(Data(contentsOf: out.appendingPathComponent("intensity.json")))
        let west = try XCTUnwrap(intensity.zones.first { $0.name == "城西区" })
        XCTAssertEqual(west.ecoLevel, .exceeded)
        let zones = try XCTUnwrap(Self.keyFigure(html, label: "Zones against their limits"))
        XCTAssertEqual(zones.css, "kf over")
        XCTAssertTrue(zones.text.contains(String(format: "城西区 red-line occupation %.2f %% (exceeded)", west.ecoOccupation! * 100)), zones.text)
        XCTAssertFalse(zones.text.contains("城东区"), "城东区 is within its limits")
        let green = try GreenCoverageResult.decode(Data(contentsOf: out.appendingPathComponent("green.json")))
        let coverage = try XCTUnwrap(Self.keyFigure(html, label: "Green coverage (all zones)"))
        XCTAssertTrue(coverage.text.hasPrefix(String(format: "%.1f %%", green.greenCoverageAllZones! * 100)), coverage.text)
        XCTAssertTrue(coverage.text.contains("no earlier date in this run"), "no baseline: says so")
        let heat = try HeatIslandResult.decode(Data(contentsOf: out.appendingPathComponent("heat_island.json")))
        let suhi = try XCTUnwrap(Self.keyFigure(html, label: "Heat-island intensity (whole scene)"))
        XCTAssertTrue(suhi.text.hasPrefix(String(format: "%.1f °C", heat.scene!.suhiC!)), suhi.text)
        let violations = try XCTUnwrap(Self.keyFigure(html, label: "Suspected violations"))
        XCTAssertTrue(violations.text.hasPrefix("0 patches"), violations.text)

        // summary.json is true when it is read: the run succeeded (run.json says so once published).
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["status"] as? String, "succeeded")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("run.json"))) as! [String: Any]
        XCTAssertEqual(record["status"] as? String, "succeeded")
        XCTAssertEqual(summary["kind"] as? String, "both")
        XCTAssertEqual(summary["zonesOverLimit"] as? [String], ["城西区"])
        XCTAssertEqual(summary["sections"] as? [String], ["summary", "violations", "intensity", "green", "heat", "landcover", "change", "maps",
                                                          "rules", "provenance"])
    }

    /// Zones at warning or over their limit stand out: development intensity and red-line occupation each have their
    /// own chart with the warning and limit lines of metrics.intensity, and the zone over a limit is highlighted in both
    /// the chart and the table.
    func testZonesOverALimitStandOutInTablesAndCharts() throws {
        let report = try shipped("demo-report")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        let intensity = try IntensityResult.decode(Data(contentsOf: report.deletingLastPathComponent().appendingPathComponent("intensity.json")))
        let west = try XCTUnwrap(intensity.zones.first { $0.name == "城西区" })
        XCTAssertTrue(html.contains("<tr class=\"over\"><td>城西区</td>"), "the row of the zone over its red-line limit")
        XCTAssertTrue(html.contains("<tr><td>城东区</td>"), "the zone within its limits is not highlighted")
        let occupation = try String(contentsOf: report.appendingPathComponent("charts/redline-occupation.svg"), encoding: .utf8)
        // metrics.intensity in demo-report.yaml: eco_warning 0.005, eco_limit 0.01, warning 0.3, limit 0.4.
        XCTAssertTrue(occupation.contains(">warning 0.50 %</text>") && occupation.contains(">limit 1.00 %</text>"), occupation)
        XCTAssertTrue(occupation.contains(String(format: "<g class=\"over\">"))
                      && occupation.contains(String(format: ">%.2f %%</text></g>", west.ecoOccupation! * 100)), occupation)
        XCTAssertEqual(occupation.components(separatedBy: "<g class=\"over\">").count - 1, 1, "one zone over its red-line limit")
        let built = try String(contentsOf: report.appendingPathComponent("charts/intensity.svg"), encoding: .utf8)
        XCTAssertTrue(built.contains(">warning 30.00 %</text>") && built.contains(">limit 40.00 %</text>"), built)
        XCTAssertFalse(built.contains("class=\"over\""), "no zone is over its intensity limit")
        XCTAssertTrue(built.contains(">built-up share (% of the zone)</text>"), "axis title")
        XCTAssertNotNil(XMLParserCheck.parse(occupation))
        XCTAssertNotNil(XMLParserCheck.parse(built))
        // 500 zones stay readable: 25 bars, the flagged ones among them, and a note that the table lists them all.
        let many = (0..<500).map { Double($0) / 10 }
        let rows = HTMLReportStage.chartRows(values: many, flagged: [3])
        XCTAssertEqual(rows.count, 25)
        XCTAssertTrue(rows.contains(3))
        XCTAssertTrue(rows.contains(499))
    }

    /// An enforcement-only run on a pair with planted changes: titled as enforcement, the summary box counts the list's
    /// patches by severity with their area in mu.
    func testTheSummaryBoxCountsTheListsPatchesBySeverityInMu() throws {
        let planted = work.appendingPathComponent("planted")
        let plant = Process()
        plant.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        plant.arguments = [TestPaths.repository.appendingPathComponent("testdata/plan/plant.py").path, planted.path]
        plant.standardOutput = FileHandle.nullDevice
        try plant.run()
        plant.waitUntilExit()
        XCTAssertEqual(plant.terminationStatus, 0)
        let report = try shipped("field-demo", overrides: ["after": planted.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt").path])
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h1>Satellite enforcement report: "), "enforcement only")
        let list = try ViolationList.read(report.deletingLastPathComponent().appendingPathComponent("violations/violations.json"))
        XCTAssertGreaterThanOrEqual(list.violations.count, 3, "the planted patches are listed")
        let figure = try XCTUnwrap(Self.keyFigure(html, label: "Suspected violations"))
        let total = list.violations.reduce(0) { $0 + $1.area_m2 }
        XCTAssertTrue(figure.text.hasPrefix(String(format: "%d patches · %.1f mu", list.violations.count, total / 666.67)), figure.text)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("summary.json"))) as! [String: Any]
        let bySeverity = summary["violationsBySeverity"] as! [String: [String: Any]]
        for severity in Set(list.violations.map(\.severity)) {
            let patches = list.violations.filter { $0.severity == severity }
            let mu = patches.reduce(0) { $0 + $1.area_m2 } / 666.67
            XCTAssertTrue(figure.text.contains(String(format: "%@ %d patches %.1f mu", severity, patches.count, mu)), "\(severity): \(figure.text)")
            XCTAssertEqual(bySeverity[severity]?["patches"] as? Int, patches.count)
            XCTAssertEqual(bySeverity[severity]?["areaMu"] as? Double ?? 0, mu, accuracy: 1e-9)
        }
        XCTAssertEqual(figure.css, list.violations.contains { $0.severity == "high" } ? "kf over" : "kf warning")
        XCTAssertEqual(summary["kind"] as? String, "enforcement")
        // The after image carries the patches in yellow.
        XCTAssertEqual(summary["trueColour"] as? String, "pair")
        XCTAssertGreaterThan(try Self.pixels(of: report.appendingPathComponent("images/truecolour.png"), colour: [255, 230, 0]), 10,
                             "the patches outlined on the after image")

        // The map carries the plan: each control line and the zones as outlines in their legend colour, the classes
        // and layers named in the legend, and each patch numbered with its rank beside its point.
        XCTAssertTrue(html.contains("<li><span class=\"swatch\" style=\"background: #e0007a\">&#160;</span>ecological protection red line</li>"))
        for name in ["cropland (1)", "built-up (5)", "permanent basic farmland", "urban development boundary", "zones (outline, named)",
                     "violation patches (outline, numbered by rank)"] {
            XCTAssertTrue(html.contains("</span>\(name)</li>"), name)
        }
        let map = try Dataset.open(report.appendingPathComponent("images/violations.png").path)
        let rgb = try (1...3).map { try map.band($0).read(Window(width: map.width, height: map.height)) }
        func colour(_ x: Int, _ y: Int) -> [Float] { rgb.map { $0[y * map.width + x] } }
        var seen = Set<[Float]>()
        for y in 0..<map.height { for x in 0..<map.width { seen.insert(colour(x, y)) } }
        for (layer, hex) in [("red line", [224, 0, 122]), ("basic farmland", [230, 140, 0]), ("urban boundary", [123, 50, 148])] {
            XCTAssertTrue(seen.contains(hex.map(Float.init)), "\(layer) drawn")
        }
        let classes = try Dataset.open(report.deletingLastPathComponent().appendingPathComponent("landcover-after.tif").path)
        let g = try XCTUnwrap(classes.geoTransform)
        let factor = Double(max(1, 640 / max(classes.width, classes.height)))
        let toMap = try CoordinateTransformation(from: .wgs84(), to: try XCTUnwrap(classes.spatialReference()))
        for entry in list.violations {
            let p = try toMap.transform(x: entry.lon, y: entry.lat)
            let x = Int(((p.x - g.originX) / g.pixelWidth * factor).rounded()) + 12, y = Int(((p.y - g.originY) / g.pixelHeight * factor).rounded()) - 12
            // The label: a white box with black digits around (x, y).
            var white = 0, black = 0
            for dy in -6...6 { for dx in -6...6 where x + dx >= 0 && y + dy >= 0 && x + dx < map.width && y + dy < map.height {
                let c = colour(x + dx, y + dy)
                if c == [255, 255, 255] { white += 1 }
                if c.allSatisfy({ $0 < 60 }) { black += 1 }
            } }
            XCTAssertGreaterThan(white, 20, "patch \(entry.rank) has its label")
            XCTAssertGreaterThan(black, 5, "patch \(entry.rank)'s number")
        }
    }
}

/// Chinese throughout under `language: zh` (issue 24): no label of the program's own stays English.
final class ReportChineseTests: PipelineTestCase {
    /// The program's own English labels and words: every English label of the report that has a Chinese one, the
    /// enums it prints (severities, levels), the class names, units and setting labels.
    static var englishLabels: [String] {
        let labels = ReportLanguage.english.filter { key, value in ReportLanguage.chinese[key].map { $0 != value } ?? false }.map(\.value)
        let enums = ["high", "medium", "low", "ok", "warning", "exceeded", "no red line", "unknown", "Whole scene", "proxy"]
        let classes = Legend.standard.classes.map(\.name)
        let units = ["km²", "m²", "mu", "days", "yes", "no", "px", "patches", "points", "written"]
        let settings = ["minimum area", "severity", "development intensity limit", "red-line occupation limit", "cloud confidence kept as cloud",
                        "classes counted as green", "change against the plan", "cloud mask", "a mapping", "scl_classes"]
        return labels + enums + classes + units + settings
    }

    /// The words of `labels` found as whole words in `text`.
    static func english(in text: String, labels: [String]) -> [String] {
        labels.filter { label in
            let pattern = "(?<![A-Za-z0-9_\\-.])" + NSRegularExpression.escapedPattern(for: label) + "(?![A-Za-z0-9_\\-])"
            return text.range(of: pattern, options: .regularExpression) != nil
        }
    }

    /// The text a reader sees, without the appendix (file names, stage ids, hashes: data, not labels) and the
    /// pipeline file quoted as run.
    static func visibleText(_ html: String) -> String {
        var page = html
        if let appendix = page.range(of: "<section id=\"provenance\"") { page = String(page[..<appendix.lowerBound]) }
        for pattern in ["(?s)<pre>.*?</pre>", "(?s)<style>.*?</style>", "<a href=[^>]*>[^<]*</a>"] {
            page = page.replacingOccurrences(of: pattern, with: " ", options: [.regularExpression])
        }
        page = page.replacingOccurrences(of: "<[^>]+>", with: "\n", options: .regularExpression)
        return page.replacingOccurrences(of: "&amp;", with: "&")
    }

    func testTheChineseReportHasNoEnglishLabelOfTheProgram() throws {
        let source = TestPaths.repository.appendingPathComponent("pipelines/demo-report.yaml")
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let out = work.appendingPathComponent("zh")
        try runner.run(try runner.validate(path: source.path, overrides: ["language": "zh"]), settings: .init(outputDirectory: out.path, threads: 2))
        let report = out.appendingPathComponent("report")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        let labels = Self.englishLabels
        XCTAssertGreaterThan(labels.count, 100)
        // The check finds an English label where there is one (the English report of the same run).
        let english = try Self.shippedEnglish(runner: runner, work: work)
        XCTAssertGreaterThan(Self.english(in: Self.visibleText(english), labels: labels).count, 30)

        XCTAssertEqual(Self.english(in: Self.visibleText(html), labels: labels), [])
        // Every chart's text (titles, bars, axes, warning and limit lines).
        for chart in try FileManager.default.contentsOfDirectory(atPath: report.appendingPathComponent("charts").path) {
            let svg = try String(contentsOf: report.appendingPathComponent("charts/\(chart)"), encoding: .utf8)
            let texts = svg.replacingOccurrences(of: "<[^>]+>", with: "\n", options: .regularExpression)
            XCTAssertEqual(Self.english(in: texts, labels: labels), [], chart)
            XCTAssertTrue(svg.contains("text-anchor=\"middle\" font-size=\"12\">"), "\(chart) has an axis title")
        }
        XCTAssertTrue(html.contains("<td>超限</td>"), "the exceeded red-line level, in Chinese")
        XCTAssertTrue(html.contains("<td>高</td>"), "severities in Chinese")
        // The rule settings as a readable table: the nested change rules one row each, no Sentinel-2 option in a
        // Landsat run, no "a mapping".
        XCTAssertTrue(html.contains("<td>变化与规划比对 (changes)</td><td>未批先建：最小面积</td><td>200 平方米</td>"))
        XCTAssertTrue(html.contains("<td>开发强度 (intensity)</td><td>生态红线占用上限</td><td>1.00 %</td>"))
        XCTAssertFalse(html.contains("哨兵二号"), "no Sentinel-2 setting for a Landsat run")
        // report.md: the same, and legends by class name, not hex codes.
        let markdown = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        let body = markdown.components(separatedBy: "## 附录").first!.replacingOccurrences(of: "(?s)\n```\n.*?\n```\n", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\\[[^\\]]*\\]\\([^)]*\\)", with: "", options: .regularExpression)
        XCTAssertEqual(Self.english(in: body, labels: labels), [])
        XCTAssertNil(markdown.range(of: "#[0-9a-fA-F]{6}", options: .regularExpression), "legend as hex codes")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["status"] as? String, "succeeded")
    }
}

extension ReportChineseTests {
    /// The English report of demo-report, run into `work`.
    static func shippedEnglish(runner: PipelineRunner, work: URL) throws -> String {
        let source = TestPaths.repository.appendingPathComponent("pipelines/demo-report.yaml")
        let out = work.appendingPathComponent("en")
        try runner.run(try runner.validate(path: source.path), settings: .init(outputDirectory: out.path, threads: 2))
        return try String(contentsOf: out.appendingPathComponent("report/index.html"), encoding: .utf8)
    }
}
