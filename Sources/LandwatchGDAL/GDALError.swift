import CGDAL
import Foundation

/// A failure reported by GDAL, or found before calling it, with what was being done.
///
/// The description reads like GDAL's own messages, with the operation first:
/// `Read failed on band 2 of zion.tif, window (0,0) 512x512 - caused by: TIFFReadEncodedStrip() failed`.
public struct GDALError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is, so callers can map it to an exit code.
    public enum Kind: Sendable, Equatable {
        /// The file does not exist or cannot be opened as a raster.
        case cannotOpen
        /// A window, band index or size was out of range.
        case outOfRange
        /// Reading pixels failed.
        case read
        /// Creating or writing an output failed.
        case write
        /// A coordinate reference system could not be parsed or transformed.
        case spatialReference
        /// Anything else GDAL refused.
        case other
    }

    public let kind: Kind
    /// What landwatch was doing, for example `open /data/b4.tif`.
    public let operation: String
    /// GDAL's last error message on the calling thread, if there was one.
    public let gdalMessage: String?

    public init(kind: Kind, operation: String, gdalMessage: String? = nil) {
        self.kind = kind
        self.operation = operation
        let trimmed = gdalMessage?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.gdalMessage = (trimmed?.isEmpty ?? true) ? nil : trimmed
    }

    public var description: String {
        if let gdalMessage {
            return "\(operation) - caused by: \(gdalMessage)"
        }
        return operation
    }
}

/// Clears GDAL's error state on this thread, runs `body`, and returns GDAL's message if one was raised.
///
/// GDAL keeps its last error per thread, so the reset, the call and the read must happen on the same thread,
/// which a synchronous closure guarantees.
@inlinable
func withGDALErrorState<T>(_ body: () throws -> T) rethrows -> (result: T, message: String?) {
    CPLErrorReset()
    let result = try body()
    return (result, lastGDALErrorMessage())
}

/// GDAL's last error message on the calling thread, or nil when there is none.
@usableFromInline
func lastGDALErrorMessage() -> String? {
    guard CPLGetLastErrorType() != CE_None, let cString = CPLGetLastErrorMsg() else { return nil }
    let message = String(cString: cString)
    return message.isEmpty ? nil : message
}
