import LandwatchAlgorithms
import XCTest

final class FocalStatisticsTests: XCTestCase {
    /// Summed-area tables against a plain loop over every window, with nodata and windows cut at the edges.
    func testTablesEqualABruteForceLoop() {
        let width = 23, height = 17
        var generator = SystemRandomNumberGenerator()
        var values = (0..<(width * height)).map { _ in Float.random(in: 0...3000, using: &generator) }
        for i in stride(from: 0, to: values.count, by: 7) { values[i] = .nan }
        let table = values.withUnsafeBufferPointer { FocalStatistics(values: $0, width: width, height: height) }
        for size in [3, 5, 9] {
            let r = size / 2
            for y in 0..<height {
                for x in 0..<width {
                    var window: [Double] = []
                    for yy in max(y - r, 0)...min(y + r, height - 1) {
                        for xx in max(x - r, 0)...min(x + r, width - 1) where values[yy * width + xx].isFinite {
                            window.append(Double(values[yy * width + xx]))
                        }
                    }
                    let mean = window.reduce(0, +) / Double(window.count)
                    let std = (window.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(window.count)).squareRoot()
                    let centre = values[y * width + x]
                    XCTAssertEqual(Double(table.value(.mean, size: size, x: x, y: y, centre: centre)), mean, accuracy: 1e-2)
                    XCTAssertEqual(Double(table.value(.std, size: size, x: x, y: y, centre: centre)), std, accuracy: 1e-2)
                    let dev = table.value(.dev, size: size, x: x, y: y, centre: centre)
                    if centre.isFinite { XCTAssertEqual(Double(dev), Double(centre) - mean, accuracy: 1e-2) } else { XCTAssertTrue(dev.isNaN) }
                }
            }
        }
    }

    func testAWindowWithoutValuesIsNodata() {
        let values = [Float](repeating: .nan, count: 9)
        let table = values.withUnsafeBufferPointer { FocalStatistics(values: $0, width: 3, height: 3) }
        XCTAssertTrue(table.value(.mean, size: 3, x: 1, y: 1, centre: .nan).isNaN)
        XCTAssertTrue(table.value(.std, size: 3, x: 1, y: 1, centre: .nan).isNaN)
    }
}
