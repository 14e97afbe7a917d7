import Foundation
import LandwatchGDAL
import XCTest
import LandwatchTestSupport

final class DatasetTests: XCTestCase {
    static let root = TestPaths.repository
    static let zion = root.appendingPathComponent("testdata/zion-landsat8")

    private func utmGrid(width: Int, height: Int) throws -> RasterGrid {
        let srs = try SpatialReference(definition: "EPSG:32612")
        return RasterGrid(width: width, height: height,
                          geoTransform: GeoTransform(originX: 300000, pixelWidth: 30, originY: 4150000, pixelHeight: -30),
                          crsWKT: srs.wkt, crsLabel: srs.label)
    }

    func testMemoryRoundTripOfAWindow() throws {
        let dataset = try Dataset.createInMemory(width: 7, height: 5, bandCount: 2, dataType: .uint16)
        let band = try dataset.band(2)
        let window = Window(colOffset: 2, rowOffset: 1, width: 3, height: 2)
        let values: [Float] = [1, 2, 3, 65535, 40000, 7]
        try values.withUnsafeBufferPointer { try band.write(window, from: $0) }
        XCTAssertEqual(try band.read(window), values)
        XCTAssertEqual(try band.read(Window(colOffset: 0, rowOffset: 0, width: 2, height: 1)), [0, 0])
        XCTAssertEqual(band.dataType, .uint16)
    }

    func testWritingFloatsToUInt16ClampsAndRounds() throws {
        let dataset = try Dataset.createInMemory(width: 3, height: 1, bandCount: 1, dataType: .uint16)
        let band = try dataset.band(1)
        let values: [Float] = [-5, 2.6, 70000]
        try values.withUnsafeBufferPointer { try band.write(Window(width: 3, height: 1), from: $0) }
        XCTAssertEqual(try band.read(Window(width: 3, height: 1)), [0, 3, 65535])
    }

    func testGeoTIFFKeepsGridNodataDescriptionAndCompression() throws {
        let path = "/vsimem/landwatch-test-\(UUID().uuidString).tif"
        defer { VirtualFiles.remove(path) }
        let grid = try utmGrid(width: 600, height: 530)
        do {
            let dataset = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .float32,
                                                    options: GeoTIFFOptions())
            let band = try dataset.band(1)
            try band.setNoDataValue(-9999)
            band.setDescription("ndvi")
            var block = [Float](repeating: 0.25, count: 512 * 512)
            try block.withUnsafeMutableBytes { try band.writeBlock(column: 1, row: 1, from: $0.baseAddress!) }
            try dataset.close()
        }
        let reopened = try Dataset.open(path)
        XCTAssertEqual(reopened.width, 600)
        XCTAssertEqual(reopened.height, 530)
        XCTAssertEqual(reopened.geoTransform, grid.geoTransform)
        XCTAssertEqual(try reopened.spatialReference()?.epsgCode, 32612)
        XCTAssertTrue(try reopened.grid().matches(grid))
        let band = try reopened.band(1)
        XCTAssertEqual(band.noDataValue, -9999)
        XCTAssertEqual(band.bandDescription, "ndvi")
        XCTAssertEqual(band.blockSize.width, 512)
        XCTAssertEqual(band.blockSize.height, 512)
        XCTAssertEqual(reopened.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"], "ZSTD")
        // The edge block was clipped to the raster: 88 x 18 pixels of 0.25 at the bottom right.
        let corner = try band.read(Window(colOffset: 512, rowOffset: 512, width: 88, height: 18))
        XCTAssertTrue(corner.allSatisfy { $0 == 0.25 })
        // A block never written reads as nodata.
        XCTAssertEqual(try band.read(Window(colOffset: 0, rowOffset: 0, width: 1, height: 1)), [-9999])
    }

