import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// 1 mu (亩) in m².
let squareMetresPerMu = 10_000.0 / 15.0

/// The materialised input connected to `port`, if any.
func input(_ inputs: [MaterializedRaster], _ port: String) -> MaterializedRaster? {
    inputs.first { $0.description.port == port }
}

/// The ports connected, from the descriptions the planner hands over.
func connectedPorts(_ inputs: [ProductDescription]) -> Set<String> { Set(inputs.compactMap(\.port)) }

/// Class codes of legend names, or a problem naming the option and the name that is not in the legend.
func classCodes(_ names: OptionList, option: String, legend: Legend, what: String) throws(StageProblem) -> Set<Int> {
    var codes = Set<Int>()
    for name in names {
        guard let code = legend.code(for: name) else {
            throw StageProblem(option: option, "option '\(option)': '\(name)' is not a class of the legend (\(legend.classes.map(\.name).joined(separator: ", "))): "
                               + "the \(what) class must be one")
        }
        codes.insert(code)
    }
    if codes.isEmpty { throw StageProblem(option: option, "option '\(option)' names no class: the \(what) class must be one of the legend") }
    return codes
}

/// How the renewal stages walk a grid: strips of whole rows, as many as the memory budget holds.
///
/// The budget (`--memory`) is shared three ways: GDAL's block cache takes a quarter of it (PipelineRunner sets it so
/// for the whole run, and GDAL fills it with the tiles the strips and the proximity read and write); what a stage
/// holds outside the cache (`reserve`: the proximity's own rows) comes next; the strips get half of what is left,
/// the other half staying free for the patches GDAL's polygonize returns and the program itself.
struct Strips {
    let grid: RasterGrid
    let rows: Int

    /// The quarter of the budget that PipelineRunner gives GDAL's block cache.
    static func cacheShare(_ budget: Int) -> Int { budget / 4 }

    /// The smallest budget that holds, beside the block cache of a quarter, two rows of tiles of the strips (one
    /// strip and the half kept free) and `reserve`; and whose quarter holds `cacheNeed` (what must stay in GDAL's
    /// block cache at once: the proximity's row of mask and distance tiles).
    static func neededBudget(rowBytes: Int, tileRows: Int, cacheNeed: Int, reserve: Int) -> Int {
        max(4 * cacheNeed, (2 * rowBytes * tileRows + reserve) * 4 / 3 + 1)
    }

    /// - Parameters:
    ///   - bytesPerPixel: what one pixel of a strip costs, summed over every band read or written at once.
    ///   - cacheNeed: bytes that must fit in GDAL's block cache at once (a quarter of the budget).
    ///   - reserve: bytes the stage holds outside the cache and the strips.
    /// - Throws: `RunError(.resources)` when the budget is below ``neededBudget(rowBytes:tileRows:cacheNeed:reserve:)``.
    init(grid: RasterGrid, bytesPerPixel: Int, context: RunContext, stage: String, cacheNeed: Int = 0, reserve: Int = 0) throws(RunError) {
        self.grid = grid
        let rowBytes = max(1, grid.width * bytesPerPixel)
        let tileRows = min(context.blockSize, grid.height)
        let budget = context.memoryBudget
        let need = Self.neededBudget(rowBytes: rowBytes, tileRows: tileRows, cacheNeed: cacheNeed, reserve: reserve)
        guard budget >= need else {
            throw RunError(.resources, "\(stage): the memory budget (\(Self.megabytes(budget))) cannot hold GDAL's block cache (a quarter: "
                           + "\(Self.megabytes(Self.cacheShare(budget)))"
                           + (cacheNeed > 0 ? ", which must hold the proximity's row of tiles, \(Self.megabytes(cacheNeed))" : "")
                           + ") beside two rows of \(context.blockSize)-pixel tiles across the \(grid.width)-pixel grid (\(Self.megabytes(2 * rowBytes * tileRows)))"
                           + (reserve > 0 ? " and the proximity's own rows (\(Self.megabytes(reserve)))" : "")
                           + "; give --memory \(Self.megabytes(need)) or more")
        }
        let strips = (budget - Self.cacheShare(budget) - reserve) / 2
        rows = max(tileRows, min(grid.height, min(4096, strips / rowBytes)))
    }

    static func megabytes(_ bytes: Int) -> String { "\(max(1, (bytes + (1 << 20) - 1) >> 20))M" }

    /// Each strip's window, top to bottom.
    var windows: [Window] {
        stride(from: 0, to: grid.height, by: rows).map {
            Window(colOffset: 0, rowOffset: $0, width: grid.width, height: min(rows, grid.height - $0))
        }
    }
}

/// What a whole-grid proximity (GDAL's `GDALComputeProximity`) holds in memory: its own rows (nearest x and y,
/// distances: 16 bytes a column, `own`) and, in GDAL's block cache, one row of tiles of the Byte mask it reads and of
/// the Float32 distances it writes (5 bytes a pixel of a tile row, `cache`); it walks the grid twice, down and up.
func proximityBytes(grid: RasterGrid, blockSize: Int) -> (cache: Int, own: Int) {
    (grid.width * min(blockSize, grid.height) * 5, grid.width * 16)
}

