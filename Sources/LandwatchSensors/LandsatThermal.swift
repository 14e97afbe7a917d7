import Foundation
import LandwatchAlgorithms

extension LandsatProduct {
    /// The thermal calibration of the product: Landsat 8/9 band 10, Landsat 7 band 6 (`highGain` picks VCID_2),
    /// Landsat 4/5 band 6, or Collection-2 Level-2 ST_B10 / ST_B6.
    public func thermalCalibration(highGain: Bool = false) throws(MTLError) -> ThermalCalibration {
        let mission = spacecraft.replacingOccurrences(of: "LANDSAT_", with: "")
        let band: String
        let wavelength: Double
        switch mission {
        case "8", "9": band = "10"; wavelength = 10.895
        case "7": band = highGain ? "6_VCID_2" : "6_VCID_1"; wavelength = 11.335
        case "5", "4": band = "6"; wavelength = 11.457
        default: throw MTLError(file: mtl.file, line: mtl.lines["SPACECRAFT_ID"], "\(spacecraft) has no thermal band landwatch knows")
        }
        if isLevel2 {
            let key = mission == "8" || mission == "9" ? "ST_B10" : "ST_B6"
            let scale = mtl["TEMPERATURE_MULT_BAND_\(key)"].flatMap(Double.init) ?? 0.00341802
            let offset = mtl["TEMPERATURE_ADD_BAND_\(key)"].flatMap(Double.init) ?? 149.0
            return ThermalCalibration(kind: .surfaceTemperature(scale: scale, offset: offset), wavelength: wavelength, band: key)
        }
        func value(_ key: String) throws(MTLError) -> Double {
            guard let text = mtl[key] else { throw MTLError(file: mtl.file, line: nil, "no \(key): the thermal band cannot be calibrated") }
            guard let number = Double(text), number.isFinite else {
                throw MTLError(file: mtl.file, line: mtl.lines[key], "\(key) is not a number (found '\(text)')")
            }
            return number
        }
        let kind = ThermalCalibration.Kind.radiance(
            multiply: try value("RADIANCE_MULT_BAND_\(band)"), add: try value("RADIANCE_ADD_BAND_\(band)"),
            k1: try value("K1_CONSTANT_BAND_\(band)"), k2: try value("K2_CONSTANT_BAND_\(band)"))
        guard case .radiance(_, _, let k1, let k2) = kind, k1 > 0, k2 > k1 else {
            throw MTLError(file: mtl.file, line: mtl.lines["K1_CONSTANT_BAND_\(band)"],
                           "K1_CONSTANT_BAND_\(band) and K2_CONSTANT_BAND_\(band) must be positive with K2 > K1 (are they swapped?)")
        }
        return ThermalCalibration(kind: kind, wavelength: wavelength, band: band)
    }
}
