import Foundation
import LandwatchGDAL
import LandwatchOutputs
import LandwatchRegistry
import XCTest
import LandwatchTestSupport

/// `landwatch report --db`: the history report from the registry alone (issue 24, "Over time"), its values checked
/// against the registry's rows, and its bad input (one night, 500 zones, a 60-character name, a missing registry).
final class HistoryReportTests: XCTestCase {
    var work: URL!
    var inbox: URL { work.appendingPathComponent("inbox") }
    var out: URL { work.appendingPathComponent("out") }

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-history")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(at: work) } }

    /// The circles of each line chart: measure -> zone -> [(date, value)].
    static func points(_ html: String) -> [String: [String: [(String, Double)]]] {
        var result: [String: [String: [(String, Double)]]] = [:]
        for chart in html.components(separatedBy: "<svg").dropFirst() {
            guard let measure = chart.firstMatch(of: /data-measure="([^"]+)"/)?.1 else { continue }
            for match in chart.matches(of: /<circle [^>]*data-zone="([^"]*)" data-date="([^"]*)" data-value="([^"]*)"/) {
                result[String(measure), default: [:]][String(match.1), default: []].append((String(match.2), Double(match.3)!))
            }
        }
        return result
    }

    /// The bars of the monthly chart: month -> status -> count.
    static func bars(_ html: String) -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        guard let chart = html.components(separatedBy: "<svg").first(where: { $0.contains("history-months") }) else { return [:] }
        for group in chart.components(separatedBy: "<g class=\"month\"").dropFirst() {
            let month = String(group.firstMatch(of: /data-month="([^"]+)"/)!.1)
            for match in group.matches(of: /data-status="([^"]+)" data-count="(\d+)"/) { result[month, default: [:]][String(match.1)] = Int(match.2)! }
        }
        return result
    }

    /// Four nights over the real Marburg pair through the nightly pipeline with metrics stages added: the report's
    /// chart points and summary.json equal the registry's zone_metric rows, its bars the violations' statuses per month.
    func testFourNightsChartTheRegistryValues() throws {
        let pipeline = try NightlyTests.shortNightsPipeline(in: work)
        // The shipped nightly pipeline records green coverage and intensity per district; the heat island is added here.
        let metrics = """

              - id: heat-island
                uses: metrics.heat_island
                inputs: {classes: after-classes, zones: zones}
                with: {path: heat_island}

            """
        try (String(contentsOf: pipeline, encoding: .utf8) + metrics).write(to: pipeline, atomically: true, encoding: .utf8)
        func deliver(_ fixture: String, _ name: String, _ date: String) throws {
            let target = inbox.appendingPathComponent("\(name).tif").path
            try Dataset.open(CLITests.root.appendingPathComponent("testdata/nightly/\(fixture)").path).copy(to: target, driver: "GTiff").close()
            unlink(target + ".aux.xml")
            try (Data(contentsOf: URL(fileURLWithPath: target)) + Data(name.utf8)).write(to: URL(fileURLWithPath: target))
            try "{\"sensor\": \"landsat8-toa\", \"date\": \"\(date)\"}".write(toFile: inbox.appendingPathComponent("\(name).json").path,
                                                                             atomically: true, encoding: .utf8)
            let result = try CLITests.landwatch(["nightly", "--inbox", inbox.path, "--pipeline", pipeline.path, "--out", out.path, "--threads", "2"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        try deliver("before.tif", "night1", "2024-06-30")
        try deliver("after.tif", "night2", "2024-07-16")
        try deliver("after.tif", "night3", "2024-08-01")
        try deliver("before.tif", "night4", "2024-09-02")
        let db = out.appendingPathComponent("registry.sqlite").path
        let registry = try Registry(path: db)
        // A field check a month after the site was restored.
        let tracked = try registry.violations()
        XCTAssertEqual(tracked.count, 1)
        let dismiss = try CLITests.landwatch(["violations", "dismiss", tracked[0].id, "--db", db, "--reason", "approved", "--by", "inspector Wang",
                                              "--date", "2024-10-05"])
        XCTAssertEqual(dismiss.status, 0, dismiss.stderr)
        let rows = try registry.zoneMetrics(from: nil, to: nil)
        XCTAssertEqual(Set(rows.map(\.date)), ["2024-07-16", "2024-08-01", "2024-09-02"], "every compared night recorded its zones")
        XCTAssertFalse(rows.isEmpty)
        XCTAssertTrue(rows.allSatisfy { $0.green_coverage != nil && $0.intensity != nil && ($0.suhi_c != nil || $0.suhi_proxy != nil) }, "\(rows)")

        // nightly wrote the history of the whole registry beside the scenes, in both languages (before the dismissal).
        for name in ["history", "history-zh"] {
            let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("\(name)/summary.json"))) as! [String: Any]
            XCTAssertEqual(written["dates"] as? [String], ["2024-07-16", "2024-08-01", "2024-09-02"], name)
            XCTAssertEqual(written["language"] as? String, name == "history" ? "en" : "zh")
        }
        let folder = work.appendingPathComponent("history")
        let result = try CLITests.landwatch(["report", "--db", db, "--out", folder.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        let charted = Self.points(html)
        XCTAssertEqual(Set(charted.keys), ["green_coverage", "intensity", "suhi_c"])
        let zones = Set(rows.map(\.zone))
        /// Every charted point equals the registry's row of its zone and date (the top 8 zones when there are more).
        func assertChartsEqualRegistry(_ charted: [String: [String: [(String, Double)]]], dates: Set<String>, _ what: String) {
            for measure in charted.keys {
                XCTAssertEqual(Set(charted[measure]!.keys), zones.count > 8 ? Set(charted[measure]!.keys) : zones, "\(what) \(measure)")
                for (zone, points) in charted[measure]! {
                    let expected = rows.filter { $0.zone == zone && dates.contains($0.date) }.sorted { $0.date < $1.date }.map { row -> (String, Double) in
                        switch measure {
                        case "green_coverage": return (row.date, row.green_coverage! * 100)
                        case "intensity": return (row.date, row.intensity! * 100)
                        default: return (row.date, row.suhi_c ?? row.suhi_proxy! * 100)
                        }
                    }
                    XCTAssertEqual(points.map(\.0), expected.map(\.0), "\(what) \(measure) \(zone)")
                    for (got, want) in zip(points, expected) { XCTAssertEqual(got.1, want.1, accuracy: 1e-9, "\(what) \(measure) \(zone) \(got.0)") }
                }
            }
        }
        assertChartsEqualRegistry(charted, dates: Set(rows.map(\.date)), "landwatch report")

        // Each scene's own report shows the nights before it (from the registry, handed to the run by nightly) and
        // its own figures as the latest date; the first compared night says there is no trend yet.
        func sceneReport(_ date: String) throws -> URL {
            let scenes = out.appendingPathComponent("scenes")
            let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: scenes.path).first { $0.contains(date) }, date)
            return scenes.appendingPathComponent(name).appendingPathComponent("report")
        }
        let last = try sceneReport("2024-09-02")
        let sceneHTML = try String(contentsOf: last.appendingPathComponent("index.html"), encoding: .utf8)
        let sceneSummary = try JSONSerialization.jsonObject(with: Data(contentsOf: last.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(sceneSummary["historyDates"] as? [String], ["2024-07-16", "2024-08-01", "2024-09-02"])
        XCTAssertEqual(Set(Self.points(sceneHTML).keys), ["green_coverage", "intensity", "suhi_c"])
        assertChartsEqualRegistry(Self.points(sceneHTML), dates: Set(rows.map(\.date)), "scene night4's report")
        XCTAssertTrue(sceneHTML.contains("../../../history/index.html"), "the scene report links the whole history beside the scenes")
        XCTAssertTrue(FileManager.default.fileExists(atPath: last.appendingPathComponent("../../../history/index.html").standardized.path))
        let third = try sceneReport("2024-08-01")
        assertChartsEqualRegistry(Self.points(try String(contentsOf: third.appendingPathComponent("index.html"), encoding: .utf8)),
                                  dates: ["2024-07-16", "2024-08-01"], "scene night3's report")
        let second = try String(contentsOf: try sceneReport("2024-07-16").appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(second.contains("there is no trend yet"), "night 2 is the first compared night")
        XCTAssertFalse(second.contains("history-line"))
        XCTAssertEqual(Self.bars(sceneHTML)["2024-07"], ["new": 1], "the violation was new in July")
        XCTAssertEqual(Self.bars(sceneHTML)["2024-08"], ["persisting": 1], "and persisting in August")
        // summary.json carries the same series.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["trend"] as? Bool, true)
        XCTAssertEqual(summary["dates"] as? [String], ["2024-07-16", "2024-08-01", "2024-09-02"])
        for zone in summary["zones"] as! [[String: Any]] {
            let id = zone["zone"] as! String
            let green = (zone["green_coverage"] as! [[String: Any]]).map { $0["value"] as! Double }
            XCTAssertEqual(green, rows.filter { $0.zone == id }.sorted { $0.date < $1.date }.map { $0.green_coverage! * 100 }, id)
        }
        // The bars: each violation once a month, in the status of its last event that month, from the registry's histories.
        var expected: [String: [String: Int]] = [:]
        for violation in try registry.violations() {
            var last: [String: String] = [:]
            for event in try registry.history(id: violation.id) { last[String(event.date.prefix(7))] = event.status.rawValue }
            for (month, status) in last { expected[month, default: [:]][status, default: 0] += 1 }
        }
        XCTAssertFalse(expected.isEmpty, "the planted construction was tracked")
        XCTAssertEqual(Self.bars(html), expected)
        XCTAssertEqual(expected["2024-07"], ["new": 1])
        XCTAssertEqual(expected["2024-08"], ["persisting": 1])
        XCTAssertEqual(expected["2024-09"], ["resolved": 1])
        XCTAssertEqual(expected["2024-10"], ["dismissed": 1])
        XCTAssertEqual(summary["violations"] as? Int, 1)

        // Chinese: the same figures, the labels translated.
        let zh = work.appendingPathComponent("history-zh")
        XCTAssertEqual(try CLITests.landwatch(["report", "--db", db, "--language", "zh", "--out", zh.path]).status, 0)
        let chinese = try String(contentsOf: zh.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(chinese.contains("绿化覆盖率") && chinese.contains("每月违法图斑") && chinese.contains("新增"), chinese)
        XCTAssertEqual(Self.bars(chinese), expected)
        XCTAssertEqual(Self.points(chinese).mapValues { $0.mapValues { $0.map(\.1) } }, charted.mapValues { $0.mapValues { $0.map(\.1) } })

        // tidy finds no error and no warning in either language.
        if let tidy = ["/usr/bin/tidy", "/usr/local/bin/tidy"].first(where: FileManager.default.isExecutableFile) {
            for page in [folder, zh].map({ $0.appendingPathComponent("index.html").path }) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: tidy)
                process.arguments = ["-q", "-e", page]
                let messages = Pipe()
                process.standardError = messages
                process.standardOutput = messages
                try process.run()
                let text = String(decoding: messages.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                XCTAssertEqual(process.terminationStatus, 0, text)
                XCTAssertEqual(text, "", page)
            }
        }
        // One zone; a period without anything; a zone that does not exist.
        let one = rows[0]
        let zoneFolder = work.appendingPathComponent("one-zone")
        XCTAssertEqual(try CLITests.landwatch(["report", "--db", db, "--zone", one.name ?? one.zone, "--out", zoneFolder.path]).status, 0)
        XCTAssertEqual(Set(Self.points(try String(contentsOf: zoneFolder.appendingPathComponent("index.html"), encoding: .utf8))["green_coverage"]!.keys),
                       [one.zone])
        let empty = try CLITests.landwatch(["report", "--db", db, "--from", "2020-01-01", "--to", "2020-12-31", "--out", work.appendingPathComponent("e").path])
        XCTAssertEqual(empty.status, 66)
        XCTAssertTrue(empty.stderr.contains("holds no zone metrics and no violation events between 2020-01-01 and 2020-12-31"), empty.stderr)
        XCTAssertEqual(empty.stderr.split(separator: "\n").count, 1, empty.stderr)
        let unknown = try CLITests.landwatch(["report", "--db", db, "--zone", "Atlantis", "--out", work.appendingPathComponent("u").path])
        XCTAssertEqual(unknown.status, 66)
        XCTAssertTrue(unknown.stderr.contains("--zone 'Atlantis': no zone of that id or name"), unknown.stderr)
        // What a writer killed midway leaves is cleared by the next one.
        try FileManager.default.createDirectory(at: work.appendingPathComponent(".history.partial-99999"), withIntermediateDirectories: false)
        XCTAssertEqual(try CLITests.landwatch(["report", "--db", db, "--out", folder.path]).status, 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains("partial") || $0 == "e" || $0 == "u" }
        XCTAssertEqual(leftovers, [], "nothing half-written")
    }

    /// A registry built through its API: `nights` dates, `zones` zones (zone k's green coverage k/zones + night/100).
    func makeRegistry(nights: Int, zones: Int, longName: String? = nil) throws -> (String, Registry) {
        let path = work.appendingPathComponent("registry.sqlite").path
        let registry = try Registry(path: path)
        for night in 0..<nights {
            let date = String(format: "2024-%02d-15", night + 3)
            let scene = SceneRecord(id: "s\(night)", sensor: "landsat8-toa", date: date, footprintWKT: nil, cloudShare: nil,
                                    contentHash: "h\(night)", path: "/x", status: "done")
            _ = try registry.record(scene: scene, detections: [])
            var rows: [ZoneMetricRecord] = []
            for k in 0..<zones {
                let name: String = k == 7 ? (longName ?? "zone \(k)") : "zone \(k)"
                let green: Double = Double(k) / Double(zones) + Double(night) / 100
                let intensity: Double = 0.5 - Double(k) / Double(zones * 4)
                let suhi: Double = Double(k % 13) / 4
                rows.append(ZoneMetricRecord(sceneID: scene.id, date: date, zone: "Z\(k)", name: name, greenCoverage: green,
                                             intensity: intensity, suhiC: suhi))
            }
            try registry.recordZoneMetrics(rows, scene: scene.id)
        }
        return (path, registry)
    }

    func testOneNightSaysThereIsNoTrendYetInBothLanguages() throws {
        let (db, _) = try makeRegistry(nights: 1, zones: 3)
        for (language, text) in [("en", "there is no trend yet"), ("zh", "尚无趋势")] {
            let folder = work.appendingPathComponent("r-\(language)")
            let result = try CLITests.landwatch(["report", "--db", db, "--language", language, "--out", folder.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
            XCTAssertTrue(html.contains(text), html)
            XCTAssertFalse(html.contains("history-line"), "no line chart of one point")
            XCTAssertTrue(html.contains("<td>zone 2</td>"), "the night's values are listed")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("summary.json"))) as! [String: Any]
            XCTAssertEqual(summary["trend"] as? Bool, false)
        }
    }

    /// 500 zones: each chart draws the top 8 by the latest value, the other 492 are a table; a 60-character name is
    /// cut in the legend with the full name in its tooltip, and full in the table.
    func testFiveHundredZonesAndALongNameStayReadable() throws {
        let long = "经济技术开发区高新技术产业园区北片区综合配套服务区第二期工程范围内的居住用地与公共服务设施用地混合地块之一"
        let name = String((long + "（含配套道路及附属绿地）").prefix(60))
        XCTAssertEqual(name.count, 60)
        let (db, registry) = try makeRegistry(nights: 3, zones: 500, longName: name)
        let folder = work.appendingPathComponent("r")
        let result = try CLITests.landwatch(["report", "--db", db, "--out", folder.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        let charted = Self.points(html)
        XCTAssertEqual(charted.count, 3)
        for (measure, zones) in charted { XCTAssertLessThanOrEqual(zones.count, 8, measure); XCTAssertEqual(zones.count, 8, measure) }
        // Green coverage grows with k: the top 8 are Z499…Z492.
        XCTAssertEqual(Set(charted["green_coverage"]!.keys), Set((492...499).map { "Z\($0)" }))
        let latest = try registry.zoneMetrics(from: "2024-05-15", to: "2024-05-15")
        for (zone, points) in charted["green_coverage"]! {
            XCTAssertEqual(points.last!.1, latest.first { $0.zone == zone }!.green_coverage! * 100, accuracy: 1e-9)
        }
        // Per chart: a table of the 8 charted and one of the other 492 (rows counted in the HTML tables).
        let tables = html.components(separatedBy: "<table>").dropFirst().map { $0.components(separatedBy: "</table>")[0] }
        let rowCounts = tables.map { $0.components(separatedBy: "<tr>").count - 2 }  // minus the piece before and the header
        XCTAssertEqual(rowCounts.filter { $0 == 492 }.count, 3, "\(rowCounts)")
        XCTAssertEqual(rowCounts.filter { $0 == 8 }.count, 3, "\(rowCounts)")
        // Z7 has the long name; intensity is highest for small k, so it is charted there.
        XCTAssertTrue(charted["intensity"]!.keys.contains("Z7"))
        XCTAssertTrue(html.contains("<title>\(name)</title>"), "the full name in the legend's tooltip")
        let shown = HistoryReport.short(name)
        XCTAssertTrue(shown.hasSuffix("…") && name.hasPrefix(shown.dropLast()) && shown.count <= 12, shown)
        XCTAssertTrue(html.contains(">\(shown)</text>"), "the legend shows it cut")
        XCTAssertTrue(html.contains("<td>\(name)</td>"), "the table shows it whole")
    }

    func testAMissingRegistryIsOneLineAndCreatesNothing() throws {
        let missing = work.appendingPathComponent("typo.sqlite").path
        let result = try CLITests.landwatch(["report", "--db", missing, "--out", work.appendingPathComponent("r").path])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("there is no registry at \(missing)"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("r").path))
        let help = try CLITests.landwatch(["report", "--help"])
        for option in ["--db", "--zone", "--from", "--to", "--language", "--out", "index.html and DIR/summary.json"] {
            XCTAssertTrue(help.stdout.contains(option), "report --help names \(option): \(help.stdout)")
        }
        let bad = try CLITests.landwatch(["report", "--db", missing, "--from", "March", "--out", "r"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--from March: write the date as YYYY-MM-DD"), bad.stderr)
    }
}
