import Foundation
import Logging
import XCTest
import LandwatchGDAL
import LandwatchTestSupport
@testable import LandwatchPipeline

/// ``COGSink``'s output, written directly (``COGWriter``: tiles encoded on the writing threads, the overviews computed
/// while the blocks stream by ``OverviewPyramid``), against GDAL's own (the same pixels through ``GeoTIFFSink``, then
/// `gdaladdo`'s BuildOverviews): Float32 with NaN, integer types with a nodata value, odd sizes (edge tiles; windows
/// that straddle blocks, weighted as GDAL weighs them), several bands, nearest and average, ZSTD, DEFLATE and no
/// compression; the blocks given in a shuffled order from two threads. The full resolution is the tiled file's and
/// every overview GDAL's, bit for bit; every output passes GDAL's COG validator (full check). LZW and mode go through
/// the scratch GeoTIFF, with the same result.
final class COGOverviewTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-cog-overviews")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testFloat32AverageWithNaNMatchesGDAL() throws {
        try check(width: 1000, height: 700, dataType: .float32, noData: .nan, resampling: .average, bands: 1) { random, _ in
            random.next() < 0.2 ? .nan : Float(random.next())
        }
    }

    func testOddSizesAndTwoBandsAverageMatchesGDAL() throws {
        // 777 x 555: every level halves an odd size, so windows overlap and straddle the blocks.
        try check(width: 777, height: 555, dataType: .float32, noData: .nan, resampling: .average, bands: 2) { random, band in
            random.next() < 0.25 ? .nan : Float(random.next()) * Float(band + 1)
        }
    }

    func testUInt16AndInt16AverageWithNodataMatchGDAL() throws {
        try check(width: 601, height: 433, dataType: .uint16, noData: 0, resampling: .average, bands: 1) { random, _ in
            random.next() < 0.2 ? .nan : Float(random.next() * 1000)
        }
        try check(width: 530, height: 300, dataType: .int16, noData: -9999, resampling: .average, bands: 1) { random, _ in
            random.next() < 0.2 ? .nan : Float(random.next() * 1000 - 500)
        }
    }

    func testClassesNearestMatchesGDAL() throws {
        try check(width: 777, height: 555, dataType: .uint8, noData: 255, resampling: .nearest, bands: 1) { random, _ in
            random.next() < 0.1 ? .nan : Float(Int(random.next() * 9) + 1)
        }
        try check(width: 640, height: 384, dataType: .uint8, noData: 255, resampling: .nearest, bands: 1) { random, _ in
            Float(Int(random.next() * 9) + 1)
        }
    }

    /// Nearest with several bands (a band-interleaved file): GDAL takes every level from the full resolution, not from
    /// the level above as for one band: 300 x 200's third level (38 x 25) picks column `Int(0.5 + i × 300 / 38)`, not
    /// the second level's (75 wide) `Int(0.5 + i × 75 / 38)`. Directly and through the scratch GeoTIFF; 777 x 555
    /// (odd sizes from the second level on) too.
    func testInt16TwoBandsNearestMatchesGDAL() throws {
        try check(width: 300, height: 200, dataType: .int16, noData: -9999, resampling: .nearest, bands: 2) { random, _ in
            random.next() < 0.1 ? .nan : Float(random.next() * 1000 - 500)
        }
        try check(width: 300, height: 200, dataType: .int16, noData: -9999, resampling: .nearest, bands: 2, compression: .lzw,
                  direct: false) { random, _ in random.next() < 0.1 ? .nan : Float(random.next() * 1000 - 500) }
        try check(width: 777, height: 555, dataType: .uint8, noData: 255, resampling: .nearest, bands: 3) { random, _ in
            random.next() < 0.1 ? .nan : Float(Int(random.next() * 9) + 1)
        }
    }

    func testDeflateAndUncompressedTilesAreWrittenDirectly() throws {
        try check(width: 700, height: 300, dataType: .float32, noData: .nan, resampling: .average, bands: 1, compression: .deflate) { random, _ in
            random.next() < 0.2 ? .nan : Float(random.next())
        }
        try check(width: 530, height: 300, dataType: .int16, noData: -9999, resampling: .average, bands: 2, compression: .none) { random, _ in
            random.next() < 0.2 ? .nan : Float(random.next() * 1000 - 500)
        }
    }

    /// What the direct writer cannot do goes through the scratch GeoTIFF, with the same result: LZW (GDAL's GTiff
    /// writer alone encodes it), mode (GDAL builds those overviews).
    func testLZWAndModeGoThroughTheScratchGeoTIFF() throws {
        try check(width: 300, height: 200, dataType: .uint8, noData: 255, resampling: .nearest, bands: 1, compression: .lzw,
                  direct: false) { random, _ in Float(Int(random.next() * 9) + 1) }
        try check(width: 300, height: 200, dataType: .uint8, noData: 255, resampling: .mode, bands: 1, direct: false) { random, _ in
            Float(Int(random.next() * 9) + 1)
        }
    }

    // MARK: -

    /// Writes the same pixels through ``COGSink`` (blocks shuffled, two threads) and through ``GeoTIFFSink`` followed by
    /// GDAL's BuildOverviews, and compares every overview of every band.
    private func check(width: Int, height: Int, dataType: DataType, noData: Double, resampling: OverviewResampling, bands: Int,
                       compression: GeoTIFFOptions.Compression = .zstd, direct: Bool = true,
                       value: (inout Random, Int) -> Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let tile = 64
        let srs = try SpatialReference(definition: "EPSG:32612")
        let grid = RasterGrid(width: width, height: height,
                              geoTransform: GeoTransform(originX: 300000, pixelWidth: 30, originY: 4150000, pixelHeight: -30),
                              crsWKT: srs.wkt, crsLabel: srs.label)
        var random = Random(seed: UInt64(width * 31 + height))
        let names = (0..<bands).map { "b\($0 + 1)" }
        var blocks: [PixelBlock] = []
        for row in stride(from: 0, to: height, by: tile) {
            for column in stride(from: 0, to: width, by: tile) {
                var block = PixelBlock(bandNames: names, blockWidth: tile, blockHeight: tile)
                block.window = Window(colOffset: column, rowOffset: row, width: min(tile, width - column), height: min(tile, height - row))
                for band in 0..<bands {
                    for y in 0..<block.window.height {
                        for x in 0..<block.window.width { block.bands[band][y * tile + x] = value(&random, band) }
                    }
                }
                blocks.append(block)
            }
        }
        // A hole of nodata wider than a tile: windows with no valid pixel at all.
        for index in blocks.indices where index % 7 == 3 {
            for band in 0..<bands { blocks[index].bands[band] = [Float](repeating: .nan, count: tile * tile) }
        }
        let root = try OutputRoot(path: work.appendingPathComponent("out").path)
        let scratch = work.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let context = RunContext(outputRoot: root, workDirectory: scratch, logger: Logger(label: "test"), memoryBudget: 64 << 20,
                                 threads: 2, blockSize: tile)
        let options = GeoTIFFOptions(compression: compression, blockSize: tile)
        let name = "\(dataType.rawValue)-\(resampling.rawValue)-\(width)x\(height).tif"
        let cogPath = work.appendingPathComponent(name).path
        let sink = try COGSink(target: URL(fileURLWithPath: cogPath), relativePath: name, grid: grid, bandNames: names, dataType: dataType,
                               noData: noData, options: options, resampling: resampling, metadata: [:], categories: [], context: context)
        XCTAssertEqual(sink.writesDirectly, direct, "written directly", file: file, line: line)
        let order = blocks.indices.shuffled(using: &random), given = blocks
        let failure = Failure()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for index in order.enumerated().filter({ $0.offset % 2 == worker }).map(\.element) {
                do { try sink.write([given[index]]) } catch { failure.record(error) }
            }
        }
        if let error = failure.error { throw error }
        XCTAssertEqual(try sink.finish(), [name], file: file, line: line)

        let tiledPath = work.appendingPathComponent("reference-" + name).path, referencePath = tiledPath + ".cog.tif"
        let reference = try GeoTIFFSink(target: URL(fileURLWithPath: tiledPath), relativePath: name, grid: grid, bandNames: names,
                                        dataType: dataType, noData: noData, options: options)
        for block in blocks { try reference.write([block]) }
        _ = try reference.finish()
        try Dataset.writeCOG(fromTiled: tiledPath, to: referencePath, options: options, resampling: resampling, threads: 2)

        let cog = try Dataset.open(cogPath), gdal = try Dataset.open(referencePath)
        XCTAssertTrue(cog.isCloudOptimized, file: file, line: line)
        XCTAssertEqual(cog.metadata()["OVERVIEW_RESAMPLING"], resampling.rawValue, file: file, line: line)
        for index in 1...bands {
            let ours = try cog.band(index), theirs = try gdal.band(index)
            XCTAssertEqual(ours.overviewCount, theirs.overviewCount, file: file, line: line)
            XCTAssertGreaterThan(ours.overviewCount, 1, file: file, line: line)
            XCTAssertEqual(try ours.read(Window(width: width, height: height)).map(\.bitPattern),
                           try theirs.read(Window(width: width, height: height)).map(\.bitPattern), "band \(index)", file: file, line: line)
            for level in 0..<min(ours.overviewCount, theirs.overviewCount) {
                let a = try ours.overview(level), b = try theirs.overview(level)
                let size = Window(width: a.size.width, height: a.size.height)
                XCTAssertEqual(size.width, b.size.width, file: file, line: line)
                XCTAssertEqual(size.height, b.size.height, file: file, line: line)
                let x = try a.read(size), y = try b.read(size)
                // The same values summed in the same order, where a window lies in one block; where it straddles
                // blocks its parts are added in another order, in double, which has not changed a Float32 mean yet.
                let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }
                XCTAssertEqual(differing.count, 0, "band \(index), overview \(level + 1): \(differing.count) of \(x.count) differ, "
                               + "\(differing.prefix(3))", file: file, line: line)
            }
        }
        XCTAssertEqual(try validate(cogPath), "0", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "the scratch is left", file: file, line: line)
    }

    private func validate(_ path: String) throws -> String { try COGValidator.verdict(path) }
}

/// The first error of the writing threads.
private final class Failure: @unchecked Sendable {  // `first` guarded by `lock`
    private let lock = NSLock()
    private var first: Error?

    var error: Error? { lock.withLock { first } }

    func record(_ error: Error) { lock.withLock { if first == nil { first = error } } }
}

/// A small deterministic generator (SplitMix64), so that a failure can be replayed.
private struct Random: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func next() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
