import CGDAL
import Foundation
import Logging
import Synchronization

/// Process-wide GDAL set-up: driver registration, block cache size, and routing GDAL's messages to swift-log.
///
/// Call ``configure(cacheBytes:threads:)`` once before opening anything; every other entry point of this module
/// calls ``ensureRegistered()`` itself, so tests that never configure still work.
public enum GDALRuntime {
    private static let registered = Mutex(false)

    /// Registers GDAL's drivers and installs the error handler, once per process.
    public static func ensureRegistered() {
        registered.withLock { done in
            guard !done else { return }
            GDALAllRegister()
            CPLSetErrorHandler(landwatchGDALErrorHandler)
            // Uncompressed GeoTIFFs (the scenes as delivered, landwatch's own scratch) are read straight into the
            // caller's buffer instead of through the block cache and a copy out of it: the enforcement bench's CPU
            // fell by a fifth (reads of compressed files are unchanged). A GTIFF_DIRECT_IO in the environment wins.
            if getenv("GTIFF_DIRECT_IO") == nil { CPLSetConfigOption("GTIFF_DIRECT_IO", "YES") }
            done = true
        }
    }

    /// Sizes GDAL's block cache (its default, 5 % of RAM, costs about 1 GB of RSS) and GDAL's own thread pool.
    ///
    /// - Parameters:
    ///   - cacheBytes: bytes GDAL may keep in its block cache, shared by every dataset in the process.
    ///   - threads: threads GDAL may use for compression and multi-block reads (`GDAL_NUM_THREADS`).
    public static func configure(cacheBytes: Int, threads: Int) {
        ensureRegistered()
        GDALSetCacheMax64(GIntBig(max(cacheBytes, 1 << 20)))
        CPLSetConfigOption("GDAL_NUM_THREADS", String(max(threads, 1)))
    }

    /// Returns free heap pages to the system. glibc keeps freed block buffers in its per-thread arenas, and with its
    /// adaptive mmap threshold the resident size of a long pass crept up with the scene; calling this now and then
    /// keeps it flat.
    public static func releaseFreeMemory() { landwatch_release_free_memory() }

    /// The block cache size currently in force, in bytes.
    public static var cacheBytes: Int {
        ensureRegistered()
        return Int(GDALGetCacheMax64())
    }

    /// GDAL's release name, for example `3.6.2`.
    public static var version: String {
        guard let name = GDALVersionInfo("RELEASE_NAME") else { return "unknown" }
        return String(cString: name)
    }
}

private let gdalLogger = Logger(label: "landwatch.gdal")

/// Forwards GDAL's messages to swift-log. Failures are also captured by the call that raised them and thrown as
/// ``GDALError``, so they are logged at debug level only; warnings are worth an operator's attention.
private func landwatchGDALErrorHandler(
    _ level: CPLErr, _ code: CPLErrorNum, _ message: UnsafePointer<CChar>?
) {
    let failed = errno
    let text = message.map { String(cString: $0) } ?? ""
    // libtiff and SQLite say "Write error" or print the statement; the system's errno, still set by the write that
    // failed, or the text say whether the disk was full (GDALError names it first then).
    if level == CE_Failure || level == CE_Fatal, failed == ENOSPC || failed == EDQUOT || DiskSpace.isFullMessage(text) {
        DiskSpace.noteFull()
    }
    if level == CE_Warning {
        gdalLogger.warning("GDAL: \(text)")
    } else if level == CE_Failure || level == CE_Fatal {
        gdalLogger.debug("GDAL error \(code): \(text)")
    } else {
        gdalLogger.trace("GDAL: \(text)")
    }

}
