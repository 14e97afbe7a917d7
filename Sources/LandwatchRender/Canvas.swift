import Foundation

/// An 8-bit RGB colour.
public struct Color: Sendable, Equatable {
    public var red: UInt8, green: UInt8, blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let black = Color(0, 0, 0)
    public static let white = Color(255, 255, 255)
    public static let yellow = Color(255, 230, 0)
    public static let red = Color(220, 20, 20)
    public static let orange = Color(245, 130, 0)
    public static let grey = Color(128, 128, 128)
    public static let lightGrey = Color(200, 200, 200)
    public static let darkGrey = Color(70, 70, 70)
}

/// An RGB image in memory (rows top to bottom, pixels interleaved), with the few drawing operations chips and
/// field-package pages need. Drawing outside the canvas is clipped.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0, "a canvas needs a size")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[i * 3] = background.red
            pixels[i * 3 + 1] = background.green
            pixels[i * 3 + 2] = background.blue
        }
    }

    public subscript(x: Int, y: Int) -> Color {
        get {
            let i = (y * width + x) * 3
            return Color(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = (y * width + x) * 3
            pixels[i] = newValue.red
            pixels[i + 1] = newValue.green
            pixels[i + 2] = newValue.blue
        }
    }

    /// Mixes `color` into a pixel with coverage `alpha` (0–255).
    public mutating func blend(x: Int, y: Int, color: Color, alpha: UInt8) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let i = (y * width + x) * 3, a = Int(alpha)
        pixels[i] = UInt8((Int(pixels[i]) * (255 - a) + Int(color.red) * a) / 255)
        pixels[i + 1] = UInt8((Int(pixels[i + 1]) * (255 - a) + Int(color.green) * a) / 255)
        pixels[i + 2] = UInt8((Int(pixels[i + 2]) * (255 - a) + Int(color.blue) * a) / 255)
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { self[column, row] = color }
        }
    }

    /// A rectangle's outline, `lineWidth` pixels wide, drawn inside the rectangle.
    public mutating func stroke(x: Int, y: Int, width w: Int, height h: Int, color: Color, lineWidth: Int = 1) {
        fill(x: x, y: y, width: w, height: lineWidth, color: color)
        fill(x: x, y: y + h - lineWidth, width: w, height: lineWidth, color: color)
        fill(x: x, y: y, width: lineWidth, height: h, color: color)
        fill(x: x + w - lineWidth, y: y, width: lineWidth, height: h, color: color)
    }

    /// A straight line with a square brush `lineWidth` pixels wide.
    public mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int), color: Color, lineWidth: Int = 1) {
        let steps = max(abs(end.x - start.x), abs(end.y - start.y), 1)
        for step in 0...steps {
            let x = start.x + (end.x - start.x) * step / steps, y = start.y + (end.y - start.y) * step / steps
            fill(x: x - lineWidth / 2, y: y - lineWidth / 2, width: lineWidth, height: lineWidth, color: color)
        }
    }

    /// A filled triangle (the north arrow's head).
    public mutating func fillTriangle(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double), _ c: (x: Double, y: Double), color: Color) {
        let minX = Int(min(a.x, b.x, c.x).rounded(.down)), maxX = Int(max(a.x, b.x, c.x).rounded(.up))
        let minY = Int(min(a.y, b.y, c.y).rounded(.down)), maxY = Int(max(a.y, b.y, c.y).rounded(.up))
        func side(_ p: (x: Double, y: Double), _ q: (x: Double, y: Double), _ r: (x: Double, y: Double)) -> Double {
            (p.x - r.x) * (q.y - r.y) - (q.x - r.x) * (p.y - r.y)
        }
        guard minX <= maxX, minY <= maxY else { return }
        for y in minY...maxY {
            for x in minX...maxX {
                let p = (x: Double(x) + 0.5, y: Double(y) + 0.5)
                let d1 = side(p, a, b), d2 = side(p, b, c), d3 = side(p, c, a)
                let negative = d1 < 0 || d2 < 0 || d3 < 0, positive = d1 > 0 || d2 > 0 || d3 > 0
                if !(negative && positive) { self[x, y] = color }
            }
        }
    }

    public mutating func fillCircle(centre: (x: Int, y: Int), radius: Int, color: Color) {
        for y in (centre.y - radius)...(centre.y + radius) {
            for x in (centre.x - radius)...(centre.x + radius) {
                let dx = x - centre.x, dy = y - centre.y
                if dx * dx + dy * dy <= radius * radius { self[x, y] = color }
            }
        }
    }

    /// Copies `other` with its top-left corner at (x, y).
    public mutating func draw(_ other: Canvas, x: Int, y: Int) {
        for row in 0..<other.height where y + row >= 0 && y + row < height {
            for column in 0..<other.width where x + column >= 0 && x + column < width {
                self[x + column, y + row] = other[column, row]
            }
        }
    }

    /// The canvas scaled by an integer factor (nearest neighbour: each pixel becomes a `factor` x `factor` block).
    public func upsampled(by factor: Int) -> Canvas {
        guard factor > 1 else { return self }
        var result = Canvas(width: width * factor, height: height * factor)
        for y in 0..<result.height {
            for x in 0..<result.width { result[x, y] = self[x / factor, y / factor] }
        }
        return result
    }

    /// The three channels as separate planes (for GDAL, one band each).
    public var planes: [[UInt8]] {
        (0..<3).map { channel in
            var plane = [UInt8](repeating: 0, count: width * height)
            for i in 0..<(width * height) { plane[i] = pixels[i * 3 + channel] }
            return plane
        }
    }

    /// Whether any two pixels differ: a blank page or chip is one colour.
    public var isBlank: Bool {
        let first = self[0, 0]
        for y in 0..<height { for x in 0..<width where self[x, y] != first { return false } }
        return true
    }
}

extension Canvas {
    /// The canvas as a binary PPM (P6) file: what any image tool reads, without an encoder.
    public var ppm: Data {
        var data = Data("P6\n\(width) \(height)\n255\n".utf8)
        data.append(contentsOf: pixels)
        return data
    }
}
