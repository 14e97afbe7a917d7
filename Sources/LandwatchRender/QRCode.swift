import CQRencode
import Foundation

/// A QR code made by libqrencode (Debian's libqrencode-dev), error correction level M (15 % of the symbol may be
/// soiled or folded and it still reads).
public struct QRCode: Sendable {
    /// Modules per side.
    public let size: Int
    /// Dark modules, row by row.
    public let modules: [Bool]

    public init(_ text: String) throws(RenderError) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else {
            throw RenderError("libqrencode cannot encode \(text.count) characters as a QR code (\(String(cString: strerror(errno))))")
        }
        defer { QRcode_free(code) }
        size = Int(code.pointee.width)
        modules = (0..<(size * size)).map { code.pointee.data[$0] & 1 == 1 }
    }

    /// Draws the code with its quiet zone (4 modules of white) at (x, y), each module `moduleSize` pixels; returns the
    /// side in pixels.
    @discardableResult
    public func draw(on canvas: inout Canvas, x: Int, y: Int, moduleSize: Int) -> Int {
        let side = (size + 8) * moduleSize
        canvas.fill(x: x, y: y, width: side, height: side, color: .white)
        for row in 0..<size {
            for column in 0..<size where modules[row * size + column] {
                canvas.fill(x: x + (column + 4) * moduleSize, y: y + (row + 4) * moduleSize, width: moduleSize, height: moduleSize, color: .black)
            }
        }
        return side
    }

    /// Side in pixels with the quiet zone.
    public func side(moduleSize: Int) -> Int { (size + 8) * moduleSize }
}
