import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// One service level of public green space: residents within `radius` metres of a green space of at least `minArea`
/// m² are served ("300 米见绿、500 米见园": 300 m of green ≥ 400 m², 500 m of a park ≥ 1 ha).
public struct ServiceLevel: Sendable, Equatable, Codable {
    public var name: String
    public var radius: Double
    public var minArea: Double
    /// Coverage (0–1) below which a zone is highlighted.
    public var target: Double
}

/// The settings of the green-access analysis (the options of `renewal.green_access`, shared by `renewal.candidates`).
public struct GreenAccessSettings: Sendable {
    public var levels: [ServiceLevel]
    public var greenClasses: Set<Int>
    public var greenFromClasses: Bool
    public var greenFromZoning: Bool
    public var greenCodes: [String]
    public var residentialClasses: Set<Int>
    public var residentialCodes: [String]
}

/// Green-space service coverage over materialised inputs.
///
/// Pass 1 (strips) writes the green mask (green classes, green zoning codes, the green-space layer) and the weight of
/// every pixel (1 for a residential pixel: a residential class, inside residential zoning when there is zoning; or
/// the population raster's people). The green mask's 8-connected patches come from GDAL's polygonize; for each level,
/// the patches of at least its area are burned into a mask and GDAL's proximity gives every pixel its straight-line
/// distance (between pixel centres, in metres) to the nearest of them, up to twice the largest radius. Pass 2 sums,
/// per zone, the weight within each level's radius.
struct GreenAccessAnalysis {
    let settings: GreenAccessSettings
    let classes: MaterializedRaster
    let zoning: MaterializedRaster?
    let greenSpace: MaterializedRaster?
    let zones: MaterializedRaster?
    let population: MaterializedRaster?

    struct ZoneSum: Sendable { var weight = 0.0, pixels = 0; var served: [Double]; var servedPixels: [Int] }

    /// The scratch rasters the analysis leaves for candidates (removed with the work directory).
    struct Rasters {
        var weights: String
        var green: String
        var greenPatches: [Geometry]
        /// Per level: the qualifying green mask and the distances to it.
        var qualifying: [String]
        var distances: [String]
        var maxDistance: Double
    }

    struct Result {
        var zones: [Int: ZoneSum]
        var scene: ZoneSum
        var rasters: Rasters
        var greenPatches: Int
        var qualifyingPatches: [Int]
    }

    static func zoningFlags(_ table: FeatureTable?, codes: [String]) -> [Bool] {
        [false] + (table?.features ?? []).map { feature in codes.contains { feature.code.hasPrefix($0) } }
    }

