import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSensors

/// `read.scene`: one multi-band raster, or one file per band, with named bands and DN-to-value scaling.
public struct ReadSceneStage: SourceStage {
    public static let path = Option<String?>(
        "path", .inputPath,
        help: "multi-band raster whose bands the band map numbers (leave out when every band has its own file); with sensor sentinel2-*: a SAFE folder or its MTD xml")
    public static let sensor = Option<SensorPreset?>(
        "sensor", help: "the product's sensor: band order, wavelengths and scaling come from its preset (landwatch stages --json lists them)")
    public static let bandNames = Option<OptionList>(
        "band_names", default: OptionList(["blue", "green", "red", "nir", "swir1", "swir2"]),
        help: "with 'sensor': the bands to read, by name (those the sensor lacks are skipped)")
    public static let bandMap = Option<[BandMapEntry]?>(
        "bands", help: "band names to band numbers of 'path' ({red: 4, nir: 5}) or to files ({red: b4.tif}); with 'sensor' it overrides the preset's band order")
    public static let gain = Option<NumberOrBandMap?>(
        "gain",
        help: "value = stored number x gain + offset: one gain for every band or one per band ({red: 2.0e-5, nir: 2.1e-5}); default 1, or the sensor's: Landsat C1/C2 L1 2.0e-5, C2 L2 2.75e-5, Sentinel-2 1e-4 (Float rasters are taken as reflectance already); Gaofen: the radiance gains")
    public static let scale = Option<Double?>("scale", help: "the former name of 'gain' (one value for every band); give one of the two")
    public static let offset = Option<NumberOrBandMap?>(
        "offset",
        help: "value = stored number x gain + offset: one offset for every band or one per band; default 0, or the sensor's: Landsat L1 -0.1, C2 L2 -0.2; Sentinel-2 SAFE: from the metadata; Gaofen: the radiance biases")
    public static let values = Option<BandRadiometry.Values?>(
        "values",
        help: "what the numbers are after gain and offset: dn (digital numbers), toa (top-of-atmosphere reflectance) or sr (surface reflectance); default: the sensor's, digital numbers for integer data without gain or offset, else what the data shows. Stages that need reflectance (classify.rules) refuse digital numbers; a statement the data contradicts is refused")
    public static let gains = Option<OptionList?>(
        "gains",
        help: "Gaofen: the year's calibration gains, one per band of the sensor in its order (radiance = DN x gain + bias); or give 'gain' by band name")
    public static let biases = Option<OptionList?>(
        "biases", help: "Gaofen: calibration biases, one per band (default 0); or give 'offset' by band name")
    public static let esun = Option<OptionList?>(
        "esun", help: "Gaofen: exo-atmospheric solar irradiance (W/m2/um), one per band: with it values are TOA reflectance, without it radiance")
    public static let dem = Option<String?>(
        "dem", .inputPath,
        help: "a raster placed only by RPCs (Gaofen Level-1A) is orthorectified with GDAL's RPC transformer; this DEM (heights above the ellipsoid) gives the terrain")
    public static let sunElevation = Option<Double?>(
        "sun_elevation", range: 0...90, excludesLowerBound: true,
        help: "Gaofen: sun elevation in degrees (default: from the product XML beside the image, SolarZenith)")
    public static let noData = Option<Double?>("nodata", help: "stored number meaning no data (default: the file's own nodata)")
    public static let resampling = Option<Resampling>(
        "resampling", default: .bilinear, help: "how pixels are sampled when the raster is warped onto the run grid")
    public static let date = Option<String?>("date", help: "acquisition date (YYYY-MM-DD), carried into violation lists and reports")

    public static let descriptor = StageDescriptor(
        id: "read.scene",
        summary: "Read imagery: a multi-band raster or one file per band, with named bands and scaling",
        evaluation: .source,
        output: .scene,
        keys: [path, sensor, bandNames, bandMap, gain, scale, offset, values, gains, biases, esun, dem, sunElevation, noData,
               resampling, date])

