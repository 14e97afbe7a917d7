import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// What landwatch knows about a sensor's delivered product: band order, central wavelengths and the scaling from
/// stored numbers to reflectance, so that a pipeline names `sensor: landsat8-c2-l2` instead of band numbers.
public struct SensorPreset: Sendable {
    public enum Values: String, Sendable {
        /// Stored numbers scale to surface reflectance.
        case surfaceReflectance = "surface reflectance"
        /// Stored numbers scale to top-of-atmosphere reflectance.
        case topOfAtmosphere = "top-of-atmosphere reflectance"
        /// Digital numbers that need calibration gains from the pipeline file (Gaofen).
        case digitalNumbers = "digital numbers"
    }

    public struct Band: Sendable {
        public var name: String
        /// Band number in the delivered stack (from 1).
        public var number: Int
        /// Central wavelength, nanometres.
        public var wavelength: Int
    }

    public var id: String
    public var summary: String
    public var bands: [Band]
    public var scale: Double
    public var offset: Double
    public var values: Values
    /// Stored number meaning no data, when the product defines one.
    public var noData: Double?

    public func band(named name: String) -> Band? { bands.first { $0.name == name } }

    /// Landsat OLI (8/9): a stack of bands 1-7.
    static let oli: [Band] = [
        .init(name: "coastal", number: 1, wavelength: 443), .init(name: "blue", number: 2, wavelength: 482),
        .init(name: "green", number: 3, wavelength: 561), .init(name: "red", number: 4, wavelength: 655),
        .init(name: "nir", number: 5, wavelength: 865), .init(name: "swir1", number: 6, wavelength: 1609),
        .init(name: "swir2", number: 7, wavelength: 2201),
    ]
    /// Landsat TM/ETM+ (4/5/7) reflective bands 1-5 and 7, stacked in that order.
    static let tm: [Band] = [
        .init(name: "blue", number: 1, wavelength: 485), .init(name: "green", number: 2, wavelength: 560),
        .init(name: "red", number: 3, wavelength: 660), .init(name: "nir", number: 4, wavelength: 835),
        .init(name: "swir1", number: 5, wavelength: 1650), .init(name: "swir2", number: 6, wavelength: 2220),
    ]
    /// Sentinel-2 MSI bands in product order (B01 ... B12), with the names landwatch gives them.
    public static let msi: [(name: String, id: String, wavelength: Int)] = [
        ("coastal", "B01", 443), ("blue", "B02", 490), ("green", "B03", 560), ("red", "B04", 665),
        ("rededge1", "B05", 705), ("rededge2", "B06", 740), ("rededge3", "B07", 783), ("nir", "B08", 842),
        ("nir2", "B8A", 865), ("watervapour", "B09", 945), ("cirrus", "B10", 1375), ("swir1", "B11", 1610),
        ("swir2", "B12", 2190),
    ]
    /// GF-1 WFV, GF-1 PMS multispectral and GF-2 PMS multispectral: blue, green, red, NIR.
    static let gaofen4: [Band] = [
        .init(name: "blue", number: 1, wavelength: 485), .init(name: "green", number: 2, wavelength: 555),
        .init(name: "red", number: 3, wavelength: 660), .init(name: "nir", number: 4, wavelength: 830),
    ]

