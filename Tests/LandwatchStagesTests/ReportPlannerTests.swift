import Foundation
import LandwatchPipeline
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
    }
}
