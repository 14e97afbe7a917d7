import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchProducts

/// `metrics.heat_island`: surface urban heat-island intensity per zone, hot spots, and green coverage against
/// temperature across zones.
///
/// SUHI = mean LST over urban pixels (the built-up class, or inside the urban boundary) − mean LST over the rural
/// reference ring around them (non-urban, non-water pixels within `ring_width` metres of an urban pixel; distances
/// from GDAL's proximity algorithm). Without a temperature input it reports a proxy (the built-up share), labelled a
/// proxy everywhere it appears: never a temperature.
public struct HeatIslandStage: WholeSinkStage {
    /// Which pixels are urban.
    public enum UrbanChoice: String, OptionChoice {
        case builtUp = "built-up", boundary
    }

    public static let path = Option<String>(
        "path", .outputPath, default: "heat_island",
        help: "output name: NAME.csv, NAME.json, and NAME_hotspots.tif when there is a temperature")
    public static let urban = Option<UrbanChoice>(
        "urban", default: .builtUp, help: "urban pixels: the built-up class, or the inside of the urban boundary")
    public static let ringWidth = Option<Double>(
        "ring_width", default: 1000, range: 0...100_000, excludesLowerBound: true,
        help: "width in metres of the rural reference ring around the urban pixels")
    public static let hotspotK = Option<Double>(
        "hotspot_k", default: 2, range: 0...10, help: "hot spot: LST above the scene mean plus this many standard deviations")
    public static let vegetationClasses = Option<OptionList>(
        "vegetation_classes", default: OptionList(["cropland", "forest", "grassland"]),
        help: "classes counted as green, for the correlation of green coverage with LST across zones")

