import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRender

/// Before/after true-colour PNG chips of a patch that an inspector can read (issue 23, item 2).
///
/// - A window read from each image around the patch (one read; row by row when sampled down), never the whole
///   scene: 300 m of surroundings on every side of a small patch, a tenth of its box around a patch over 1 km;
///   square, centred on the patch's box. What falls outside the image (a patch at its edge) and pixels without data
///   are drawn hatched grey, as no data.
/// - One 2nd–98th percentile stretch per band for the whole pair, taken from both scenes at overview size (up to
///   1600 px a side, read once; the after one is also page 1's overview), so that
///   the two dates of a chip compare (a per-chip stretch made a bare field and a roof look alike).
/// - Upsampled by nearest neighbour (every image pixel stays a visible square) to at least 480 px; a very large
///   window is sampled down to at most 800 image pixels first.
/// - The patch outlined in yellow from its own pixels; the id, which date and the date, a scale bar and a north arrow
///   (grid north) burned in with the standard typeface.
/// - Plain PNGs (no sidecar files beside them); their geotransform goes into violations.json (`chip_transform`,
///   `crs_wkt`), so that the field package places them on a map page.
package struct ChipMaker {
    package struct Image {
        package var dataset: Dataset
        package var bands: [Int]
        package var label: String
        package var date: String?
    }

    /// Where a chip lies on the run's grid: its first column and row (may be outside the grid), image pixels per chip
    /// sample, samples per side, and output pixels per sample.
    package struct Frame {
        package var column: Int, row: Int, step: Int, samples: Int, scale: Int
        package var outputSize: Int { samples * scale }
    }

    /// zlib level 2: chips and the overview (nearest-neighbour upsampled, so long runs) encode in half the time of
    /// GDAL's default level 6 for a third more bytes (40 bench chips: 1.9 s and 3.6 MB against 3.8 s and 2.7 MB);
    /// PNG encoding was half of write.violations' time in the enforcement bench.
    package static let pngOptions = ["ZLEVEL=2"]

    package static let minimumOutput = 480
    package static let maximumSamples = 800
    package static let contextMetres = 300.0

    package private(set) var before: Image
    package private(set) var after: Image
    package let grid: RasterGrid
    /// Low and high value of each of red, green, blue: the same for both dates.
    package let stretch: [(low: Float, high: Float)]
    package let face: Typeface
    /// The after image's red, green and blue at overview size.
    package let afterOverview: [(values: [Float], width: Int, height: Int)]
    package static let overviewSide = 1600

    /// Smallest window edge in grid pixels (`chip_size`).
    package let minimumWindow: Int

    package init(before: MaterializedRaster, after: MaterializedRaster, grid: RasterGrid, dates: (before: String?, after: String?),
         minimumWindow: Int = 8) throws {
        self.minimumWindow = minimumWindow
        func open(_ raster: MaterializedRaster, _ label: String, _ date: String?) throws -> Image {
            Image(dataset: try Dataset.open(raster.path), bands: ["red", "green", "blue"].map { raster.description.band(named: $0)! + 1 },
                  label: label, date: date)
        }
        let pair = [try open(before, "before", dates.before), try open(after, "after", dates.after)]
        self.before = pair[0]
        self.after = pair[1]
        self.grid = grid
        do { face = try Typeface.standard(bold: true) } catch {
            throw RunError(.input, "write.violations: chips need a font: \(error)")
        }
        // Both scenes read once at overview size (GDAL's overviews when the file has them): the stretch from both, the
        // after one kept for overview.png.
        let overviews = try pair.map { image in try image.bands.map { try image.dataset.band($0).readOverview(maxSide: Self.overviewSide) } }
        stretch = (0..<3).map { c in
            let ranges = (0..<2).map { Self.percentiles(overviews[$0][c].values) }
            // The pair's range: the wider of the two dates' ranges (one stretch for both).
            return (min(ranges[0].low, ranges[1].low), max(ranges[0].high, ranges[1].high))
        }
        afterOverview = overviews[1]
    }

    /// The same chip maker (stretch, overview, typeface) with the images opened again: one per thread, since a GDAL
    /// dataset is never shared between threads.
    package func reopened() throws -> ChipMaker {
        var copy = self
        copy.before.dataset = try Dataset.open(before.dataset.path)
        copy.after.dataset = try Dataset.open(after.dataset.path)
        return copy
    }

    /// 2nd and 98th percentiles of the finite values (of at most about 500,000 of them, evenly strided).
    package static func percentiles(_ values: [Float]) -> (low: Float, high: Float) {
        let stride = max(1, values.count / 500_000)
        var finite: [Float] = []
        finite.reserveCapacity(values.count / stride + 1)
        for i in Swift.stride(from: 0, to: values.count, by: stride) where values[i].isFinite { finite.append(values[i]) }
        guard !finite.isEmpty else { return (0, 1) }
        // The two order statistics by selection, not a sort of the whole sample (the same values).
        let low = smallest(Int(Double(finite.count - 1) * 0.02), in: &finite)
        let high = smallest(Int(Double(finite.count - 1) * 0.98), in: &finite)
        return (low, high > low ? high : low + 1e-6)
    }

    /// The `k`-th smallest value (from 0) of `values`, which are reordered (quickselect, median of three).
    static func smallest(_ k: Int, in values: inout [Float]) -> Float {
        values.withUnsafeMutableBufferPointer { v in
            var lo = 0, hi = v.count - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if v[mid] < v[lo] { v.swapAt(mid, lo) }
                if v[hi] < v[lo] { v.swapAt(hi, lo) }
                if v[hi] < v[mid] { v.swapAt(hi, mid) }
                let pivot = v[mid]
                var i = lo, j = hi
                while i <= j {
                    while v[i] < pivot { i += 1 }
                    while v[j] > pivot { j -= 1 }
                    if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { return v[k] }
            }
            return v[k]
        }
    }

    package var pixelSize: Double { abs(grid.geoTransform.pixelWidth) }

    /// The chip's window for a patch's box.
    package func frame(for patch: PatchLabeler.Patch) -> Frame {
        Self.frame(columns: patch.minColumn...patch.maxColumn, rows: patch.minRow...patch.maxRow, pixelSize: pixelSize,
                   minimumWindow: minimumWindow)
    }

    /// The window around a box of grid pixels: square, centred on the box, 300 m on each side of a box up to 1 km
    /// (a tenth of the box beyond), at least `minimumWindow` pixels; sampled down to at most 800 samples a side and
    /// upsampled by a whole factor to at least 480 output pixels.
    package static func frame(columns: ClosedRange<Int>, rows: ClosedRange<Int>, pixelSize: Double, minimumWindow: Int) -> Frame {
        let box = max(columns.count, rows.count)
        let margin = Double(box) * pixelSize <= 1000 ? Int((contextMetres / pixelSize).rounded(.up)) : max(2, (box + 9) / 10)
        let edge = max(box + 2 * margin, minimumWindow)
        let step = max(1, (edge + maximumSamples - 1) / maximumSamples)
        let samples = (edge + step - 1) / step
        let centreColumn = (columns.lowerBound + columns.upperBound + 1) / 2, centreRow = (rows.lowerBound + rows.upperBound + 1) / 2
        let scale = max(1, (minimumOutput + samples - 1) / samples)
        return Frame(column: centreColumn - samples * step / 2, row: centreRow - samples * step / 2, step: step, samples: samples, scale: scale)
    }

    /// The geotransform of the chip's output pixels.
    package func transform(of frame: Frame) -> GeoTransform {
        var t = grid.geoTransform
        t.originX += Double(frame.column) * t.pixelWidth
        t.originY += Double(frame.row) * t.pixelHeight
        t.pixelWidth *= Double(frame.step) / Double(frame.scale)
        t.pixelHeight *= Double(frame.step) / Double(frame.scale)
        return t
    }

    /// One band's samples of the frame; NaN outside the image.
    package func samples(_ image: Image, band: Int, frame: Frame) throws -> [Float] {
        var values = [Float](repeating: .nan, count: frame.samples * frame.samples)
        let band = try image.dataset.band(band)
        let columns = (0..<frame.samples).map { frame.column + $0 * frame.step }
        let inside = columns.enumerated().filter { $0.element >= 0 && $0.element < grid.width }
        guard let first = inside.first, let last = inside.last else { return values }
        if frame.step == 1 {
            // Every pixel: the part of the window inside the grid in one read.
            let rows = (0..<frame.samples).map { frame.row + $0 }.filter { $0 >= 0 && $0 < grid.height }
            guard let top = rows.first, let bottom = rows.last else { return values }
            let width = last.element - first.element + 1
            let block = try band.read(Window(colOffset: first.element, rowOffset: top, width: width, height: bottom - top + 1))
            for row in top...bottom {
                let sy = row - frame.row, base = (row - top) * width
                for (sx, column) in inside { values[sy * frame.samples + sx] = block[base + column - first.element] }
            }
            return values
        }
        for sy in 0..<frame.samples {
            let row = frame.row + sy * frame.step
            guard row >= 0, row < grid.height else { continue }
            let line = try band.read(Window(colOffset: first.element, rowOffset: row, width: last.element - first.element + 1, height: 1))
            for (sx, column) in inside { values[sy * frame.samples + sx] = line[column - first.element] }
        }
        return values
    }

    /// Writes the before and after chips of a patch (its pixels given by `runs`); returns the frame.
    @discardableResult
    package func write(patch: PatchLabeler.Patch, runs: [PatchLabeler.Run], id: String, beforePath: String, afterPath: String) throws -> Frame {
        let frame = frame(for: patch)
        // The patch's pixels at the frame's samples.
        var member = [Bool](repeating: false, count: frame.samples * frame.samples)
        for run in runs {
            let row = Int(run.row) - frame.row
            guard row >= 0, row % frame.step == 0, row / frame.step < frame.samples else { continue }
            for column in Int(run.start)..<Int(run.end) {
                let offset = column - frame.column
                guard offset >= 0, offset % frame.step == 0, offset / frame.step < frame.samples else { continue }
                member[(row / frame.step) * frame.samples + offset / frame.step] = true
            }
        }
        for (image, path) in [(before, beforePath), (after, afterPath)] {
            let rgb = try (0..<3).map { try samples(image, band: image.bands[$0], frame: frame) }
            var canvas = Canvas(width: frame.samples, height: frame.samples)
            var noData = false
            for i in 0..<(frame.samples * frame.samples) {
                guard rgb.allSatisfy({ $0[i].isFinite }) else {
                    noData = true
                    canvas[i % frame.samples, i / frame.samples] = .grey  // hatched below, at output size
                    continue
                }
                let channel = (0..<3).map { c -> UInt8 in
                    let (low, high) = stretch[c]
                    return UInt8(max(0, min(255, (rgb[c][i] - low) / (high - low) * 255)).rounded())
                }
                canvas[i % frame.samples, i / frame.samples] = Color(channel[0], channel[1], channel[2])
            }
            var output = canvas.upsampled(by: frame.scale)
            if noData {
                // No data: diagonal hatching over grey, so that it cannot be read as a grey roof or road.
                for y in 0..<output.height {
                    for x in 0..<output.width {
                        let i = (y / frame.scale) * frame.samples + x / frame.scale
                        if !rgb.allSatisfy({ $0[i].isFinite }) { output[x, y] = (x + y) % 12 < 6 ? .lightGrey : .darkGrey }
                    }
                }
            }
            drawOutline(member, frame: frame, on: &output)
            try burnIn(id: id, image: image, frame: frame, noData: noData, on: &output)
            try Self.writePNG(output, to: path)
        }
        return frame
    }

    /// The patch's outline in yellow, 2 output pixels wide (3 on large chips), inside the patch's pixels.
    package func drawOutline(_ member: [Bool], frame: Frame, on canvas: inout Canvas) {
        let n = frame.samples, s = frame.scale, thickness = max(2, canvas.width / 300)
        func isMember(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < n && y < n && member[y * n + x] }
        for sy in 0..<n {
            for sx in 0..<n where member[sy * n + sx] {
                let left = !isMember(sx - 1, sy), right = !isMember(sx + 1, sy), top = !isMember(sx, sy - 1), bottom = !isMember(sx, sy + 1)
                guard left || right || top || bottom else { continue }
                let x0 = sx * s, y0 = sy * s, t = min(thickness, s)
                if left { canvas.fill(x: x0, y: y0, width: t, height: s, color: .yellow) }
                if right { canvas.fill(x: x0 + s - t, y: y0, width: t, height: s, color: .yellow) }
                if top { canvas.fill(x: x0, y: y0, width: s, height: t, color: .yellow) }
                if bottom { canvas.fill(x: x0, y: y0 + s - t, width: s, height: t, color: .yellow) }
            }
        }
    }

    /// Id and date (top left), north arrow (top right), scale bar (bottom left), a no-data note (bottom right).
    package func burnIn(id: String, image: Image, frame: Frame, noData: Bool, on canvas: inout Canvas) throws {
        let size = max(14, canvas.width / 30)
        face.drawLabel("\(id)  \(image.label) \(image.date ?? "")", size: size, on: &canvas, x: 6, y: 6)
        // North arrow: the grid's north (up).
        let arrowX = Double(canvas.width - 6 - size), arrowTop = 8.0
        canvas.fill(x: Int(arrowX) - size / 2 - 4, y: 4, width: size + 8, height: size * 3, color: .black)
        canvas.fillTriangle((arrowX, arrowTop), (arrowX - Double(size) / 2.5, arrowTop + Double(size) * 1.3),
                            (arrowX + Double(size) / 2.5, arrowTop + Double(size) * 1.3), color: .white)
        let nWidth = face.width("N", size: size)
        face.draw("N", size: size, on: &canvas, x: Int(arrowX) - nWidth / 2, baseline: Int(arrowTop) + size * 2 + size / 2, color: .white)
        // Scale bar: a round length about a quarter of the chip.
        let metresPerOutputPixel = pixelSize * Double(frame.step) / Double(frame.scale)
        let target = Double(canvas.width) / 4 * metresPerOutputPixel
        let length = [10.0, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000].last { $0 <= target } ?? 10
        let barPixels = Int((length / metresPerOutputPixel).rounded())
        let text = length >= 1000 ? "\(Int(length / 1000)) km" : "\(Int(length)) m"
        let barY = canvas.height - 10 - size / 2
        canvas.fill(x: 4, y: barY - size - 10, width: max(barPixels, face.width(text, size: size)) + 12, height: size + 10 + size / 2 + 8, color: .black)
        canvas.fill(x: 10, y: barY, width: barPixels, height: size / 2, color: .white)
        canvas.fill(x: 10 + barPixels / 2, y: barY + 2, width: barPixels - barPixels / 2 - 2, height: size / 2 - 4, color: .black)
        face.draw(text, size: size, on: &canvas, x: 10, baseline: barY - 6, color: .white)
        if noData {
            let note = "hatched: no data"
            face.drawLabel(note, size: size * 3 / 4, on: &canvas, x: canvas.width - face.width(note, size: size * 3 / 4) - 14,
                           y: canvas.height - face.lineHeight(size: size * 3 / 4) - 10)
        }
    }

    /// Writes three 0-255 channels as an RGB PNG through GDAL (no .aux.xml left beside it).
    package static func writePNG(_ channels: [[Float]], width: Int, height: Int, to path: String) throws {
        let memory = try Dataset.createInMemory(width: width, height: height, bandCount: channels.count, dataType: .uint8)
        for (c, channel) in channels.enumerated() {
            try channel.withUnsafeBufferPointer { buffer in
                try memory.band(c + 1).write(Window(width: width, height: height), from: buffer)
            }
        }
        try memory.copy(to: path, driver: "PNG", options: Self.pngOptions).close()
        unlink(path + ".aux.xml")
    }

    /// Writes a canvas as an RGB PNG through GDAL (no .aux.xml left beside it).
    package static func writePNG(_ canvas: Canvas, to path: String) throws {
        let memory = try Dataset.createInMemory(width: canvas.width, height: canvas.height, bandCount: 3, dataType: .uint8)
        for (c, plane) in canvas.planes.enumerated() {
            try plane.withUnsafeBytes { raw in
                try memory.band(c + 1).writeRaw(Window(width: canvas.width, height: canvas.height), from: raw.baseAddress!,
                                                byteCapacity: raw.count, type: .uint8, lineStride: canvas.width)
            }
        }
        try memory.copy(to: path, driver: "PNG", options: Self.pngOptions).close()
        unlink(path + ".aux.xml")
    }

    /// The after image over the whole grid at overview size (at least 800 px across, nearest neighbour), with the
    /// pair's stretch: page 1 of the field package. Returns its geotransform.
    package func writeOverview(to path: String) throws -> GeoTransform {
        let bands = afterOverview
        let width = bands[0].width, height = bands[0].height
        var canvas = Canvas(width: width, height: height)
        for i in 0..<(width * height) {
            guard bands.allSatisfy({ $0.values[i].isFinite }) else { canvas[i % width, i / width] = .lightGrey; continue }
            let channel = (0..<3).map { c -> UInt8 in
                UInt8(max(0, min(255, (bands[c].values[i] - stretch[c].low) / (stretch[c].high - stretch[c].low) * 255)).rounded())
            }
            canvas[i % width, i / width] = Color(channel[0], channel[1], channel[2])
        }
        let scale = max(1, (800 + max(width, height) - 1) / max(width, height))
        var t = grid.geoTransform
        t.pixelWidth *= Double(grid.width) / Double(width * scale)
        t.pixelHeight *= Double(grid.height) / Double(height * scale)
        try Self.writePNG(canvas.upsampled(by: scale), to: path)
        return t
    }
}
