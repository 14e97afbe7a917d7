import CGDAL
import Foundation

/// Encodes GeoTIFF tiles as GDAL's GTiff writer stores them, outside the writer: ZSTD and DEFLATE through GDAL's
/// compressor registry (`CPLGetCompressor`, cpl_compressor.h: one zstd frame, one zlib stream per tile, what libtiff
/// writes for COMPRESS=ZSTD and COMPRESS=DEFLATE), NONE as the raw bytes. No predictor: the GeoTIFFs landwatch writes
/// use PREDICTOR=1 (``GeoTIFFOptions/creationOptions``).
///
/// Reentrant: the worker threads encode their tiles at the same time through one codec.
public final class TileCodec: @unchecked Sendable {  // immutable after init; GDAL's compressors keep no state between calls
    public let compression: GeoTIFFOptions.Compression
    /// The TIFF Compression tag the tiles go with (1 none, 8 Adobe deflate, 50000 zstd).
    public let tiffCode: UInt64
    private let compressor: UnsafePointer<CPLCompressor>?
    private let options: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

    /// The codec for `compression` at `level` (nil: GDAL GTiff's default level, ZSTD 9 and DEFLATE 6); nil when this
    /// GDAL cannot encode it outside its GTiff writer (LZW, or a GDAL built without the library).
    public init?(compression: GeoTIFFOptions.Compression, level: Int?) {
        self.compression = compression
        switch compression {
        case .none:
            tiffCode = 1
            compressor = nil
            options = nil
            return
        case .zstd:
            tiffCode = 50000
            compressor = CPLGetCompressor("zstd")
            options = CSLSetNameValue(nil, "LEVEL", String(level ?? 9))
        case .deflate:
            tiffCode = 8
            compressor = CPLGetCompressor("zlib")
            options = CSLSetNameValue(nil, "LEVEL", String(level ?? 6))
        case .lzw:
            return nil
        }
        guard compressor != nil else {
            CSLDestroy(options)
            return nil
        }
    }

    deinit { CSLDestroy(options) }

    /// Room enough for any encoding of `count` bytes (above ZSTD_compressBound and zlib's compressBound).
    public func bound(_ count: Int) -> Int { count + count / 64 + 1024 }

    /// Encodes `input` into `output` (at least ``bound(_:)`` bytes) and returns the encoded size.
    public func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GDALError) -> Int {
        guard let compressor else {
            guard output.count >= input.count else {
                throw GDALError(kind: .write, operation: "encode a tile: \(output.count) bytes of room for \(input.count)")
            }
            output.copyMemory(from: input)
            return input.count
        }
        var destination: UnsafeMutableRawPointer? = output.baseAddress
        var size = output.count
        let list = options
        let (done, message) = withGDALErrorState {
            compressor.pointee.pfnFunc(input.baseAddress, input.count, &destination, &size, list, compressor.pointee.user_data)
        }
        guard done, destination == output.baseAddress, size > 0, size <= output.count else {
            throw GDALError(kind: .write, operation: "encode a tile of \(input.count) bytes with \(compression.rawValue)",
                            gdalMessage: message)
        }
        return size
    }
}