    func testWindowOutOfRangeNamesRequestAndRasterSize() throws {
        let dataset = try Dataset.createInMemory(width: 31, height: 1, bandCount: 1, dataType: .uint8)
        XCTAssertThrowsError(try dataset.band(1).read(Window(colOffset: 0, rowOffset: 0, width: 105, height: 31))) { error in
            XCTAssertEqual("\(error)", "Read window out of range on band 1 of MEM: requested (0,0) of size 105x31 on raster of 31x1")
            XCTAssertEqual((error as? GDALError)?.kind, .outOfRange)
        }
    }

    func testBandIndexBeyondTheBandCount() throws {
        let dataset = try Dataset.open(Self.zion.appendingPathComponent("landsat_b4.tif").path)
        XCTAssertThrowsError(try dataset.band(4)) { error in
            XCTAssertEqual("\(error)", "band 4 does not exist in \(dataset.path), which has 1 band")
        }
    }

    func testMissingFileAndNonRasterAreClearErrors() throws {
        XCTAssertThrowsError(try Dataset.open("/nonexistent/b4.tif")) { error in
            XCTAssertEqual("\(error)", "cannot open raster /nonexistent/b4.tif: no such file")
            XCTAssertEqual((error as? GDALError)?.kind, .cannotOpen)
        }
        let text = Self.root.appendingPathComponent("testdata/README.md").path
        XCTAssertThrowsError(try Dataset.open(text)) { error in
            XCTAssertEqual("\(error)", "cannot open raster \(text) - caused by: `\(text)' not recognized as a supported file format.")
        }
        let truncated = NSTemporaryDirectory() + "landwatch-truncated-\(UUID().uuidString).tif"
        defer { try? FileManager.default.removeItem(atPath: truncated) }
        let bytes = try Data(contentsOf: Self.zion.appendingPathComponent("landsat_b4.tif"))
        try bytes.prefix(4000).write(to: URL(fileURLWithPath: truncated))
        // A truncated GeoTIFF opens (the header is intact) but its pixels cannot be read.
        XCTAssertThrowsError(try Dataset.open(truncated).band(1).read(Window(width: 1128, height: 1428))) { error in
            XCTAssertEqual((error as? GDALError)?.kind, .read)
            XCTAssertTrue("\(error)".hasPrefix("Read failed on band 1 of \(truncated), window (0,0) of size 1128x1428 - caused by: "), "\(error)")
        }
    }

    func testRealSceneHeader() throws {
        let dataset = try Dataset.open(Self.zion.appendingPathComponent("landsat_b5.tif").path)
        XCTAssertEqual(dataset.width, 1128)
        XCTAssertEqual(dataset.height, 1428)
        XCTAssertEqual(dataset.driverName, "GTiff")
        XCTAssertEqual(try dataset.spatialReference()?.label, "EPSG:32612")
        XCTAssertEqual(try dataset.band(1).noDataValue, 65535)
        XCTAssertEqual(dataset.geoTransform?.pixelWidth, 30)
    }

    func testWarpedVRTPresentsAnotherGridBlockByBlock() throws {
        let scene = try Dataset.open(Self.zion.appendingPathComponent("landsat_b4.tif").path)
        let nlcd = try Dataset.open(Self.zion.appendingPathComponent("nlcd.tif").path)
        XCTAssertFalse(try nlcd.grid().matches(scene.grid()))
        let vrt = "/vsimem/landwatch-warp-\(UUID().uuidString).vrt"
        defer { VirtualFiles.remove(vrt) }
        try nlcd.writeWarpedVRT(to: vrt, onto: scene.grid(), resampling: .nearest, sourceNoData: 255)
        let warped = try Dataset.open(vrt)
        XCTAssertTrue(try warped.grid().matches(scene.grid()))
        let values = try warped.band(1).read(Window(colOffset: 500, rowOffset: 700, width: 64, height: 64))
        // Nearest neighbour keeps NLCD's eight class codes: nothing in between.
        XCTAssertTrue(values.allSatisfy { (1...8).contains($0) || $0 == 255 }, "\(Set(values))")
    }

