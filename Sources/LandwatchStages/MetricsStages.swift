import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchProducts
import LandwatchOutputs

/// Per-zone figures streamed from block sums: the shared machinery of the `metrics.*` stages.
///
/// Every block is summed into a table of its own and merged under a lock, so blocks arrive in any order from any
/// worker and memory grows with the number of zones, never with the scene.
final class ZonalSink: BlockSink, @unchecked Sendable {  // `table` guarded by `lock`; the rest immutable
    typealias Accumulate = (_ blocks: [PixelBlock], _ ports: [String: Int], _ table: inout ZonalTable) -> Void
    typealias Report = (_ table: ZonalTable) throws -> [String]

    private let lock = NSLock()
    private var table: ZonalTable
    private let ports: [String: Int]
    private let accumulate: Accumulate
    private let report: Report

    init(inputs: [ProductDescription], valueCount: Int, accumulate: @escaping Accumulate, report: @escaping Report) {
        var ports: [String: Int] = [:]
        for (index, input) in inputs.enumerated() { if let port = input.port { ports[port] = index } }
        self.ports = ports
        self.table = ZonalTable(valueCount: valueCount)
        self.accumulate = accumulate
        self.report = report
    }

    func write(_ blocks: [PixelBlock]) throws {
        var local = ZonalTable(valueCount: table.valueCount)
        accumulate(blocks, ports, &local)
        lock.withLock { table.merge(local) }
    }

    func finish() throws -> [String] { try report(lock.withLock { table }) }

    func abort() {}
}

/// Names and areas for the zones of a run: the zones layer's feature table, the pixel area.
struct ZoneNaming {
    let table: FeatureTable?
    let pixelArea: Double

    init(zones: ProductDescription, grid: RasterGrid) {
        table = zones.featureTables.values.first
        pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
    }

    func id(_ zone: Int) -> String { table?.feature(number: zone)?.id ?? String(zone) }
    func name(_ zone: Int) -> String { table?.feature(number: zone)?.name ?? "" }
    /// The share of the zone's polygon the image covers (its pixels' area over its own area), when known.
    func coveredShare(_ zone: Int, pixels: Int) -> Double? {
        guard let area = table?.feature(number: zone)?.area, area > 0 else { return nil }
        return min(Double(pixels) * pixelArea / area, 1)
    }
}

/// Calls `body(index, statistics)` for every pixel of the block's window that lies in a zone (zone number >= 1),
/// with that zone's statistics to add to. A zone's entry is fetched from the table only when the zone changes along
/// the rows (a few times a row), not per pixel.
@inline(__always)
func forEachZonePixel(_ zones: PixelBlock, table: inout ZonalTable, _ body: (Int, inout ZoneStatistics) -> Void) {
    var currentZone = 0
    var current = ZoneStatistics(valueCount: table.valueCount)
    zones.bands[0].withUnsafeBufferPointer { zone in
        for row in 0..<zones.window.height {
            let start = row * zones.stride
            for i in start..<(start + zones.window.width) {
                let z = zone[i]
                guard z.isFinite, z >= 1 else { continue }
                let number = Int(z)
                if number != currentZone {
                    if currentZone != 0 { table[currentZone] = current }
                    currentZone = number
                    // Taken out of the table, so that adding to it does not copy its dictionaries.
                    current = table.take(number)
                }
                body(i, &current)
            }
        }
    }
    if currentZone != 0 { table[currentZone] = current }
}

/// Text for CSV: numbers with fixed decimals, empty for unknown.
func csvNumber(_ value: Double?, _ digits: Int = 4) -> String {
    guard let value, value.isFinite else { return "" }
    return String(format: "%.\(digits)f", value)
}