    public let path: String?
    public let bands: [BandMapEntry]
    /// The gain and offset of every band not given its own in `bandGains` / `bandOffsets`.
    public let scale: Double
    public let offset: Double
    /// Gains and offsets by band name, from band maps in the file.
    let bandGains: [String: Double]
    let bandOffsets: [String: Double]
    /// What the numbers are after scaling, when the file states it.
    public let values: BandRadiometry.Values?
    public let noData: Double?
    public let resampling: Resampling
    public let date: String?

    public let sensor: SensorPreset?
    /// The DEM for orthorectifying an RPC-only raster.
    public let dem: String?
    /// The SAFE product, when `path` is one.
    public let sentinel2: Sentinel2Product?
    /// Per band of `bands`: the calibration that turns its stored numbers into values, when the sensor dictates it.
    let calibration: [(scale: Double, offset: Double)]?
    /// True when `scale` and `offset` come from the file rather than a preset.
    let scalingIsExplicit: Bool
    /// What the sensor's product holds after the scaling used (nil: not known from the product).
    let productValues: BandRadiometry.Values?

    public init(options: StageOptions) throws(StageProblem) {
        var date = options[Self.date]
        if let date, !AcquisitionDate.isValid(date) {
            throw StageProblem(option: Self.date, "'\(date)' is not a date written YYYY-MM-DD")
        }
        path = options[Self.path]
        dem = options[Self.dem]
        let sensor = options[Self.sensor]
        self.sensor = sensor
        // Gaofen's calibration options do nothing on another scene: each one given is an error, all reported.
        if !(sensor?.isGaofen ?? false) {
            let scene = sensor.map { "sensor \($0.id)" } ?? "a scene read without a Gaofen 'sensor'"
            let gaofen = SensorPreset.all.filter(\.isGaofen).map(\.id).joined(separator: ", ")
            let problems = [Self.gains.name, Self.biases.name, Self.esun.name, Self.sunElevation.name].filter { options.isSet($0) }.map { name in
                StageProblem(option: name, "'\(name)' applies only to Gaofen scenes (sensor \(gaofen)); this is \(scene)"
                             + (name == Self.gains.name || name == Self.biases.name ? ": use 'gain' and 'offset' for its scaling" : ": remove it"))
            }
            if var first = problems.first {
                first.others = Array(problems.dropFirst())
                throw first
            }
        }
        if options.isSet(Self.scale) && options.isSet(Self.gain) {
            throw StageProblem(option: Self.scale, "give the gain once: 'gain' (one value or one per band) or its former name 'scale', not both")
        }
        scalingIsExplicit = options.isSet(Self.scale) || options.isSet(Self.gain) || options.isSet(Self.offset)
        scale = options[Self.gain]?.number ?? options[Self.scale] ?? sensor?.scale ?? 1
        offset = options[Self.offset]?.number ?? sensor?.offset ?? 0
        let gainMap = options[Self.gain]?.bands ?? [], offsetMap = options[Self.offset]?.bands ?? []
        bandGains = Dictionary(gainMap.map { ($0.band, $0.value) }, uniquingKeysWith: { first, _ in first })
        bandOffsets = Dictionary(offsetMap.map { ($0.band, $0.value) }, uniquingKeysWith: { first, _ in first })
        values = options[Self.values]
        noData = options[Self.noData]
        resampling = options[Self.resampling]
        var bands = options[Self.bandMap] ?? []
        var sentinel2: Sentinel2Product?
        var calibration: [(scale: Double, offset: Double)]?
        if let sensor {
            let filesGiven = !bands.isEmpty && bands.allSatisfy { $0.path != nil }
            guard let path = path ?? (filesGiven ? bands[0].path : nil) else {
                throw StageProblem(option: Self.path, "sensor \(sensor.id) reads one product: give its 'path' (or a file per band in 'bands')")
            }
            let wanted = options[Self.bandNames].items
            let bandNamesLocation = options.location(of: Self.bandNames) ?? SourceLocation(file: "", line: 0, column: 0)
            var isDirectory: ObjCBool = false
            let isFolder = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            if sensor.isSentinel2 && (isFolder || path.lowercased().hasSuffix(".xml") || path.lowercased().hasSuffix(".zip")) {
                let product = try Sentinel2Product(path: path)
                let expected: Sentinel2Product.Level = sensor.id == "sentinel2-l2a" ? .l2a : .l1c
                if product.level != expected {
                    throw StageProblem(option: Self.sensor, "sensor \(sensor.id) does not match \(product.metadataPath), a \(product.level.rawValue) product")
                }
                sentinel2 = product
                if date == nil { date = product.date }
                if bands.isEmpty {
                    var entries: [BandMapEntry] = []
                    var scalings: [(scale: Double, offset: Double)] = []
                    for name in wanted {
                        guard let id = SensorPreset.msi.first(where: { $0.name == name })?.id, sensor.band(named: name) != nil else { continue }
                        entries.append(BandMapEntry(name: name, band: 1, path: try product.file(for: id), location: bandNamesLocation))
                        scalings.append(product.scaling(for: id))
                    }
                    bands = entries
                    calibration = scalingIsExplicit ? nil : scalings
                }
            } else if bands.isEmpty {
                bands = wanted.compactMap { name in
                    sensor.band(named: name).map { BandMapEntry(name: name, band: $0.number, path: nil, location: bandNamesLocation) }
                }
            }
            if bands.isEmpty {
                throw StageProblem(option: Self.bandNames, "none of \(wanted.joined(separator: ", ")) is a band of \(sensor.id) (its bands: \(sensor.bands.map(\.name).joined(separator: ", ")))")
            }
            if sensor.isGaofen {
                if options.isSet(Self.gains) && (options.isSet(Self.gain) || options.isSet(Self.scale)) {
                    throw StageProblem(option: Self.gain, "give the Gaofen gains once: 'gains' (one per band of the sensor, in its order) or 'gain' (by band name), not both")
                }
                if options.isSet(Self.biases) && options.isSet(Self.offset) {
                    throw StageProblem(option: Self.offset, "give the Gaofen biases once: 'biases' (one per band of the sensor, in its order) or 'offset' (by band name), not both")
                }
                let (scale, offset, gains, offsets) = (self.scale, self.offset, bandGains, bandOffsets)
                calibration = try Self.gaofenCalibration(options: options, sensor: sensor, bands: bands, path: path, date: &date,
                                                         namedGains: options.isSet(Self.gain) || options.isSet(Self.scale) ? { gains[$0] ?? scale } : nil,
                                                         namedBiases: options.isSet(Self.offset) ? { offsets[$0] ?? offset } : nil)
            }
        }
        self.date = date
        self.bands = bands
        self.sentinel2 = sentinel2
        switch (sensor?.values, sensor?.isGaofen ?? false) {
        case (nil, _): productValues = nil
        // Gaofen: reflectance with esun, radiance with gains only.
        case (_, true): productValues = options.isSet(Self.esun) ? .toa : nil
        case _ where scalingIsExplicit: productValues = nil
        case (.surfaceReflectance?, _): productValues = .sr
        case (.topOfAtmosphere?, _): productValues = .toa
        case (.digitalNumbers?, _): productValues = .dn
        }
        self.calibration = calibration
        if path == nil, let numbered = bands.first(where: { $0.band != nil }) {
            throw StageProblem(option: Self.bandMap,
                               "band '\(numbered.name)' is band number \(numbered.band!), which needs 'path' (the multi-band raster it is a band of)")
        }
        var seen = Set<String>()
        for entry in bands where !seen.insert(entry.name).inserted {
            throw StageProblem(option: Self.bandMap, "band name '\(entry.name)' is given twice")
        }
        // A band map of gains or offsets names every band, and only bands of this scene.
        for (option, map) in [(Self.gain.name, gainMap), (Self.offset.name, offsetMap)] where !map.isEmpty {
            for entry in map where !seen.contains(entry.band) {
                throw StageProblem(option: option, "'\(entry.band)' is not a band of this scene (its bands: \(bands.map(\.name).joined(separator: ", ")))", at: entry.location)
            }
            let missing = bands.map(\.name).filter { name in !map.contains { $0.band == name } }
            if !missing.isEmpty {
                throw StageProblem(option: option, "a map of \(option)s names every band: \(missing.joined(separator: ", ")) \(missing.count == 1 ? "has" : "have") none (or give one number for all)")
            }
        }
    }

