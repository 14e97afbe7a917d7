import Foundation
import LandwatchGDAL
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts

/// The plan on the report's maps: the red line, basic farmland, urban boundary and zones the run read, drawn as
/// outlines (each layer its colour, named in the legend), the zones' names at a point inside each zone, and the
/// patches numbered with the rank the tables use.
extension ReportBuilder {
    /// The layers drawn, in drawing order (zones first, under the control lines), with their colours.
    static let planStyles: [(role: ReadPlanStage.Role, key: String, hex: String)] = [
        (.zones, "plan.zones", "#1e1e1e"), (.urbanBoundary, "plan.urban", "#7b3294"),
        (.basicFarmland, "plan.farmland", "#e68c00"), (.redline, "plan.redline", "#e0007a"),
    ]

    /// Draws the plan layers the run read onto a map of `raster`; returns their legend entries (outlines).
    func drawPlan(on quicklook: inout Quicklook, raster: String) -> [(color: String, label: String)] {
        guard let opened = try? Dataset.open(absolute(raster)), let crs = try? opened.spatialReference() else { return [] }
        return drawPlan(on: &quicklook, crs: crs)
    }

    /// Draws the plan layers the run read onto a map in `crs`; returns their legend entries (outlines).
    func drawPlan(on quicklook: inout Quicklook, crs: SpatialReference) -> [(color: String, label: String)] {
        var entries: [(color: String, label: String)] = []
        var names: [(text: String, x: Int, y: Int)] = []
        for style in Self.planStyles {
            var drawn = false
            for id in pipeline.topologicalOrder {
                guard let declaration = pipeline.stage(id), declaration.uses == "read.plan",
                      let layer = declaration.instance as? ReadPlanStage, layer.role == style.role,
                      let dataset = try? VectorDataset.open(layer.path, encoding: layer.encoding) else { continue }
                let source = layer.crs.flatMap { try? SpatialReference(definition: $0) }
                guard let read = try? dataset.readAreas(layer: layer.layer, sourceCRS: source, target: crs) else { continue }
                let colour = Quicklook.rgb(style.hex)
                for feature in read.features {
                    quicklook.outline(feature.geometry.allRings.map { $0.map { ($0.x, $0.y) } }, colour)
                }
                drawn = drawn || !read.features.isEmpty
                if style.role == .zones, let field = layer.nameField,
                   let attributes = try? dataset.attributes(layer: layer.layer, fields: [field]) {
                    let byFID = Dictionary(attributes.map { ($0.fid, $0.values[field] ?? "") }, uniquingKeysWith: { a, _ in a })
                    for feature in read.features {
                        guard let name = byFID[feature.fid], !name.isEmpty, let point = feature.geometry.pointOnSurface() else { continue }
                        let p = quicklook.pixel(point.x, point.y)
                        names.append((name.count > 20 ? String(name.prefix(19)) + "…" : name, p.x, p.y))
                    }
                }
            }
            if drawn { entries.append((style.hex, t(style.key))) }
        }
        for name in names.prefix(40) { quicklook.label(name.text, x: name.x, y: name.y, size: 14) }
        return entries
    }

    /// Numbers the patches on a map with their rank (the tables' rank), at the point inside each patch.
    func numberPatches(on quicklook: inout Quicklook, raster: String, entries: [ViolationList.Entry], limit: Int = 40) {
        guard let opened = try? Dataset.open(absolute(raster)), let crs = try? opened.spatialReference() else { return }
        numberPatches(on: &quicklook, crs: crs, entries: entries, limit: limit)
    }

    /// Numbers the patches on a map in `crs` with their rank.
    func numberPatches(on quicklook: inout Quicklook, crs: SpatialReference, entries: [ViolationList.Entry], limit: Int = 40) {
        guard let toMap = try? CoordinateTransformation(from: .wgs84(), to: crs) else { return }
        for entry in entries.sorted(by: { $0.rank < $1.rank }).prefix(limit) {
            guard let p = try? toMap.transform(x: entry.lon, y: entry.lat) else { continue }
            let pixel = quicklook.pixel(p.x, p.y)
            quicklook.label(String(entry.rank), x: pixel.x + 12, y: pixel.y - 12, size: 13, color: (0, 0, 0))
        }
    }

    /// Outlines the patches (their WGS84 polygons) on a map in `crs`.
    func outlinePatches(on quicklook: inout Quicklook, crs: SpatialReference, entries: [ViolationList.Entry],
                        _ colour: (UInt8, UInt8, UInt8)) {
        guard !entries.isEmpty, let transformation = try? CoordinateTransformation(from: .wgs84(), to: crs) else { return }
        for entry in entries {
            guard let geometry = try? Geometry(wkt: entry.geometry_wkt) else { continue }
            for ring in geometry.allRings {
                let projected = ring.compactMap { try? transformation.transform(x: $0.x, y: $0.y) }.map { ($0.x, $0.y) }
                quicklook.outline([projected], colour)
            }
        }
    }
}
