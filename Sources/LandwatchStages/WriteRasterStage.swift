import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `write.raster`: a Cloud-Optimized GeoTIFF (or a plain tiled GeoTIFF) under the output root, written block by block.
public struct WriteRasterStage: SinkStage, RowLocalStage {
    /// How the file is laid out: `cog` (internal overviews, headers first; what tile servers and `/vsicurl/` readers
    /// want) or `tiled` (the tiled GeoTIFF alone, without overviews: cheaper to write).
    public enum Layout: String, CaseIterable, Sendable { case cog, tiled }

    public static let layout = Option<String>(
        "layout", .choice(Layout.allCases.map(\.rawValue)), default: "cog",
        help: "cog: Cloud-Optimized GeoTIFF with overviews (written once, tiles encoded on the run's threads; LZW and mode overviews through a tiled scratch); tiled: a plain tiled GeoTIFF")
    public static let overviews = Option<String?>(
        "overviews", .choice(OverviewResampling.allCases.map { $0.rawValue.lowercased() }),
        help: "resampling of the COG's overviews (default: nearest for classes and masks, average for values)")
    public static let path = Option<String>(
        "path", .outputPath, help: "file to write, relative to the output root (for example ndvi.tif)")
    public static let pixelType = Option<DataType?>(
        "type", help: "pixel type (default: Float32 for scenes and indices, Byte for classes and masks)")
    public static let noData = Option<Double?>(
        "nodata", help: "value written where there is no data (default: NaN for floats, 0 for classes, 255 for masks)")
    public static let compression = Option<String>(
        "compression", .choice(GeoTIFFOptions.Compression.allCases.map { $0.rawValue.lowercased() }), default: "zstd",
        help: "codec: zstd is fastest to write at level 1")
    public static let level = Option<Int?>(
        "level", range: 1...22, help: "codec level (default: 1 for zstd, GDAL's default for the others)")

    public static let descriptor = StageDescriptor(
        id: "write.raster",
        summary: "Write a raster as a Cloud-Optimized GeoTIFF (ZSTD level 1 by default) under the output root",
        evaluation: .sink,
        inputs: [InputPort("raster", kinds: ProductKind.rasters, help: "any raster product")],
        output: nil,
        keys: [path, pixelType, noData, compression, level, layout, overviews])

    public let path: String
    public let type: DataType?
    public let noData: Double?
    public let compression: GeoTIFFOptions.Compression
    public let level: Int?
    public let layout: Layout
    /// nil: by the input's kind.
    public let overviewResampling: OverviewResampling?
    public let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        legend = options.legend
        path = options[Self.path]
        type = options[Self.pixelType]
        noData = options[Self.noData]
        compression = GeoTIFFOptions.Compression(rawValue: options[Self.compression].uppercased()) ?? .zstd
        level = options[Self.level]
        layout = Layout(rawValue: options[Self.layout]) ?? .cog
        overviewResampling = options[Self.overviews].flatMap { OverviewResampling(rawValue: $0.uppercased()) }
        if overviewResampling != nil, layout == .tiled {
            throw StageProblem(option: Self.overviews, "layout tiled writes no overviews; remove 'overviews' or use layout cog")
        }
        if let level, compression == .deflate, level > 9 {
            throw StageProblem(option: Self.level, "deflate levels run from 1 to 9 (got \(level))")
        }
        if level != nil, compression == .none || compression == .lzw {
            throw StageProblem(option: Self.level, "\(compression.rawValue.lowercased()) takes no level")
        }
        if let type, let noData, !(noData.isNaN && type.isFloatingPoint), !type.valueRange.contains(noData) {
            throw StageProblem(option: Self.noData, "nodata \(OptionValue.number(noData).text) does not fit pixel type \(type.rawValue)")
        }
        let lower = path.lowercased()
        if !(lower.hasSuffix(".tif") || lower.hasSuffix(".tiff")) {
            throw StageProblem(option: Self.path, "write.raster writes GeoTIFF: the path must end in .tif or .tiff (found '\(path)')")
        }
    }

    public var outputPaths: [String] { [path] }
    /// Each shard writes its rows; `landwatch merge` joins them.
    public var haloRows: Int { 0 }

    /// The pixel type and nodata value for an input kind.
    func storage(for kind: ProductKind) -> (type: DataType, noData: Double) {
        let type = self.type ?? ((kind == .classes || kind == .mask) ? .uint8 : .float32)
        let noData = self.noData ?? (type.isFloatingPoint ? .nan : (kind == .mask ? 255 : 0))
        return (type, noData)
    }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        let (type, noData) = storage(for: inputs[0].kind)
        if !noData.isNaN, !type.valueRange.contains(noData) {
            throw StageProblem(option: Self.noData, "nodata \(OptionValue.number(noData).text) does not fit pixel type \(type.rawValue)")
        }
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        let input = inputs[0]
        let (type, noData) = storage(for: input.kind)
        let target = try context.outputRoot.resolve(path)
        let options = GeoTIFFOptions(compression: compression, level: level, blockSize: context.blockSize)
        let metadata = ["LANDWATCH_KIND": input.kind.rawValue]
        let categories = input.kind == .classes ? legend.categories : []
        switch layout {
        case .tiled:
            return try GeoTIFFSink(target: target, relativePath: path, grid: grid, bandNames: input.bandNames, dataType: type,
                                   noData: noData, options: options, metadata: metadata, categories: categories)
        case .cog:
            return try COGSink(target: target, relativePath: path, grid: grid, bandNames: input.bandNames, dataType: type,
                               noData: noData, options: options, resampling: resampling(for: input), metadata: metadata,
                               categories: categories, context: context)
        }
    }

    /// Overviews of codes (classes, masks, or a band named `class`, as a land-cover map read as a scene) take
    /// codes; overviews of values, means.
    func resampling(for input: ProductDescription) -> OverviewResampling {
        if let overviewResampling { return overviewResampling }
        let codes = input.kind == .classes || input.kind == .mask || input.bandNames.contains { $0.lowercased() == "class" }
        return codes ? .nearest : .average
    }
}

extension Legend {
    /// The legend as a GeoTIFF colour table with category names (English and Chinese).
    var categories: [Band.Category] {
        classes.compactMap { item in
            let hex = item.color.dropFirst()
            guard hex.count == 6, let rgb = UInt32(hex, radix: 16) else { return nil }
            let name = item.nameZH == item.name ? item.name : "\(item.name) \(item.nameZH)"
            return Band.Category(value: item.code, name: name, red: UInt8(rgb >> 16 & 0xff), green: UInt8(rgb >> 8 & 0xff),
                                 blue: UInt8(rgb & 0xff))
        }
    }
}
