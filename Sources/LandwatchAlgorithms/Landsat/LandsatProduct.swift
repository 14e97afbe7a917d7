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
        let mult = try mtl.number("REFLECTANCE_MULT_BAND_\(band)", purpose: "the reflectance scale of band \(band)", group: group)
        let add = try mtl.number("REFLECTANCE_ADD_BAND_\(band)", purpose: "the reflectance offset of band \(band)", group: group)
        guard sunCorrected, !isLevel2 else { return (mult, add) }
        guard let elevation = sunElevation, elevation > 0, elevation <= 90 else {
            throw MTLError(file: mtl.file, line: mtl.lines["SUN_ELEVATION"],
                           "SUN_ELEVATION is missing or not in (0, 90] (needed for the sun-angle correction)")
        }
        let sine = sin(elevation * .pi / 180)
        return (mult / sine, add / sine)
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
        if let name = mtl[key] { candidates.append(name) }
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