    func testSpatialReferencesOfChinesePlans() throws {
        XCTAssertEqual(try SpatialReference(definition: "EPSG:4490").epsgCode, 4490)
        XCTAssertEqual(try SpatialReference(definition: "EPSG:4547").label, "EPSG:4547")
        XCTAssertTrue(try SpatialReference(definition: "EPSG:4490").isGeographic)
        XCTAssertThrowsError(try SpatialReference(definition: "EPSG:999999")) { error in
            XCTAssertTrue("\(error)".hasPrefix("unknown CRS 'EPSG:999999'"), "\(error)")
        }
    }
}

final class WindowTests: XCTestCase {
    func testSubdivisionCoversTheRasterOnceWithClippedEdges() {
        let tiles = Window(width: 1128, height: 1428).subdivided(tileWidth: 512, tileHeight: 512)
        XCTAssertEqual(tiles.count, 9)
        XCTAssertEqual(tiles.reduce(0) { $0 + $1.pixelCount }, 1128 * 1428)
        XCTAssertEqual(tiles.last, Window(colOffset: 1024, rowOffset: 1024, width: 104, height: 404))
    }

    func testIntersectionAndFit() {
        let a = Window(colOffset: 0, rowOffset: 0, width: 10, height: 10)
        XCTAssertEqual(a.intersection(Window(colOffset: 5, rowOffset: 8, width: 10, height: 10)),
                       Window(colOffset: 5, rowOffset: 8, width: 5, height: 2))
        XCTAssertNil(a.intersection(Window(colOffset: 10, rowOffset: 0, width: 1, height: 1)))
        XCTAssertTrue(a.fits(width: 10, height: 10))
        XCTAssertFalse(Window(colOffset: -1, rowOffset: 0, width: 2, height: 2).fits(width: 10, height: 10))
    }

    func testGeoTIFFOptionsDefaultToZstdLevelOne() {
        let options = GeoTIFFOptions().creationOptions
        XCTAssertTrue(options.contains("COMPRESS=ZSTD"))
        XCTAssertTrue(options.contains("ZSTD_LEVEL=1"))
        XCTAssertTrue(options.contains("TILED=YES"))
        XCTAssertFalse(GeoTIFFOptions(compression: .deflate).creationOptions.contains { $0.hasPrefix("ZSTD_LEVEL") })
    }
}

final class RawIOTests: XCTestCase {
    func testUInt32LabelsRoundTripThroughAFileAboveFloatPrecision() throws {
        let path = NSTemporaryDirectory() + "labels-\(UUID().uuidString).tif"
        defer { unlink(path) }
        let grid = RasterGrid(width: 41, height: 41, geoTransform: GeoTransform(originX: 0, pixelWidth: 30, rowRotation: 0, originY: 0, colRotation: 0, pixelHeight: -30),
                              crsWKT: try SpatialReference(definition: "EPSG:32632").wkt, crsLabel: "EPSG:32632")
        var labels = [UInt32](repeating: 0, count: 41 * 41)
        for index in labels.indices where index % 7 != 0 { labels[index] = UInt32(16_777_217 + index) }
        let dataset = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .uint32, options: GeoTIFFOptions(compression: .zstd))
        try labels.withUnsafeBytes { raw in
            try dataset.band(1).writeRaw(Window(width: 41, height: 41), from: raw.baseAddress!, byteCapacity: raw.count, type: .uint32, lineStride: 41)
        }
        try dataset.close()
        var back = [UInt32](repeating: 1, count: labels.count)
        try back.withUnsafeMutableBytes { raw in
            try Dataset.open(path).band(1).readRaw(Window(width: 41, height: 41), into: raw.baseAddress!, byteCapacity: raw.count, type: .uint32, lineStride: 41)
        }
        XCTAssertEqual(back, labels)
    }
}
