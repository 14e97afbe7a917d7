import Foundation
import LandwatchGDAL
import XCTest

/// Plan layers are rasterised concurrently (one per worker). With GDAL's own threads on (GDAL_NUM_THREADS=2) and a
/// block cache smaller than the rasters, GDAL 3.6.2's rasteriser working on the compressed GeoTIFFs themselves hung
/// in 4 of 5 runs of this very set-up (bench/enforcement/gdal_rasterize_hang.py shows it through GDAL's Python
/// bindings); Dataset.burn must finish every round, and burn what the polygons cover.
final class PlanRasterizeConcurrencyTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("rasterize-concurrency-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    /// Random quadrilaterals over the grid, in its coordinates (not on pixel edges, so every centre is clearly in or out).
    private func polygons(seed: UInt64, count: Int, side: Int, pixel: Double) throws -> [Geometry] {
        var state = seed
        func next() -> Double {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        let extent = Double(side) * pixel
        return try (0..<count).map { _ in
            let x = next() * extent, y = next() * extent, w = (0.01 + next() * 0.2) * extent
            return try Geometry(wkt: "POLYGON ((\(x) \(y), \(x + w) \(y + w * 0.1), \(x + w * 0.8) \(y + w * 0.9), \(x - w * 0.1) \(y + w * 0.7), \(x) \(y)))")
        }
    }

    func testFourConcurrentBurnsOnTwoGDALThreadsNeverHang() throws {
        let previousCache = GDALRuntime.cacheBytes
        GDALRuntime.configure(cacheBytes: 8 << 20, threads: 2)
        defer { GDALRuntime.configure(cacheBytes: previousCache, threads: 2) }
        let side = 3000, pixel = 30.0
        let grid = RasterGrid(width: side, height: side,
                              geoTransform: GeoTransform(originX: 0, pixelWidth: pixel, originY: Double(side) * pixel, pixelHeight: -pixel),
                              crsWKT: try SpatialReference(definition: "EPSG:32612").wkt, crsLabel: "EPSG:32612")
        let layers = try (0..<4).map { try polygons(seed: UInt64($0 + 1), count: 150, side: side, pixel: pixel) }
        for round in 0..<10 {
            let done = DispatchGroup()
            let failures = LockedList()
            for layer in 0..<4 {
                done.enter()
                Thread.detachNewThread { [work] in
                    defer { done.leave() }
                    do {
                        let path = work!.appendingPathComponent("round\(round)-layer\(layer).tif").path
                        let raster = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .uint32,
                                                               options: GeoTIFFOptions(compression: .zstd, blockSize: 256))
                        try raster.burn(layers[layer], values: layers[layer].indices.map { Double($0 + 1) }, allTouched: false, background: 0)
                        try raster.close()
                    } catch {
                        failures.append("layer \(layer): \(error)")
                    }
                }
            }
            // A hang never returns: the detached threads stay blocked and the test fails here instead of waiting.
            XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "round \(round): the four rasterisations did not finish in 120 s")
            XCTAssertEqual(failures.items, [], "round \(round)")
        }
        // What was burned: the last polygon covering a pixel centre, 0 elsewhere (checked on a strip of rows
        // crossing several windows, against an even-odd test of the pixel centres).
        let layer = layers[3]
        let strip = Window(colOffset: 0, rowOffset: 1000, width: side, height: 40)
        var expected = [Float](repeating: 0, count: strip.width * strip.height)
        for (index, polygon) in layer.enumerated() {
            for (pixel, inside) in polygon.pixelCentresInside(strip, transform: grid.geoTransform).enumerated() where inside {
                expected[pixel] = Float(index + 1)
            }
        }
        let burned = try Dataset.open(work.appendingPathComponent("round9-layer3.tif").path).band(1).read(strip)
        XCTAssertGreaterThan(expected.filter { $0 != 0 }.count, 10_000, "the strip should cross several polygons")
        XCTAssertEqual(zip(burned, expected).filter { $0 != $1 }.count, 0)
    }

    /// A shard's grid (a band of rows at an offset, not a multiple of the block height tall) burns the same values
    /// as those rows of the whole grid: feature numbers in UInt32 and Float32, odd block sizes, windows of several
    /// block columns.
    func testAShardOfTheGridBurnsTheSameRowsAsTheWholeGrid() throws {
        let side = 1500, pixel = 30.0
        let crs = try SpatialReference(definition: "EPSG:32612").wkt
        let whole = RasterGrid(width: side, height: side,
                               geoTransform: GeoTransform(originX: 0, pixelWidth: pixel, originY: Double(side) * pixel, pixelHeight: -pixel),
                               crsWKT: crs, crsLabel: "EPSG:32612")
        let layer = try polygons(seed: 9, count: 400, side: side, pixel: pixel)
        let values = layer.indices.map { Double($0 + 1) }
        for (type, block, chunk) in [(DataType.uint32, 256, 16 << 20), (.float32, 96, 200_000), (.uint32, 512, 1)] {
            func burned(_ grid: RasterGrid, _ name: String) throws -> [Float] {
                let path = work.appendingPathComponent("\(name)-\(type.rawValue)-\(block).tif").path
                let raster = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: type,
                                                       options: GeoTIFFOptions(compression: .zstd, blockSize: block))
                try raster.burn(layer, values: values, allTouched: false, background: 0, chunkBytes: chunk)
                try raster.close()
                let dataset = try Dataset.open(path)
                return try dataset.band(1).read(Window(width: dataset.width, height: dataset.height))
            }
            let all = try burned(whole, "whole")
            for (first, rows) in [(0, 377), (377, 600), (977, 523)] {
                let shard = RasterGrid(width: side, height: rows,
                                       geoTransform: GeoTransform(originX: 0, pixelWidth: pixel, originY: Double(side - first) * pixel, pixelHeight: -pixel),
                                       crsWKT: crs, crsLabel: "EPSG:32612")
                let part = try burned(shard, "shard\(first)")
                let expected = Array(all[(first * side)..<((first + rows) * side)])
                XCTAssertEqual(zip(part, expected).filter { $0 != $1 }.count, 0, "\(type) block \(block): rows \(first)..<\(first + rows)")
                XCTAssertTrue(part.allSatisfy { $0 >= 0 && $0 <= Float(layer.count) }, "\(type) block \(block): values outside 0...\(layer.count)")
            }
        }
    }

    func testBurningWithoutBackgroundKeepsWhatTheBandHeld() throws {
        let grid = RasterGrid(width: 700, height: 600,
                              geoTransform: GeoTransform(originX: 0, pixelWidth: 10, originY: 6000, pixelHeight: -10),
                              crsWKT: try SpatialReference(definition: "EPSG:32612").wkt, crsLabel: "EPSG:32612")
        let raster = try Dataset.createGeoTIFF(at: work.appendingPathComponent("twice.tif").path, grid: grid, bandCount: 1,
                                               dataType: .uint8, options: GeoTIFFOptions(blockSize: 256))
        let left = try Geometry(wkt: "POLYGON ((100 100, 3000 100, 3000 5000, 100 5000, 100 100))")
        let right = try Geometry(wkt: "POLYGON ((2500 1000, 6500 1000, 6500 5900, 2500 5900, 2500 1000))")
        try raster.burn([left], values: [1], allTouched: false, background: 7)
        try raster.burn([right], values: [2], allTouched: false, chunkBytes: 1)
        try raster.close()
        let values = try Dataset.open(work.appendingPathComponent("twice.tif").path).band(1).read(Window(colOffset: 0, rowOffset: 0, width: 700, height: 600))
        func at(_ x: Double, _ y: Double) -> Float { values[Int((6000 - y) / 10) * 700 + Int(x / 10)] }
        XCTAssertEqual(at(5, 5995), 7, "background where neither polygon is")
        XCTAssertEqual(at(1000, 3000), 1, "the first burn is kept")
        XCTAssertEqual(at(2800, 3000), 2, "the second wins where they overlap")
        XCTAssertEqual(at(6000, 5500), 2)
        XCTAssertEqual(values.filter { $0 == 1 }.count, 290 * 490 - 50 * 400)  // the first square less the overlap
    }
}

private final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ item: String) { lock.withLock { list.append(item) } }
    var items: [String] { lock.withLock { list } }
}
