import CFreeType
import Foundation

/// A drawing failure: a font that is not there or cannot be read, text that cannot become a QR code.
public struct RenderError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A font rendered by FreeType: the text burned into chips and drawn on field-package pages, Chinese included.
///
/// The standard face is Noto Sans CJK SC (Debian's `fonts-noto-cjk`), which holds Latin, digits and the Chinese of
/// zone names and rule names; a missing font is an error that names the package.
public final class Typeface: @unchecked Sendable {  // the FreeType face is used under `lock`
    /// Where Debian puts the fonts, with the face index of Simplified Chinese in each collection.
    public static let standardFaces: [(path: String, index: Int)] = [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ]
    public static let boldFaces: [(path: String, index: Int)] = [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ]
    public static let debianPackage = "fonts-noto-cjk"

    private let library: FT_Library
    private let face: FT_Face
    private let lock = NSLock()
    public let path: String

    /// Opens the face at `index` of the font file at `path`; `package` names what installs it, for the error.
    public init(path: String, index: Int = 0, package: String = Typeface.debianPackage) throws(RenderError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw RenderError("the font \(path) is missing: install Debian's \(package) (apt-get install \(package))")
        }
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw RenderError("FreeType cannot start") }
        var face: FT_Face?
        guard FT_New_Face(library, path, FT_Long(index), &face) == 0, let face else {
            FT_Done_FreeType(library)
            throw RenderError("the font \(path) (face \(index)) cannot be read by FreeType: reinstall Debian's \(package)")
        }
        self.library = library
        self.face = face
        self.path = path
    }

    deinit {
        FT_Done_Face(face)
        FT_Done_FreeType(library)
    }

    nonisolated(unsafe) private static var cache: [String: Typeface] = [:]
    private static let cacheLock = NSLock()

    /// The standard (or bold) face, opened once per process.
    public static func standard(bold: Bool = false) throws(RenderError) -> Typeface {
        let (path, index) = (bold ? boldFaces : standardFaces)[0]
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let face = cache[path] { return face }
        let face = try Typeface(path: path, index: index)
        cache[path] = face
        return face
    }

    /// Runs `body` for each glyph of `text` at `size` pixels: its bitmap's position relative to the pen and the
    /// advance. Returns the total advance.
    @discardableResult
    private func layout(_ text: String, size: Int, _ body: (FT_Bitmap, Int, Int, Int) -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(max(1, size)))
        var pen = 0
        for scalar in text.unicodeScalars {
            guard landwatch_ft_load_render(face, FT_ULong(scalar.value)) == 0, let glyph = face.pointee.glyph else { continue }
            body(glyph.pointee.bitmap, pen + Int(glyph.pointee.bitmap_left), Int(glyph.pointee.bitmap_top), pen)
            pen += Int(glyph.pointee.advance.x >> 6)
        }
        return pen
    }

    /// The width of `text` at `size` pixels.
    public func width(_ text: String, size: Int) -> Int { layout(text, size: size) { _, _, _, _ in } }

    /// Line spacing for `size`.
    public func lineHeight(size: Int) -> Int { Int((Double(size) * 1.35).rounded()) }

    /// Draws `text` with its baseline at `baseline` starting at `x`; returns the advance.
    @discardableResult
    public func draw(_ text: String, size: Int, on canvas: inout Canvas, x: Int, baseline: Int, color: Color = .black) -> Int {
        layout(text, size: size) { bitmap, left, top, _ in
            guard let buffer = bitmap.buffer else { return }
            for row in 0..<Int(bitmap.rows) {
                for column in 0..<Int(bitmap.width) {
                    let alpha = buffer[row * Int(bitmap.pitch) + column]
                    canvas.blend(x: x + left + column, y: baseline - top + row, color: color, alpha: alpha)
                }
            }
        }
    }

    /// Draws `text` on a filled box (padding around it) so that it reads over any image; returns the box's size.
    @discardableResult
    public func drawLabel(_ text: String, size: Int, on canvas: inout Canvas, x: Int, y: Int, color: Color = .white,
                          background: Color = .black, padding: Int = 4) -> (width: Int, height: Int) {
        let width = self.width(text, size: size) + 2 * padding, height = lineHeight(size: size) + padding
        canvas.fill(x: x, y: y, width: width, height: height, color: background)
        draw(text, size: size, on: &canvas, x: x + padding, baseline: y + padding / 2 + size, color: color)
        return (width, height)
    }

    /// `text` broken into lines no wider than `width` pixels: at spaces, and between any two Chinese characters
    /// (which have no spaces); a word longer than a line is broken where it must. Nothing is cut.
    public func wrap(_ text: String, size: Int, width: Int) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var tokens: [String] = []
            var current = ""
            for character in paragraph {
                if character == " " {
                    current.append(character)
                    tokens.append(current)
                    current = ""
                } else if character.unicodeScalars.first.map({ $0.value >= 0x2E80 }) ?? false {
                    if !current.isEmpty { tokens.append(current); current = "" }
                    tokens.append(String(character))
                } else {
                    current.append(character)
                }
            }
            if !current.isEmpty { tokens.append(current) }
            var line = ""
            for token in tokens {
                if self.width(line + token, size: size) <= width || line.isEmpty && self.width(token, size: size) <= width {
                    line += token
                    continue
                }
                if !line.isEmpty { lines.append(line.trimmingCharacters(in: .whitespaces)); line = "" }
                // A token wider than the line: broken by characters.
                var piece = ""
                for character in token {
                    if self.width(piece + String(character), size: size) > width, !piece.isEmpty {
                        lines.append(piece)
                        piece = ""
                    }
                    piece.append(character)
                }
                line = piece
            }
            lines.append(line.trimmingCharacters(in: .whitespaces))
        }
        return lines
    }
}
