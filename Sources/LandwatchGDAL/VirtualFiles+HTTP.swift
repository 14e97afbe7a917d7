import CGDAL
import Foundation

/// Documents and headers over HTTP through GDAL's `/vsicurl/` (as `read.stac` and `nightly --stac` read STAC
/// Items, ItemCollections and API pages), with GDAL's own message when the server refuses.
extension VirtualFiles {
    /// The whole content of a (small) file on any of GDAL's file systems; the error carries GDAL's reason
    /// (`HTTP response code: 500`).
    public static func fetch(_ path: String, limit: Int = 64 << 20) throws(GDALError) -> Data {
        CPLErrorReset()
        guard let file = VSIFOpenExL(path, "rb", 1) else {
            throw GDALError(kind: .cannotOpen, operation: "cannot read \(path)", gdalMessage: lastGDALErrorMessage())
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
            throw GDALError(kind: .read, operation: "\(path) is larger than \(limit >> 20) MiB, more than a STAC document holds")
        }
        return data
    }

    /// The HTTP headers GDAL received for a `/vsicurl/` (or `/vsis3/`, …) file, keys as the server wrote them;
    /// empty for a local file or when GDAL does not give them.
    public static func headers(_ path: String) -> [String: String] {
        guard path.hasPrefix("/vsi"), let list = VSIGetFileMetadata(path, "HEADERS", nil) else { return [:] }
        defer { CSLDestroy(list) }
        var headers: [String: String] = [:]
        var index = 0
        while let entry = list[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                headers[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            index += 1
        }
        return headers
    }

    /// Like ``status(_:)``, with GDAL's reason when the file cannot be reached (`HTTP response code: 404`).
    public static func statusOrReason(_ path: String) -> Result<(size: Int, modified: Int), GDALError> {
        CPLErrorReset()
        if let found = status(path) { return .success(found) }
        return .failure(GDALError(kind: .cannotOpen, operation: "cannot reach \(path)", gdalMessage: lastGDALErrorMessage()))
    }
}
