/// What the numbers of one band of a source are after its scaling, as far as the source can tell, and where a stage
/// that needs reflectance can look at them (a reduced read at run start): see ``ProductDescription/radiometry``.
public struct BandRadiometry: Sendable, Equatable {
    /// What the values are.
    public enum Values: String, Sendable, CaseIterable {
        /// Digital numbers: stored counts, not a physical quantity.
        case dn
        /// Top-of-atmosphere reflectance (0–1).
        case toa
        /// Surface reflectance (0–1).
        case sr

        /// How messages name it.
        public var phrase: String {
            switch self {
            case .dn: return "digital numbers"
            case .toa: return "top-of-atmosphere reflectance"
            case .sr: return "surface reflectance"
            }
        }

        public var isReflectance: Bool { self != .dn }
    }

    /// What the values are: stated (`values:`), given by the product (a sensor preset, an MTL), or inferred from the
    /// header (integer data with no scaling: digital numbers); nil when only the data can tell.
    public var values: Values?
    /// True when the pipeline file stated `values:`.
    public var declared: Bool
    /// The stored numbers are integers and no gain or offset applies to them.
    public var unscaledIntegers: Bool
    /// The stored data type, as GDAL names it (`UInt16`, `Float32`).
    public var dataType: String
    /// The id of the stage that reads the band (set by the planner).
    public var stage: String?
    /// Where the values can be looked at.
    public var probe: RadiometryProbe?

    public init(values: Values?, declared: Bool, unscaledIntegers: Bool, dataType: String, probe: RadiometryProbe?) {
        self.values = values
        self.declared = declared
        self.unscaledIntegers = unscaledIntegers
        self.dataType = dataType
        self.probe = probe
    }
}

/// One band of a file as a source reads it: value = stored number x scale + offset, `noData` (stored) excluded.
public struct RadiometryProbe: Sendable, Hashable {
    public var path: String
    public var band: Int
    public var scale: Double
    public var offset: Double
    public var noData: Double?

    public init(path: String, band: Int, scale: Double, offset: Double, noData: Double?) {
        self.path = path
        self.band = band
        self.scale = scale
        self.offset = offset
        self.noData = noData
    }
}
