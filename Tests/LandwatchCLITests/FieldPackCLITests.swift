import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchRegistry
import LandwatchStages
import XCTest
import LandwatchOutputs

/// Issue 23: `landwatch violations fieldpack` from the registry of two real nights of Marburg (a 4 x 4 construction
/// planted in the red line), and the blank answer sheet coming back, filled in, through `violations import`.
final class FieldPackCLITests: XCTestCase {
    var record: EnforcementRecordTests!
    var work: URL!
    var db: String { record.db }

    override func setUpWithError() throws {
        record = EnforcementRecordTests(name: "helper", testClosure: { _ in })
        try record.setUpWithError()
        work = record.work
    }

    override func tearDownWithError() throws { try record.tearDownWithError() }

    func pages(_ pdf: String) throws -> Int {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pdfinfo") else { throw XCTSkip("pdfinfo is not installed (Debian's poppler-utils)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pdfinfo")
        process.arguments = [pdf]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("Pages:") })
        return Int(line.split(separator: " ").last ?? "") ?? -1
    }

    func testTheFieldPackOfOpenViolationsComesBackThroughViolationsImport() throws {
        try record.deliver("before.tif", as: "n1", date: "2024-06-30")
        XCTAssertEqual(try record.nightly().status, 0)
        try record.deliver("after.tif", as: "n2", date: "2024-07-16")
        let night = try record.nightly()
        XCTAssertEqual(night.status, 0, night.stderr)
        let registry = try Registry(path: db)
        let open = try registry.violations(statuses: Set(ViolationStatus.open), since: nil)
        XCTAssertFalse(open.isEmpty)

        // Each violation's chips, plan coordinates and GCJ-02 point come from the list that detected it.
        let (sites, overview) = FieldPackExport.sites(open)
        for site in sites {
            XCTAssertNotNil(site.chipAfter, "\(site.id): the chip of its list")
            XCTAssertNotNil(site.chipTransform, "\(site.id): the chip's geotransform")
            XCTAssertNotNil(site.planX, "\(site.id): plan coordinates of its list")
        }
        XCTAssertNotNil(overview, "the overview of the list")

        let output = work.appendingPathComponent("fieldpack")
        var result = try CLITests.landwatch(["violations", "fieldpack", "--db", db, "--status", "open", "--output", output.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").last.map(String.init),
                       "landwatch: field package of \(open.count) violation\(open.count == 1 ? "" : "s"): \(output.path)/ (fieldpack.pdf, fieldpack.kmz, fieldcheck.csv, fieldcheck.gpkg)")
        for name in FieldPack.files { XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name) }
        XCTAssertEqual(try pages(output.appendingPathComponent("fieldpack.pdf").path), open.count + 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix(".fieldpack") }
        XCTAssertEqual(leftovers, [], "nothing half-written beside the package")

        // The blank sheet as it is: every row read, each one line saying its result is missing; nothing applied.
        for sheet in ["fieldcheck.csv", "fieldcheck.gpkg"] {
            result = try CLITests.landwatch(["violations", "import", output.appendingPathComponent(sheet).path, "--db", db])
            XCTAssertEqual(result.status, 65, result.stderr)
            for v in open { XCTAssertTrue(result.stderr.contains("result '' for \(v.id) is not one of"), "\(sheet): \(result.stderr)") }
        }
        // Filled in by the inspector (result, date, inspector, note): applied, every violation confirmed.
        var text = String(decoding: try Data(contentsOf: output.appendingPathComponent("fieldcheck.csv")), as: UTF8.self)
        for v in open {
            XCTAssertTrue(text.contains("\r\n\(v.id),,,,,,,"), text)
            text = text.replacingOccurrences(of: "\r\n\(v.id),,,,,,,", with: "\r\n\(v.id),confirmed,2024-07-20,Wang,\"roof, 2 floors\",,,")
        }
        let filled = work.appendingPathComponent("filled.csv")
        try Data(text.utf8).write(to: filled)
        result = try CLITests.landwatch(["violations", "import", filled.path, "--db", db])
        XCTAssertEqual(result.status, 0, result.stderr)
        for v in open {
            let now = try XCTUnwrap(registry.violation(id: v.id))
            XCTAssertEqual(now.status, .confirmed, v.id)
            XCTAssertEqual(try registry.history(id: v.id).last?.reason, "field check: confirmed; roof, 2 floors")
        }

        // One zone: the package holds that zone's violations; a zone with none gives the one-page package that says so.
        let zone = try XCTUnwrap(open.first?.planAttributes?.zone_code, "the nightly pipeline records zones")
        result = try CLITests.landwatch(["violations", "fieldpack", "--db", db, "--status", "confirmed", "--zone", zone,
                                         "--output", work.appendingPathComponent("zone").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let inZone = open.filter { $0.planAttributes?.zone_code == zone }.count
        XCTAssertTrue(result.stdout.contains("field package of \(inZone) violation"), result.stdout)
        result = try CLITests.landwatch(["violations", "fieldpack", "--db", db, "--status", "confirmed", "--zone", "nowhere",
                                         "--output", work.appendingPathComponent("nowhere").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("none of the \(open.count) violations lies in zone 'nowhere'"), result.stderr)
        XCTAssertEqual(try pages(work.appendingPathComponent("nowhere/fieldpack.pdf").path), 1)
        // A bad status is one line.
        result = try CLITests.landwatch(["violations", "fieldpack", "--db", db, "--status", "closed", "--output", work.appendingPathComponent("x").path])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--status closed: choose open"), result.stderr)
    }
}