    /// Where each named band is read from, and how its stored numbers become values.
    var bandInputs: [RasterFileSource.BandInput] {
        bands.enumerated().map { index, entry in
            let path = entry.path ?? self.path!
            var (scale, offset) = calibration?[index] ?? (bandGains[entry.name] ?? self.scale, bandOffsets[entry.name] ?? self.offset)
            // A preset's integer scaling does not apply to a Float export, which holds reflectance already.
            let floats = sensor != nil && Self.holdsFloats(path, band: entry.band ?? 1)
            if calibration == nil, sensor != nil, !scalingIsExplicit, sensor?.values != .digitalNumbers, floats {
                (scale, offset) = (1, 0)
            }
            // The preset's nodata (0) is for integer products; a Float export keeps its own.
            let presetNoData = floats ? nil : sensor?.noData
            var input = RasterFileSource.BandInput(path: path, band: entry.band ?? 1, scale: scale, offset: offset, noData: noData ?? presetNoData)
            input.rpcDEM = dem
            return input
        }
    }

    /// True when band `band` of `path` is Float32 or Float64.
    static func holdsFloats(_ path: String, band: Int) -> Bool {
        guard let dataset = try? Dataset.open(path), let handle = try? dataset.band(band) else { return false }
        return handle.dataType == .float32 || handle.dataType == .float64
    }

