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

    /// The whole content of a (small) file, such as a product's metadata.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(GDALError) -> Data {
        guard let file = VSIFOpenL(path, "rb") else {
            throw GDALError(kind: .cannotOpen, operation: "cannot open \(path)")
        }
        defer { VSIFCloseL(file) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while data.count < limit {
            let count = buffer.withUnsafeMutableBytes { VSIFReadL($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }
}
