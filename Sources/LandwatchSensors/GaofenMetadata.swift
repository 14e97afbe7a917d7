import Foundation

/// What landwatch reads from a Gaofen delivery's XML beside the image (GF1_WFV1_..._L1A0001234567.xml): sun
/// elevation from SolarZenith and the date from CenterTime, ReceiveTime or ImagingStartTime.
public struct GaofenMetadata: Sendable {
    public var sunElevation: Double?
    public var date: String?

    public init?(imagePath: String) {
        let url = URL(fileURLWithPath: imagePath)
        let xml = url.deletingPathExtension().appendingPathExtension("xml")
        guard let text = try? String(contentsOf: xml, encoding: .utf8) else { return nil }
        func value(_ tag: String) -> String? {
            guard let start = text.range(of: "<\(tag)>"), let end = text[start.upperBound...].range(of: "</\(tag)>") else { return nil }
            return String(text[start.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        sunElevation = value("SolarZenith").flatMap(Double.init).map { 90 - $0 }
        date = ["CenterTime", "ReceiveTime", "ImagingStartTime"].lazy.compactMap(value).first.map { String($0.prefix(10)) }
        if let date, !AcquisitionDate.isValid(date) { self.date = nil }
    }
}