    /// Gaofen digital numbers to radiance (gain, bias) or, with `esun`, to TOA reflectance
    /// ρ = π (DN x gain + bias) d² / (ESUN sin(sun elevation)), per band of the sensor.
    /// `namedGains` / `namedBiases` give them by band name (the `gain` and `offset` options) instead of `gains` / `biases`.
    static func gaofenCalibration(options: StageOptions, sensor: SensorPreset, bands: [BandMapEntry], path: String,
                                  date: inout String?, namedGains: ((String) -> Double)? = nil,
                                  namedBiases: ((String) -> Double)? = nil) throws(StageProblem) -> [(scale: Double, offset: Double)] {
        func numbers(_ key: Option<OptionList?>) throws(StageProblem) -> [Double]? {
            guard let list = options[key] else { return nil }
            let name = key.name
            var values: [Double] = []
            for word in list {
                guard let value = Double(word) else { throw StageProblem(option: name, "'\(word)' is not a number") }
                values.append(value)
            }
            guard values.count == sensor.bands.count else {
                throw StageProblem(option: name, "give \(sensor.bands.count) values, one per band of \(sensor.id) (\(sensor.bands.map(\.name).joined(separator: ", "))); \(values.count) given")
            }
            return values
        }
        // By band name (gain/offset), as lists in the sensor's band order (gains/biases).
        let listed = try numbers(Self.gains)
        let gains = listed ?? namedGains.map { named in sensor.bands.map { named($0.name) } }
        guard let gains else {
            throw StageProblem(option: Self.gains, "\(sensor.id) delivers digital numbers: give the year's calibration gains (published yearly by CRESDA), one per band: \(sensor.bands.map(\.name).joined(separator: ", "))")
        }
        let biases = try numbers(Self.biases) ?? namedBiases.map { named in sensor.bands.map { named($0.name) } } ?? Array(repeating: 0, count: gains.count)
        let esun = try numbers(Self.esun)
        var factor = 1.0
        if let esun {
            _ = esun
            let product = GaofenMetadata(imagePath: path)
            guard let elevation = options[Self.sunElevation] ?? product?.sunElevation else {
                throw StageProblem(option: Self.sunElevation, "TOA reflectance needs the sun elevation: give 'sun_elevation' (no product XML with SolarZenith beside \(path))")
            }
            if date == nil { date = product?.date }
            guard let day = date.flatMap(Self.dayOfYear) else {
                throw StageProblem(option: Self.date, "TOA reflectance needs the acquisition date for the Earth-Sun distance: give 'date' (no product XML with a date beside \(path))")
            }
            let distance = 1 - 0.01672 * cos(0.9856 * Double(day - 4) * .pi / 180)
            factor = Double.pi * distance * distance / sin(elevation * .pi / 180)
        }
        var calibration: [(scale: Double, offset: Double)] = []
        for entry in bands {
            // A band of the stack by its number; a band in a file of its own by its name.
            guard let index = (entry.path == nil ? sensor.bands.firstIndex { $0.number == entry.band } : nil)
                ?? sensor.bands.firstIndex(where: { $0.name == entry.name }) else {
                throw StageProblem(option: Self.bandMap, "band '\(entry.name)' is not a band of \(sensor.id) (\(sensor.bands.map(\.name).joined(separator: ", "))), so it has no gain", at: entry.location)
            }
            let k = esun.map { factor / $0[index] } ?? 1
            calibration.append((gains[index] * k, biases[index] * k))
        }
        return calibration
    }

