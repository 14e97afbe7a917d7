import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// The options and inputs of the green-access analysis, declared once: `renewal.green_access` and
/// `renewal.candidates` both take them.
public enum GreenAccessOptions {
    public enum GreenSource: String, OptionChoice {
        case both, classes, zoning
    }

    public static let radius = Option<Double>(
        "radius", default: 300, range: 0...100_000, excludesLowerBound: true,
        help: "service radius in metres of green space (straight line between pixel centres: GDAL's proximity)")
    public static let minArea = Option<Double>(
        "min_area", default: 400, range: 0...1e9, help: "smallest green space in m² that serves within radius")
    public static let target = Option<Double>(
        "target", default: 0.9, range: 0...1, help: "coverage of the first level below which a zone is highlighted (0-1)")
    public static let parkRadius = Option<Double>(
        "park_radius", default: 500, range: 0...100_000, excludesLowerBound: true, help: "service radius in metres of a park")
    public static let parkMinArea = Option<Double>(
        "park_min_area", default: 10_000, range: 0...1e9, help: "smallest park in m² (1 ha)")
    public static let parkTarget = Option<Double>(
        "park_target", default: 0.9, range: 0...1, help: "coverage of the park level below which a zone is highlighted (0-1)")
    public static let green = Option<GreenSource>(
        "green", default: .both,
        help: "green space from the zoning layer's green codes, the vegetated classes, or both (the classes alone without zoning)")
    public static let greenClasses = Option<OptionList>(
        "green_classes", default: OptionList(["forest", "grassland"]), help: "classes counted as green space")
    public static let greenCodes = Option<OptionList>(
        "green_codes", default: OptionList(["1401", "1403"]),
        help: "planned-use codes (or prefixes) of public green space in the zoning layer (1401 parks, 1403 squares)")
    public static let residentialClasses = Option<OptionList>(
        "residential_classes", default: OptionList(["built-up"]), help: "classes that hold residential buildings")
    public static let residentialCodes = Option<OptionList>(
        "residential_codes", default: OptionList(["07"]),
        help: "planned-use codes (or prefixes) of residential land (07): with zoning, only residential classes inside them count")

    public static let keys: [any OptionKey] = [radius, minArea, target, parkRadius, parkMinArea, parkTarget, green, greenClasses,
                                               greenCodes, residentialClasses, residentialCodes]

    public static var inputs: [InputPort] {
        [
            InputPort("zoning", kinds: [.plan], help: "zoning (read.plan role zoning): green and residential codes", optional: true),
            InputPort("green_space", kinds: [.plan, .mask, .classes],
                      help: "public green space (a parks layer through read.plan or read.vector: non-zero inside), added to the green",
                      optional: true),
            InputPort("zones", kinds: [.plan], help: "districts or planning units (default: the whole scene)", optional: true),
            InputPort("population", kinds: [.index, .scene],
                      help: "people per pixel on the run grid (band 1); served share of people instead of residential area", optional: true),
        ]
    }

    static func settings(_ options: StageOptions) throws(StageProblem) -> GreenAccessSettings {
        let source = options[green]
        let greenCodes = options[greenCodes].items
        let residential = try classCodes(options[residentialClasses], option: residentialClasses.name, legend: options.legend,
                                         what: "residential")
        let greenSet = try classCodes(options[greenClasses], option: greenClasses.name, legend: options.legend, what: "green")
        return GreenAccessSettings(
            levels: [ServiceLevel(name: "green", radius: options[radius], minArea: options[minArea], target: options[target]),
                     ServiceLevel(name: "park", radius: options[parkRadius], minArea: options[parkMinArea], target: options[parkTarget])],
            greenClasses: greenSet, greenFromClasses: source != .zoning, greenFromZoning: source != .classes,
            greenCodes: greenCodes, residentialClasses: residential, residentialCodes: options[residentialCodes].items)
    }

    static func check(inputs: [ProductDescription], source: GreenSource, stage: String) throws(StageProblem) {
        let ports = connectedPorts(inputs)
        if source == .zoning && !ports.contains("zoning") {
            throw StageProblem(option: green.name, "green: zoning needs input 'zoning'")
        }
        if let population = inputs.first(where: { $0.port == "population" }), population.bandNames.count != 1 {
            throw StageProblem("input 'population' has \(population.bandNames.count) bands (\(population.bandNames.joined(separator: ", "))): "
                               + "give a one-band raster of people per pixel")
        }
    }

    static func analysis(settings: GreenAccessSettings, inputs: [MaterializedRaster], classesPort: String = "classes") -> GreenAccessAnalysis {
        GreenAccessAnalysis(settings: settings, classes: input(inputs, classesPort)!, zoning: input(inputs, "zoning"),
                            greenSpace: input(inputs, "green_space"), zones: input(inputs, "zones"), population: input(inputs, "population"))
    }
}

/// What `renewal.green_access` writes as `access.json`: per zone and level, the residential area (or people) and
/// the share served.
public struct GreenAccessResult: RenewalProduct, Equatable {
    public static let currentVersion = 1

    public struct Coverage: Codable, Sendable, Equatable {
        public var level: String
        public var servedPixels: Int
        public var served: Double
        /// Served share (0–1), nil without residents.
        public var coverage: Double?
        public var belowTarget: Bool
    }

    public struct Zone: Codable, Sendable, Equatable {
        public var code: String
        public var name: String
        public var residentialPixels: Int
        public var residentialM2: Double
        /// People (with a population raster) or residential m².
        public var residents: Double
        public var levels: [Coverage]
    }

