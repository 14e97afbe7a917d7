import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// `read.vector`: a vector layer reprojected and rasterised onto the run grid (plan layers, zones, samples).
public struct ReadVectorStage: SourceStage {
    public static let path = Option<String>("path", .inputPath, help: "vector file: GeoPackage, GeoJSON, Shapefile, File Geodatabase, ...")
    public static let layer = Option<String?>("layer", help: "layer name (default: the first layer)")
    public static let field = Option<String?>("field", help: "attribute whose value is burned (default: burn 'burn')")
    public static let burn = Option<Double>("burn", default: 1, help: "value burned inside features when no field is given")
    public static let background = Option<Double>("background", default: 0, help: "value of pixels no feature covers")
    public static let allTouched = Option<Bool>(
        "all_touched", default: false, help: "burn every pixel a feature touches, not only those whose centre it covers")
    public static let encoding = Option<String?>("encoding", help: "text encoding of a Shapefile's attributes, for example GBK")

    public static let descriptor = StageDescriptor(
        id: "read.vector",
        summary: "Rasterise a vector layer (any OGR format, any CRS) onto the run grid: a field's values or a constant",
        evaluation: .source,
        output: .classes,
        keys: [path, layer, field, burn, background, allTouched, encoding])

    public let path: String
    public let layer: String?
    public let field: String?
    public let burn: Double
    public let background: Double
    public let allTouched: Bool
    public let encoding: String?

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        layer = options[Self.layer]
        field = options[Self.field]
        burn = options[Self.burn]
        background = options[Self.background]
        allTouched = options[Self.allTouched]
        encoding = options[Self.encoding]
        if field != nil && options.isSet(Self.burn) {
            throw StageProblem(option: Self.burn, "give either 'field' or 'burn', not both")
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
            throw StageProblem(option: Self.field, "field '\(field)' does not exist in layer '\(info.name)' of \(path) "
                               + "(its fields: \(info.fieldNames.isEmpty ? "none" : info.fieldNames.joined(separator: ", ")))")
        }
        if info.crsWKT.isEmpty {
            throw StageProblem(option: Self.path, "layer '\(info.name)' of \(path) has no CRS, so it cannot be placed on the run grid")
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