    public static let all: [SensorPreset] = [
        SensorPreset(id: "landsat8-c2-l2", summary: "Landsat 8 OLI Collection 2 Level-2 surface reflectance, SR_B1-SR_B7 stacked",
                     bands: oli, scale: 2.75e-5, offset: -0.2, values: .surfaceReflectance, noData: 0),
        SensorPreset(id: "landsat9-c2-l2", summary: "Landsat 9 OLI-2 Collection 2 Level-2 surface reflectance, SR_B1-SR_B7 stacked",
                     bands: oli, scale: 2.75e-5, offset: -0.2, values: .surfaceReflectance, noData: 0),
        SensorPreset(id: "landsat8-c2-l1", summary: "Landsat 8 OLI Collection 2 Level-1 digital numbers, bands 1-7 stacked (TOA reflectance without sun correction; read.landsat applies the MTL's)",
                     bands: oli, scale: 2.0e-5, offset: -0.1, values: .topOfAtmosphere, noData: 0),
        SensorPreset(id: "landsat9-c2-l1", summary: "Landsat 9 OLI-2 Collection 2 Level-1 digital numbers, bands 1-7 stacked",
                     bands: oli, scale: 2.0e-5, offset: -0.1, values: .topOfAtmosphere, noData: 0),
        SensorPreset(id: "landsat8-c1-l1", summary: "Landsat 8 OLI Collection 1 Level-1 digital numbers, bands 1-7 stacked",
                     bands: oli, scale: 2.0e-5, offset: -0.1, values: .topOfAtmosphere, noData: 0),
        SensorPreset(id: "landsat8-pre", summary: "Landsat 8 OLI pre-collection (LGN) Level-1 digital numbers, bands 1-7 stacked",
                     bands: oli, scale: 2.0e-5, offset: -0.1, values: .topOfAtmosphere, noData: 0),
        SensorPreset(id: "landsat7-c2-l2", summary: "Landsat 7 ETM+ Collection 2 Level-2 surface reflectance, SR_B1-5 and SR_B7 stacked",
                     bands: tm, scale: 2.75e-5, offset: -0.2, values: .surfaceReflectance, noData: 0),
        SensorPreset(id: "landsat5-c2-l2", summary: "Landsat 5 TM Collection 2 Level-2 surface reflectance, SR_B1-5 and SR_B7 stacked",
                     bands: tm, scale: 2.75e-5, offset: -0.2, values: .surfaceReflectance, noData: 0),
        SensorPreset(id: "sentinel2-l1c", summary: "Sentinel-2 MSI Level-1C TOA reflectance: a SAFE product (folder or MTD_MSIL1C.xml) or a 13-band stack B01-B12",
                     bands: msi.enumerated().map { .init(name: $1.name, number: $0 + 1, wavelength: $1.wavelength) },
                     scale: 1e-4, offset: 0, values: .topOfAtmosphere, noData: 0),
        SensorPreset(id: "sentinel2-l2a", summary: "Sentinel-2 MSI Level-2A surface reflectance: a SAFE product (folder or MTD_MSIL2A.xml) or a 12-band stack without B10",
                     bands: msi.filter { $0.id != "B10" }.enumerated().map { .init(name: $1.name, number: $0 + 1, wavelength: $1.wavelength) },
                     scale: 1e-4, offset: 0, values: .surfaceReflectance, noData: 0),
        SensorPreset(id: "gf1-wfv", summary: "Gaofen-1 WFV 16 m: blue, green, red, NIR digital numbers; gains from the pipeline file",
                     bands: gaofen4, scale: 1, offset: 0, values: .digitalNumbers, noData: 0),
        SensorPreset(id: "gf1-pms", summary: "Gaofen-1 PMS multispectral 8 m: blue, green, red, NIR digital numbers; gains from the pipeline file",
                     bands: gaofen4, scale: 1, offset: 0, values: .digitalNumbers, noData: 0),
        SensorPreset(id: "gf2-pms", summary: "Gaofen-2 PMS multispectral 4 m: blue, green, red, NIR digital numbers; gains from the pipeline file",
                     bands: gaofen4, scale: 1, offset: 0, values: .digitalNumbers, noData: 0),
        SensorPreset(id: "gf6-wfv", summary: "Gaofen-6 WFV 16 m: eight bands (blue, green, red, NIR, two red edge, coastal, yellow) digital numbers; gains from the pipeline file",
                     bands: [.init(name: "blue", number: 1, wavelength: 485), .init(name: "green", number: 2, wavelength: 555),
                             .init(name: "red", number: 3, wavelength: 660), .init(name: "nir", number: 4, wavelength: 830),
                             .init(name: "rededge1", number: 5, wavelength: 710), .init(name: "rededge2", number: 6, wavelength: 750),
                             .init(name: "coastal", number: 7, wavelength: 425), .init(name: "yellow", number: 8, wavelength: 610)],
                     scale: 1, offset: 0, values: .digitalNumbers, noData: 0),
    ]

