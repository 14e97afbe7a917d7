import ArgumentParser
import Foundation
import LandwatchGDAL

/// `landwatch info RASTER`: a short gdalinfo.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a raster: size, bands, types, CRS, pixel size, nodata, blocks."
    )

    @Argument(help: "A raster GDAL can read (GeoTIFF, COG, JP2, VRT, /vsicurl/...).")
    var raster: String

    func run() throws {
        LogSetup.bootstrap(verbosity: 0)
        do {
            print(try RasterInfo.describe(raster), terminator: "")
        } catch {
            throw fail([error.description], code: LandwatchExit.inputUnavailable)
        }
    }
}

/// The text `landwatch info` prints.
public enum RasterInfo {
    public static func describe(_ path: String) throws(GDALError) -> String {
        let dataset = try Dataset.open(path)
        let grid = dataset.grid()
        var out = "\(path)\n"
        out += "  driver: \(dataset.driverName)\n"
        out += "  size: \(dataset.width) x \(dataset.height) pixels, \(dataset.bandCount) band\(dataset.bandCount == 1 ? "" : "s")\n"
        if let srs = try dataset.spatialReference() {
            out += "  crs: \(srs.label) (\(srs.name))\n"
        } else {
            out += "  crs: none\n"
        }
        if let gt = dataset.geoTransform {
            out += "  pixel size: \(gt.pixelWidth) x \(abs(gt.pixelHeight))\(gt.isNorthUp ? "" : " (rotated)")\n"
            let e = grid.extent
            out += "  extent: \(e.minX), \(e.minY), \(e.maxX), \(e.maxY)\n"
        } else {
            out += "  geotransform: none\n"
        }
        for index in 1...dataset.bandCount {
            let band = try dataset.band(index)
            let block = band.blockSize
            var line = "  band \(index): \(band.dataTypeName), block \(block.width) x \(block.height)"
            if let noData = band.noDataValue { line += ", nodata \(noData)" }
            if !band.bandDescription.isEmpty { line += ", \"\(band.bandDescription)\"" }
            out += line + "\n"
            let categories = band.categories
            if !categories.isEmpty {
                out += "    classes: " + categories.map { c in
                    "\(c.value) \(c.name.isEmpty ? "-" : c.name) #" + [c.red, c.green, c.blue].map { String(format: "%02x", $0) }.joined()
                }.joined(separator: ", ") + "\n"
            }
        }
        return out
    }
}