/// A Byte GeoTIFF of 0/1 in the work directory, written strip by strip from `flag`.
func writeMask(_ path: String, grid: RasterGrid, context: RunContext, strips: Strips,
               flag: (Window) throws -> [Float]) throws -> Dataset {
    let mask = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .uint8,
                                         options: GeoTIFFOptions(blockSize: context.blockSize))
    for window in strips.windows {
        let values = try flag(window)
        try values.withUnsafeBufferPointer { try mask.band(1).write(window, from: $0) }
    }
    try mask.flush()
    return mask
}

/// The 8-connected patches of a 0/1 mask (GDAL's polygonize), with their areas in m² of the grid's CRS.
func maskPatches(_ mask: Dataset) throws -> [Geometry] {
    try mask.band(1).polygonize(eightConnected: true).filter { $0.value != 0 }.map(\.geometry)
}

/// A UInt32 GeoTIFF holding each geometry's number (1-based) at the pixels whose centres it covers, 0 elsewhere.
func burnNumbers(_ geometries: [Geometry], at path: String, grid: RasterGrid, context: RunContext) throws -> Dataset {
    let raster = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .uint32,
                                           options: GeoTIFFOptions(blockSize: context.blockSize))
    try raster.burn(geometries, values: geometries.indices.map { Double($0 + 1) }, allTouched: false, background: 0)
    try raster.flush()
    return raster
}

/// Distances in metres (GDAL's proximity, straight line between pixel centres) from every pixel to the nearest 1 of
/// `mask`, up to `maxDistance` (farther: -1), as a Float32 GeoTIFF in the work directory.
func distances(from mask: Dataset, maxDistance: Double, at path: String, grid: RasterGrid, context: RunContext) throws -> Dataset {
    let distance = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .float32,
                                             options: GeoTIFFOptions(compression: .none, blockSize: context.blockSize))
    try mask.band(1).proximity(into: distance.band(1), values: [1], maxDistance: maxDistance, noData: -1)
    try distance.flush()
    return distance
}

/// Zone numbers (feature numbers of the zones layer) to the feature's code and name.
struct ZoneNames {
    let table: FeatureTable?
    func id(_ number: Int) -> String { table == nil ? "scene" : (table?.feature(number: number)?.id ?? String(number)) }
    func name(_ number: Int) -> String { table == nil ? "whole scene" : (table?.feature(number: number)?.name ?? "") }
}

// MARK: - Files

/// RFC 4180 quoting.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// CSV in UTF-8 with a byte-order mark (Excel shows the Chinese columns), CRLF line ends.
func csvData(_ rows: [[String]]) -> Data {
    Data(("\u{FEFF}" + rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n").utf8)
}

func fixed(_ value: Double?, _ digits: Int) -> String {
    guard let value, value.isFinite else { return "" }
    return String(format: "%.\(digits)f", value)
}

func rounded(_ value: Double, _ digits: Int) -> Double {
    let factor = pow(10.0, Double(digits))
    return (value * factor).rounded() / factor
}

func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(value)
}

/// A renewal stage's typed result file (`NAME.json`): versioned, snake_case keys.
public protocol RenewalProduct: Codable, Sendable {
    static var currentVersion: Int { get }
}

extension RenewalProduct {
    /// Decodes the file's JSON.
    public static func decode(_ data: Data) throws -> Self {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Self.self, from: data)
    }
}

/// One table of plots written as GeoPackage (in the plan's or the grid's CRS), GeoJSON (RFC 7946, WGS84) and CSV with
/// BOM, into an output folder.
struct PlotTable {
    var layer: String
    var columns: [(String, VectorWriter.FieldType)]
    var rows: [(geometry: Geometry, values: [String: VectorWriter.Value])]

    func write(into folder: AtomicDirectory, name: String, crs: SpatialReference) throws -> [String] {
        let gpkg = try VectorWriter(path: folder.path("\(name).gpkg"), driver: "GPKG", layer: layer, crs: crs, geometry: .polygon,
                                    fields: columns)
        for row in rows { try gpkg.add(row.geometry, values: row.values) }
        try gpkg.close()
        let wgs84 = SpatialReference.wgs84()
        let transform = try CoordinateTransformation(from: crs, to: wgs84)
        let geojson = try VectorWriter(path: folder.path("\(name).geojson"), driver: "GeoJSON", layer: layer, crs: wgs84,
                                       geometry: .polygon, fields: columns, layerOptions: ["RFC7946=YES", "WRITE_NAME=NO"])
        for row in rows { try geojson.add(try row.geometry.transformed(by: transform), values: row.values) }
        try geojson.close()
        var lines = [columns.map(\.0)]
        for row in rows { lines.append(columns.map { Self.text(row.values[$0.0]) }) }
        try csvData(lines).write(to: URL(fileURLWithPath: try folder.path("\(name).csv")))
        return ["\(name).gpkg", "\(name).geojson", "\(name).csv"]
    }

    static func text(_ value: VectorWriter.Value?) -> String {
        switch value {
        case .string(let s)?: return s
        case .integer(let i)?: return String(i)
        case .real(let d)?: return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
        case .null?, nil: return ""
        }
    }
}

/// A point inside a plot, in WGS84, for the inspector's navigation app.
func navigationPoint(_ geometry: Geometry, crs: SpatialReference) -> (lon: Double, lat: Double)? {
    guard let point = geometry.pointOnSurface(),
          let transform = try? CoordinateTransformation(from: crs, to: SpatialReference.wgs84()),
          let lonLat = try? transform.transform(x: point.x, y: point.y) else { return nil }
    return (lonLat.x, lonLat.y)
}