    public static func named(_ id: String) -> SensorPreset? { all.first { $0.id == id } }

    public var isSentinel2: Bool { id.hasPrefix("sentinel2") }
    public var isGaofen: Bool { id.hasPrefix("gf") }
}

/// A Sentinel-2 SAFE product as delivered: the band files its MTD names, the processing baseline and the radiometric
/// offset (−1000 from baseline 04.00 on) and quantification value that turn digital numbers into reflectance.
public struct Sentinel2Product: Sendable {
    public enum Level: String, Sendable { case l1c = "Level-1C", l2a = "Level-2A" }

    /// The MTD file.
    public var metadataPath: String
    public var level: Level
    public var baseline: String
    public var quantification: Double
    /// Offsets by band id (B01 ... B12), zero before baseline 04.00.
    public var offsets: [String: Double]
    /// Band files (without `.jp2`) by band id, finest resolution first.
    public var imageFiles: [String]
    /// Acquisition date, YYYY-MM-DD.
    public var date: String

    /// Reads a SAFE folder, its MTD_MSIL1C.xml / MTD_MSIL2A.xml, or the product's zip as delivered (read in place
    /// through GDAL's /vsizip/).
    public init(path: String) throws(StageProblem) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StageProblem(option: "path", "\(path) does not exist")
        }
        let metadataPath: String
        if path.lowercased().hasSuffix(".xml") {
            metadataPath = path
        } else {
            let root = path.lowercased().hasSuffix(".zip") ? VirtualFiles.zipRoot(path) : path
            // In a zip the SAFE folder is one level down; in a folder the MTD sits at the top.
            let found = VirtualFiles.listRecursively(root)
                .filter { $0.hasSuffix("MTD_MSIL2A.xml") || $0.hasSuffix("MTD_MSIL1C.xml") }
                .min { $0.count < $1.count }
            guard let found else {
                throw StageProblem(option: "path", "\(path) holds no MTD_MSIL1C.xml or MTD_MSIL2A.xml: not a Sentinel-2 SAFE product")
            }
            metadataPath = root + "/" + found
        }
        self.metadataPath = metadataPath
        let text: String
        do { text = String(decoding: try VirtualFiles.read(metadataPath), as: UTF8.self) } catch {
            throw StageProblem(option: "path", "cannot read \(metadataPath): \(error)")
        }
        func value(_ tag: String) -> String? {
            guard let start = text.range(of: "<\(tag)"), let close = text[start.upperBound...].range(of: ">"),
                  let end = text[close.upperBound...].range(of: "</\(tag)>") else { return nil }
            return String(text[close.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func missing(_ what: String) -> StageProblem {
            StageProblem(option: "path", "\(metadataPath) lacks \(what)")
        }
        guard let levelText = value("PROCESSING_LEVEL") else { throw missing("PROCESSING_LEVEL") }
        guard let level = Level(rawValue: levelText) else {
            throw StageProblem(option: "path", "\(metadataPath) is a \(levelText) product; landwatch reads Level-1C and Level-2A")
        }
        self.level = level
        self.date = ""
        self.quantification = 1
        self.offsets = [:]
        self.imageFiles = []
        guard let baseline = value("PROCESSING_BASELINE") else { throw missing("PROCESSING_BASELINE") }
        self.baseline = baseline
        let quantificationTag = level == .l2a ? "BOA_QUANTIFICATION_VALUE" : "QUANTIFICATION_VALUE"
        guard let quantificationText = value(quantificationTag), let quantification = Double(quantificationText), quantification > 0 else {
            throw missing("a positive \(quantificationTag)")
        }
        self.quantification = quantification
        guard let start = value("PRODUCT_START_TIME"), start.count >= 10, AcquisitionDate.isValid(String(start.prefix(10))) else {
            throw missing("PRODUCT_START_TIME")
        }
        self.date = String(start.prefix(10))
        // <RADIO_ADD_OFFSET band_id="3">-1000</RADIO_ADD_OFFSET> (L1C) or <BOA_ADD_OFFSET ...> (L2A), band_id 0 = B01.
        let offsetTag = level == .l2a ? "BOA_ADD_OFFSET" : "RADIO_ADD_OFFSET"
        var offsets: [String: Double] = [:]
        let pattern = try! NSRegularExpression(pattern: "<\(offsetTag)\\s+band_id=\"(\\d+)\"[^>]*>\\s*([-+0-9.eE]+)\\s*</\(offsetTag)>")
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let id = Int(text[Range(match.range(at: 1), in: text)!])!
            guard id < SensorPreset.msi.count, let offset = Double(text[Range(match.range(at: 2), in: text)!]) else { continue }
            offsets[SensorPreset.msi[id].id] = offset
        }
        let major = Int(baseline.split(separator: ".").first ?? "") ?? 0
        if major >= 4 && offsets.isEmpty {
            throw missing("\(offsetTag) (processing baseline \(baseline) carries an offset of -1000 that the metadata must give)")
        }
        self.offsets = offsets
        let files = try! NSRegularExpression(pattern: "<IMAGE_FILE>\\s*([^<]+?)\\s*</IMAGE_FILE>")
        imageFiles = files.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
        if imageFiles.isEmpty { throw missing("IMAGE_FILE entries") }
    }

    /// The SAFE folder the MTD sits in (inside /vsizip/ for a zip).
    var folder: String {
        String(metadataPath[..<(metadataPath.lastIndex(of: "/") ?? metadataPath.startIndex)])
    }

    /// The file of a band id (`B04`, `SCL`) at its finest resolution.
    public func file(for id: String) throws(StageProblem) -> String {
        // L1C: .../T33TWM_20220101T100021_B04; L2A: .../T33TWM_20220101T100021_B04_10m.
        let matching = imageFiles.filter { $0.hasSuffix("_\(id)") || $0.range(of: "_\(id)_\\d+m$", options: .regularExpression) != nil }
        let resolution = { (name: String) -> Int in
            name.range(of: "_(\\d+)m$", options: .regularExpression).flatMap { Int(name[$0].dropFirst().dropLast()) } ?? 0
        }
        guard let best = matching.min(by: { resolution($0) < resolution($1) }) else {
            throw StageProblem(option: "path", "\(metadataPath) names no image file for band \(id)")
        }
        let path = folder + "/" + best + ".jp2"
        guard VirtualFiles.exists(path) else {
            throw StageProblem(option: "path", "\(path), band \(id) of the product, is missing")
        }
        return path
    }

    /// The Level-1C raster cloud mask (GRANULE/*/QI_DATA/MSK_CLASSI_B00.jp2, processing baseline 04.00 on).
    public func classificationMask() throws(StageProblem) -> String {
        let granules = folder + "/GRANULE"
        if let found = VirtualFiles.listRecursively(granules).sorted().first(where: { $0.hasSuffix("QI_DATA/MSK_CLASSI_B00.jp2") }) {
            return granules + "/" + found
        }
        throw StageProblem(option: "safe", "\(granules) holds no QI_DATA/MSK_CLASSI_B00.jp2 (processing baseline \(baseline)); before baseline 04.00 Level-1C cloud masks are GML vectors: read them with read.vector and mask.apply, or use read.series' spectral cloud test")
    }

    /// Reflectance = (DN + offset) / quantification, as scale and offset on the stored number.
    public func scaling(for id: String) -> (scale: Double, offset: Double) {
        (1 / quantification, (offsets[id] ?? 0) / quantification)
    }
}

/// `sensor:` names a preset by its id.
extension SensorPreset: OptionValueType {
    public static var optionType: OptionType { .choice(all.map(\.id)) }
    public init?(optionValue: OptionValue) {
        guard case .string(let id) = optionValue, let preset = SensorPreset.named(id) else { return nil }
        self = preset
    }
    public var optionValue: OptionValue? { .string(id) }
}