    public var version: Int
    /// `residential area (m²)` or `people`.
    public var measure: String
    public var distance: String
    public var levels: [ServiceLevel]
    public var greenPatches: Int
    public var qualifyingPatches: [Int]
    public var pixelAreaM2: Double
    public var zones: [Zone]
    public var scene: Zone

    init(result: GreenAccessAnalysis.Result, settings: GreenAccessSettings, names: ZoneNames, population: Bool, pixelArea: Double) {
        version = Self.currentVersion
        measure = population ? "people" : "residential area (m²)"
        distance = "straight line between pixel centres (GDAL proximity), as the standard's service radius; not a walking distance"
        levels = settings.levels
        greenPatches = result.greenPatches
        qualifyingPatches = result.qualifyingPatches
        pixelAreaM2 = pixelArea
        func zone(_ code: String, _ name: String, _ sum: GreenAccessAnalysis.ZoneSum?) -> Zone {
            let pixels = sum?.pixels ?? 0
            let residents = population ? (sum?.weight ?? 0) : Double(pixels) * pixelArea
            let levels = settings.levels.enumerated().map { index, level -> Coverage in
                let servedPixels = sum?.servedPixels[index] ?? 0
                let served = population ? (sum?.served[index] ?? 0) : Double(servedPixels) * pixelArea
                let coverage = residents > 0 ? served / residents : nil
                return Coverage(level: level.name, servedPixels: servedPixels, served: rounded(served, 2),
                                coverage: coverage.map { rounded($0, 6) }, belowTarget: coverage.map { $0 < level.target } ?? false)
            }
            return Zone(code: code, name: name, residentialPixels: pixels, residentialM2: rounded(Double(pixels) * pixelArea, 1),
                        residents: rounded(residents, 2), levels: levels)
        }
        if let table = names.table {
            zones = table.features.indices.map { index in zone(table.features[index].id, table.features[index].name, result.zones[index + 1]) }
        } else {
            zones = [zone("scene", "whole scene", result.zones[0])]
        }
        scene = zone("scene", "whole scene", result.scene)
    }

    func rows() -> [[String]] {
        var header = ["zone", "name", "residential_pixels", "residential_m2", population ? "people" : "residents_m2"]
        for level in levels {
            header += ["\(level.name)_radius_m", "\(level.name)_min_area_m2", "\(level.name)_served", "\(level.name)_coverage_percent",
                       "\(level.name)_below_target"]
        }
        return [header] + (zones + [scene]).map { z in
            var row = [z.code, z.name, String(z.residentialPixels), fixed(z.residentialM2, 1), fixed(z.residents, 2)]
            for (level, c) in zip(levels, z.levels) {
                row += [fixed(level.radius, 0), fixed(level.minArea, 0), fixed(c.served, 2), fixed(c.coverage.map { $0 * 100 }, 2),
                        c.belowTarget ? "yes" : "no"]
            }
            return row
        }
    }

    private var population: Bool { measure == "people" }
}

/// `renewal.green_access`: the share of residential built-up area (or of people) within the service radius of
/// public green space, per zone, at two levels (300 m of green ≥ 400 m², 500 m of a park ≥ 1 ha).
public struct GreenAccessStage: WholeSinkStage {
    public static let path = Option<String>("path", .outputPath, default: "green_access", help: "output folder: access.csv, access.json")

    public static let descriptor = StageDescriptor(
        id: "renewal.green_access",
        summary: "Green-space service coverage per zone: residential area (or people) within radius of green of min_area, two levels",
        evaluation: .wholeRaster,
        inputs: [InputPort("classes", kinds: [.classes, .scene],
                           help: "land cover: residential and green classes (a one-band raster of legend codes will do)")]
            + GreenAccessOptions.inputs,
        output: nil,
        keys: [path] + GreenAccessOptions.keys)

    public let path: String
    public let settings: GreenAccessSettings
    let source: GreenAccessOptions.GreenSource

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        settings = try GreenAccessOptions.settings(options)
        source = options[GreenAccessOptions.green]
    }

    public var outputPaths: [String] { [path] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        if let classes = inputs.first(where: { $0.port == "classes" }), classes.kind == .scene, classes.bandNames.count != 1 {
            throw StageProblem("input 'classes' is a scene of \(classes.bandNames.count) bands (\(classes.bandNames.joined(separator: ", "))): "
                               + "give a classification or a one-band raster of legend codes")
        }
        try GreenAccessOptions.check(inputs: inputs, source: source, stage: Self.descriptor.id)
    }

    /// Memory (docs/renewal.md): GDAL's block cache is a quarter of the budget and must hold the proximity's row of
    /// mask and distance tiles (5 bytes a pixel of a tile row); beside it the proximity's own rows (16 bytes a column)
    /// and strips of rows (4 bytes × 10 rasters a pixel) in half of what is left; refused below two rows of tiles.
    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        let analysis = GreenAccessOptions.analysis(settings: settings, inputs: inputs)
        let result = try analysis.run(grid: grid, context: context, stage: Self.descriptor.id)
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let report = GreenAccessResult(result: result, settings: settings,
                                       names: ZoneNames(table: input(inputs, "zones")?.description.featureTables.values.first),
                                       population: analysis.population != nil, pixelArea: pixelArea)
        let folder = try AtomicDirectory(target: context.outputRoot.resolve(path))
        do {
            try csvData(report.rows()).write(to: URL(fileURLWithPath: try folder.path("access.csv")))
            try encodeJSON(report).write(to: URL(fileURLWithPath: try folder.path("access.json")))
            try folder.commit()
        } catch {
            folder.abort()
            throw error
        }
        for level in report.scene.levels {
            context.findings?.set("\(level.level)_coverage", level.coverage ?? -1)
        }
        return ["\(path)/access.csv", "\(path)/access.json"]
    }
}