    /// Day of the year (1 = January 1st) of a YYYY-MM-DD date.
    static func dayOfYear(_ date: String) -> Int? {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        guard let parsed = formatter.date(from: date) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.ordinality(of: .day, in: .year, for: parsed)
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        if let sensor, sentinel2 == nil, let path, bands.allSatisfy({ $0.path == nil }) {
            let dataset: Dataset
            do { dataset = try Dataset.open(path) } catch { throw StageProblem(option: Self.path, error.description) }
            if dataset.bandCount != sensor.bands.count {
                throw StageProblem(option: Self.sensor,
                                   "sensor \(sensor.id) delivers \(sensor.bands.count) band\(sensor.bands.count == 1 ? "" : "s") (\(sensor.bands.map(\.name).joined(separator: ", "))), but \(path) has \(dataset.bandCount)")
            }
        }
        var reference: (path: String, grid: RasterGrid)?
        var radiometry: [String: BandRadiometry] = [:]
        for (entry, input) in zip(bands, bandInputs) {
            let option = entry.path == nil ? "path" : "bands"
            let dataset: Dataset
            do { dataset = try Dataset.open(input.path) } catch {
                throw StageProblem(option: option, error.description)
            }
            let lower = input.path.lowercased()
            if lower.hasSuffix(".tif") || lower.hasSuffix(".tiff"), dataset.driverName != "GTiff", dataset.driverName != "COG" {
                throw StageProblem(option: option, "\(input.path) is named .tif but holds a \(dataset.driverName) file, not a GeoTIFF (a renamed photo or export?)")
            }
            guard input.band <= dataset.bandCount else {
                throw StageProblem(option: Self.bandMap,
                                   "band '\(entry.name)' is band \(input.band), but \(input.path) has \(dataset.bandCount) band\(dataset.bandCount == 1 ? "" : "s")")
            }
            let band: Band
            do { band = try dataset.band(input.band) } catch { throw StageProblem(option: option, error.description) }
            guard let dataType = band.dataType else {
                throw StageProblem(option: option, "band \(input.band) of \(input.path) has pixel type \(band.dataTypeName), which landwatch does not read")
            }
            let described = describeValues(dataType: dataType, input: input)
            if let problem = RadiometryCheck.contradiction(band: entry.name, described, observation: nil) {
                let observation = described.probe.flatMap { try? RadiometryCheck.observe($0) }
                throw StageProblem(option: Self.values, RadiometryCheck.contradiction(band: entry.name, described, observation: observation ?? nil) ?? problem)
            }
            radiometry[entry.name] = described
            var grid = dataset.grid()
            if dem != nil && !dataset.usesRPC {
                throw StageProblem(option: Self.dem, "'dem' orthorectifies a raster placed only by RPCs (Gaofen Level-1A), but \(input.path) has a map grid of its own: remove it")
            }
            if dataset.usesRPC {
                // Level-1A: no map grid of its own; the one GDAL suggests for orthorectifying it (UTM of its centre).
                do { grid = try dataset.suggestedRPCGrid(rpcDEM: dem) } catch { throw StageProblem(option: option, error.description) }
            }
            // The bands of a SAFE product come at 10, 20 and 60 m: the run grid warps them onto the first band's.
            if let reference, sentinel2 == nil {
                let same = (try? grid.matches(reference.grid)) ?? false
                if !same {
                    throw StageProblem(option: Self.bandMap,
                                       "band '\(entry.name)' (\(input.path)) is on grid \(grid), but \(reference.path) is on grid \(reference.grid); the bands of one scene must share a grid")
                }
            }
            if reference == nil { reference = (input.path, grid) }
        }
        var product = ProductDescription(kind: .scene, bandNames: bands.map(\.name), nativeGrid: reference?.grid,
                                         sourcePath: path ?? reference?.path, date: date)
        product.radiometry = radiometry
        return product
    }

