import CGDAL
import Foundation

/// Joins bands of rows of one grid into one GeoTIFF: each part is a raster that covers its rows (and maybe a halo of
/// rows around them, which is left out). Pixel type, nodata, band names, the class colours and names, the metadata,
/// the codec and the tile size are taken from the first part; the pixels are copied as they are stored, in strips.
/// When the first part is a Cloud-Optimized GeoTIFF, so is the mosaic (its overviews resampled as the part's
/// `OVERVIEW_RESAMPLING` metadata item says, nearest when it says nothing).
public enum RowMosaic {
    public struct Part: Sendable {
        /// The raster holding the rows.
        public var path: String
        /// The row of `path` that holds the first row of `rows`.
        public var sourceRow: Int
        /// The rows of the mosaic this part fills.
        public var rows: Range<Int>

        public init(path: String, sourceRow: Int, rows: Range<Int>) {
            self.path = path
            self.sourceRow = sourceRow
            self.rows = rows
        }
    }

    /// Writes the parts, which must fill `grid`'s rows exactly once, to a new GeoTIFF at `path`, copying at most
    /// `stripBytes` at a time.
    public static func write(_ parts: [Part], grid: RasterGrid, to path: String, stripBytes: Int = 64 << 20) throws(GDALError) {
        guard let first = parts.first else { throw GDALError(kind: .other, operation: "mosaic \(path): no parts") }
        let template = try Dataset.open(first.path)
        guard template.isCloudOptimized else { return try writeTiled(parts, grid: grid, to: path, stripBytes: stripBytes) }
        // The tiled mosaic beside the target, then copied into COG layout.
        let tiled = path + ".mosaic.tif"
        defer {
            unlink(tiled)
            unlink(tiled + ".aux.xml")
        }
        try writeTiled(parts, grid: grid, to: tiled, stripBytes: stripBytes)
        let band = try template.band(1)
        let codec = template.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"].flatMap { GeoTIFFOptions.Compression(rawValue: $0.uppercased()) } ?? .none
        let tile = band.blockSize
        let options = GeoTIFFOptions(compression: codec, blockSize: tile.width == tile.height && tile.width % 16 == 0 ? tile.width : 512)
        let resampling = template.metadata()["OVERVIEW_RESAMPLING"].flatMap { OverviewResampling(rawValue: $0.uppercased()) } ?? .nearest
        let threads = CPLGetConfigOption("GDAL_NUM_THREADS", nil).flatMap { Int(String(cString: $0)) } ?? 1
        try Dataset.writeCOG(fromTiled: tiled, to: path, options: options, resampling: resampling, threads: threads)
    }

    private static func writeTiled(_ parts: [Part], grid: RasterGrid, to path: String, stripBytes: Int) throws(GDALError) {
        let first = parts[0]
        var covered = 0
        for part in parts.sorted(by: { $0.rows.lowerBound < $1.rows.lowerBound }) {
            guard part.rows.lowerBound == covered else {
                throw GDALError(kind: .outOfRange, operation: "mosaic \(path): rows \(covered)..<\(part.rows.lowerBound) are in no part")
            }
            covered = part.rows.upperBound
        }
        guard covered == grid.height else {
            throw GDALError(kind: .outOfRange, operation: "mosaic \(path): the parts end at row \(covered), the grid has \(grid.height)")
        }
        let template = try Dataset.open(first.path)
        let bandCount = template.bandCount
        let templateBand = try template.band(1)
        guard let type = templateBand.dataType else {
            throw GDALError(kind: .other, operation: "mosaic \(path): \(first.path) has pixel type \(templateBand.dataTypeName), which landwatch does not copy")
        }
        let codec = template.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"].flatMap { GeoTIFFOptions.Compression(rawValue: $0.uppercased()) } ?? .none
        let tile = templateBand.blockSize
        let options = GeoTIFFOptions(compression: codec, blockSize: tile.width == tile.height && tile.width % 16 == 0 ? tile.width : 512)
        let target = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: bandCount, dataType: type, options: options)
        for index in 1...bandCount {
            let source = try template.band(index), band = try target.band(index)
            if let noData = source.noDataValue { try band.setNoDataValue(noData) }
            band.setDescription(source.bandDescription)
            let categories = source.categories
            if !categories.isEmpty { try band.setCategories(categories) }
        }
        for (key, value) in template.metadata().sorted(by: { $0.key < $1.key }) { target.setMetadataItem(key, value) }

        let rowBytes = grid.width * type.byteCount
        let stripRows = max(1, min(grid.height, stripBytes / max(rowBytes, 1)))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: stripRows * rowBytes, alignment: 16)
        defer { buffer.deallocate() }
        for part in parts {
            let source = part.path == first.path ? template : try Dataset.open(part.path)
            guard source.width == grid.width, source.bandCount == bandCount,
                  part.sourceRow >= 0, part.sourceRow + part.rows.count <= source.height else {
                throw GDALError(kind: .outOfRange, operation: "mosaic \(path): \(part.path) is \(source.width)x\(source.height) px with \(source.bandCount) bands; "
                                + "rows \(part.sourceRow)..<\(part.sourceRow + part.rows.count) of \(grid.width) px and \(bandCount) bands were expected")
            }
            guard try source.band(1).dataType == type else {
                throw GDALError(kind: .other, operation: "mosaic \(path): \(part.path) holds \(try source.band(1).dataTypeName), \(first.path) holds \(type.rawValue)")
            }
            var done = 0
            while done < part.rows.count {
                let rows = min(stripRows, part.rows.count - done)
                for index in 1...bandCount {
                    try source.band(index).readRaw(Window(colOffset: 0, rowOffset: part.sourceRow + done, width: grid.width, height: rows),
                                                   into: buffer, byteCapacity: rows * rowBytes, type: type, lineStride: grid.width)
                    try target.band(index).writeRaw(Window(colOffset: 0, rowOffset: part.rows.lowerBound + done, width: grid.width, height: rows),
                                                    from: buffer, byteCapacity: rows * rowBytes, type: type, lineStride: grid.width)
                }
                done += rows
            }
        }
        try target.close()
    }
}