    public static let descriptor = StageDescriptor(
        id: "metrics.heat_island",
        summary: "Surface urban heat-island intensity per zone (urban minus rural-ring LST), hot spots; a labelled proxy without LST",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("classes", kinds: [.classes], help: "land cover: its built-up class is urban, its water is left out of the ring"),
            InputPort("lst", kinds: [.index], help: "land surface temperature in °C (thermal.lst); without it a proxy is reported", optional: true),
            InputPort("zones", kinds: [.plan], help: "districts or planning units (default: the whole scene as one zone)", optional: true),
            InputPort("urban_boundary", kinds: [.plan, .mask], help: "urban development boundary, with urban: boundary", optional: true),
        ],
        output: nil,
        keys: [path, urban, ringWidth, hotspotK, vegetationClasses])

    public let path: String
    public let urbanFromBoundary: Bool
    public let ringWidth: Double
    public let hotspotK: Double
    public let builtUp: Int
    public let water: Int
    public let vegetation: Set<Int>

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        urbanFromBoundary = options[Self.urban] == .boundary
        ringWidth = options[Self.ringWidth]
        hotspotK = options[Self.hotspotK]
        guard let builtUp = options.legend.code(for: "built-up") else {
            throw StageProblem("the legend has no class named built-up, which the heat island needs")
        }
        self.builtUp = builtUp
        water = options.legend.code(for: "water") ?? -1
        var codes = Set<Int>()
        for name in options[Self.vegetationClasses] {
            guard let code = options.legend.code(for: name) else {
                throw StageProblem(option: Self.vegetationClasses, "'\(name)' is not a class of the legend")
            }
            codes.insert(code)
        }
        vegetation = codes
    }

    public var outputPaths: [String] { ["\(path).csv", "\(path).json", "\(path)_hotspots.tif"] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        if urbanFromBoundary && !ports(inputs).contains("urban_boundary") {
            throw StageProblem(option: Self.urban, "urban: boundary needs input 'urban_boundary'")
        }
    }

    struct Zone {
        var urban = ValueStatistics(), rural = ValueStatistics(), all = ValueStatistics()
        var pixels = 0, observed = 0, urbanPixels = 0, green = 0
    }

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        func input(_ port: String) -> MaterializedRaster? { inputs.first { $0.description.port == port } }
        let classes = try Dataset.open(input("classes")!.path)
        let lst = try input("lst").map { try Dataset.open($0.path) }
        let zones = try input("zones").map { try Dataset.open($0.path) }
        let boundary = try input("urban_boundary").map { try Dataset.open($0.path) }
        let zoneTable = input("zones")?.description.featureTables.values.first
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let rows = max(1, min(512, context.memoryBudget / 8 / max(grid.width * 6 * 4, 1)))
        let width = grid.width

        func isUrban(_ c: Float, _ b: Float?) -> Bool { urbanFromBoundary ? (b.map { $0.isFinite && $0 > 0 } ?? false) : c == Float(builtUp) }

        // 1. Urban pixels, and every pixel's distance to the nearest of them (GDAL proximity, in metres).
        let urbanPath = context.scratchPath("urban-\(UUID().uuidString.prefix(8)).tif")
        let distancePath = context.scratchPath("distance-\(UUID().uuidString.prefix(8)).tif")
        let urban = try Dataset.createGeoTIFF(at: urbanPath, grid: grid, bandCount: 1, dataType: .uint8, options: GeoTIFFOptions(blockSize: context.blockSize))
        var row0 = 0
        while row0 < grid.height {
            let window = Window(colOffset: 0, rowOffset: row0, width: width, height: min(rows, grid.height - row0))
            let c = try classes.band(1).read(window), b = try boundary?.band(1).read(window)
            var mask = [Float](repeating: 0, count: window.pixelCount)
            for i in mask.indices where isUrban(c[i], b?[i]) { mask[i] = 1 }
            try mask.withUnsafeBufferPointer { try urban.band(1).write(window, from: $0) }
            row0 += window.height
        }
        try urban.flush()
        let distance = try Dataset.createGeoTIFF(at: distancePath, grid: grid, bandCount: 1, dataType: .float32, options: GeoTIFFOptions(blockSize: context.blockSize))
        try urban.band(1).proximity(into: distance.band(1), values: [1], maxDistance: ringWidth, noData: -1)
        try urban.close()
        try distance.flush()

        // 2. Urban, rural-ring and all-pixel statistics per zone (zone 0: the whole scene when there are no zones).
        var perZone: [Int: Zone] = [:]
        var scene = Zone()
        row0 = 0
        while row0 < grid.height {
            let window = Window(colOffset: 0, rowOffset: row0, width: width, height: min(rows, grid.height - row0))
            let c = try classes.band(1).read(window), b = try boundary?.band(1).read(window)
            let t = try lst?.band(1).read(window), z = try zones?.band(1).read(window)
            let d = try distance.band(1).read(window)
            for i in c.indices {
                let zone = z.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0
                if zones != nil && zone == 0 { continue }
                var entry = perZone[zone] ?? Zone()
                entry.pixels += 1
                scene.pixels += 1
                guard c[i].isFinite, c[i] > 0 else { perZone[zone] = entry; continue }
                let urbanPixel = isUrban(c[i], b?[i])
                entry.observed += 1
                scene.observed += 1
                if urbanPixel { entry.urbanPixels += 1; scene.urbanPixels += 1 }
                if vegetation.contains(Int(c[i])) { entry.green += 1; scene.green += 1 }
                if let t, t[i].isFinite {
                    let value = Double(t[i])
                    entry.all.add(value)
                    scene.all.add(value)
                    if urbanPixel {
                        entry.urban.add(value)
                        scene.urban.add(value)
                    } else if c[i] != Float(water), d[i] > 0, d[i] <= Float(ringWidth) {
                        entry.rural.add(value)
                        scene.rural.add(value)
                    }
                }
                perZone[zone] = entry
            }
            row0 += window.height
        }
        try distance.close()
        try? FileManager.default.removeItem(atPath: urbanPath)
        try? FileManager.default.removeItem(atPath: distancePath)

        // 3. Hot spots: LST above the scene mean + k standard deviations (0/1, 255 where there is no LST).
        var written: [String] = []
        let threshold = scene.all.mean.flatMap { mean in scene.all.standardDeviation.map { mean + hotspotK * $0 } }
        var hotspotPixels = 0
        if let lst, let threshold {
            let target = try context.outputRoot.resolve("\(path)_hotspots.tif")
            let partial = AtomicOutput(target: target)
            do {
                let options = GeoTIFFOptions(blockSize: context.blockSize)
                let out = try Dataset.createGeoTIFF(at: partial.temporaryPath, grid: grid, bandCount: 1, dataType: .uint8, options: options)
                try out.band(1).setNoDataValue(255)
                row0 = 0
                while row0 < grid.height {
                    let window = Window(colOffset: 0, rowOffset: row0, width: width, height: min(rows, grid.height - row0))
                    let t = try lst.band(1).read(window)
                    var flags = [Float](repeating: 255, count: window.pixelCount)
                    for i in t.indices where t[i].isFinite {
                        flags[i] = Double(t[i]) > threshold ? 1 : 0
                        if flags[i] == 1 { hotspotPixels += 1 }
                    }
                    try flags.withUnsafeBufferPointer { try out.band(1).write(window, from: $0) }
                    row0 += window.height
                }
                try out.close()
                // A Cloud-Optimized GeoTIFF as write.raster's outputs (issue 25); flags keep their codes (nearest).
                try Dataset.makeCloudOptimized(at: partial.temporaryPath, options: options, resampling: .nearest, threads: context.threads)
                try partial.commit()
            } catch {
                partial.abort()
                throw error
            }
            written.append("\(path)_hotspots.tif")
        }

        // 4. The report: a temperature difference, or a proxy labelled as one.
        let isProxy = lst == nil
        let kind = isProxy ? "proxy: built-up share of the observed area (no thermal band; not a temperature)" : "surface temperature (°C)"
        var header = ["zone", "name", "observed_km2", "cloud_or_nodata_share", "urban_km2", "green_coverage_percent"]
        header += isProxy ? ["heat_island_proxy_built_up_percent"]
            : ["urban_mean_lst_c", "rural_ring_mean_lst_c", "suhi_c", "zone_mean_lst_c", "rural_ring_km2"]
        var rowsOut = [header]
        var objects: [[String: Any]] = []
        var pairs: [(Double, Double)] = []
        func describe(_ id: String, _ name: String, _ entry: Zone) -> ([String], [String: Any]) {
            let green = entry.observed > 0 ? Double(entry.green) / Double(entry.observed) : nil
            let cloud = entry.pixels > 0 ? 1 - Double(entry.observed) / Double(entry.pixels) : nil
            var row = [id, name, csvNumber(Double(entry.observed) * pixelArea / 1e6), csvNumber(cloud),
                       csvNumber(Double(entry.urbanPixels) * pixelArea / 1e6), csvNumber(green.map { $0 * 100 }, 2)]
            var object: [String: Any] = ["zone": id, "name": name, "observed_km2": jsonNumber(Double(entry.observed) * pixelArea / 1e6),
                                         "cloud_or_nodata_share": jsonNumber(cloud),
                                         "urban_km2": jsonNumber(Double(entry.urbanPixels) * pixelArea / 1e6), "green_coverage": jsonNumber(green, 6)]
            if isProxy {
                let share = entry.observed > 0 ? Double(entry.urbanPixels) / Double(entry.observed) : nil
                row.append(csvNumber(share.map { $0 * 100 }, 2))
                object["heat_island_proxy"] = jsonNumber(share, 6)
            } else {
                let suhi = entry.urban.mean.flatMap { u in entry.rural.mean.map { u - $0 } }
                row += [csvNumber(entry.urban.mean, 2), csvNumber(entry.rural.mean, 2), csvNumber(suhi, 2), csvNumber(entry.all.mean, 2),
                        csvNumber(Double(entry.rural.count) * pixelArea / 1e6)]
                object["urban_mean_lst_c"] = jsonNumber(entry.urban.mean, 3)
                object["rural_ring_mean_lst_c"] = jsonNumber(entry.rural.mean, 3)
                object["suhi_c"] = jsonNumber(suhi, 3)
                object["zone_mean_lst_c"] = jsonNumber(entry.all.mean, 3)
                object["urban_pixels_with_lst"] = entry.urban.count
                object["rural_ring_pixels"] = entry.rural.count
            }
            return (row, object)
        }
        for zone in perZone.keys.sorted() {
            let entry = perZone[zone]!
            let id = zones == nil ? "scene" : (zoneTable?.feature(number: zone)?.id ?? String(zone))
            let name = zones == nil ? "whole scene" : (zoneTable?.feature(number: zone)?.name ?? "")
            let (row, object) = describe(id, name, entry)
            rowsOut.append(row)
            objects.append(object)
            if !isProxy, entry.observed > 0, let mean = entry.all.mean { pairs.append((Double(entry.green) / Double(entry.observed), mean)) }
        }
        var summary: [String: Any] = ["version": HeatIslandResult.currentVersion, "kind": kind, "is_proxy": isProxy, "zones": objects, "scene": describe("scene", "whole scene", scene).1,
                                      "ring_width_m": ringWidth, "urban": urbanFromBoundary ? "urban boundary" : "built-up class"]
        if !isProxy {
            summary["hotspot_threshold_c"] = jsonNumber(threshold, 3)
            summary["hotspot_k"] = hotspotK
            summary["hotspot_km2"] = jsonNumber(Double(hotspotPixels) * pixelArea / 1e6)
            if let r = ZonalTable.correlation(pairs) {
                summary["green_lst_correlation"] = jsonNumber(r, 4)
            } else {
                summary["green_lst_correlation"] = NSNull()
                summary["green_lst_correlation_note"] = "needs at least 3 zones with temperatures (found \(pairs.count))"
            }
        }
        var csvRows = [["# " + kind]] + rowsOut
        if isProxy { csvRows[1] = csvRows[1].map { $0 == "heat_island_proxy_built_up_percent" ? "heat_island_PROXY_built_up_percent" : $0 } }
        try context.outputRoot.writeAtomically(csvText(csvRows), to: "\(path).csv")
        try context.outputRoot.writeAtomically(jsonData(summary), to: "\(path).json")
        return written + ["\(path).csv", "\(path).json"]
    }
}
