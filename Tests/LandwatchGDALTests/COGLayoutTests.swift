import Foundation
import LandwatchGDAL
import XCTest
import LandwatchTestSupport

/// ``COGLayout`` through ``Dataset/makeCloudOptimized(at:options:resampling:threads:)`` on files that write.raster's
/// tests do not make: a BigTIFF, three pixel-interleaved UInt16 bands, DEFLATE, edge tiles. The pixels and overviews
/// read back the same as the tiled file's, byte for byte (the tiles are copied, not encoded again), and GDAL's
/// validator finds a clean COG.
final class COGLayoutTests: XCTestCase {
    func testABigTIFFWithThreeBandsIsLaidOutWithItsTilesUnchanged() throws {
        let folder = TestPaths.temporaryFolder("landwatch-cog-layout")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let srs = try SpatialReference(definition: "EPSG:32612")
        let grid = RasterGrid(width: 1000, height: 700, geoTransform: GeoTransform(originX: 300000, pixelWidth: 30, originY: 4150000, pixelHeight: -30),
                              crsWKT: srs.wkt, crsLabel: srs.label)
        let options = GeoTIFFOptions(compression: .deflate, level: 6, blockSize: 256, bigTIFF: "YES")
        let path = folder.appendingPathComponent("three.tif").path, reference = folder.appendingPathComponent("reference.tif").path
        for target in [path, reference] {
            let dataset = try Dataset.createGeoTIFF(at: target, grid: grid, bandCount: 3, dataType: .uint16, options: options)
            for index in 1...3 {
                let values = (0..<(grid.width * grid.height)).map { Float(($0 % grid.width) * index + ($0 / grid.width)) }
                try values.withUnsafeBufferPointer { try dataset.band(index).write(Window(width: grid.width, height: grid.height), from: $0) }
                try dataset.band(index).setNoDataValue(0)
            }
            try dataset.close()
        }
        try Dataset.makeCloudOptimized(at: path, options: options, resampling: .nearest, threads: 2)

        // The reference gets the same overviews through GDAL alone (gdaladdo), in the tiled layout.
        let addo = Process()
        addo.executableURL = URL(fileURLWithPath: "/usr/bin/gdaladdo")
        addo.arguments = ["-q", "-r", "nearest", "--config", "COMPRESS_OVERVIEW", "DEFLATE", "--config", "PREDICTOR_OVERVIEW", "1",
                          "--config", "ZLEVEL_OVERVIEW", "6", reference, "2", "4"]
        try addo.run()
        addo.waitUntilExit()
        XCTAssertEqual(addo.terminationStatus, 0)

        let cog = try Dataset.open(path), tiled = try Dataset.open(reference)
        XCTAssertTrue(cog.isCloudOptimized)
        XCTAssertEqual(cog.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"], "DEFLATE")
        XCTAssertEqual(try cog.band(1).noDataValue, 0.0)
        XCTAssertEqual(cog.geoTransform, tiled.geoTransform)
        for index in 1...3 {
            let a = try cog.band(index), b = try tiled.band(index)
            XCTAssertEqual(a.overviewCount, 2)
            XCTAssertEqual(try a.read(Window(width: grid.width, height: grid.height)), try b.read(Window(width: grid.width, height: grid.height)))
            XCTAssertEqual(try a.readOverview(maxSide: 500).values, try b.readOverview(maxSide: 500).values, "band \(index)")
            XCTAssertEqual(try a.readOverview(maxSide: 250).values, try b.readOverview(maxSide: 250).values, "band \(index)")
        }
        let header = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).readData(ofLength: 4)
        XCTAssertEqual(Array(header), [0x49, 0x49, 43, 0], "not a BigTIFF")

        XCTAssertEqual(try COGValidator.verdict(path), "0")
    }
}
