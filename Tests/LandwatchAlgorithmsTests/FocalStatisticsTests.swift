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

    /// A window's statistics are the same to the last bit wherever the tile around it starts (a shard's rows, another
    /// block size): reflectance as Landsat's scaled DNs give it, and elevations.
    func testStatisticsDoNotDependOnWhereTheTileStarts() {
        let width = 120, height = 160
        var generator = SystemRandomNumberGenerator()
        var reflectance = (0..<(width * height)).map { _ in Float(UInt16.random(in: 5000...40000, using: &generator)) * 2.0e-5 - 0.1 }
        var elevation = (0..<(width * height)).map { _ in Float.random(in: 1000...2600, using: &generator) }
        // Even areas (water, a flat roof, a plateau): the standard deviation is a difference of nearly equal sums there,
        // where any rounding shows.
        for y in 70..<130 {
            for x in 40..<110 {
                reflectance[y * width + x] = Float(7357) * 2.0e-5 - 0.1
                elevation[y * width + x] = 1873
            }
        }
        for values in [reflectance, elevation] {
            let whole = values.withUnsafeBufferPointer { FocalStatistics(values: $0, width: width, height: height) }
            for (top, left) in [(37, 0), (53, 11), (1, 29)] {
                let part = (top..<height).flatMap { y in values[(y * width + left)..<(y * width + width)] }
                let cut = part.withUnsafeBufferPointer { FocalStatistics(values: $0, width: width - left, height: height - top) }
                var compared = 0
                for size in [5, 15, 31] {
                    let r = size / 2
                    for y in (top + r)..<(height - r) {
                        for x in (left + r)..<(width - r) {
                            let centre = values[y * width + x]
                            for statistic in FocalStatistics.Statistic.allCases {
                                let a = whole.value(statistic, size: size, x: x, y: y, centre: centre)
                                let b = cut.value(statistic, size: size, x: x - left, y: y - top, centre: centre)
                                if a.bitPattern != b.bitPattern { XCTFail("\(statistic) \(size) at \(x), \(y): \(a) vs \(b)"); return }
                                compared += 1
                            }
                        }
                    }
                }
                XCTAssertGreaterThan(compared, 10_000)
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
