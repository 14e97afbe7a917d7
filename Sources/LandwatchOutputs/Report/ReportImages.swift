import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchRender

/// PNG quicklooks for reports: a raster reduced to at most `maxSide` pixels a side (GDAL's reduced read: bounded
/// memory whatever the scene), coloured by the legend or a colour ramp, with a north arrow and a scale bar.
package struct Quicklook {
    package var width: Int
    package var height: Int
    /// RGB, row by row.
    package var pixels: [UInt8]
    /// Ground metres per quicklook pixel (0 when the CRS is not projected in metres).
    package var metresPerPixel: Double
    /// Map coordinates to quicklook pixel.
    package var transform: GeoTransform

    /// A class raster coloured by the legend; codes without a class, and nodata, are light grey.
    package static func classes(path: String, legend: Legend, maxSide: Int = 720) throws -> Quicklook {
        let (values, dataset, w, h) = try reduced(path, maxSide: maxSide)
        var colours: [Int: (UInt8, UInt8, UInt8)] = [:]
        for item in legend.classes { colours[item.code] = rgb(item.color) }
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let v = values[i]
            let c = v.isFinite ? colours[Int(v)] ?? (230, 230, 230) : (230, 230, 230)
            pixels[i * 3] = c.0; pixels[i * 3 + 1] = c.1; pixels[i * 3 + 2] = c.2
        }
        return make(dataset: dataset, width: w, height: h, pixels: pixels)
    }

    /// A continuous raster (temperature) on a blue-yellow-red ramp between its 2nd and 98th percentiles; with the
    /// reduced values it was drawn from (for ``outlineAbove(_:values:valueWidth:valueHeight:_:)``).
    package static func ramp(path: String, maxSide: Int = 720) throws
        -> (Quicklook, low: Float, high: Float, values: (values: [Float], width: Int, height: Int)) {
        let (values, dataset, w, h) = try reduced(path, maxSide: maxSide)
        let finite = values.filter(\.isFinite).sorted()
        let low = finite.isEmpty ? 0 : finite[Int(Double(finite.count - 1) * 0.02)]
        let high = finite.isEmpty ? 1 : finite[Int(Double(finite.count - 1) * 0.98)]
        var pixels = [UInt8](repeating: 230, count: w * h * 3)
        for i in 0..<(w * h) where values[i].isFinite {
            let t = Double(max(0, min(1, (values[i] - low) / max(high - low, 1e-6))))
            let c = rampColour(t)
            pixels[i * 3] = c.0; pixels[i * 3 + 1] = c.1; pixels[i * 3 + 2] = c.2
        }
        return (make(dataset: dataset, width: w, height: h, pixels: pixels), low, high, (values, w, h))
    }

    /// Blue (cool) through pale yellow to red (hot).
    package static func rampColour(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let stops: [(Double, Double, Double)] = [(49, 54, 149), (116, 173, 209), (255, 255, 191), (244, 109, 67), (165, 0, 38)]
        let x = t * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        return (UInt8(a.0 + (b.0 - a.0) * f), UInt8(a.1 + (b.1 - a.1) * f), UInt8(a.2 + (b.2 - a.2) * f))
    }

    package static func rgb(_ hex: String) -> (UInt8, UInt8, UInt8) {
        let digits = hex.hasPrefix("#") ? String(hex.dropFirst()) : hex
        guard digits.count == 6, let value = UInt32(digits, radix: 16) else { return (128, 128, 128) }
        return (UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
    }

    private static func reduced(_ path: String, maxSide: Int) throws -> ([Float], Dataset, Int, Int) {
        let dataset = try Dataset.open(path)
        let read = try dataset.band(1).readOverview(maxSide: maxSide)
        return (read.values, dataset, read.width, read.height)
    }

    /// A true-colour image from red, green and blue values (row by row; NaN is no data, drawn light grey), each band
    /// stretched linearly from its `stretch` low to high value: give both dates of a pair the same stretch, so that
    /// they compare. `transform` places the values (a reduced grid of the scene).
    package static func trueColour(red: [Float], green: [Float], blue: [Float], width: Int, height: Int, transform: GeoTransform,
                                   projected: Bool, stretch: [(low: Float, high: Float)]) -> Quicklook {
        precondition(red.count == width * height && green.count == red.count && blue.count == red.count && stretch.count == 3)
        var pixels = [UInt8](repeating: 230, count: width * height * 3)
        let bands = [red, green, blue]
        for i in 0..<(width * height) where bands.allSatisfy({ $0[i].isFinite }) {
            for c in 0..<3 {
                let (low, high) = stretch[c]
                pixels[i * 3 + c] = UInt8(max(0, min(255, (bands[c][i] - low) / max(high - low, 1e-9) * 255)).rounded())
            }
        }
        return make(geoTransform: transform, sourceWidth: width, sourceHeight: height, projected: projected,
                    width: width, height: height, pixels: pixels)
    }

    /// Two quicklooks of the same size side by side, each under a title bar (the date it shows): the before and after
    /// images of a pair. The result is for looking at only: its transform is the first one's.
    package static func sideBySide(_ first: Quicklook, _ second: Quicklook, titles: (String, String)) -> Quicklook {
        let gap = 16, bar = 30
        var canvas = Canvas(width: first.width + gap + second.width, height: bar + max(first.height, second.height))
        canvas.fill(x: 0, y: 0, width: canvas.width, height: canvas.height, color: .white)
        canvas.draw(first.canvas, x: 0, y: bar)
        canvas.draw(second.canvas, x: first.width + gap, y: bar)
        if let face = try? Typeface.standard(bold: true) {
            face.draw(titles.0, size: 16, on: &canvas, x: 4, baseline: bar - 9, color: Color(20, 20, 20))
            face.draw(titles.1, size: 16, on: &canvas, x: first.width + gap + 4, baseline: bar - 9, color: Color(20, 20, 20))
        }
        return Quicklook(width: canvas.width, height: canvas.height, pixels: canvas.pixels, metresPerPixel: first.metresPerPixel,
                         transform: first.transform)
    }

    /// Outlines the areas where `values` (the quicklook's own reduced values, before any enlargement: `valueWidth` x
    /// `valueHeight`) are above `threshold`: each such pixel next to one that is not is drawn in `c`. Returns how many
    /// values were above the threshold.
    @discardableResult
    package mutating func outlineAbove(_ threshold: Float, values: [Float], valueWidth: Int, valueHeight: Int,
                                       _ c: (UInt8, UInt8, UInt8)) -> Int {
        precondition(values.count == valueWidth * valueHeight)
        let factor = max(1, width / max(valueWidth, 1))
        func hot(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < valueWidth && y < valueHeight && values[y * valueWidth + x] > threshold
        }
        var count = 0
        for y in 0..<valueHeight {
            for x in 0..<valueWidth where hot(x, y) {
                count += 1
                let edge = !hot(x - 1, y) || !hot(x + 1, y) || !hot(x, y - 1) || !hot(x, y + 1)
                guard edge else { continue }
                // The edge pixel's border, one enlarged pixel wide, on the sides that face a cooler neighbour.
                let left = x * factor, top = y * factor
                if !hot(x - 1, y) { fill(x: left, y: top, w: max(1, factor / 3), h: factor, c) }
                if !hot(x + 1, y) { fill(x: left + factor - max(1, factor / 3), y: top, w: max(1, factor / 3), h: factor, c) }
                if !hot(x, y - 1) { fill(x: left, y: top, w: factor, h: max(1, factor / 3), c) }
                if !hot(x, y + 1) { fill(x: left, y: top + factor - max(1, factor / 3), w: factor, h: max(1, factor / 3), c) }
            }
        }
        return count
    }

    private static func make(dataset: Dataset, width: Int, height: Int, pixels: [UInt8]) -> Quicklook {
        let g = dataset.geoTransform ?? GeoTransform(originX: 0, pixelWidth: 1, originY: 0, pixelHeight: -1)
        let projected = (try? dataset.spatialReference()).flatMap { $0 }.map { !$0.isGeographic } ?? false
        return make(geoTransform: g, sourceWidth: dataset.width, sourceHeight: dataset.height, projected: projected,
                    width: width, height: height, pixels: pixels)
    }

    /// A quicklook of `width` x `height` pixels showing a raster of `sourceWidth` x `sourceHeight` pixels placed by `g`.
    private static func make(geoTransform g: GeoTransform, sourceWidth: Int, sourceHeight: Int, projected: Bool,
                             width: Int, height: Int, pixels: [UInt8]) -> Quicklook {
        // Small scenes are enlarged (whole pixels repeated) so that the map, arrow and scale bar stay legible.
        let factor = max(1, 640 / max(width, height))
        if factor > 1 {
            let w = width * factor, h = height * factor
            var large = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let source = ((y / factor) * width + x / factor) * 3, target = (y * w + x) * 3
                    large[target] = pixels[source]; large[target + 1] = pixels[source + 1]; large[target + 2] = pixels[source + 2]
                }
            }
            return make(geoTransform: g, sourceWidth: sourceWidth, sourceHeight: sourceHeight, projected: projected,
                        width: w, height: h, pixels: large)
        }
        let sx = Double(sourceWidth) / Double(width), sy = Double(sourceHeight) / Double(height)
        let transform = GeoTransform(originX: g.originX, pixelWidth: g.pixelWidth * sx, originY: g.originY, pixelHeight: g.pixelHeight * sy)
        return Quicklook(width: width, height: height, pixels: pixels,
                         metresPerPixel: projected ? abs(transform.pixelWidth) : 0, transform: transform)
    }

    package mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    package mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: (UInt8, UInt8, UInt8)) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, c) } }
    }

    package mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8), thickness: Int = 1) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            for t in 0..<thickness { set(x + t, y, c); set(x, y + t, c) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Draws text in a 5 x 7 pixel font (digits, a few letters), scaled by `scale`.
    package mutating func text(_ string: String, x: Int, y: Int, scale: Int = 2, _ c: (UInt8, UInt8, UInt8)) {
        var cx = x
        for character in string {
            if let rows = Self.glyphs[character] {
                for (row, bits) in rows.enumerated() {
                    for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                        fill(x: cx + column * scale, y: y + row * scale, w: scale, h: scale, c)
                    }
                }
            }
            cx += 6 * scale
        }
    }

    package static func textWidth(_ string: String, scale: Int = 2) -> Int { string.count * 6 * scale - scale }

    package static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ".": [0, 0, 0, 0, 0, 0x0C, 0x0C], " ": [0, 0, 0, 0, 0, 0, 0],
        "k": [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12], "m": [0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11],
        "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
    ]

    /// A north arrow in the top-right corner (the grid is north-up: the planner refuses rotated grids).
    package mutating func drawNorthArrow() {
        let size = max(18, min(width, height) / 14)
        let cx = width - size - 10, top = 10
        fill(x: cx - size / 2 - 6, y: top - 4, w: size + 12, h: size * 2 + 22, (255, 255, 255))
        for row in 0..<size {
            let half = row * size / (2 * size)
            for dx in -half...half { set(cx + dx, top + row, dx <= 0 ? (20, 20, 20) : (120, 120, 120)) }
        }
        line(cx, top + size, cx, top + size * 2 - 4, (20, 20, 20), thickness: 2)
        text("N", x: cx - 5, y: top + size * 2, scale: 2, (20, 20, 20))
    }

    /// A scale bar in the bottom-left corner with a round length (1, 2 or 5 x 10^k metres).
    package mutating func drawScaleBar() {
        guard metresPerPixel > 0 else { return }
        let target = Double(width) / 4 * metresPerPixel
        let power = pow(10, floor(log10(target)))
        let length = [5.0, 2.0, 1.0].map { $0 * power }.first { $0 <= target } ?? power
        let pixels = Int((length / metresPerPixel).rounded())
        let label = length >= 1000 ? "\(Self.format(length / 1000)) km" : "\(Int(length)) m"
        let x = 12, y = height - 30
        fill(x: x - 6, y: y - 22, w: max(pixels, Self.textWidth(label)) + 14, h: 40, (255, 255, 255))
        fill(x: x, y: y, w: pixels / 2, h: 6, (20, 20, 20))
        fill(x: x + pixels / 2, y: y, w: pixels - pixels / 2, h: 6, (255, 255, 255))
        line(x, y, x + pixels, y, (20, 20, 20)); line(x, y + 6, x + pixels, y + 6, (20, 20, 20))
        line(x, y, x, y + 6, (20, 20, 20)); line(x + pixels, y, x + pixels, y + 6, (20, 20, 20))
        text(label, x: x, y: y - 18, scale: 2, (20, 20, 20))
    }

    /// A legend beside the map, on a white panel added to its right (so that it hides nothing): one swatch per entry
    /// with its name (the class names in the report's language, then the last `outlines` entries as outlines: the
    /// plan layers and patches). Call it last: the image grows.
    package mutating func drawLegend(_ entries: [(color: String, label: String)], outlines: Int = 0) {
        guard !entries.isEmpty, let face = try? Typeface.standard() else { return }
        let size = 13, rowHeight = 19
        let boxWidth = (entries.map { face.width($0.label, size: size) }.max() ?? 40) + 34
        let boxHeight = entries.count * rowHeight + 8
        let x = width + 8, y = 8
        var canvas = Canvas(width: width + boxWidth + 16, height: max(height, boxHeight + 16))
        canvas.draw(self.canvas, x: 0, y: 0)
        canvas.fill(x: x, y: y, width: boxWidth, height: boxHeight, color: .white)
        canvas.stroke(x: x, y: y, width: boxWidth, height: boxHeight, color: .darkGrey)
        for (index, entry) in entries.enumerated() {
            let top = y + 4 + index * rowHeight
            let c = Self.rgb(entry.color)
            if index >= entries.count - outlines {
                canvas.stroke(x: x + 6, y: top + 2, width: 14, height: 13, color: Color(c.0, c.1, c.2), lineWidth: 2)
            } else {
                canvas.fill(x: x + 5, y: top + 1, width: 16, height: 15, color: Color(40, 40, 40))
                canvas.fill(x: x + 6, y: top + 2, width: 14, height: 13, color: Color(c.0, c.1, c.2))
            }
            face.draw(entry.label, size: size, on: &canvas, x: x + 26, baseline: top + 14, color: Color(20, 20, 20))
        }
        width = canvas.width
        height = canvas.height
        pixels = canvas.pixels
    }

    /// The quicklook as a canvas.
    var canvas: Canvas {
        var canvas = Canvas(width: width, height: height)
        canvas.pixels = pixels
        return canvas
    }

    package static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    /// Outlines a polygon given in map coordinates of the raster's CRS.
    package mutating func outline(_ rings: [[(Double, Double)]], _ c: (UInt8, UInt8, UInt8)) {
        for ring in rings where ring.count > 1 {
            let points = ring.map { p in
                (Int(((p.0 - transform.originX) / transform.pixelWidth).rounded()),
                 Int(((p.1 - transform.originY) / transform.pixelHeight).rounded()))
            }
            for i in 1..<points.count { line(points[i - 1].0, points[i - 1].1, points[i].0, points[i].1, c, thickness: 2) }
        }
    }

    /// Writes the quicklook as PNG through GDAL.
    package func writePNG(to path: String) throws {
        let channels = (0..<3).map { c in (0..<(width * height)).map { Float(pixels[$0 * 3 + c]) } }
        try ChipMaker.writePNG(channels, width: width, height: height, to: path)
    }
}

