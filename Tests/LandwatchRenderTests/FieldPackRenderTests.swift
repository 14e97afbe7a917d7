import Foundation
import LandwatchRender
import XCTest

/// The drawing under the field package (issue 23): QR codes that a reader decodes to what was encoded, text in the
/// Debian font that wraps instead of being cut, and a missing font named by its package.
final class FieldPackRenderTests: XCTestCase {
    func zbarimg(_ canvas: Canvas) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/zbarimg") else {
            throw XCTSkip("zbarimg is not installed (Debian's zbar-tools)")
        }
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("qr-\(UUID().uuidString).ppm")
        try canvas.ppm.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--quiet", "--raw", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "zbarimg finds a code")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testQRCodesDecodeToTheGeoURIAndTheAmapLink() throws {
        for text in ["geo:50.799864,8.768132?q=50.799864,8.768132(LW-u1x0e7b2k)",
                     "https://uri.amap.com/marker?position=116.403963,39.915119&name=LW-wx4g0bm6c&coordinate=gaode&callnative=1"] {
            let code = try QRCode(text)
            var canvas = Canvas(width: code.side(moduleSize: 4) + 20, height: code.side(moduleSize: 4) + 20, background: .lightGrey)
            code.draw(on: &canvas, x: 10, y: 10, moduleSize: 4)
            XCTAssertEqual(try zbarimg(canvas), text)
        }
    }

    func testTextIsDrawnAndALongZoneNameIsWrappedNotCut() throws {
        let face = try Typeface.standard()
        var canvas = Canvas(width: 300, height: 40)
        let advance = face.draw("LW-u1x0e7b2k 城西区", size: 20, on: &canvas, x: 4, baseline: 28)
        XCTAssertGreaterThan(advance, 100)
        XCTAssertFalse(canvas.isBlank)
        let name = "城西区经济技术开发区高新技术产业园区管理委员会 Western District Economic and Technological Development Zone"
        let lines = face.wrap(name, size: 16, width: 200)
        XCTAssertGreaterThan(lines.count, 2)
        for line in lines { XCTAssertLessThanOrEqual(face.width(line, size: 16), 200, line) }
        XCTAssertEqual(lines.joined().replacingOccurrences(of: " ", with: ""), name.replacingOccurrences(of: " ", with: ""), "nothing cut")
    }

    func testAMissingFontNamesTheDebianPackage() {
        XCTAssertThrowsError(try Typeface(path: "/usr/share/fonts/opentype/noto/no-such-font.ttc")) { error in
            XCTAssertTrue("\(error)".contains("fonts-noto-cjk"), "\(error)")
        }
    }
}
