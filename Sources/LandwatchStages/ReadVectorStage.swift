import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// `read.vector`: a vector layer reprojected and rasterised onto the run grid (plan layers, zones, samples).
public struct ReadVectorStage: SourceStage {
    public static let descriptor = StageDescriptor(
        id: "read.vector",
        summary: "Rasterise a vector layer (any OGR format, any CRS) onto the run grid: a field's values or a constant",
        evaluation: .source,
        output: .classes,
        options: [
            OptionSpec("path", .inputPath, help: "vector file: GeoPackage, GeoJSON, Shapefile, File Geodatabase, ..."),
            OptionSpec("layer", .string, optional: true, help: "layer name (default: the first layer)"),
            OptionSpec("field", .string, optional: true, help: "attribute whose value is burned (default: burn 'burn')"),
            OptionSpec("burn", .number, default: .number(1), help: "value burned inside features when no field is given"),
            OptionSpec("background", .number, default: .number(0), help: "value of pixels no feature covers"),
            OptionSpec("all_touched", .boolean, default: .boolean(false),
                       help: "burn every pixel a feature touches, not only those whose centre it covers"),
            OptionSpec("encoding", .string, optional: true, help: "text encoding of a Shapefile's attributes, for example GBK"),
        ])

    public let path: String
    public let layer: String?
    public let field: String?
    public let burn: Double
    public let background: Double
    public let allTouched: Bool
    public let encoding: String?

    public init(options: StageOptions) throws(StageProblem) {
        path = options.string("path") ?? ""
        layer = options.string("layer")
        field = options.string("field")
        burn = options.number("burn") ?? 1
        background = options.number("background") ?? 0
        allTouched = options.boolean("all_touched") ?? false
        encoding = options.string("encoding")
        if field != nil && options.isSet("burn") {
            throw StageProblem(option: "burn", "give either 'field' or 'burn', not both")
        }
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        let info: VectorDataset.LayerInfo
        do {
            info = try VectorDataset.open(path, encoding: encoding).layer(layer)
        } catch {
            throw StageProblem(option: error.kind == .outOfRange ? "layer" : "path", error.description)
        }
        if let field, !info.fieldNames.contains(field) {
            throw StageProblem(option: "field", "field '\(field)' does not exist in layer '\(info.name)' of \(path) "
                               + "(its fields: \(info.fieldNames.isEmpty ? "none" : info.fieldNames.joined(separator: ", ")))")
        }
        if info.crsWKT.isEmpty {
            throw StageProblem(option: "path", "layer '\(info.name)' of \(path) has no CRS, so it cannot be placed on the run grid")
        }
        return ProductDescription(kind: .classes, bandNames: [field ?? info.name], nativeGrid: nil, sourcePath: path)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        let name = "vector-\(UUID().uuidString.prefix(8))"
        let raster = context.scratchPath(name + ".tif")
        try VectorDataset.open(path, encoding: encoding).rasterize(
            layer: layer, onto: grid, burn: field.map { .field($0) } ?? .constant(burn), allTouched: allTouched,
            background: background, dataType: .float32, target: raster, scratch: context.scratchPath(name + ".gpkg"))
        return try RasterFileSource(bands: [.init(path: raster, band: 1)], onto: grid, resampling: .nearest,
                                    context: context, stageID: name)
    }
}
