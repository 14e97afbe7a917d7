import Foundation

/// What an MTL file says about a Landsat product: mission, processing, date, band files and calibration.
public struct LandsatProduct: Sendable {
    public let mtl: MTLFile
    /// `LANDSAT_5`, `LANDSAT_7`, `LANDSAT_8`, `LANDSAT_9`.
    public let spacecraft: String
    /// 1 or 2, nil for pre-collection products.
    public let collection: Int?
    /// The acquisition date as written (`2015-08-04`).
    public let acquisitionDate: String
    public let sunElevation: Double?
    /// `L1TP`, `L1GT`, `L2SP`, `L2SR`, … (`L1T` in pre-collection products).
    public let processingLevel: String

    /// True for Level-2 products: their reflective bands are surface reflectance.
    public var isLevel2: Bool { processingLevel.hasPrefix("L2") }

    public init(mtl: MTLFile) throws(MTLError) {
        self.mtl = mtl
        guard let spacecraft = mtl["SPACECRAFT_ID"] else {
            throw MTLError(file: mtl.file, line: nil, "no SPACECRAFT_ID: is this a Landsat MTL file?")
        }
        self.spacecraft = spacecraft
        if let text = mtl["COLLECTION_NUMBER"] {
            guard let number = Int(text), number == 1 || number == 2 else {
                throw MTLError(file: mtl.file, line: mtl.lines["COLLECTION_NUMBER"], "COLLECTION_NUMBER must be 01 or 02 (found '\(text)')")
            }
            collection = number
        } else {
            collection = nil
        }
        guard let date = mtl["DATE_ACQUIRED"] else { throw MTLError(file: mtl.file, line: nil, "no DATE_ACQUIRED") }
        acquisitionDate = date
        sunElevation = mtl["SUN_ELEVATION"].flatMap(Double.init)
        processingLevel = mtl["PROCESSING_LEVEL"] ?? mtl["DATA_TYPE"] ?? "L1"
    }

    /// The quality-band layout the product's processing uses.
    public var qualityLayout: LandsatQALayout {
        switch collection {
        case 2?: return .collection2
        case 1?: return .collection1
        default: return .preCollection
        }
    }

    /// Band numbers of the reflective and thermal bands by common name, for this mission.
    public var bandNumbers: [String: String] {
        switch spacecraft {
        case "LANDSAT_8", "LANDSAT_9":
            return ["coastal": "1", "blue": "2", "green": "3", "red": "4", "nir": "5", "swir1": "6", "swir2": "7",
                    "pan": "8", "cirrus": "9", "tir1": "10", "tir2": "11"]
        case "LANDSAT_7":
            return ["blue": "1", "green": "2", "red": "3", "nir": "4", "swir1": "5", "tir": "6_VCID_1", "tir_high_gain": "6_VCID_2",
                    "swir2": "7", "pan": "8"]
        default:  // Landsat 4 and 5 TM
            return ["blue": "1", "green": "2", "red": "3", "nir": "4", "swir1": "5", "tir": "6", "swir2": "7"]
        }
    }

    /// Stored number to reflectance. Level 1: top-of-atmosphere, `ρ = (M·DN + A) / sin(sun elevation)` when
    /// `sunCorrected`. Level 2: surface reflectance with the Level-2 group's own M and A (the MTL also repeats the
    /// Level-1 constants under the same names); no sun correction, it is already applied.
    public func reflectanceScaling(band: String, sunCorrected: Bool) throws(MTLError) -> (scale: Double, offset: Double) {
        let group: String? = isLevel2 ? "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS" : (mtl.groups["LEVEL1_RADIOMETRIC_RESCALING"] != nil ? "LEVEL1_RADIOMETRIC_RESCALING" : nil)
        if !isLevel2, mtl.value("REFLECTANCE_MULT_BAND_\(band)", group: group) == nil,
           mtl["RADIANCE_MULT_BAND_\(band)"] != nil, Self.esun[spacecraft] != nil {
            return try reflectanceFromRadiance(band: band, sunCorrected: sunCorrected)
        }
        let mult = try mtl.number("REFLECTANCE_MULT_BAND_\(band)", purpose: "the reflectance scale of band \(band)", group: group)
        let add = try mtl.number("REFLECTANCE_ADD_BAND_\(band)", purpose: "the reflectance offset of band \(band)", group: group)
        try requirePositiveScale(mult, key: "REFLECTANCE_MULT_BAND_\(band)", group: group)
        guard sunCorrected, !isLevel2 else { return (mult, add) }
        guard let elevation = sunElevation, elevation > 0, elevation <= 90 else {
            throw MTLError(file: mtl.file, line: mtl.lines["SUN_ELEVATION"],
                           "SUN_ELEVATION is missing or not in (0, 90] (needed for the sun-angle correction)")
        }
        let sine = sin(elevation * .pi / 180)
        return (mult / sine, add / sine)
    }

    /// A scale of 0 (or below) makes every pixel the offset: a broken MTL, not a product.
    func requirePositiveScale(_ value: Double, key: String, group: String?) throws(MTLError) {
        guard value > 0 else {
            throw MTLError(file: mtl.file, line: group.flatMap { mtl.groupLines[$0]?[key] } ?? mtl.lines[key],
                           "\(key) is \(value == 0 ? "0" : "negative (\(value))"): every pixel would read as the offset; the MTL is broken")
        }
    }

