import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import XCTest
import LandwatchProducts
import LandwatchOutputs
import LandwatchTestSupport

/// `report.html` on the shipped pipelines (real Marburg Landsat imagery and the sample plan): every section with
/// numbers from the run, every image present and decodable, valid HTML, a real browser renders it.
final class ReportTests: PipelineTestCase {
    func runShipped(_ name: String, edit: (String) -> String = { $0 }) throws -> URL {
        let source = TestPaths.repository.appendingPathComponent("pipelines/\(name).yaml")
        let text = edit(try String(contentsOf: source, encoding: .utf8))
        // Beside the shipped file, so that its relative paths resolve.
        let copy = source.deletingLastPathComponent().appendingPathComponent(".test-\(UUID().uuidString).yaml")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let out = work.appendingPathComponent(name)
        try runner.run(try runner.validate(path: copy.path), settings: .init(outputDirectory: out.path, threads: 2))
        return out.appendingPathComponent("report")
    }

    /// The files the page references (img src), relative to its folder.
    func references(_ html: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: "<img src=\"([^\"]+)\"")
        return pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
    }

    func checkImages(_ report: URL, _ html: String) throws {
        let images = references(html)
        XCTAssertFalse(images.isEmpty)
        for image in images {
            let path = report.appendingPathComponent(image).path
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), image)
            if image.hasSuffix(".png") {
                let dataset = try Dataset.open(path)
                XCTAssertEqual(dataset.driverName, "PNG")
                XCTAssertGreaterThan(dataset.width, 100)
            } else {
                let svg = try String(contentsOfFile: path, encoding: .utf8)
                XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"), image)
                XCTAssertNotNil(XMLParserCheck.parse(svg), "\(image) is not well-formed XML")
            }
        }
    }

    func testChineseMetricsReport() throws {
        let report = try runShipped("environment-metrics")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<html lang=\"zh-CN\">"))
        for title in ["概要", "附录：数据来源与运行记录（文件、校验值、版本、耗时）", "土地覆盖", "绿化覆盖率", "开发强度", "热岛效应", "所用阈值与规则"] {
            XCTAssertTrue(html.contains("<h2>\(title)</h2>"), title)
        }
        XCTAssertTrue(html.contains("Noto Sans CJK SC"))
        XCTAssertFalse(html.contains("替代指标"), "the run has a thermal band: no proxy label")
        try checkImages(report, html)
        // Real numbers from the run: the green coverage of the summary equals metrics.green's own JSON.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("summary.json"))) as! [String: Any]
        let green = try JSONSerialization.jsonObject(with: Data(contentsOf: report.deletingLastPathComponent().appendingPathComponent("green.json"))) as! [String: Any]
        XCTAssertEqual(summary["greenCoverage"] as? Double, green["green_coverage_all_zones"] as? Double)
        XCTAssertEqual(summary["heatIslandIsProxy"] as? Bool, false)
        let markdown = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## 绿化覆盖率"))
        try validate(report)
        try render(report)
    }

    /// The urban-renewal stages' sections, each rendered by LandwatchRenewal from the result its stage wrote: present
    /// in the Chinese report with the result's own figures (every zone, every candidate's id), in report.md as text.
    func testRenewalSectionsComeFromTheStagesResults() throws {
        let report = try runShipped("renewal") { $0 + "\n  - id: report\n    uses: report.html\n    with: {path: report, language: zh}\n" }
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        for title in ["闲置与空置用地", "公园绿地服务覆盖", "口袋公园候选地块"] {
            XCTAssertTrue(html.contains("<h2>\(title)</h2>"), title)
        }
        let out = report.deletingLastPathComponent()
        let vacancy = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("vacancy/vacancy.json"))) as! [String: Any]
        let zones = vacancy["zones"] as! [[String: Any]]
        XCTAssertFalse(zones.isEmpty)
        for zone in zones { XCTAssertTrue(html.contains("<td>\(zone["name"] as! String)</td>"), "\(zone)") }
        let candidates = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("candidates/candidates.json"))) as! [String: Any]
        let plots = candidates["plots"] as! [[String: Any]]
        XCTAssertFalse(plots.isEmpty, "the real Marburg pair has leftover plots of pocket-park size")
        for plot in plots.prefix(10) { XCTAssertTrue(html.contains(plot["id"] as! String), "\(plot["id"]!)") }
        let markdown = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## 口袋公园候选地块"))
        XCTAssertFalse(markdown.contains("<td>"), "report.md carries the sections' text, not their HTML")
        try validate(report)
    }

    /// simulate.landuse's comparison in the report, rendered by LandwatchScenarios from scenarios.json: every scenario
    /// named, each map linked where it is (the report is a folder below the output root).
    func testScenarioSectionLinksEachScenariosMap() throws {
        let report = try runShipped("scenarios-marburg") { $0 + "\n  - id: report\n    uses: report.html\n    with: {path: report}\n" }
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Scenarios</h2>"))
        let out = report.deletingLastPathComponent()
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("scenarios/scenarios.json"))) as! [String: Any]
        let scenarios = result["scenarios"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(scenarios.count, 2)
        for scenario in scenarios {
            let map = scenario["map"] as! String
            XCTAssertTrue(html.contains("href=\"../\(map)\""), map)
            XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent("../\(map)").path), map)
        }
        try validate(report)
    }

    /// The report highlights what metrics.intensity wrote: "exceeded" (either level) is a red row, "warning" an amber one.
    /// (It looked for "over", a word the stage never writes, so zones over their limit went unmarked.)
    func testIntensityLevelsAsWrittenAreTheLevelsHighlighted() {
        XCTAssertEqual(HTMLReportStage.intensityHighlight(level: DevelopmentIntensityStage.Level.exceeded.rawValue, eco: "ok"), "over")
        XCTAssertEqual(HTMLReportStage.intensityHighlight(level: "ok", eco: DevelopmentIntensityStage.Level.exceeded.rawValue), "over")
        XCTAssertEqual(HTMLReportStage.intensityHighlight(level: "warning", eco: "no red line"), "warning")
        XCTAssertNil(HTMLReportStage.intensityHighlight(level: "ok", eco: "no red line"))
        XCTAssertNil(HTMLReportStage.intensityHighlight(level: "unknown", eco: nil))
    }

    func testEnforcementReportHasChangeMatrixAndViolations() throws {
        let report = try runShipped("nightly-enforcement")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        for title in ["Summary", "Appendix: provenance (files, hashes, versions, timings)", "Land cover", "Change between the two dates", "Suspected violations", "Thresholds and rules used"] {
            XCTAssertTrue(html.contains("<h2>\(title)</h2>"), title)
        }
        // The change matrix (areas from each class to each class) and links to the full lists.
        XCTAssertTrue(html.contains("From \\ to"))
        // What was run: both scenes with their sensor, date and cloud share.
        XCTAssertTrue(html.contains("<td>before-scene</td><td>LE07</td><td>2001-07-30</td>"))
        XCTAssertTrue(html.contains("<td>after-scene</td><td>LC08</td><td>2013-07-07</td>"))
        // The list's files are copied into the report folder: sharing the folder alone keeps the links.
        XCTAssertTrue(html.contains("href=\"violations/violations.csv\""))
        XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent("violations/violations.csv").path))
        try checkImages(report, html)
        try validate(report)
        try render(report)
    }

    func testWithoutThermalTheHeatIslandIsALabelledProxy() throws {
        let report = try runShipped("environment-metrics") { text in
            text.replacingOccurrences(of: "inputs: {classes: classes, lst: lst, zones: zones}", with: "inputs: {classes: classes, zones: zones}")
        }
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("替代指标：未提供热红外波段"), "proxy label")
        XCTAssertFalse(html.contains("images/lst.png"))
        // The proxy's values are in the table, as the stage wrote them (the report looked for a key the stage never
        // wrote, so the column was all dashes).
        let result = try HeatIslandResult.decode(Data(contentsOf: report.deletingLastPathComponent().appendingPathComponent("heat_island.json")))
        XCTAssertTrue(result.isProxy)
        XCTAssertEqual(result.version, HeatIslandResult.currentVersion)
        let shares = result.zones.compactMap(\.heatIslandProxy)
        XCTAssertFalse(shares.isEmpty)
        for share in shares { XCTAssertTrue(html.contains("<td class=\"num\">\(String(format: "%.2f", share * 100))</td>"), "proxy \(share) not in the table") }
    }

    func testAReportWithNothingToReportSaysSo() throws {
        let zion = TestPaths.repository.appendingPathComponent("testdata/zion-landsat8").path
        try run("""
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {nir: "\(zion)/landsat_b5.tif"}}
              - id: out
                uses: write.raster
                inputs: [scene]
                with: {path: nir.tif}
              - id: report
                uses: report.html
            """, registry: standardRegistry)
        let html = try String(contentsOf: work.appendingPathComponent("out/report/index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Nothing to report</h2>"))
        // A NIR band alone is no true-colour image: the maps say so instead of showing none without a word.
        XCTAssertTrue(html.contains("No true-colour map: this run read no imagery with red, green and blue bands."))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/report/summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["trueColour"] as? String, "none")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out/report.partial").path))
    }

    func testAnUnsupportedLanguageIsAValidationError() throws {
        XCTAssertThrowsError(try run("""
            version: 1
            stages:
              - id: report
                uses: report.html
                with: {language: fr}
            """, registry: standardRegistry)) { error in
            XCTAssertTrue("\(error)".contains("report: option 'language'"), "\(error)")
            XCTAssertTrue("\(error)".contains("fr"), "\(error)")
        }
    }

    /// `tidy -errors` finds no error and no warning.
    func validate(_ report: URL) throws {
        guard let tidy = ["/usr/bin/tidy", "/usr/local/bin/tidy"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("tidy is not installed (.ci/run installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tidy)
        process.arguments = ["-errors", "-q", report.appendingPathComponent("index.html").path]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let messages = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, messages)
    }

    /// Headless Chromium renders the page at 1280 px: the screenshot is not blank.
    func render(_ report: URL) throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("chromium is not installed (.ci/run installs it)")
        }
        let shot = work.appendingPathComponent("shot-\(UUID().uuidString).png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2000",
                             "--user-data-dir=\(work.appendingPathComponent("chromium").path)",
                             "--screenshot=\(shot.path)", report.appendingPathComponent("index.html").absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let dataset = try Dataset.open(shot.path)
        XCTAssertEqual(dataset.width, 1280)
        // Not blank: the rendered page has many distinct grey levels (text, tables, maps).
        let values = try dataset.band(1).read(Window(width: dataset.width, height: min(dataset.height, 1400)))
        XCTAssertGreaterThan(Set(values).count, 50)
        XCTAssertGreaterThan(values.filter { $0 < 128 }.count, 10_000, "dark pixels: text and maps")
    }
}

/// Well-formedness of a small XML document (the SVG charts).
enum XMLParserCheck {
    static func parse(_ text: String) -> Bool? {
        XMLParser(data: Data(text.utf8)).parse() ? true : nil
    }
}
