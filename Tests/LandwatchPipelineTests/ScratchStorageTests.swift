import Foundation
import XCTest
import LandwatchGDAL
import LandwatchTestSupport
@testable import LandwatchPipeline

/// How the engine keeps whole-number products in its scratch folder and reads integer rasters: a rule classifier's
/// class map stored as bytes (nodata 255, marked so that every read gives NaN there), integer bands read as stored and
/// converted by a ``ValueLookup`` table, and the integer conversion of ``GeoTIFFSink`` — each against an independent
/// computation of the same values.
final class ScratchStorageTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-scratch-storage")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func grid(width: Int, height: Int) throws -> RasterGrid {
        let srs = try SpatialReference(definition: "EPSG:32612")
        return RasterGrid(width: width, height: height,
                          geoTransform: GeoTransform(originX: 300000, pixelWidth: 30, originY: 4150000, pixelHeight: -30),
                          crsWKT: srs.wkt, crsLabel: srs.label)
    }

    /// Writes `value(col, row)` through a GeoTIFFSink of `type` in blocks of `tile`.
    private func write(_ path: String, grid: RasterGrid, type: DataType, noData: Double, values: ValueTransform?, tile: Int,
                       value: (Int, Int) -> Float) throws {
        let sink = try GeoTIFFSink(target: URL(fileURLWithPath: path), relativePath: "x.tif", grid: grid, bandNames: ["class"],
                                   dataType: type, noData: noData, options: GeoTIFFOptions(compression: .none, blockSize: tile),
                                   values: values)
        for row in stride(from: 0, to: grid.height, by: tile) {
            for column in stride(from: 0, to: grid.width, by: tile) {
                var block = PixelBlock(bandNames: ["class"], blockWidth: tile, blockHeight: tile)
                block.window = Window(colOffset: column, rowOffset: row, width: min(tile, grid.width - column), height: min(tile, grid.height - row))
                for y in 0..<block.window.height {
                    for x in 0..<block.window.width { block.bands[0][y * tile + x] = value(column + x, row + y) }
                }
                try sink.write([block])
            }
        }
        _ = try sink.finish()
    }

    func testAByteClassMapReadsBackAsItsCodesWithNaNWhereNodata() throws {
        let grid = try grid(width: 700, height: 300)
        func code(_ col: Int, _ row: Int) -> Float { (col * 7 + row * 13) % 11 == 0 ? .nan : Float((col * 31 + row * 17) % 255) }
        let path = work.appendingPathComponent("classes.tif").path
        let product: ProductDescription = {
            var product = ProductDescription(kind: .classes, bandNames: ["class"])
            product.wholeNumbers = 0...254
            return product
        }()
        let storage = try XCTUnwrap(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: true))
        XCTAssertEqual(storage.type, .uint8)
        XCTAssertEqual(storage.noData, 255)
        try write(path, grid: grid, type: storage.type, noData: storage.noData, values: ValueTransform(noData: storage.noData), tile: 256, value: code)

        let dataset = try Dataset.open(path)
        let band = try dataset.band(1)
        XCTAssertEqual(band.dataType, .uint8)
        XCTAssertEqual(band.noDataValue, 255)
        // The whole raster, and a window crossing blocks read into a wider buffer (as a tile with its halo is).
        let whole = try band.read(Window(width: 700, height: 300))
        for row in 0..<300 {
            for col in 0..<700 {
                let expected = code(col, row), got = whole[row * 700 + col]
                if expected.isNaN { XCTAssertTrue(got.isNaN, "(\(col), \(row)) is \(got)") } else { XCTAssertEqual(got, expected, "(\(col), \(row))") }
            }
        }
        let window = Window(colOffset: 250, rowOffset: 200, width: 300, height: 90), stride = 333
        var buffer = [Float](repeating: -1, count: stride * 90)
        try buffer.withUnsafeMutableBufferPointer { try band.read(window, into: $0, lineStride: stride) }
        for row in 0..<90 {
            for col in 0..<300 {
                let expected = code(250 + col, 200 + row), got = buffer[row * stride + col]
                if expected.isNaN { XCTAssertTrue(got.isNaN) } else { XCTAssertEqual(got, expected) }
            }
            for col in 300..<stride { XCTAssertEqual(buffer[row * stride + col], -1, "beyond the window's width is untouched") }
        }
        // A user's GeoTIFF of the same bytes without landwatch's mark reads as it is stored (255 stays 255).
        let plain = work.appendingPathComponent("plain.tif").path
        try write(plain, grid: grid, type: .uint8, noData: 255, values: nil, tile: 256, value: code)
        XCTAssertEqual(try Dataset.open(plain).band(1).read(Window(colOffset: 0, rowOffset: 0, width: 1, height: 1)), [255])
    }

    func testOnlyNeighbourhoodReadProductsOfSmallWholeNumbersAreStoredAsIntegers() {
        var product = ProductDescription(kind: .classes, bandNames: ["class"])
        XCTAssertNil(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: true), "no range: Float32")
        product.wholeNumbers = 0...254
        XCTAssertNil(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: false), "GDAL's algorithms read it: Float32")
        product.wholeNumbers = 1...255
        XCTAssertEqual(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: true)?.type, .uint16, "255 is a code: not bytes")
        product.wholeNumbers = -1...5
        XCTAssertNil(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: true), "negative codes: Float32")
        product.wholeNumbers = 0...70000
        XCTAssertNil(Executor.wholeNumberStorage(product, readOnlyByNeighbourhoods: true))
    }

    /// Integer bands read as stored and looked up give exactly what reading them as Float32 and transforming gives.
    func testTabulatedReadsOfIntegerBandsEqualTheTransformedFloatReads() throws {
        let grid = try grid(width: 300, height: 200)
        let transform = ValueTransform(scale: 2.0e-5, offset: -0.1, noData: 0, saturated: 65535)
        for (type, top) in [(DataType.uint8, 255), (.uint16, 65535), (.int16, 32767)] {
            let path = work.appendingPathComponent("\(type.rawValue).tif").path
            func stored(_ col: Int, _ row: Int) -> Float {
                let n = (col * 977 + row * 1013) % (top + 1)
                return Float(type == .int16 && (col + row) % 2 == 1 ? -n : n)
            }
            try write(path, grid: grid, type: type, noData: 0, values: nil, tile: 128, value: stored)
            let band = try Dataset.open(path).band(1)
            let lookup = try XCTUnwrap(ValueLookup(transform, storedAs: band.dataType))
            for (window, stride) in [(Window(width: 300, height: 200), 300), (Window(colOffset: 17, rowOffset: 101, width: 200, height: 99), 257)] {
                var tabulated = [Float](repeating: -7, count: stride * window.height)
                try tabulated.withUnsafeMutableBufferPointer { try band.read(window, into: $0, lineStride: stride, lookup: lookup) }
                var plain = try band.read(window)
                plain.withUnsafeMutableBufferPointer { transform.apply($0) }
                for row in 0..<window.height {
                    for col in 0..<window.width {
                        XCTAssertEqual(tabulated[row * stride + col].bitPattern, plain[row * window.width + col].bitPattern,
                                       "\(type) (\(col), \(row))")
                    }
                    if stride > window.width { XCTAssertEqual(tabulated[row * stride + window.width], -7) }
                }
            }
        }
    }

    /// Float32 to 8 and 16-bit unsigned integers: rounded half away from zero, clamped, NaN to nodata, as the
    /// Double computation gives.
    func testUnsignedConversionRoundsAndClampsAsTheDoubleComputation() {
        var values: [Float] = [.nan, .infinity, -.infinity, -0.0, 0, 0.49999997, 0.5, 0.50000006, 1.5, 2.5, 254.49998, 254.5, 255, 255.4,
                               255.5, 256, 65534.5, 65535, 70000, -0.5, -3, 1e9, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        var state: UInt32 = 12345
        for _ in 0..<5000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            values.append(Float(state % 140_000) / 2 - 1000 + Float(state % 7) / 8)
        }
        for (type, high) in [(DataType.uint8, 255.0), (.uint16, 65535.0)] {
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: values.count * 2, alignment: 16)
            defer { raw.deallocate() }
            PixelConversion.convert(values, to: type, noData: 7, into: raw)
            for (index, value) in values.enumerated() {
                let v = Double(value)
                let expected = v.isNaN ? 7 : min(max(v.rounded(), 0), high)
                let got = type == .uint8 ? Double(raw.load(fromByteOffset: index, as: UInt8.self))
                    : Double(raw.load(fromByteOffset: index * 2, as: UInt16.self))
                XCTAssertEqual(got, expected, "\(type) \(value)")
            }
        }
    }
}