/// Writes rows (first row the header) as CSV with a byte-order mark, for Excel.
func csvText(_ rows: [[String]]) -> Data {
    Data(("\u{FEFF}" + rows.map { $0.map(ViolationTable.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n").utf8)
}

func jsonData(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
}

func jsonNumber(_ value: Double?, _ digits: Int = 4) -> Any {
    guard let value, value.isFinite else { return NSNull() }
    let factor = pow(10.0, Double(digits))
    return (value * factor).rounded() / factor
}

// MARK: - metrics.zonal

/// `metrics.zonal`: per zone, pixel counts and area per class, the share of pixels with a class (clouds and nodata
/// excluded and reported), and mean, minimum, maximum and standard deviation of each band of a value raster.
public struct ZonalStatisticsStage: SinkStage {
    public static let descriptor = StageDescriptor(
        id: "metrics.zonal",
        summary: "Zonal statistics, streamed: class areas and value statistics per district or planning unit",
        evaluation: .sink,
        inputs: [
            InputPort("zones", kinds: [.plan], help: "districts or planning units (read.plan role zones)"),
            InputPort("classes", kinds: [.classes, .scene], help: "land cover (pixels without a class count as cloud or nodata); a one-band raster of legend codes will do", optional: true),
            InputPort("values", kinds: [.index, .scene], help: "value rasters: each band gets mean, min, max and std per zone", optional: true),
        ],
        output: nil,
        keys: [path])

    public static let path = Option<String>("path", .outputPath, default: "zonal", help: "output name: NAME.csv and NAME.json")

    public let path: String
    public let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        legend = options.legend
    }

    public var outputPaths: [String] { ["\(path).csv", "\(path).json"] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        if inputs.count < 2 { throw StageProblem("connect 'classes', 'values' or both: there is nothing to sum per zone") }
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        let naming = ZoneNaming(zones: inputs.first { $0.port == "zones" }!, grid: grid)
        let valueNames = inputs.first { $0.port == "values" }?.bandNames ?? []
        let legend = self.legend, path = self.path, root = context.outputRoot
        return ZonalSink(inputs: inputs, valueCount: valueNames.count, accumulate: { blocks, ports, table in
            let zones = blocks[ports["zones"]!]
            let classes = ports["classes"].map { blocks[$0] }, values = ports["values"].map { blocks[$0] }
            forEachZonePixel(zones, table: &table) { i, statistics in
                statistics.pixels += 1
                if let classes {
                    let c = classes.bands[0][i]
                    if c.isFinite, c > 0 {
                        statistics.classified += 1
                        statistics.classCounts[Int(c), default: 0] += 1
                    }
                }
                if let values {
                    for band in 0..<values.bands.count where values.bands[band][i].isFinite {
                        statistics.values[band].add(Double(values.bands[band][i]))
                    }
                }
            }
        }, report: { table in
            let zones = table.zones.keys.sorted()
            var header = ["zone", "name", "pixels", "area_km2", "covered_share"]
            if ports(inputs).contains("classes") {
                header += ["classified_share", "cloud_or_nodata_share"] + legend.classes.map { "\($0.name)_km2" }
            }
            for name in valueNames { header += ["\(name)_mean", "\(name)_min", "\(name)_max", "\(name)_std", "\(name)_valid_share"] }
            var rows = [header]
            var objects: [[String: Any]] = []
            for zone in zones {
                let s = table.zones[zone]!
                let covered = naming.coveredShare(zone, pixels: s.pixels)
                var row = [naming.id(zone), naming.name(zone), String(s.pixels), csvNumber(Double(s.pixels) * naming.pixelArea / 1e6), csvNumber(covered)]
                var object: [String: Any] = ["zone": naming.id(zone), "name": naming.name(zone), "pixels": s.pixels,
                                             "area_km2": jsonNumber(Double(s.pixels) * naming.pixelArea / 1e6), "covered_share": jsonNumber(covered)]
                if ports(inputs).contains("classes") {
                    let share = Double(s.classified) / Double(max(s.pixels, 1))
                    row += [csvNumber(share), csvNumber(1 - share)]
                    object["classified_share"] = jsonNumber(share)
                    var areas: [String: Any] = [:]
                    for legendClass in legend.classes {
                        let km2 = Double(s.classCounts[legendClass.code] ?? 0) * naming.pixelArea / 1e6
                        row.append(csvNumber(km2))
                        areas[legendClass.name] = jsonNumber(km2)
                    }
                    object["class_km2"] = areas
                }
                var valueObjects: [String: Any] = [:]
                for (index, name) in valueNames.enumerated() {
                    let v = s.values[index]
                    let valid = Double(v.count) / Double(max(s.pixels, 1))
                    row += [csvNumber(v.mean), csvNumber(v.count > 0 ? v.minimum : nil), csvNumber(v.count > 0 ? v.maximum : nil),
                            csvNumber(v.standardDeviation), csvNumber(valid)]
                    valueObjects[name] = ["mean": jsonNumber(v.mean), "min": jsonNumber(v.count > 0 ? v.minimum : nil),
                                          "max": jsonNumber(v.count > 0 ? v.maximum : nil), "std": jsonNumber(v.standardDeviation),
                                          "valid_share": jsonNumber(valid)]
                }
                if !valueNames.isEmpty { object["values"] = valueObjects }
                rows.append(row)
                objects.append(object)
            }
            try root.writeAtomically(csvText(rows), to: "\(path).csv")
            try root.writeAtomically(jsonData(["zones": objects, "pixel_area_m2": naming.pixelArea]), to: "\(path).json")
            return ["\(path).csv", "\(path).json"]
        })
    }
}

func ports(_ inputs: [ProductDescription]) -> Set<String> { Set(inputs.compactMap(\.port)) }

// MARK: - metrics.green

/// `metrics.green`: green coverage (绿化覆盖率) per zone = vegetated area / observed zone area, vegetated meaning the
/// legend's vegetation classes, NDVI above a threshold, or either; and its change against an earlier run's figures.
public struct GreenCoverageStage: SinkStage {
    public static let descriptor = StageDescriptor(
        id: "metrics.green",
        summary: "Green coverage per zone (vegetation classes or NDVI), and its change against a baseline run",
        evaluation: .sink,
        inputs: [
            InputPort("zones", kinds: [.plan], help: "districts or planning units (read.plan role zones)"),
            InputPort("classes", kinds: [.classes, .scene], help: "land cover (a one-band raster of legend codes will do)", optional: true),
            InputPort("ndvi", kinds: [.index], help: "NDVI", optional: true),
        ],
        output: nil,
        keys: [path, vegetated, vegetationClasses, ndviThreshold, baselineFile])

    /// What counts as vegetated.
    public enum VegetatedChoice: String, OptionChoice {
        case classes, ndvi, either
    }

    public static let path = Option<String>("path", .outputPath, default: "green", help: "output name: NAME.csv and NAME.json")
    public static let vegetated = Option<VegetatedChoice?>(
        "vegetated", help: "what counts as vegetated (default: classes when connected, else ndvi)")
    public static let vegetationClasses = Option<OptionList>(
        "vegetation_classes", default: OptionList(["cropland", "forest", "grassland"]),
        help: "legend classes that count as vegetated, comma-separated")
    public static let ndviThreshold = Option<Double>("ndvi_threshold", default: 0.3, range: -1...1, help: "NDVI above this counts as vegetated")
    public static let baselineFile = Option<String?>(
        "baseline", .inputPath, help: "NAME.json of an earlier metrics.green run: each zone's change in percentage points")

    public let path: String
    public let mode: String?
    public let vegetationCodes: Set<Int>
    public let threshold: Float
    public let baseline: String?

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        mode = options[Self.vegetated]?.rawValue
        threshold = Float(options[Self.ndviThreshold])
        baseline = options[Self.baselineFile]
        var codes = Set<Int>()
        for name in options[Self.vegetationClasses] {
            guard let code = options.legend.code(for: name) else {
                throw StageProblem(option: Self.vegetationClasses, "'\(name)' is not a class of the legend ("
                                   + options.legend.classes.map(\.name).joined(separator: ", ") + ")")
            }
            codes.insert(code)
        }
        vegetationCodes = codes
    }

    public var outputPaths: [String] { ["\(path).csv", "\(path).json"] }

    func effectiveMode(_ connected: Set<String>) -> String { mode ?? (connected.contains("classes") ? "classes" : "ndvi") }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        let connected = ports(inputs)
        let mode = effectiveMode(connected)
        if (mode == "classes" || mode == "either") && !connected.contains("classes") {
            throw StageProblem(option: Self.vegetated, "vegetated: \(mode) needs input 'classes'")
        }
        if (mode == "ndvi" || mode == "either") && !connected.contains("ndvi") {
            throw StageProblem(option: mode == "ndvi" && self.mode == nil ? nil : "vegetated", "vegetated: \(mode) needs input 'ndvi'")
        }
        if let baseline {
            do { _ = try Self.baselineCoverage(baseline) } catch { throw StageProblem(option: Self.baselineFile, "\(error)") }
        }
    }

    struct BaselineError: Error, CustomStringConvertible { var description: String }

    /// Zone id → green coverage (0–1) of an earlier run.
    static func baselineCoverage(_ path: String) throws -> [String: Double] {
        guard let data = FileManager.default.contents(atPath: path), let result = try? GreenCoverageResult.decode(data) else {
            throw BaselineError(description: "\(path) is not the JSON of a metrics.green run (no 'zones' list)")
        }
        var coverage: [String: Double] = [:]
        for zone in result.zones { if let value = zone.greenCoverage { coverage[zone.zone] = value } }
        return coverage
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        let naming = ZoneNaming(zones: inputs.first { $0.port == "zones" }!, grid: grid)
        let mode = effectiveMode(ports(inputs))
        let codes = vegetationCodes, threshold = self.threshold, path = self.path, root = context.outputRoot
        let baseline = try self.baseline.map(Self.baselineCoverage) ?? [:]
        return ZonalSink(inputs: inputs, valueCount: 0, accumulate: { blocks, ports, table in
            let classes = ports["classes"].map { blocks[$0] }, ndvi = ports["ndvi"].map { blocks[$0] }
            forEachZonePixel(blocks[ports["zones"]!], table: &table) { i, s in
                s.pixels += 1
                let c = classes?.bands[0][i] ?? .nan, v = ndvi?.bands[0][i] ?? .nan
                let hasClass = c.isFinite && c > 0, hasNDVI = v.isFinite
                let valid: Bool, vegetated: Bool
                switch mode {
                case "classes": valid = hasClass; vegetated = hasClass && codes.contains(Int(c))
                case "ndvi": valid = hasNDVI; vegetated = hasNDVI && v > threshold
                default:
                    valid = hasClass || hasNDVI
                    vegetated = (hasClass && codes.contains(Int(c))) || (hasNDVI && v > threshold)
                }
                if valid { s.classified += 1 }
                if vegetated { s.flags["vegetated", default: 0] += 1 }
            }
        }, report: { table in
            var rows = [["zone", "name", "area_km2", "covered_share", "observed_share", "green_km2", "green_coverage_percent",
                         "baseline_percent", "change_percentage_points"]]
            var objects: [[String: Any]] = []
            var total = (valid: 0, vegetated: 0)
            for zone in table.zones.keys.sorted() {
                let s = table.zones[zone]!
                let vegetated = s.flags["vegetated"] ?? 0
                total.valid += s.classified
                total.vegetated += vegetated
                let coverage: Double? = s.classified > 0 ? Double(vegetated) / Double(s.classified) : nil
                let id = naming.id(zone)
                let before = baseline[id]
                let change = coverage.flatMap { c in before.map { (c - $0) * 100 } }
                rows.append([id, naming.name(zone), csvNumber(Double(s.pixels) * naming.pixelArea / 1e6), csvNumber(naming.coveredShare(zone, pixels: s.pixels)),
                             csvNumber(Double(s.classified) / Double(max(s.pixels, 1))), csvNumber(Double(vegetated) * naming.pixelArea / 1e6),
                             csvNumber(coverage.map { $0 * 100 }, 2), csvNumber(before.map { $0 * 100 }, 2), csvNumber(change, 2)])
                objects.append(["zone": id, "name": naming.name(zone), "area_km2": jsonNumber(Double(s.pixels) * naming.pixelArea / 1e6),
                                "covered_share": jsonNumber(naming.coveredShare(zone, pixels: s.pixels)),
                                "observed_share": jsonNumber(Double(s.classified) / Double(max(s.pixels, 1))),
                                "green_coverage": jsonNumber(coverage, 6), "baseline_coverage": jsonNumber(before, 6),
                                "change_percentage_points": jsonNumber(change, 3)])
            }
            let overall: Double? = total.valid > 0 ? Double(total.vegetated) / Double(total.valid) : nil
            try root.writeAtomically(csvText(rows), to: "\(path).csv")
            try root.writeAtomically(jsonData(["version": GreenCoverageResult.currentVersion, "zones": objects, "vegetated": mode,
                                               "green_coverage_all_zones": jsonNumber(overall, 6)]),
                                     to: "\(path).json")
            return ["\(path).csv", "\(path).json"]
        })
    }
}

// MARK: - metrics.intensity

/// `metrics.intensity`: development intensity (国土开发强度) per zone = built-up area / observed zone area, and
/// ecological-space occupation = built-up area inside the red line / red-line area, each with a warning level and a
/// limit (global or per zone), so that planners see which zones are in warning or over their limit.
public struct DevelopmentIntensityStage: SinkStage {
    public static let descriptor = StageDescriptor(
        id: "metrics.intensity",
        summary: "Development intensity and ecological-space occupation per zone, with warning and limit levels",
        evaluation: .sink,
        inputs: [
            InputPort("zones", kinds: [.plan], help: "districts or planning units (read.plan role zones)"),
            InputPort("classes", kinds: [.classes, .scene], help: "land cover with a built-up class (a one-band raster of legend codes will do)"),
            InputPort("redline", kinds: [.plan, .mask], help: "ecological protection red line", optional: true),
        ],
        output: nil,
        keys: [path, warning, limit, ecoWarning, ecoLimit, perZoneLevels])

    public static let path = Option<String>("path", .outputPath, default: "intensity", help: "output name: NAME.csv and NAME.json")
    public static let warning = Option<Double>(
        "warning", default: 0.3, range: 0...1, help: "intensity (share of built-up land) that raises a warning")
    public static let limit = Option<Double>("limit", default: 0.4, range: 0...1, help: "intensity over which a zone has exceeded its limit")
    public static let ecoWarning = Option<Double>(
        "eco_warning", default: 0.005, range: 0...1,
        help: "ecological-space occupation (built-up share of the red line) that raises a warning")
    public static let ecoLimit = Option<Double>(
        "eco_limit", default: 0.01, range: 0...1, help: "ecological-space occupation over which a zone has exceeded")
    public static let perZoneLevels = StructuredOption<ZoneLevels>(
        "per_zone", shape: "{zone id: {warning, limit, eco_warning, eco_limit}}", help: "levels of particular zones, by the zone's id")

    /// The `per_zone:` option: by zone id, the levels that zone sets (the others are the global ones).
    public struct ZoneLevels: ConfigDecodable {
        public var zones: [(id: String, settings: [(name: String, value: Double)])]

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            guard let entries = node.entries else {
                throw ConfigDecodingError("must map zone ids to levels, e.g. {'330102': {warning: 0.35, limit: 0.45}} (found \(node.shortDescription))")
            }
            zones = []
            for entry in entries {
                var settings: [(name: String, value: Double)] = []
                for setting in entry.value.entries ?? [] {
                    guard let value = setting.value.scalarText.flatMap(Double.init), (0...1).contains(value) else {
                        throw ConfigDecodingError("zone '\(entry.key)': '\(setting.key)' must be a share between 0 and 1 (found \(setting.value.shortDescription))",
                                                  at: setting.value.location)
                    }
                    guard ["warning", "limit", "eco_warning", "eco_limit"].contains(setting.key) else {
                        throw ConfigDecodingError("zone '\(entry.key)': unknown setting '\(setting.key)' (warning, limit, eco_warning, eco_limit)",
                                                  at: setting.keyLocation)
                    }
                    settings.append((setting.key, value))
                }
                zones.append((entry.key, settings))
            }
        }
    }

    public typealias Level = IntensityResult.Level

    public struct Levels: Sendable, Equatable {
        public var warning: Double, limit: Double, ecoWarning: Double, ecoLimit: Double

        public func level(_ value: Double?, eco: Bool) -> Level {
            guard let value else { return .unknown }
            if value > (eco ? ecoLimit : limit) { return .exceeded }
            if value >= (eco ? ecoWarning : warning) { return .warning }
            return .ok
        }
    }

    public let path: String
    public let builtUp: Int
    public let levels: Levels
    public let perZone: [String: Levels]

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        guard let builtUp = options.legend.code(for: "built-up") else {
            throw StageProblem("the legend has no class named built-up, which development intensity counts")
        }
        self.builtUp = builtUp
        let global = Levels(warning: options[Self.warning], limit: options[Self.limit],
                            ecoWarning: options[Self.ecoWarning], ecoLimit: options[Self.ecoLimit])
        guard global.warning <= global.limit else { throw StageProblem(option: Self.warning, "warning (\(global.warning)) is above limit (\(global.limit))") }
        guard global.ecoWarning <= global.ecoLimit else {
            throw StageProblem(option: Self.ecoWarning, "eco_warning (\(global.ecoWarning)) is above eco_limit (\(global.ecoLimit))")
        }
        levels = global
        var perZone: [String: Levels] = [:]
        for zone in try options.decode(Self.perZoneLevels)?.zones ?? [] {
            var zoneLevels = global
            for setting in zone.settings {
                switch setting.name {
                case "warning": zoneLevels.warning = setting.value
                case "limit": zoneLevels.limit = setting.value
                case "eco_warning": zoneLevels.ecoWarning = setting.value
                default: zoneLevels.ecoLimit = setting.value
                }
            }
            perZone[zone.id] = zoneLevels
        }
        self.perZone = perZone
    }

    public var outputPaths: [String] { ["\(path).csv", "\(path).json"] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {}

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        let naming = ZoneNaming(zones: inputs.first { $0.port == "zones" }!, grid: grid)
        let builtUp = Float(self.builtUp), path = self.path, root = context.outputRoot
        let levels = self.levels, perZone = self.perZone
        let hasRedline = ports(inputs).contains("redline")
        for id in perZone.keys where naming.table != nil && !(naming.table!.features.contains { $0.id == id }) {
            context.logger.warning("metrics.intensity: per_zone names zone '\(id)', which the zones layer does not have")
        }
        return ZonalSink(inputs: inputs, valueCount: 0, accumulate: { blocks, ports, table in
            let classes = blocks[ports["classes"]!], redline = ports["redline"].map { blocks[$0] }
            forEachZonePixel(blocks[ports["zones"]!], table: &table) { i, s in
                s.pixels += 1
                let c = classes.bands[0][i]
                let inRedline = redline.map { $0.bands[0][i].isFinite && $0.bands[0][i] > 0 } ?? false
                if c.isFinite, c > 0 {
                    s.classified += 1
                    if c == builtUp { s.flags["built", default: 0] += 1 }
                    if inRedline {
                        s.flags["redline", default: 0] += 1
                        if c == builtUp { s.flags["redline_built", default: 0] += 1 }
                    }
                }
            }
        }, report: { table in
            var rows = [["zone", "name", "area_km2", "covered_share", "observed_share", "built_up_km2", "intensity_percent", "warning_percent",
                         "limit_percent", "level"] + (hasRedline ? ["redline_km2", "redline_built_up_km2", "eco_occupation_percent", "eco_level"] : [])]
            var objects: [[String: Any]] = []
            var totals = (redline: 0, built: 0)
            for zone in table.zones.keys.sorted() {
                let s = table.zones[zone]!
                let id = naming.id(zone)
                let zoneLevels = perZone[id] ?? levels
                let built = s.flags["built"] ?? 0
                let intensity: Double? = s.classified > 0 ? Double(built) / Double(s.classified) : nil
                let redlinePixels = s.flags["redline"] ?? 0, redlineBuilt = s.flags["redline_built"] ?? 0
                totals.redline += redlinePixels
                totals.built += redlineBuilt
                let occupation: Double? = redlinePixels > 0 ? Double(redlineBuilt) / Double(redlinePixels) : nil
                var row = [id, naming.name(zone), csvNumber(Double(s.pixels) * naming.pixelArea / 1e6), csvNumber(naming.coveredShare(zone, pixels: s.pixels)),
                           csvNumber(Double(s.classified) / Double(max(s.pixels, 1))), csvNumber(Double(built) * naming.pixelArea / 1e6),
                           csvNumber(intensity.map { $0 * 100 }, 2), csvNumber(zoneLevels.warning * 100, 2), csvNumber(zoneLevels.limit * 100, 2),
                           zoneLevels.level(intensity, eco: false).rawValue]
                var object: [String: Any] = ["zone": id, "name": naming.name(zone), "area_km2": jsonNumber(Double(s.pixels) * naming.pixelArea / 1e6),
                                             "covered_share": jsonNumber(naming.coveredShare(zone, pixels: s.pixels)),
                                             "observed_share": jsonNumber(Double(s.classified) / Double(max(s.pixels, 1))),
                                             "intensity": jsonNumber(intensity, 6), "warning": zoneLevels.warning, "limit": zoneLevels.limit,
                                             "level": zoneLevels.level(intensity, eco: false).rawValue]
                if hasRedline {
                    row += [csvNumber(Double(redlinePixels) * naming.pixelArea / 1e6), csvNumber(Double(redlineBuilt) * naming.pixelArea / 1e6),
                            csvNumber(occupation.map { $0 * 100 }, 3), (redlinePixels > 0 ? zoneLevels.level(occupation, eco: true) : .noRedLine).rawValue]
                    object["eco_occupation"] = jsonNumber(occupation, 6)
                    object["eco_level"] = (redlinePixels > 0 ? zoneLevels.level(occupation, eco: true) : .noRedLine).rawValue
                }
                rows.append(row)
                objects.append(object)
            }
            var summary: [String: Any] = ["version": IntensityResult.currentVersion, "zones": objects]
            if hasRedline {
                let occupation: Double? = totals.redline > 0 ? Double(totals.built) / Double(totals.redline) : nil
                summary["eco_occupation_all_zones"] = jsonNumber(occupation, 6)
                summary["eco_level_all_zones"] = (totals.redline > 0 ? levels.level(occupation, eco: true) : .noRedLine).rawValue
            }
            try root.writeAtomically(csvText(rows), to: "\(path).csv")
            try root.writeAtomically(jsonData(summary), to: "\(path).json")
            return ["\(path).csv", "\(path).json"]
        })
    }
}
