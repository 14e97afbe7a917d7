import CGDAL
import Foundation

/// Files through GDAL's virtual file systems, so that a path inside a zip (`/vsizip/product.zip/...`) reads like any
/// other: a delivered Sentinel-2 product need not be unpacked.
extension VirtualFiles {
    /// The path GDAL reads a zip's members under: `/vsizip//abs/product.zip`.
    public static func zipRoot(_ path: String) -> String {
        "/vsizip/" + URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// True when the path names a file that can be opened.
    public static func exists(_ path: String) -> Bool {
        guard let file = VSIFOpenL(path, "rb") else { return false }
        VSIFCloseL(file)
        return true
    }

    /// Size and modification time (seconds since 1970) of a file on any of GDAL's file systems — for `/vsicurl/`
    /// and `/vsis3/` the server's Content-Length and Last-Modified; nil when it cannot be reached.
    public static func status(_ path: String) -> (size: Int, modified: Int)? {
        // VSIStatBufL is struct stat64, the same layout as struct stat on 64-bit Linux; Swift sees it as opaque.
        var info = stat()
        let found = withUnsafeMutablePointer(to: &info) { pointer in
            VSIStatExL(path, OpaquePointer(pointer), VSI_STAT_EXISTS_FLAG | VSI_STAT_SIZE_FLAG) == 0
        }
        guard found else { return nil }
        return (Int(info.st_size), Int(info.st_mtim.tv_sec))
    }

    /// Every file under a folder (or a zip root), as paths relative to it.
    public static func listRecursively(_ path: String) -> [String] {
        guard let list = VSIReadDirRecursive(path) else { return [] }
        defer { CSLDestroy(list) }
        var names: [String] = []
        var index = 0
        while let entry = list[index] {
            names.append(String(cString: entry))
            index += 1
        }
        return names
    }

    /// The whole content of a (small) file on any of GDAL's file systems, such as a product's metadata or a STAC
    /// document; the error carries GDAL's reason (`HTTP response code: 404`). A file of `limit` bytes or more is
    /// refused rather than cut short.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(GDALError) -> Data {
        CPLErrorReset()
        VSIErrorReset()
        guard let file = VSIFOpenExL(path, "rb", 1) else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open \(path)", gdalMessage: openFailureReason())
        }
        defer { VSIFCloseL(file) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while data.count < limit {
            let count = buffer.withUnsafeMutableBytes { VSIFReadL($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        if data.count >= limit {
            throw GDALError(kind: .read, operation: "\(path) is \(limit >> 20) MiB or more, larger than landwatch reads whole")
        }
        return data
    }

    /// Why `VSIFOpenExL(path, "rb", 1)` just failed: the virtual file system's reason (`HTTP response code: 404`,
    /// which GDAL keeps apart from its CPL errors), else GDAL's last error.
    static func openFailureReason() -> String? {
        if let text = VSIGetLastErrorMsg().map({ String(cString: $0) }), !text.isEmpty { return text }
        return lastGDALErrorMessage()
    }

    /// The path GDAL reads a tar's members under (`.tar`, `.tar.gz`, `.tgz`): `/vsitar//abs/product.tar`.
    public static func tarRoot(_ path: String) -> String {
        "/vsitar/" + URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Copies a file GDAL can read (a member of a tar or zip) to a local path, in chunks; the target is complete
    /// only when this returns.
    public static func copy(_ source: String, to target: String) throws(GDALError) {
        guard let input = VSIFOpenL(source, "rb") else { throw GDALError(kind: .cannotOpen, operation: "cannot open \(source)") }
        defer { VSIFCloseL(input) }
        guard let output = fopen(target, "wb") else {
            throw GDALError(kind: .write, operation: "cannot create \(target): \(String(cString: strerror(errno)))")
        }
        // The member's size, as its archive declares it, to tell a truncated archive from a complete copy.
        var expected = -1
        if VSIFSeekL(input, 0, SEEK_END) == 0 { expected = Int(VSIFTellL(input)) }
        guard VSIFSeekL(input, 0, SEEK_SET) == 0 else { throw GDALError(kind: .read, operation: "cannot read \(source)") }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { VSIFReadL($0.baseAddress, 1, $0.count, input) }
            if count == 0 { break }
            total += count
            let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, count, output) }
            guard written == count else {
                let reason = String(cString: strerror(errno))
                fclose(output)
                throw GDALError(kind: .write, operation: "cannot write \(target): \(reason)")
            }
        }
        let readFailed = expected >= 0 && total != expected
        guard fflush(output) == 0, fsync(fileno(output)) == 0 else {
            let reason = String(cString: strerror(errno))
            fclose(output)
            throw GDALError(kind: .write, operation: "cannot write \(target): \(reason)")
        }
        fclose(output)
        if readFailed { throw GDALError(kind: .read, operation: "cannot read \(source) to its end: \(total) of \(expected) bytes (a truncated archive?)") }
    }
}
