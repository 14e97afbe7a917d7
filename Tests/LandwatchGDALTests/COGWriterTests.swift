import Foundation
import Logging
import XCTest
import LandwatchTestSupport
@testable import LandwatchGDAL

/// ``COGWriter`` on its own, with the cases write.raster's runs rarely reach: every full-resolution tile given
/// before its predecessors and parked in the side file (memory cap 0), overview tiles given before the full
/// resolution, a size that is no multiple of the tile, two UInt16 bands; the reserved region collapsed (ext4), moved
/// down where collapsing is off, and refused by tmpfs (/dev/shm). The pixels read back as written, the file has no
/// reserved region left, and GDAL's validator (full check) finds a clean COG.
final class COGWriterTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-cog-writer")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testReversedTilesParkedInTheSideFileAndTheRegionCollapsed() throws {
        let path = try write(in: work, reversed: true, memoryCap: 0, collapses: true)
        try check(path)
    }

    func testTheFullResolutionMovedDownWhenCollapsingIsOff() throws {
        let path = try write(in: work, reversed: false, memoryCap: 32 << 20, collapses: false)
        try check(path)
    }

    func testTmpfsRefusesToCollapseAndTheFullResolutionIsMovedDown() throws {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        guard mounts.split(separator: "\n").contains(where: { $0.split(separator: " ").dropFirst().prefix(2) == ["/dev/shm", "tmpfs"] }) else {
            throw XCTSkip("/dev/shm is not a tmpfs here")
        }
        let folder = URL(fileURLWithPath: "/dev/shm/landwatch-cog-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try write(in: folder, reversed: true, memoryCap: 1 << 20, collapses: true)
        try check(path)
    }

    func testACodecGDALOnlyWritesInsideItsGTiffWriterHasNoTileCodec() {
        XCTAssertNil(TileCodec(compression: .lzw, level: nil))
        XCTAssertNotNil(TileCodec(compression: .zstd, level: 1))
        XCTAssertNotNil(TileCodec(compression: .deflate, level: nil))
        XCTAssertNotNil(TileCodec(compression: .none, level: nil))
    }

    // MARK: -

    private let width = 1000, height = 700, tile = 256

    /// The value of a pixel of an image (0: full resolution) and band: smooth, so that the tiles compress well.
    private func value(image: Int, band: Int, x: Int, y: Int) -> UInt16 { UInt16((x / 8 + y / 8 + 100 * band + 1000 * image) % 60000 + 1) }

    private func write(in folder: URL, reversed: Bool, memoryCap: Int, collapses: Bool) throws -> String {
        let srs = try SpatialReference(definition: "EPSG:32612")
        let grid = RasterGrid(width: width, height: height,
                              geoTransform: GeoTransform(originX: 300000, pixelWidth: 30, originY: 4150000, pixelHeight: -30),
                              crsWKT: srs.wkt, crsLabel: srs.label)
        let options = GeoTIFFOptions(compression: .zstd, level: 1, blockSize: tile, sparse: true)
        let templatePath = folder.appendingPathComponent("template.tif").path
        let template = try Dataset.createGeoTIFF(at: templatePath, grid: grid, bandCount: 2, dataType: .uint16, options: options)
        for band in 1...2 { try template.band(band).setNoDataValue(0) }
        try template.addEmptyOverviews(factors: Dataset.cogOverviewFactors(width: width, height: height, blockSize: tile), options: options)
        try template.close()

        let path = folder.appendingPathComponent("out.tif").path, side = folder.appendingPathComponent("side").path
        let made = try COGWriter.make(path: path, template: templatePath, sidePath: side, codec: TileCodec(compression: .zstd, level: 1)!,
                                      bytesPerSample: 2, logger: Logger(label: "test"), memoryCap: memoryCap, collapses: collapses)
        let writer = try XCTUnwrap(made.writer, made.refusal ?? "")
        XCTAssertEqual(writer.shapes.map(\.width), [1000, 500, 250])
        // The overviews first (the writer takes them in any order), then the full resolution.
        var jobs: [(image: Int, column: Int, row: Int)] = []
        for image in writer.shapes.indices.reversed() {
            var tiles: [(Int, Int, Int)] = []
            for row in 0..<writer.shapes[image].tilesDown {
                for column in 0..<writer.shapes[image].tilesAcross { tiles.append((image, column, row)) }
            }
            jobs += reversed ? tiles.reversed() : tiles
        }
        for job in jobs {
            let shape = writer.shapes[job.image]
            let bands = try (0..<2).map { band in
                var raw = [UInt16](repeating: 0, count: tile * tile)
                for y in 0..<tile where job.row * tile + y < shape.height {
                    for x in 0..<tile where job.column * tile + x < shape.width {
                        raw[y * tile + x] = value(image: job.image, band: band, x: job.column * tile + x, y: job.row * tile + y)
                    }
                }
                return try raw.withUnsafeBytes { try writer.encode($0) }
            }
            try writer.write(image: job.image, column: job.column, row: job.row, bands: bands)
        }
        try writer.finish()
        XCTAssertFalse(FileManager.default.fileExists(atPath: side), "the side file is left")
        return path
    }

    private func check(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cog = try Dataset.open(path)
        XCTAssertTrue(cog.isCloudOptimized, file: file, line: line)
        XCTAssertEqual(cog.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"], "ZSTD", file: file, line: line)
        for band in 1...2 {
            let full = try cog.band(band)
            XCTAssertEqual(full.noDataValue, 0, file: file, line: line)
            XCTAssertEqual(full.overviewCount, 2, file: file, line: line)
            for image in 0...2 {
                let source = image == 0 ? full : try full.overview(image - 1)
                let size = source.size
                let values = try source.read(Window(width: size.width, height: size.height))
                var differing = 0
                for y in 0..<size.height {
                    for x in 0..<size.width where values[y * size.width + x] != Float(value(image: image, band: band - 1, x: x, y: y)) {
                        differing += 1
                    }
                }
                XCTAssertEqual(differing, 0, "band \(band), image \(image)", file: file, line: line)
            }
        }
        // Nothing of the reserved region is left: the overviews' bound alone (5 tiles x 2 bands x 128 KB) is larger.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertLessThan(size, 400 << 10, file: file, line: line)

        XCTAssertEqual(try COGValidator.verdict(path), "0", file: file, line: line)
    }
}