    /// Mean exo-atmospheric solar irradiance (W/(m² µm)) per band number, Chander, Markham & Helder 2009,
    /// Remote Sensing of Environment 113, Table 2 (TM on Landsat 4 and 5, ETM+ on Landsat 7).
    public static let esun: [String: [String: Double]] = [
        "LANDSAT_4": ["1": 1983, "2": 1795, "3": 1539, "4": 1028, "5": 219.8, "7": 83.49],
        "LANDSAT_5": ["1": 1983, "2": 1796, "3": 1536, "4": 1031, "5": 220.0, "7": 83.44],
        "LANDSAT_7": ["1": 1997, "2": 1812, "3": 1533, "4": 1039, "5": 230.8, "7": 84.90, "8": 1362],
    ]

    /// Earth–Sun distance in astronomical units on a day of the year (1 = January 1st):
    /// d = 1 − 0.01672 cos(0.9856° (day − 4)), within 2e-4 AU of the ephemeris.
    public static func earthSunDistance(dayOfYear day: Int) -> Double {
        1 - 0.01672 * cos(0.9856 * Double(day - 4) * .pi / 180)
    }

    /// The day of the year of a `YYYY-MM-DD` date, or nil.
    public static func dayOfYear(_ date: String) -> Int? {
        let parts = date.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        let year = parts[0]
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][parts[1] - 1]
        return before + parts[2] + (leap && parts[1] > 2 ? 1 : 0)
    }

    /// TOA reflectance of a product whose MTL gives radiance constants only (Landsat 4/5 TM and 7 ETM+ before
    /// Collection 1): ρ = π L d² / (ESUN sin(sun elevation)), L = RADIANCE_MULT · DN + RADIANCE_ADD, d from the
    /// MTL's EARTH_SUN_DISTANCE or the acquisition date. Without `sunCorrected` the sine is left out, as
    /// REFLECTANCE_MULT/ADD leave it out.
    public func reflectanceFromRadiance(band: String, sunCorrected: Bool) throws(MTLError) -> (scale: Double, offset: Double) {
        let mult = try mtl.number("RADIANCE_MULT_BAND_\(band)", purpose: "the radiance scale of band \(band)")
        let add = try mtl.number("RADIANCE_ADD_BAND_\(band)", purpose: "the radiance offset of band \(band)")
        try requirePositiveScale(mult, key: "RADIANCE_MULT_BAND_\(band)", group: nil)
        guard let esun = Self.esun[spacecraft]?[band] else {
            throw MTLError(file: mtl.file, line: mtl.lines["RADIANCE_MULT_BAND_\(band)"],
                           "no REFLECTANCE_MULT_BAND_\(band), and band \(band) of \(spacecraft) has no solar irradiance (ESUN) to derive reflectance from radiance")
        }
        let distance: Double
        if let given = mtl["EARTH_SUN_DISTANCE"].flatMap(Double.init), given > 0.9, given < 1.1 {
            distance = given
        } else if let day = Self.dayOfYear(acquisitionDate) {
            distance = Self.earthSunDistance(dayOfYear: day)
        } else {
            throw MTLError(file: mtl.file, line: mtl.lines["DATE_ACQUIRED"], "DATE_ACQUIRED '\(acquisitionDate)' is not a date (needed for the Earth-Sun distance)")
        }
        var factor = Double.pi * distance * distance / esun
        if sunCorrected {
            guard let elevation = sunElevation, elevation > 0, elevation <= 90 else {
                throw MTLError(file: mtl.file, line: mtl.lines["SUN_ELEVATION"],
                               "SUN_ELEVATION is missing or not in (0, 90] (needed for reflectance from radiance)")
            }
            factor /= sin(elevation * .pi / 180)
        }
        return (mult * factor, add * factor)
    }

    /// The file of a band: the MTL's FILE_NAME_BAND_n when it exists beside the MTL, else `PREFIX` + `Bn.TIF`
    /// where PREFIX is the MTL's name before `MTL` (renamed copies such as `l8_MTL.txt` + `l8_B4.tif`).
    public func file(band: String, directory: URL) throws(MTLError) -> String {
        try file(band: band) { name in
            let path = directory.appendingPathComponent(name).path
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
    }

    /// The file of a band among the product's members (a folder, or a tar read in place): `locate` gives the path
    /// of a member by name, or nil when there is none.
    public func file(band: String, locate: (String) -> String?) throws(MTLError) -> String {
        var candidates: [String] = []
        let key = band == "QA" ? (collection == 2 ? "FILE_NAME_QUALITY_L1_PIXEL" : "FILE_NAME_BAND_QUALITY") : "FILE_NAME_BAND_\(band)"
        if let name = mtl[key] {
            // The product's files lie beside its MTL: a name with a folder in it (`../../x.TIF`) leads elsewhere.
            guard !name.contains("/"), !name.contains("\\"), name != "..", name != "." else {
                throw MTLError(file: mtl.file, line: mtl.lines[key], "\(key) '\(name.count > 200 ? name.prefix(197) + "..." : name)' is not a file name beside the MTL (it names a folder); refused")
            }
            candidates.append(name)
        }
        let prefix = mtl.file.range(of: "MTL", options: .backwards).map { String(mtl.file[..<$0.lowerBound]) } ?? ""
        let suffix = band == "QA" ? (collection == 2 ? "QA_PIXEL" : "BQA") : (isLevel2 ? "SR_B\(band)" : "B\(band)")
        candidates += [prefix + suffix + ".TIF", prefix + suffix + ".tif"]
        for name in candidates {
            if let path = locate(name) { return path }
        }
        throw MTLError(file: mtl.file, line: mtl.lines[key],
                       "the file of band \(band) is not beside the MTL (looked for \(candidates.joined(separator: ", ")))")
    }
}
