import Foundation
import LandwatchGDAL
import LandwatchRegistry
import Logging

/// What a night's classification shows at the places of tracked violations it did not detect as patches: the status
/// comes from the ground, not from the last pair of scenes (a year-on-year pair sees no change where a building was
/// already standing on the earlier scene).
///
/// Each place is compared with the class it had before the violation was first detected (the baseline it was first
/// detected on, or the land-use survey): the pixels whose centres lie inside its outline are read from the night's
/// class raster (`site_classes`, by default `landcover-after.tif` of the scene's outputs). A pixel without a class
/// (cloud, nodata, outside the image) is not observed. Under half the site observed: not observed, nothing is
/// concluded. Otherwise, half or more of the observed pixels back to the class before: restored (resolved); else
/// still changed (it stays open).
enum SiteObserver {
    static func observe(_ sites: [ViolationRecord], classes url: URL, logger: Logger) -> [SiteObservation] {
        guard !sites.isEmpty else { return [] }
        guard FileManager.default.fileExists(atPath: url.path), let dataset = try? Dataset.open(url.path),
              let band = try? dataset.band(1) else {
            logger.warning("nightly: no class raster \(url.path) to observe \(sites.count) tracked violation(s) with (param site_classes): they stay as they are")
            return sites.map { SiteObservation(id: $0.id, kind: .notObserved, note: "no class raster \(url.lastPathComponent) in the scene's outputs") }
        }
        defer { try? dataset.close() }
        let grid = dataset.grid()
        let noData = band.noDataValue.map(Float.init)
        guard let srs = try? SpatialReference(definition: grid.crsWKT),
              let toGrid = try? CoordinateTransformation(from: .wgs84(), to: srs) else {
            return sites.map { SiteObservation(id: $0.id, kind: .notObserved, note: "the class raster has no CRS") }
        }
        return sites.map { site in
            guard let before = site.before_class else {
                return SiteObservation(id: site.id, kind: .notObserved, note: "no class before recorded for the site (tracked by a registry of schema v1)")
            }
            guard let outline = try? Geometry(wkt: site.geometry_wkt).transformed(by: toGrid) else {
                return SiteObservation(id: site.id, kind: .notObserved, note: "the outline cannot be put on the image's grid")
            }
            let values = pixels(inside: outline, grid: grid, band: band)
            let clear = values.filter { $0.isFinite && $0 > 0 && $0 != noData }
            let total = max(values.count, 1)
            guard Double(clear.count) >= 0.5 * Double(total), !clear.isEmpty else {
                return SiteObservation(id: site.id, kind: .notObserved,
                                       note: "\(values.count - clear.count) of \(values.count) pixels without a class (cloud, nodata or outside the image)")
            }
            let restored = clear.filter { Int($0) == before }.count
            if 2 * restored >= clear.count {
                return SiteObservation(id: site.id, kind: .restored, note: "\(restored) of \(clear.count) clear pixels back to class \(before)")
            }
            return SiteObservation(id: site.id, kind: .stillChanged,
                                   note: "\(clear.count - restored) of \(clear.count) clear pixels still not class \(before)")
        }
    }

    /// Values of the pixels whose centres lie inside the outline (the pixel under its centre when none does).
    static func pixels(inside outline: Geometry, grid: RasterGrid, band: Band) -> [Float] {
        let t = grid.geoTransform
        let box = outline.envelope
        func column(_ x: Double) -> Int { Int(((x - t.originX) / t.pixelWidth).rounded(.down)) }
        func row(_ y: Double) -> Int { Int(((y - t.originY) / t.pixelHeight).rounded(.down)) }
        let c0 = max(0, min(column(box.minX), column(box.maxX))), c1 = min(grid.width - 1, max(column(box.minX), column(box.maxX)))
        let r0 = max(0, min(row(box.minY), row(box.maxY))), r1 = min(grid.height - 1, max(row(box.minY), row(box.maxY)))
        guard c0 <= c1, r0 <= r1 else { return [] }
        let window = Window(colOffset: c0, rowOffset: r0, width: c1 - c0 + 1, height: r1 - r0 + 1)
        guard let values = try? band.read(window) else { return [] }
        let mask = outline.pixelCentresInside(window, transform: t)
        var inside: [Float] = []
        for (index, isInside) in mask.enumerated() where isInside { inside.append(values[index]) }
        if inside.isEmpty, let centre = outline.pointOnSurface() {
            let c = column(centre.x) - c0, r = row(centre.y) - r0
            if c >= 0, c < window.width, r >= 0, r < window.height { inside.append(values[r * window.width + c]) }
        }
        return inside
    }
}
