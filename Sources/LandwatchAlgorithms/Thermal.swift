import Foundation

/// Land surface temperature from a Landsat thermal band (docs/formulas.md, "Land surface temperature").
///
/// Level-1: radiance L = M_L·DN + A_L; brightness temperature BT = K2 / ln(K1/L + 1); emissivity from NDVI by the
/// threshold method; LST = BT / (1 + (λ·BT/ρ)·ln ε). Collection-2 Level-2 surface temperature is already corrected:
/// ST = 0.00341802·DN + 149.0 kelvin.
public struct ThermalCalibration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Level-1 digital numbers with radiance scaling and the K1/K2 constants.
        case radiance(multiply: Double, add: Double, k1: Double, k2: Double)
        /// Level-2 surface temperature in kelvin: scale·DN + offset (0 is fill).
        case surfaceTemperature(scale: Double, offset: Double)
    }

    public var kind: Kind
    /// Effective wavelength of the band in micrometres.
    public var wavelength: Double
    /// The MTL band key (`10`, `6_VCID_1`, `6`, `ST_B10`), for messages and run records.
    public var band: String

    public init(kind: Kind, wavelength: Double, band: String) {
        self.kind = kind
        self.wavelength = wavelength
        self.band = band
    }

    /// ρ = h·c / k_B in µm·K.
    public static let rho = 14388.0

    /// Brightness temperature (K) of a Level-1 digital number; nil for fill or a non-positive radiance.
    @inline(__always)
    public func brightnessTemperature(dn: Double) -> Double? {
        guard case .radiance(let m, let a, let k1, let k2) = kind, dn > 0 else { return nil }
        let radiance = m * dn + a
        guard radiance > 0 else { return nil }
        return k2 / log(k1 / radiance + 1)
    }

    /// Land surface temperature in °C, or nil (fill, no NDVI for a Level-1 band).
    @inline(__always)
    public func surfaceTemperature(dn: Double, ndvi: Double?, isWater: Bool, emissivity: EmissivityModel) -> Double? {
        switch kind {
        case .surfaceTemperature(let scale, let offset):
            guard dn > 0 else { return nil }
            return scale * dn + offset - 273.15
        case .radiance:
            guard let bt = brightnessTemperature(dn: dn) else { return nil }
            let epsilon: Double
            if isWater { epsilon = emissivity.water } else {
                guard let ndvi, ndvi.isFinite else { return nil }
                epsilon = emissivity.emissivity(ndvi: ndvi)
            }
            return bt / (1 + (wavelength * bt / Self.rho) * log(epsilon)) - 273.15
        }
    }
}

/// Emissivity from NDVI by the threshold method; every constant can be set in the pipeline file.
public struct EmissivityModel: Sendable, Equatable {
    public var soilNDVI = 0.2
    public var vegetationNDVI = 0.5
    public var soil = 0.973
    public var vegetation = 0.99
    public var water = 0.991
    /// ε = slope·Pv + intercept between the thresholds.
    public var slope = 0.004
    public var intercept = 0.986

    public init() {}

    public func vegetationProportion(ndvi: Double) -> Double {
        let p = (ndvi - soilNDVI) / (vegetationNDVI - soilNDVI)
        return min(max(p, 0), 1) * min(max(p, 0), 1)
    }

    public func emissivity(ndvi: Double) -> Double {
        if ndvi < soilNDVI { return soil }
        if ndvi > vegetationNDVI { return vegetation }
        return slope * vegetationProportion(ndvi: ndvi) + intercept
    }
}
