import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRender

/// fieldpack.pdf: each page drawn as one image at 150 dpi (text in Noto Sans CJK, chips, QR codes, the form), then
/// laid out by GDAL's PDF driver with a georeferenced area over the page's map and the patches as vector layers in
/// it. GDAL's own PDF text is Latin-1 only, so the text is drawn here, where Chinese zone and rule names render.
package struct FieldPackPDF {
    package static let dpi = 150.0
    package static let width = 1240, height = 1754  // A4 at 150 dpi
    package static let margin = 60
    /// PDF points per page pixel.
    package static let points = 72.0 / dpi

    package let pack: FieldPack
    package let scratch: URL
    package let face: Typeface
    package let bold: Typeface

    package init(pack: FieldPack, scratch: URL) throws {
        self.pack = pack
        self.scratch = scratch
        do {
            face = try Typeface.standard()
            bold = try Typeface.standard(bold: true)
        } catch {
            throw RunError(.input, "the field package needs its font: \(error)")
        }
    }

    /// A map on a page: a rectangle of page pixels showing `extent` of `crs`.
    package struct MapFrame {
        package var crsWKT: String
        package var extent: (minX: Double, minY: Double, maxX: Double, maxY: Double)
        package var box: (x: Int, y: Int, width: Int, height: Int)

        package func page(_ x: Double, _ y: Double) -> (x: Int, y: Int) {
            (box.x + Int(((x - extent.minX) / (extent.maxX - extent.minX) * Double(box.width)).rounded()),
             box.y + Int(((extent.maxY - y) / (extent.maxY - extent.minY) * Double(box.height)).rounded()))
        }

        /// The box in PDF points (origin bottom left).
        package var pdfBox: (x1: Double, y1: Double, x2: Double, y2: Double) {
            (Double(box.x) * points, Double(height - box.y - box.height) * points,
             Double(box.x + box.width) * points, Double(height - box.y) * points)
        }

        package func georeferencing(id: String) -> String {
            let b = pdfBox
            func number(_ value: Double) -> String { String(format: "%.4f", value) }
            func geo(_ value: Double) -> String { String(format: "%.10g", value) }
            return "<Georeferencing id=\"\(id)\"><SRS>\(FieldPack.xml(crsWKT))</SRS>"
                + "<BoundingBox x1=\"\(number(b.x1))\" y1=\"\(number(b.y1))\" x2=\"\(number(b.x2))\" y2=\"\(number(b.y2))\"/>"
                + "<ControlPoint x=\"\(number(b.x1))\" y=\"\(number(b.y1))\" GeoX=\"\(geo(extent.minX))\" GeoY=\"\(geo(extent.minY))\"/>"
                + "<ControlPoint x=\"\(number(b.x2))\" y=\"\(number(b.y1))\" GeoX=\"\(geo(extent.maxX))\" GeoY=\"\(geo(extent.minY))\"/>"
                + "<ControlPoint x=\"\(number(b.x2))\" y=\"\(number(b.y2))\" GeoX=\"\(geo(extent.maxX))\" GeoY=\"\(geo(extent.maxY))\"/>"
                + "<ControlPoint x=\"\(number(b.x1))\" y=\"\(number(b.y2))\" GeoX=\"\(geo(extent.minX))\" GeoY=\"\(geo(extent.maxY))\"/>"
                + "</Georeferencing>"
        }
    }

    package func write(to path: String) throws {
        var pages = [try overviewPage()]
        for (index, site) in pack.sites.enumerated() { pages.append(try sitePage(site, number: index + 1)) }
        // Metadata in the order the composition schema wants (Author, Producer, Creator, CreationDate, Subject, Title).
        let xml = "<PDFComposition><Metadata><Creator>landwatch</Creator><Subject>field package: \(pack.sites.count) patches</Subject>"
            + "<Title>\(FieldPack.xml(pack.title))</Title></Metadata>" + pages.joined(separator: "\n") + "</PDFComposition>"
        try PDFComposition.write(xml, to: path)
    }

    // MARK: - Pieces

    /// Draws wrapped text from `y` (top), returns the y under it.
    @discardableResult
    package func text(_ text: String, size: Int, on canvas: inout Canvas, x: Int, y: Int, width: Int, bold useBold: Bool = false,
              color: Color = .black) -> Int {
        let typeface = useBold ? bold : face
        var top = y
        for line in typeface.wrap(text, size: size, width: width) {
            typeface.draw(line, size: size, on: &canvas, x: x, baseline: top + size, color: color)
            top += typeface.lineHeight(size: size)
        }
        return top
    }

    /// Draws the image of a GDAL raster (RGB) into `box` (nearest neighbour); returns its extent by `transform`
    /// (else its own georeferencing) in `crs`.
    package func drawRaster(_ path: String, on canvas: inout Canvas, box: (x: Int, y: Int, width: Int, height: Int),
                    transform: [Double]? = nil, crs: String? = nil) throws
        -> (crs: String, extent: (minX: Double, minY: Double, maxX: Double, maxY: Double))?
    {
        let dataset = try Dataset.open(path)
        let window = Window(width: dataset.width, height: dataset.height)
        let rgb = try (1...3).map { try dataset.band(min($0, dataset.bandCount)).read(window) }
        for y in 0..<box.height {
            let sy = min(dataset.height - 1, y * dataset.height / box.height)
            for x in 0..<box.width {
                let sx = min(dataset.width - 1, x * dataset.width / box.width)
                let i = sy * dataset.width + sx
                canvas[box.x + x, box.y + y] = Color(UInt8(clamping: Int(rgb[0][i])), UInt8(clamping: Int(rgb[1][i])), UInt8(clamping: Int(rgb[2][i])))
            }
        }
        guard let t = transform.map(GeoTransform.init(coefficients:)) ?? dataset.geoTransform,
              let wkt = crs ?? (dataset.crsWKT.isEmpty ? nil : dataset.crsWKT) else { return nil }
        let x0 = t.originX, x1 = t.originX + Double(dataset.width) * t.pixelWidth
        let y0 = t.originY, y1 = t.originY + Double(dataset.height) * t.pixelHeight
        return (wkt, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    }

    /// A GeoPackage layer of outlines (and their attributes) in `crs`, for a page's map; returns its path.
    package func outlineLayer(_ sites: [FieldPack.Site], crs: SpatialReference, name: String) throws -> String {
        let path = scratch.appendingPathComponent("\(name).gpkg").path
        let writer = try VectorWriter(path: path, driver: "GPKG", layer: "patches", crs: crs, geometry: .polygon,
                                      fields: [("id", .string), ("rank", .integer), ("severity", .string), ("rules", .string),
                                               ("area_m2", .real), ("lat", .real), ("lon", .real)])
        let transform = try CoordinateTransformation(from: .wgs84(), to: crs)
        for site in sites {
            try writer.add(try Geometry(wkt: site.outlineWKT).transformed(by: transform),
                           values: ["id": .string(site.id), "rank": .integer(site.rank), "severity": .string(site.severity),
                                    "rules": .string(site.rules), "area_m2": .real(site.areaM2), "lat": .real(site.lat), "lon": .real(site.lon)])
        }
        try writer.close()
        return path
    }

    /// A GeoPackage layer of navigation points in `crs`; returns its path.
    package func pointLayer(_ sites: [FieldPack.Site], crs: SpatialReference, name: String) throws -> String {
        let path = scratch.appendingPathComponent("\(name).gpkg").path
        let writer = try VectorWriter(path: path, driver: "GPKG", layer: "navigation_points", crs: crs, geometry: .point,
                                      fields: [("id", .string), ("lat", .real), ("lon", .real), ("gcj02_lat", .real), ("gcj02_lon", .real)])
        let transform = try CoordinateTransformation(from: .wgs84(), to: crs)
        for site in sites {
            let p = try transform.transform(x: site.lon, y: site.lat)
            try writer.add(try Geometry(wkt: "POINT (\(p.x) \(p.y))"),
                           values: ["id": .string(site.id), "lat": .real(site.lat), "lon": .real(site.lon),
                                    "gcj02_lat": .real(site.gcjLat), "gcj02_lon": .real(site.gcjLon)])
        }
        try writer.close()
        return path
    }

    /// Extent in Web Mercator around the outlines (at least `margin` metres on each side), square.
    package func mercatorExtent(_ sites: [FieldPack.Site], margin: Double) throws -> (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        let transform = try CoordinateTransformation(from: .wgs84(), to: SpatialReference(definition: "EPSG:3857"))
        var box = (minX: Double.infinity, minY: Double.infinity, maxX: -Double.infinity, maxY: -Double.infinity)
        for site in sites {
            let e = try Geometry(wkt: site.outlineWKT).transformed(by: transform).envelope
            box = (min(box.minX, e.minX), min(box.minY, e.minY), max(box.maxX, e.maxX), max(box.maxY, e.maxY))
        }
        let side = max(box.maxX - box.minX, box.maxY - box.minY) + 2 * margin
        let cx = (box.minX + box.maxX) / 2, cy = (box.minY + box.maxY) / 2
        return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    }

    package func page(number: Int, canvas: Canvas, map: MapFrame?, layers: [(path: String, layer: String, name: String, style: String)]) throws -> String {
        let image = scratch.appendingPathComponent("page-\(number).png").path
        try ChipMaker.writePNG(canvas, to: image)
        let w = Double(Self.width) * Self.points, h = Double(Self.height) * Self.points
        var xml = "<Page id=\"page\(number)\"><Width>\(String(format: "%.2f", w))</Width><Height>\(String(format: "%.2f", h))</Height>"
        if let map { xml += map.georeferencing(id: "map\(number)") }
        xml += "<Content><Raster dataset=\"\(FieldPack.xml(image))\" x1=\"0\" y1=\"0\" x2=\"\(String(format: "%.2f", w))\" y2=\"\(String(format: "%.2f", h))\"/>"
        if map != nil {
            for layer in layers {
                xml += "<Vector dataset=\"\(FieldPack.xml(layer.path))\" layer=\"\(layer.layer)\" georeferencingId=\"map\(number)\" "
                    + "ogrStyleString=\"\(FieldPack.xml(layer.style))\"><LogicalStructure displayLayerName=\"\(FieldPack.xml(layer.name))\" fieldToDisplay=\"id\"/></Vector>"
            }
        }
        return xml + "</Content></Page>"
    }

    // MARK: - Page 1

    package func overviewPage() throws -> String {
        var canvas = Canvas(width: Self.width, height: Self.height)
        let m = Self.margin, full = Self.width - 2 * m
        var y = text("Field package 外业核查包 — \(pack.title)", size: 40, on: &canvas, x: m, y: m, width: full, bold: true)
        let dates = pack.sites.first.map { "before \($0.beforeDate ?? "land-use survey"), after \($0.afterDate ?? "?")" } ?? ""
        y = text("\(pack.sites.count) patch\(pack.sites.count == 1 ? "" : "es")\(dates.isEmpty ? "" : " · " + dates)", size: 24,
                 on: &canvas, x: m, y: y + 6, width: full)
        for note in pack.notes { y = text(note, size: 22, on: &canvas, x: m, y: y + 4, width: full, color: Color(160, 0, 0)) }
        guard !pack.sites.isEmpty else {
            y = text("No patch on this list: nothing to check in the field.", size: 32, on: &canvas, x: m, y: y + 80, width: full, bold: true)
            text("列表中没有图斑，无需外业核查。", size: 28, on: &canvas, x: m, y: y + 10, width: full)
            return try page(number: 1, canvas: canvas, map: nil, layers: [])
        }
        // The map: the after image (or the outlines alone), square, under the title.
        let side = min(full, Self.height - y - 20 - 420)
        let box = (x: m + (full - side) / 2, y: y + 20, width: side, height: side)
        var map: MapFrame
        if let overview = pack.overview,
           let placed = try drawRaster(overview, on: &canvas, box: box, transform: pack.overviewTransform, crs: pack.overviewCRS) {
            map = MapFrame(crsWKT: placed.crs, extent: placed.extent, box: box)
        } else {
            canvas.fill(x: box.x, y: box.y, width: box.width, height: box.height, color: Color(235, 235, 235))
            text("no image: outlines only", size: 20, on: &canvas, x: box.x + 10, y: box.y + 10, width: box.width - 20, color: .darkGrey)
            map = MapFrame(crsWKT: try SpatialReference(definition: "EPSG:3857").wkt, extent: try mercatorExtent(pack.sites, margin: 500), box: box)
        }
        canvas.stroke(x: box.x - 2, y: box.y - 2, width: box.width + 4, height: box.height + 4, color: .black, lineWidth: 2)
        let crs = try SpatialReference(definition: map.crsWKT)
        let toMap = try CoordinateTransformation(from: .wgs84(), to: crs)
        // The zones: outlines (a vector layer, dashed white) clipped to the map, names at a point inside each.
        var zoneLayer: String?
        if !pack.zones.isEmpty {
            let e = map.extent
            let frame = try Geometry(wkt: "POLYGON ((\(e.minX) \(e.minY), \(e.maxX) \(e.minY), \(e.maxX) \(e.maxY), \(e.minX) \(e.maxY), \(e.minX) \(e.minY)))")
            var clipped: [(name: String, outline: Geometry)] = []
            for zone in pack.zones {
                guard let part = try zone.outline.transformed(by: toMap).intersection(frame), !part.isEmpty, part.area > 0 else { continue }
                clipped.append((zone.name, part))
            }
            for zone in clipped {
                guard let inside = zone.outline.pointOnSurface() else { continue }
                let at = map.page(inside.x, inside.y)
                let width = face.width(zone.name, size: 20)
                face.drawLabel(zone.name, size: 20, on: &canvas, x: max(box.x + 2, min(box.x + box.width - width - 12, at.x - width / 2)),
                               y: max(box.y + 2, min(box.y + box.height - 34, at.y - 14)), color: .white, background: Color(40, 40, 120))
            }
            let path = scratch.appendingPathComponent("page-1-zones.gpkg").path
            let writer = try VectorWriter(path: path, driver: "GPKG", layer: "zones", crs: crs, geometry: .polygon, fields: [("name", .string)])
            for zone in clipped { try writer.add(zone.outline, values: ["name": .string(zone.name)]) }
            try writer.close()
            zoneLayer = path
        }
        // Numbered markers at the navigation points, coloured by severity.
        for (index, site) in pack.sites.enumerated() {
            let p = try toMap.transform(x: site.lon, y: site.lat)
            let at = map.page(p.x, p.y)
            let label = String(index + 1), size = 20
            let radius = max(16, bold.width(label, size: size) / 2 + 8)
            let centre = (x: at.x + radius + 6, y: at.y - radius - 6)  // beside the point, not over the patch
            canvas.line(from: at, to: centre, color: .white, lineWidth: 3)
            canvas.fillCircle(centre: centre, radius: radius + 2, color: .white)
            canvas.fillCircle(centre: centre, radius: radius, color: FieldPack.severityColor(site.severity))
            bold.draw(label, size: size, on: &canvas, x: centre.x - bold.width(label, size: size) / 2, baseline: centre.y + size / 3 + 1, color: .white)
        }
        y = box.y + box.height + 16
        // Legend and the list.
        var x = m
        for severity in ["high", "medium", "low"] {
            canvas.fillCircle(centre: (x + 12, y + 14), radius: 12, color: FieldPack.severityColor(severity))
            x += 32
            x += face.draw("\(severity) \(FieldPack.severityZH(severity))", size: 20, on: &canvas, x: x, baseline: y + 21) + 30
        }
        face.draw("number = page − 1 · yellow: outline · dashed: zones · grid north up", size: 20, on: &canvas, x: x, baseline: y + 21)
        y += 40
        y = text("GeoPDF: open in a map app that reads GeoPDF (Avenza Maps, QGIS) to see your GPS position on these maps offline.",
                 size: 20, on: &canvas, x: m, y: y, width: full, color: .darkGrey)
        y += 8
        // The list, each line wrapped (a long zone name is never cut); what does not fit is counted.
        var shown = 0
        for (index, site) in pack.sites.enumerated() {
            let line = "\(index + 1)  \(site.id)  \(site.severity)  \(site.rules)  \(String(format: "%.0f m²", site.areaM2))  "
                + "\(FieldPack.coordinate(site.lat)), \(FieldPack.coordinate(site.lon))  \(FieldPack.zoneText(site))"
            let height = face.wrap(line, size: 20, width: full).count * face.lineHeight(size: 20)
            guard y + height <= Self.height - m - 30 else { break }
            y = text(line, size: 20, on: &canvas, x: m, y: y, width: full)
            shown += 1
        }
        if shown < pack.sites.count {
            face.draw("… and \(pack.sites.count - shown) more: one page each", size: 20, on: &canvas, x: m, baseline: y + 22)
        }
        let outlines = try outlineLayer(pack.sites, crs: crs, name: "page-1-patches")
        let points = try pointLayer(pack.sites, crs: crs, name: "page-1-points")
        let zoneLayers = zoneLayer.map { [($0, "zones", "zones", "PEN(c:#FFFFFF,w:1.5px,p:\"6px 4px\");BRUSH(fc:#00000000)")] } ?? []
        return try page(number: 1, canvas: canvas, map: map, layers: zoneLayers + [
            (outlines, "patches", "patches", "PEN(c:#FFE600,w:2px);BRUSH(fc:#00000000)"),
            (points, "navigation_points", "navigation points", "SYMBOL(c:#00E5FF,s:6px,id:\"ogr-sym-3\")"),
        ])
    }

    // MARK: - A page per patch

    package func sitePage(_ site: FieldPack.Site, number: Int) throws -> String {
        var canvas = Canvas(width: Self.width, height: Self.height)
        let m = Self.margin, full = Self.width - 2 * m
        // Header: page number, id, severity badge.
        let badge = "\(site.severity.uppercased()) \(FieldPack.severityZH(site.severity))"
        let badgeWidth = bold.width(badge, size: 30) + 30
        canvas.fill(x: Self.width - m - badgeWidth, y: m - 6, width: badgeWidth, height: 50, color: FieldPack.severityColor(site.severity))
        bold.draw(badge, size: 30, on: &canvas, x: Self.width - m - badgeWidth + 15, baseline: m + 32, color: .white)
        var y = text("\(number)  \(site.id)", size: 40, on: &canvas, x: m, y: m - 8, width: full - badgeWidth - 20, bold: true)
        y += 6
        let lines = [
            "Rank \(site.rank) of \(pack.sites.count)" + (site.score.map { " · score \($0)/100" } ?? "") + (site.status.map { " · status \($0)" } ?? ""),
            "Rules 规则: " + FieldPack.ruleText(site),
            "Area 面积: " + FieldPack.areaText(site),
            "Zone 行政区: " + FieldPack.zoneText(site),
        ] + site.planFeatures.keys.sorted().filter { !(site.planFeatures[$0] ?? []).isEmpty }.map { "Plan \($0): " + site.planFeatures[$0]!.joined(separator: "; ") } + [
            "Change 变化: \(site.beforeClass ?? "?") → \(site.afterClass ?? "?") · before 前时相 \(site.beforeDate ?? "land-use survey") · after 后时相 \(site.afterDate ?? "?")",
        ]
        for line in lines { y = text(line, size: 22, on: &canvas, x: m, y: y + 2, width: full) }
        // Chips side by side, as large as the rest of the page allows.
        let formHeight = 430, navigationHeight = 250
        let chip = max(300, min((full - 40) / 2, Self.height - m - formHeight - navigationHeight - y - 60))
        let chipTop = y + 14
        var map: MapFrame?
        for (column, (label, path, date)) in [("Before 前时相", site.chipBefore, site.beforeDate), ("After 后时相", site.chipAfter, site.afterDate)].enumerated() {
            let box = (x: m + column * (chip + 40), y: chipTop, width: chip, height: chip)
            if let path, FileManager.default.fileExists(atPath: path) {
                let placed = try drawRaster(path, on: &canvas, box: box, transform: site.chipTransform, crs: site.chipCRS)
                if column == 1, let placed { map = MapFrame(crsWKT: placed.crs, extent: placed.extent, box: box) }
            } else {
                canvas.fill(x: box.x, y: box.y, width: box.width, height: box.height, color: Color(235, 235, 235))
                text("no chip for this patch (the list drew chips for its gravest patches only)", size: 20, on: &canvas,
                     x: box.x + 12, y: box.y + 12, width: box.width - 24, color: .darkGrey)
            }
            canvas.stroke(x: box.x - 1, y: box.y - 1, width: box.width + 2, height: box.height + 2, color: .black, lineWidth: 1)
            face.draw("\(label) \(date ?? "")", size: 20, on: &canvas, x: box.x, baseline: box.y + box.height + 26)
        }
        if map == nil {
            // No after chip: the map is the outline alone, 300 m around it, in Web Mercator.
            let box = (x: m + chip + 40, y: chipTop, width: chip, height: chip)
            map = MapFrame(crsWKT: try SpatialReference(definition: "EPSG:3857").wkt, extent: try mercatorExtent([site], margin: 300), box: box)
        }
        y = chipTop + chip + 44
        // Navigation: "lat, lon" first, as people and map apps read it.
        let geo = try QRCode(FieldPack.geoURI(site)), amap = try QRCode(FieldPack.amapLink(site))
        let module = 4
        let amapX = Self.width - m - amap.side(moduleSize: module), geoX = amapX - 24 - geo.side(moduleSize: module)
        let textWidth = geoX - m - 20
        var ny = text("Navigate to 导航点 (WGS84, lat, lon):", size: 22, on: &canvas, x: m, y: y, width: textWidth, bold: true)
        ny = text("\(FieldPack.coordinate(site.lat)), \(FieldPack.coordinate(site.lon))", size: 34, on: &canvas, x: m, y: ny, width: textWidth, bold: true)
        let unchanged = abs(site.gcjLat - site.lat) < 1e-9 && abs(site.gcjLon - site.lon) < 1e-9
        ny = text("GCJ-02 (高德 Amap, 腾讯 Tencent), lat, lon: \(FieldPack.coordinate(site.gcjLat)), \(FieldPack.coordinate(site.gcjLon))"
                  + (unchanged ? " (no offset outside China)" : ""), size: 20, on: &canvas, x: m, y: ny + 4, width: textWidth)
        if let x = site.planX, let planY = site.planY {
            ny = text("Plan CRS 规划坐标 \(site.planCRS ?? ""): x = \(x), y = \(planY)", size: 20, on: &canvas, x: m, y: ny + 4, width: textWidth)
        }
        geo.draw(on: &canvas, x: geoX, y: y - 8, moduleSize: module)
        amap.draw(on: &canvas, x: amapX, y: y - 8, moduleSize: module)
        let qrBottom = y - 8 + max(geo.side(moduleSize: module), amap.side(moduleSize: module))
        face.draw("geo: any map app", size: 18, on: &canvas, x: geoX + 8, baseline: qrBottom + 18)
        face.draw("高德 Amap (GCJ-02)", size: 18, on: &canvas, x: amapX + 8, baseline: qrBottom + 18)
        // The form, with the result codes violations import reads.
        let formTop = max(ny, qrBottom + 30) + 16
        drawForm(on: &canvas, top: formTop, site: site)
        let crs = try SpatialReference(definition: map!.crsWKT)
        let outline = try outlineLayer([site], crs: crs, name: "page-\(number + 1)-patch")
        let point = try pointLayer([site], crs: crs, name: "page-\(number + 1)-point")
        return try page(number: number + 1, canvas: canvas, map: map, layers: [
            (outline, "patches", "patch \(site.id)", "PEN(c:#FFE600,w:1.5px);BRUSH(fc:#00000000)"),
            (point, "navigation_points", "navigation point \(site.id)", "SYMBOL(c:#00E5FF,s:5px,id:\"ogr-sym-3\")"),
        ])
    }

    package func drawForm(on canvas: inout Canvas, top: Int, site: FieldPack.Site) {
        let m = Self.margin, full = Self.width - 2 * m
        let bottom = Self.height - m
        canvas.stroke(x: m, y: top, width: full, height: bottom - top, color: .black, lineWidth: 2)
        var y = text("Field check 外业核查 — write the answer into fieldcheck.csv (id \(site.id)) for landwatch violations import",
                     size: 22, on: &canvas, x: m + 16, y: top + 10, width: full - 32, bold: true)
        y = text("Result 核查结果 (tick one; the code goes into the result column):", size: 20, on: &canvas, x: m + 16, y: y + 6, width: full - 32)
        var x = m + 16
        y += 8
        for result in FieldPack.results {
            let label = "\(result.code) \(result.zh)"
            let width = face.width(label, size: 20) + 44
            if x + width > m + full - 16 { x = m + 16; y += 36 }
            canvas.stroke(x: x, y: y + 2, width: 24, height: 24, color: .black, lineWidth: 2)
            face.draw(label, size: 20, on: &canvas, x: x + 32, baseline: y + 22)
            x += width + 24
        }
        y += 40
        y = text("False alarm reason 误报原因 (reason column): shadow, harvest, cloud, misregistration, greenhouse, other",
                 size: 20, on: &canvas, x: m + 16, y: y, width: full - 32)
        func field(_ label: String, x: Int, y: Int, width: Int) {
            let advance = face.draw(label, size: 20, on: &canvas, x: x, baseline: y + 24)
            canvas.fill(x: x + advance + 8, y: y + 28, width: width - advance - 8, height: 2, color: .black)
        }
        y += 14
        field("Date 日期 (YYYY-MM-DD):", x: m + 16, y: y, width: 480)
        field("Inspector 核查人:", x: m + 16 + 520, y: y, width: full - 32 - 520)
        y += 50
        face.draw("Note 说明:", size: 20, on: &canvas, x: m + 16, baseline: y + 24)
        for line in 0..<3 where y + 28 + line * 44 < bottom - 60 {
            canvas.fill(x: m + 130, y: y + 28 + line * 44, width: full - 146, height: 2, color: .black)
        }
        y = min(bottom - 50, y + 28 + 2 * 44 + 20)
        field("Photo numbers 照片编号 (photos column, ; between):", x: m + 16, y: y, width: full - 32)
    }
}