    func run(grid: RasterGrid, context: RunContext, stage: String) throws -> Result {
        if let population {
            if let native = population.description.nativeGrid, !(try native.matches(grid)) {
                throw RunError(.input, "population raster \(population.description.sourcePath ?? "?") is on grid \(native), not the run grid "
                               + "\(grid): people per pixel cannot be warped (resample the counts onto the run grid with gdalwarp -r sum first)")
            }
        }
        let levelCount = settings.levels.count
        let proximity = proximityBytes(grid: grid, blockSize: context.blockSize)
        let strips = try Strips(grid: grid, bytesPerPixel: 4 * (8 + levelCount), context: context, stage: stage,
                                cacheNeed: proximity.cache, reserve: proximity.own)
        let classSet = try Dataset.open(classes.path)
        let zoningSet = try zoning.map { try Dataset.open($0.path) }
        let greenSet = try greenSpace.map { try Dataset.open($0.path) }
        let zoneSet = try zones.map { try Dataset.open($0.path) }
        let populationSet = try population.map { try Dataset.open($0.path) }
        let zoningTable = zoning?.description.featureTables.values.first
        let greenZoning = Self.zoningFlags(zoningTable, codes: settings.greenCodes)
        let residentialZoning = Self.zoningFlags(zoningTable, codes: settings.residentialCodes)
        let tag = UUID().uuidString.prefix(8)
        let greenPath = context.scratchPath("green-\(tag).tif"), weightPath = context.scratchPath("weights-\(tag).tif")
        let weights = try Dataset.createGeoTIFF(at: weightPath, grid: grid, bandCount: 1, dataType: .float32,
                                                options: GeoTIFFOptions(compression: .none, blockSize: context.blockSize))
        var negative = 0
        var lowest: Float = 0
        var firstNegative: (row: Int, col: Int)?
        let green = try writeMask(greenPath, grid: grid, context: context, strips: strips) { window in
            let c = try classSet.band(1).read(window)
            let z = try zoningSet?.band(1).read(window), g = try greenSet?.band(1).read(window)
            let p = try populationSet?.band(1).read(window)
            var flags = [Float](repeating: 0, count: window.pixelCount)
            var w = [Float](repeating: 0, count: window.pixelCount)
            for i in 0..<window.pixelCount {
                let code = c[i].isFinite ? Int(c[i]) : 0
                let plan = z.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0
                var isGreen = settings.greenFromClasses && settings.greenClasses.contains(code)
                if settings.greenFromZoning, plan > 0, plan < greenZoning.count, greenZoning[plan] { isGreen = true }
                if let g, g[i].isFinite, g[i] > 0 { isGreen = true }
                if isGreen { flags[i] = 1 }
                if let p {
                    if p[i].isFinite, p[i] < 0 {
                        negative += 1
                        if firstNegative == nil { firstNegative = (window.rowOffset + i / window.width, i % window.width) }
                        lowest = min(lowest, p[i])
                    } else if p[i].isFinite {
                        w[i] = p[i]
                    }
                } else if settings.residentialClasses.contains(code) {
                    let zoned = z == nil || (plan > 0 && plan < residentialZoning.count && residentialZoning[plan])
                    if zoned { w[i] = 1 }
                }
            }
            try w.withUnsafeBufferPointer { try weights.band(1).write(window, from: $0) }
            return flags
        }
        try weights.close()
        if negative > 0, let first = firstNegative {
            throw RunError(.input, "population raster \(population?.description.sourcePath ?? "?") band 1 has \(negative) negative "
                           + "pixel\(negative == 1 ? "" : "s") (lowest \(lowest), first at row \(first.row), column \(first.col)): people cannot be negative")
        }
        let patches = try maskPatches(green)
        try green.close()
        let maxDistance = 2 * (settings.levels.map(\.radius).max() ?? 0)
        var qualifyingPaths: [String] = [], distancePaths: [String] = []
        var qualifyingCounts: [Int] = []
        for (index, level) in settings.levels.enumerated() {
            let chosen = patches.filter { $0.area >= level.minArea - 1e-6 }
            qualifyingCounts.append(chosen.count)
            let maskPath = context.scratchPath("green-\(tag)-level\(index).tif")
            let mask = try Dataset.createGeoTIFF(at: maskPath, grid: grid, bandCount: 1, dataType: .uint8,
                                                 options: GeoTIFFOptions(blockSize: context.blockSize))
            try mask.burn(chosen, values: Array(repeating: 1, count: chosen.count), allTouched: false, background: 0)
            try mask.flush()
            let distancePath = context.scratchPath("green-\(tag)-distance\(index).tif")
            let distance = try distances(from: mask, maxDistance: maxDistance, at: distancePath, grid: grid, context: context)
            try distance.close()
            try mask.close()
            qualifyingPaths.append(maskPath)
            distancePaths.append(distancePath)
        }

        // Pass 2: served weight per zone.
        let weightSet = try Dataset.open(weightPath)
        let distanceSets = try distancePaths.map { try Dataset.open($0) }
        let empty = ZoneSum(served: Array(repeating: 0, count: levelCount), servedPixels: Array(repeating: 0, count: levelCount))
        var sums: [Int: ZoneSum] = [:]
        var scene = empty
        let radii = settings.levels.map { Float($0.radius) }
        for window in strips.windows {
            let w = try weightSet.band(1).read(window)
            let z = try zoneSet?.band(1).read(window)
            let d = try distanceSets.map { try $0.band(1).read(window) }
            for i in 0..<window.pixelCount where w[i] > 0 {
                let zone = z.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0
                if zoneSet != nil && zone == 0 { continue }
                var sum = sums[zone] ?? empty
                sum.weight += Double(w[i])
                sum.pixels += 1
                scene.weight += Double(w[i])
                scene.pixels += 1
                for level in 0..<levelCount where d[level][i] >= 0 && d[level][i] <= radii[level] {
                    sum.served[level] += Double(w[i])
                    sum.servedPixels[level] += 1
                    scene.served[level] += Double(w[i])
                    scene.servedPixels[level] += 1
                }
                sums[zone] = sum
            }
        }
        return Result(zones: sums, scene: scene,
                      rasters: Rasters(weights: weightPath, green: greenPath, greenPatches: patches, qualifying: qualifyingPaths,
                                       distances: distancePaths, maxDistance: maxDistance),
                      greenPatches: patches.count, qualifyingPatches: qualifyingCounts)
    }
}
