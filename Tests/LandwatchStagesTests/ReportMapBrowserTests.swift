import Foundation
import LandwatchPipeline
import LandwatchProducts
import LandwatchStages
import LandwatchTestSupport
import Logging
import XCTest

/// The interactive map and the self-contained report folder (issue 24, item 5), in a real browser: headless Chromium
/// driven by Selenium (report_browser.py) opens index.html and map.html from disk with the network off.
final class ReportMapBrowserTests: PipelineTestCase {
    /// field-demo on the pair with planted changes (patches to click), in `language`; returns the report folder.
    func plantedReport(language: String) throws -> URL {
        let planted = work.appendingPathComponent("planted")
        if !FileManager.default.fileExists(atPath: planted.path) {
            let plant = Process()
            plant.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            plant.arguments = [TestPaths.repository.appendingPathComponent("testdata/plan/plant.py").path, planted.path]
            plant.standardOutput = FileHandle.nullDevice
            try plant.run()
            plant.waitUntilExit()
            XCTAssertEqual(plant.terminationStatus, 0, "testdata/plan/plant.py")
        }
        // A copy beside the shipped file (its relative paths resolve), with the report's language set.
        let source = TestPaths.repository.appendingPathComponent("pipelines/field-demo.yaml")
        let copy = source.deletingLastPathComponent().appendingPathComponent(".test-\(UUID().uuidString).yaml")
        let text = try String(contentsOf: source, encoding: .utf8)
        XCTAssertTrue(text.contains("with: {path: report, language: en}"))
        try text.replacingOccurrences(of: "with: {path: report, language: en}", with: "with: {path: report, language: \(language)}")
            .write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let out = work.appendingPathComponent("field-demo-" + language)
        let overrides = ["after": planted.appendingPathComponent("LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt").path]
        try runner.run(try runner.validate(path: copy.path, overrides: overrides), settings: .init(outputDirectory: out.path, threads: 2))
        return out.appendingPathComponent("report")
    }

    /// Runs a program; returns its exit status and its standard output and error.
    func execute(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testTheInteractiveMapWorksOfflineInChromium() throws {
        let missing = ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/share/javascript/leaflet/leaflet.js"]
            .filter { !FileManager.default.fileExists(atPath: $0) }
        guard missing.isEmpty else {
            return XCTFail("the browser test needs \(missing.joined(separator: ", ")): apt-get install chromium chromium-driver libjs-leaflet python3-selenium python3-pil (make deps does)")
        }
        let report = try plantedReport(language: "en")
        let list = try ViolationList.read(report.deletingLastPathComponent().appendingPathComponent("violations/violations.json"))
        let first = try XCTUnwrap(list.violations.min { $0.rank < $1.rank }, "the planted patches are listed")

        // Leaflet and the data are in the folder; the map names each patch with the list's id.
        for file in ["map.html", "map-data.js", "leaflet/leaflet.js", "leaflet/leaflet.css", "images/map-truecolour.png", "images/map-landcover.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent(file).path), file)
        }
        let data = try String(contentsOf: report.appendingPathComponent("map-data.js"), encoding: .utf8)
        for entry in list.violations { XCTAssertTrue(data.contains("\"id\":\"\(entry.id)\""), entry.id) }
        let page = try String(contentsOf: report.appendingPathComponent("map.html"), encoding: .utf8)
        XCTAssertNil(page.range(of: "https?://", options: .regularExpression), "map.html names no web address")

        // The folder is self-contained: every relative link and image of index.html and every chip of the map is a
        // file inside the report folder.
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "(?:href|src)=\"([^\"#][^\"]*)\"")
        let targets = pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
            + (try NSRegularExpression(pattern: "\"chip_(?:before|after)\":\"([^\"]+)\"")).matches(in: data, range: NSRange(data.startIndex..., in: data))
                .map { String(data[Range($0.range(at: 1), in: data)!]) }
        XCTAssertTrue(targets.contains("map.html"), "index.html links to the map")
        XCTAssertTrue(targets.contains("violations/violations.gpkg") && targets.contains("violations/violations.csv"), "\(targets)")
        for target in targets {
            XCTAssertFalse(target.hasPrefix("../") || target.hasPrefix("/") || target.contains("://"), "\(target) leaves the report folder")
            XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent(target).path), "\(target) is in the report folder")
        }

        // tidy-clean, as index.html.
        if let tidy = ["/usr/bin/tidy", "/usr/local/bin/tidy"].first(where: FileManager.default.isExecutableFile) {
            let result = try execute(tidy, ["-errors", "-q", report.appendingPathComponent("map.html").path])
            XCTAssertEqual(result.status, 0, "tidy map.html: \(result.output)")
        }

        // In Chromium, offline: no request leaves the folder, the popup of the first patch shows its id, the patches
        // layer toggles, the screenshots are not blank.
        let script = TestPaths.repository.appendingPathComponent("Tests/LandwatchStagesTests/report_browser.py").path
        let shots = work.appendingPathComponent("screenshots")
        let result = try execute("/usr/bin/python3", [script, report.path, first.id, shots.path])
        XCTAssertNotEqual(result.status, 2, "report_browser.py: a tool is missing: \(result.output)")
        XCTAssertEqual(result.status, 0, "report_browser.py:\n\(result.output)")
        XCTAssertTrue(result.output.contains("popup: id \(first.id), lat, lon \(String(format: "%.6f, %.6f", first.lat, first.lon))"), result.output)
        XCTAssertTrue(result.output.contains("requests: ") && result.output.contains("all inside the report folder: True"), result.output)
        XCTAssertTrue(result.output.hasSuffix("OK\n"), result.output)
    }

    /// Under `language: zh` the map's labels are Chinese.
    func testTheMapIsChineseUnderLanguageZh() throws {
        let report = try plantedReport(language: "zh")
        let page = try String(contentsOf: report.appendingPathComponent("map.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<html lang=\"zh-CN\">") && page.contains("<title>交互地图</title>") && page.contains(">返回报告</a>"))
        let data = try String(contentsOf: report.appendingPathComponent("map-data.js"), encoding: .utf8)
        for label in ["\"layers.patches\":\"疑似违法图斑\"", "\"plan.redline\":\"生态保护红线\"", "\"severity.high\":\"高\"", "\"copy\":\"复制\""] {
            XCTAssertTrue(data.contains(label), label)
        }
        XCTAssertFalse(data.contains("\"name\":\"Violation patches\""), "no English layer name")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<a href=\"map.html\">交互地图 (map.html)</a>"), "index.html links to the map")
    }
}
