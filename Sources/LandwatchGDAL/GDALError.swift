import CGDAL
import Foundation
import Synchronization

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
        var trimmed = gdalMessage?.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed?.isEmpty ?? true { trimmed = nil }
        // A write that failed because the disk filled up says so, whatever GDAL's driver made of it.
        if kind == .write, DiskSpace.wasFullRecently, !DiskSpace.isFullMessage(trimmed ?? "") {
            trimmed = "No space left on device" + (trimmed.map { " (\($0))" } ?? "")
        }
        self.gdalMessage = trimmed
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

/// Whether a write failed because the file system was full: GDAL's drivers report it as "Write error at scanline 0"
/// (libtiff) or a failed SQL statement (SQLite, GeoPackage), so the error handler notes the system's ENOSPC/EDQUOT
/// and the texts that say it, and a write error raised just after is named as a full disk.
public enum DiskSpace {
    private static let lastFull = Mutex<Double>(0)

    /// True when `text` says the disk (or a quota) is full, in the words of the system, SQLite or GDAL.
    public static func isFullMessage(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.contains("no space left on device") || lower.contains("disk is full") || lower.contains("disk full")
            || lower.contains("quota exceeded") || lower.contains("enospc")
    }

    static func noteFull() { lastFull.withLock { $0 = Date().timeIntervalSince1970 } }

    /// A full disk was reported in the last few seconds.
    static var wasFullRecently: Bool { Date().timeIntervalSince1970 - lastFull.withLock { $0 } < 5 }
}