/// Horizontal bar charts as SVG, written by the program (no script needed to read them).
package enum SVGChart {
    /// A vertical line across the bars: a warning value or a limit.
    package struct Reference {
        package var value: Double
        package var label: String
        package var color: String

        package init(value: Double, label: String, color: String) {
            self.value = value
            self.label = label
            self.color = color
        }
    }

    /// One bar per label, an x axis with ticks and `axis` under it; `references` draw dashed lines (warning values,
    /// limits); a bar whose `highlights` entry is `warning` or `over` gets that class (and its label is bold).
    package static func bars(title: String, labels: [String], values: [Double], unit: String, axis: String? = nil, maximum: Double? = nil,
                             colors: [String]? = nil, references: [Reference] = [], highlights: [Int: String] = [:]) -> String {
        let rowHeight = 26, left = 190, right = 90, topMargin = 40, width = 760
        let plotBottom = topMargin + rowHeight * max(labels.count, 1)
        let height = plotBottom + 62
        let top = Double(topMargin)
        let scaleMax = niceMaximum(max(maximum ?? (values.filter(\.isFinite).max() ?? 1), references.map(\.value).max() ?? 0, 1e-9))
        let plot = Double(width - left - right)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            font-family="Noto Sans CJK SC, Noto Sans, DejaVu Sans, sans-serif" font-size="13">
            <rect width="\(width)" height="\(height)" fill="#ffffff"/>
            <text x="10" y="22" font-size="15" font-weight="bold">\(ReportDocument.escape(title))</text>

            """
        for (i, label) in labels.enumerated() {
            let y = top + Double(i * rowHeight)
            let value = values[i]
            let w = value.isFinite ? max(0, value / scaleMax * plot) : 0
            let colour = colors?[i] ?? "#2c6e49"
            let css = highlights[i].map { " class=\"\($0)\"" } ?? ""
            let weight = highlights[i] == nil ? "" : " font-weight=\"bold\""
            let shown = label.count > 24 ? String(label.prefix(23)) + "…" : label
            svg += "<g\(css)>"
            if highlights[i] != nil {
                svg += "<rect x=\"2\" y=\"\(y + 1)\" width=\"\(width - 4)\" height=\"24\" fill=\"\(highlights[i] == "over" ? "#fdecea" : "#fff8e1")\"/>"
            }
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 17)\" text-anchor=\"end\"\(weight)>\(ReportDocument.escape(shown))</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y + 4)\" width=\(String(format: "\"%.1f\"", w)) height=\"18\" fill=\"\(colour)\"/>"
            let text = value.isFinite ? String(format: abs(value) < 10 ? "%.2f" : "%.1f", value) + " " + unit : "–"
            svg += "<text x=\(String(format: "\"%.1f\"", Double(left) + w + 6)) y=\"\(y + 17)\"\(weight)>\(ReportDocument.escape(text))</text></g>\n"
        }
        // The axis: a line, five ticks with their values, the quantity and unit under it.
        svg += "<line x1=\"\(left)\" y1=\"\(plotBottom + 4)\" x2=\"\(width - right)\" y2=\"\(plotBottom + 4)\" stroke=\"#333\"/>\n"
        for step in 0...4 {
            let value = scaleMax * Double(step) / 4, x = Double(left) + plot * Double(step) / 4
            svg += String(format: "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>", x, plotBottom + 4, x, plotBottom + 9)
            svg += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">", x, plotBottom + 22)
                + ReportDocument.escape(Quicklook.format(value)) + "</text>\n"
        }
        svg += "<text x=\"\(left + Int(plot / 2))\" y=\"\(plotBottom + 40)\" text-anchor=\"middle\" font-size=\"12\">"
            + ReportDocument.escape(axis ?? unit) + "</text>\n"
        for (index, reference) in references.enumerated() {
            let x = Double(left) + reference.value / scaleMax * plot
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%d\" stroke=\"%@\" stroke-width=\"2\" stroke-dasharray=\"5,4\"/>\n",
                          x, top - 4, x, plotBottom + 4, reference.color)
            // Labels above the plot, alternating sides so that two close lines stay readable.
            let anchor = index % 2 == 0 ? "end" : "start", dx = index % 2 == 0 ? -4.0 : 4.0
            svg += String(format: "<text x=\"%.1f\" y=\"%.0f\" fill=\"%@\" text-anchor=\"%@\" font-size=\"12\">", x + dx, top - 6, reference.color, anchor)
                + ReportDocument.escape(reference.label) + "</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// The chart's scale: a round number (1, 2, 2.5, 5 x 10^k) at or above `value`.
    static func niceMaximum(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        return [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= value * (1 - 1e-9) } ?? 10 * power
    }

    /// The height of a chart of `rows` bars.
    package static func height(rows: Int) -> Int { 40 + 26 * max(rows, 1) + 62 }
}

extension Quicklook {
    /// Draws `text` (any script: the standard CJK face) on a white box at (x, y), `size` pixels high.
    package mutating func label(_ text: String, x: Int, y: Int, size: Int = 14, color: (UInt8, UInt8, UInt8) = (20, 20, 20)) {
        guard let face = try? Typeface.standard(bold: true) else { return }
        var canvas = Canvas(width: width, height: height)
        canvas.pixels = pixels
        let w = face.width(text, size: size) + 6
        let left = max(0, min(x - w / 2, width - w)), top = max(0, min(y - size / 2 - 3, height - size - 6))
        face.drawLabel(text, size: size, on: &canvas, x: left, y: top, color: Color(color.0, color.1, color.2), background: .white, padding: 3)
        pixels = canvas.pixels
    }

    /// The quicklook pixel of a point in map coordinates of the raster's CRS.
    package func pixel(_ x: Double, _ y: Double) -> (x: Int, y: Int) {
        (Int(((x - transform.originX) / transform.pixelWidth).rounded()), Int(((y - transform.originY) / transform.pixelHeight).rounded()))
    }
}