    /// What a band's numbers are after its scaling: stated (`values:`), the sensor's when its scaling is used, digital
    /// numbers for integer data without gain or offset; else unknown until the data is looked at.
    func describeValues(dataType: DataType, input: RasterFileSource.BandInput) -> BandRadiometry {
        let unscaledIntegers = !dataType.isFloatingPoint && input.scale == 1 && input.offset == 0
        let inferred = productValues ?? (unscaledIntegers ? .dn : nil)
        let probe = RadiometryProbe(path: input.path, band: input.band, scale: input.scale, offset: input.offset, noData: input.noData)
        return BandRadiometry(values: values ?? inferred, declared: values != nil, unscaledIntegers: unscaledIntegers,
                              dataType: dataType.rawValue, probe: probe)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        // A stated `values:` is checked against a reduced read of each band at run start.
        if let values {
            for (entry, input) in zip(bands, bandInputs) {
                let band = try Dataset.open(input.path).band(input.band)
                let described = describeValues(dataType: band.dataType ?? .float32, input: input)
                guard let probe = described.probe, let observation = try RadiometryCheck.observe(probe) else { continue }
                if let problem = RadiometryCheck.contradiction(band: entry.name, described, observation: observation) {
                    throw RunError(.input, problem)
                }
            }
        }
        return try RasterFileSource(bands: bandInputs, onto: grid, resampling: resampling, context: context,
                                    stageID: "read-\(UUID().uuidString.prefix(8))")
    }

    /// A scene only whole-raster stages read is handed to them as a value VRT of its own files when the values allow
    /// it (integer bands on the run grid: see ``RasterFileSource/writeValueVRT(to:names:grid:blockSize:)``), instead
    /// of being streamed into a Float32 copy: the same values, no pixel written.
    public func materialize(onto grid: RasterGrid, at path: String, context: RunContext) throws -> Bool {
        guard let source = try makeSource(onto: grid, context: context) as? RasterFileSource else { return false }
        return try source.writeValueVRT(to: path, names: bands.map(\.name), grid: grid, blockSize: context.blockSize)
    }

    public func materializesWithoutStreaming(onto grid: RasterGrid) -> Bool {
        RasterFileSource.canWriteValueVRT(bands: bandInputs, onto: grid)
    }
}
