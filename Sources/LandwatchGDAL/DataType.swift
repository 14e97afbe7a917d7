import CGDAL

/// The pixel types landwatch reads and writes.
public enum DataType: String, Sendable, CaseIterable, Codable {
    case uint8 = "Byte"
    case uint16 = "UInt16"
    case int16 = "Int16"
    case uint32 = "UInt32"
    case int32 = "Int32"
    case float32 = "Float32"
    case float64 = "Float64"

    /// Bytes per pixel.
    public var byteCount: Int {
        switch self {
        case .uint8: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .float64: return 8
        }
    }

    /// True for the floating-point types.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The range of values the type holds, used to check that a nodata value fits.
    public var valueRange: ClosedRange<Double> {
        switch self {
        case .uint8: return 0...255
        case .uint16: return 0...65535
        case .int16: return -32768...32767
        case .uint32: return 0...4_294_967_295
        case .int32: return -2_147_483_648...2_147_483_647
        case .float32: return -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        case .float64: return -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }

    /// Parses a user-facing name: GDAL's (`Byte`, `Float32`) or the lower-case aliases `uint8`, `float32`, ….
    public init?(name: String) {
        if let exact = DataType(rawValue: name) { self = exact; return }
        let lowered = name.lowercased()
        if lowered == "byte" { self = .uint8; return }
        guard let match = DataType.allCases.first(where: { "\($0)" == lowered }) else { return nil }
        self = match
    }

    var gdal: GDALDataType {
        switch self {
        case .uint8: return GDT_Byte
        case .uint16: return GDT_UInt16
        case .int16: return GDT_Int16
        case .uint32: return GDT_UInt32
        case .int32: return GDT_Int32
        case .float32: return GDT_Float32
        case .float64: return GDT_Float64
        }
    }

    /// The landwatch type for a GDAL type, or nil for types landwatch does not handle (complex, Int8, Int64).
    init?(gdal: GDALDataType) {
        guard let match = DataType.allCases.first(where: { $0.gdal == gdal }) else { return nil }
        self = match
    }
}

extension Band {
    /// True for a band of signed bytes: GDAL 3.6 keeps Int8 as Byte with `PIXELTYPE=SIGNEDBYTE` in the
    /// `IMAGE_STRUCTURE` metadata, and reads it as 0…255 unless told; −10 is stored as 246.
    public var isSignedByte: Bool {
        GDALGetRasterDataType(handle) == GDT_Byte && metadata(domain: "IMAGE_STRUCTURE")["PIXELTYPE"] == "SIGNEDBYTE"
    }
}
