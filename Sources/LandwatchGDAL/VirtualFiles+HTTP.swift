import CGDAL
import Foundation

/// Headers and status over HTTP through GDAL's `/vsicurl/` (as `nightly --stac` identifies a STAC Item's assets),
/// with GDAL's own message when the server refuses; documents are read with ``VirtualFiles/read(_:limit:)``.
extension VirtualFiles {
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

    /// Like ``status(_:)``, with GDAL's reason when the file cannot be reached (`HTTP response code: 404`). The file
    /// is opened first: a failed stat says no more than "not found", and GDAL then caches that answer for the path.
    public static func statusOrReason(_ path: String) -> Result<(size: Int, modified: Int), GDALError> {
        CPLErrorReset()
        VSIErrorReset()
        guard let file = VSIFOpenExL(path, "rb", 1) else {
            return .failure(GDALError(kind: .cannotOpen, operation: "cannot reach \(path)", gdalMessage: openFailureReason()))
        }
        VSIFCloseL(file)
        if let found = status(path) { return .success(found) }
        return .failure(GDALError(kind: .cannotOpen, operation: "cannot reach \(path)", gdalMessage: lastGDALErrorMessage()))
    }
}
