import Foundation
import LandwatchGDAL
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts

/// The report's true-colour maps (issue 24, item 2): the imagery the run read, as a person sees it.
///
/// - The images come from the run's own readers (read.scene, read.landsat, …: any source of imagery with red, green
///   and blue bands), read onto a reduced copy of the run grid (at most ``maxSide`` pixels a side): the reader warps
///   as it reads, so memory stays bounded whatever the scene, and its scaling and nodata apply as in the run.
/// - With a change comparison, the dates it compared, side by side, under one 2nd–98th percentile stretch per band
///   taken from both (the same stretch makes a bare field look the same on both dates); without one, the first
///   image read.
/// - The plan layers, zones and (on the after date) the violation patches, outlined and numbered by rank as in
///   the tables, a north arrow and a scale bar on each image.
/// - A run that read no imagery with red, green and blue bands says so instead.
extension ReportBuilder {
    static let trueColourMaxSide = 560

    /// One image read for the map: the reader's id and date, and its red, green and blue on the reduced grid.
    struct TrueColourImage {
        var stage: String
        var date: String?
        var bands: [[Float]]
    }

    /// The reduced copy of the run grid the maps are read onto: the whole extent, at most `maxSide` pixels a side.
    static func reducedGrid(_ grid: RasterGrid, maxSide: Int) -> RasterGrid {
        let factor = max(1, (max(grid.width, grid.height) + maxSide - 1) / maxSide)
        let width = max(1, grid.width / factor), height = max(1, grid.height / factor)
        let g = grid.geoTransform
        let transform = GeoTransform(originX: g.originX, pixelWidth: g.pixelWidth * Double(grid.width) / Double(width),
                                     originY: g.originY, pixelHeight: g.pixelHeight * Double(grid.height) / Double(height))
        return RasterGrid(width: width, height: height, geoTransform: transform, crsWKT: grid.crsWKT, crsLabel: grid.crsLabel)
    }

    /// The reader of imagery upstream of a stage (the first found going up its inputs, a normalisation's reference
    /// left out), when it has red, green and blue bands.
    func imageryReader(upstreamOf id: String) -> String? {
        var queue = [id], seen = Set<String>()
        while !queue.isEmpty {
            let current = queue.removeFirst()
            guard seen.insert(current).inserted, let declaration = pipeline.stage(current) else { continue }
            if isTrueColourSource(current) { return current }
            queue += declaration.inputs.filter { $0.port != "reference" }.map(\.stageID)
        }
        return nil
    }

    /// True when stage `id` reads imagery with red, green and blue bands.
    func isTrueColourSource(_ id: String) -> Bool {
        guard let declaration = pipeline.stage(id), case .source = declaration.role, let product = plan.products[id],
              product.kind == .scene else { return false }
        return ["red", "green", "blue"].allSatisfy(product.bandNames.contains)
    }

    /// Reads a reader's red, green and blue onto `grid`.
    func readTrueColour(_ id: String, onto grid: RasterGrid) throws -> TrueColourImage? {
        guard let declaration = pipeline.stage(id), case .source(let source) = declaration.role,
              let product = plan.products[id] else { return nil }
        let indices = ["red", "green", "blue"].compactMap { product.bandNames.firstIndex(of: $0) }
        guard indices.count == 3 else { return nil }
        let reader = try source.makeSource(onto: grid, context: context).makeReader()
        var block = PixelBlock(bandNames: product.bandNames, blockWidth: grid.width, blockHeight: grid.height)
        try reader.read(Window(colOffset: 0, rowOffset: 0, width: grid.width, height: grid.height), into: &block)
        return TrueColourImage(stage: id, date: product.date, bands: indices.map { block.bands[$0] })
    }

    /// The true-colour blocks of the maps part: a figure (a pair side by side, or one image), or a note saying there
    /// is none.
    mutating func trueColourMaps(patches: [ViolationList.Entry]) throws -> [ReportDocument.Block] {
        var pair: [String] = []
        if let diff = ran(HTMLReportStage.changes).first {
            let ids = ["before", "after"].compactMap { port in
                diff.inputs.first { $0.port == port }.flatMap { imageryReader(upstreamOf: $0.stageID) }
            }
            if ids.count == 2, ids[0] != ids[1] { pair = ids }
        }
        if pair.isEmpty, let first = pipeline.topologicalOrder.first(where: isTrueColourSource) { pair = [first] }
        guard !pair.isEmpty else {
            summary.trueColour = "none"
            return [.note(t("truecolour.none"))]
        }
        let grid = Self.reducedGrid(plan.grid, maxSide: Self.trueColourMaxSide)
        let images = try pair.compactMap { try readTrueColour($0, onto: grid) }
        guard images.count == pair.count else {
            summary.trueColour = "none"
            return [.note(t("truecolour.none"))]
        }
        // One stretch for all images shown: per band, the widest of their 2nd–98th percentile ranges.
        let stretch: [(low: Float, high: Float)] = (0..<3).map { c in
            let ranges = images.map { ChipMaker.percentiles($0.bands[c]) }
            return (ranges.map(\.low).min()!, ranges.map(\.high).max()!)
        }
        let crs = try? SpatialReference(definition: grid.crsWKT)
        let projected = crs.map { !$0.isGeographic } ?? false
        var quicklooks: [Quicklook] = []
        var planLegend: [(color: String, label: String)] = []
        for (index, image) in images.enumerated() {
            var quicklook = Quicklook.trueColour(red: image.bands[0], green: image.bands[1], blue: image.bands[2],
                                                 width: grid.width, height: grid.height, transform: grid.geoTransform,
                                                 projected: projected, stretch: stretch)
            if let crs {
                planLegend = drawPlan(on: &quicklook, crs: crs)
                if index == images.count - 1, !patches.isEmpty {
                    outlinePatches(on: &quicklook, crs: crs, entries: patches, (255, 230, 0))
                    numberPatches(on: &quicklook, crs: crs, entries: patches)
                }
            }
            quicklook.drawNorthArrow()
            quicklook.drawScaleBar()
            quicklooks.append(quicklook)
        }
        let patchLegend = patches.isEmpty ? [] : [(color: "#ffe600", label: t("legend.patches.after"))]
        let legend = planLegend + patchLegend
        var shown: Quicklook
        let caption: String
        if images.count == 2 {
            let titles = (t("before") + " " + (images[0].date ?? images[0].stage), t("after") + " " + (images[1].date ?? images[1].stage))
            shown = Quicklook.sideBySide(quicklooks[0], quicklooks[1], titles: titles)
            caption = "\(t("map.truecolour.pair")): \(titles.0) · \(titles.1)"
            summary.trueColour = "pair"
        } else {
            shown = quicklooks[0]
            caption = t("map.truecolour") + (images[0].date.map { " \($0)" } ?? " (\(images[0].stage))")
            summary.trueColour = "single"
        }
        if !legend.isEmpty { shown.drawLegend(legend, outlines: legend.count) }
        let file = try saveImage(shown, name: "truecolour")
        return [.figure(.init(file: file, caption: caption + ". " + t("truecolour.stretch"), legend: legend,
                              width: shown.width, height: shown.height))]
    }
}
