import CGDAL
import Foundation

/// A Geospatial PDF written by GDAL's PDF driver from a composition file (`/usr/share/gdal/pdfcomposition.xsd`):
/// pages of rasters placed in PDF units, georeferenced areas, and vector layers drawn in them (which GDAL, QGIS and
/// Avenza-style phone apps read back as the document's layers).
public enum PDFComposition {
    /// Writes `xml` (a `<PDFComposition>` document) as the PDF at `path`.
    public static func write(_ xml: String, to path: String) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let driver = GDALGetDriverByName("PDF") else {
            throw GDALError(kind: .other, operation: "GDAL's PDF driver is not available (Debian's libgdal32 has it)")
        }
        let composition = path + ".composition.xml"
        do { try Data(xml.utf8).write(to: URL(fileURLWithPath: composition)) } catch {
            throw GDALError(kind: .write, operation: "cannot write \(composition): \(error.localizedDescription)")
        }
        defer { unlink(composition) }
        let (created, message) = withGDALErrorState {
            withCStringList(["COMPOSITION_FILE=\(composition)"]) { list in
                GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, list)
            }
        }
        guard let created else {
            throw GDALError(kind: .write, operation: "cannot write the PDF \(path)", gdalMessage: message)
        }
        GDALClose(created)
        guard FileManager.default.fileExists(atPath: path) else {
            throw GDALError(kind: .write, operation: "GDAL's PDF driver wrote no \(path)", gdalMessage: message)
        }
    }
}

/// A zip archive written through GDAL's `/vsizip/` (a KMZ: `doc.kml` first, then the images it refers to).
public enum ZipArchive {
    public static func write(_ entries: [(name: String, data: Data)], to path: String) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        unlink(path)
        let root = VirtualFiles.zipRoot(path)
        for entry in entries {
            let member = root + "/" + entry.name
            guard let file = VSIFOpenL(member, "wb") else {
                throw GDALError(kind: .write, operation: "cannot add \(entry.name) to \(path)")
            }
            let written = entry.data.withUnsafeBytes { raw in raw.count == 0 ? 0 : VSIFWriteL(raw.baseAddress, 1, raw.count, file) }
            VSIFCloseL(file)
            guard written == entry.data.count else {
                throw GDALError(kind: .write, operation: "cannot write \(entry.name) into \(path) (\(written) of \(entry.data.count) bytes)")
            }
        }
    }
}
