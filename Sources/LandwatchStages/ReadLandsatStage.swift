import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `read.landsat`: a Landsat 4–9 Level-1 product read through its MTL: bands by name, files found beside the MTL,
/// digital numbers scaled to top-of-atmosphere reflectance with the MTL's own constants.
public struct ReadLandsatStage: SourceStage {
    public static let descriptor = StageDescriptor(
        id: "read.landsat",
        summary: "Read a Landsat Level-1 product by its MTL: named bands, TOA reflectance from the MTL's constants",
        evaluation: .source,
        output: .scene,
        options: [
            OptionSpec("mtl", .inputPath, help: "the product's MTL file (text or JSON); band files are found beside it; Level-2 products give surface reflectance"),
            OptionSpec("bands", .string, default: .string("blue,green,red,nir,swir1,swir2"),
                       help: "bands to read by name, comma-separated (coastal, blue, green, red, nir, swir1, swir2, cirrus ...)"),
            OptionSpec("values", .choice(["reflectance", "dn"]), default: .string("reflectance"),
                       help: "reflectance: TOA reflectance from REFLECTANCE_MULT/ADD; dn: the stored digital numbers"),
            OptionSpec("sun_correction", .boolean, default: .boolean(true),
                       help: "divide reflectance by the sine of the MTL's SUN_ELEVATION"),
            OptionSpec("resampling", .choice(Resampling.allCases.map(\.rawValue)), default: .string("bilinear"),
                       help: "how pixels are sampled when the product is warped onto the run grid"),
        ])

    public let product: LandsatProduct
    public let names: [String]
    public let inputs: [RasterFileSource.BandInput]
    public let resampling: Resampling

    public init(options: StageOptions) throws(StageProblem) {
        let mtlPath = options.string("mtl") ?? ""
        do { product = try LandsatProduct(mtl: MTLFile(path: mtlPath)) } catch {
            throw StageProblem(option: "mtl", error.description)
        }
        resampling = Resampling(rawValue: options.string("resampling") ?? "bilinear") ?? .bilinear
        names = (options.string("bands") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw StageProblem(option: "bands", "name at least one band") }
        let numbers = product.bandNumbers
        let reflectance = options.string("values") != "dn"
        let directory = URL(fileURLWithPath: mtlPath).deletingLastPathComponent()
        var inputs: [RasterFileSource.BandInput] = []
        for name in names {
            guard let number = numbers[name] else {
                throw StageProblem(option: "bands", "\(product.spacecraft) has no band '\(name)' (its bands: "
                                   + numbers.sorted { $0.value.localizedStandardCompare($1.value) == .orderedAscending }
                                       .map(\.key).joined(separator: ", ") + ")")
            }
            if reflectance, name.hasPrefix("tir") {
                throw StageProblem(option: "bands", "band '\(name)' is thermal: read it with values: dn (or thermal.lst)")
            }
            do {
                let path = try product.file(band: number, directory: directory)
                // Level-1 digital numbers use 0 for fill.
                var input = RasterFileSource.BandInput(path: path, band: 1, noData: 0)
                if reflectance {
                    let scaling = try product.reflectanceScaling(band: number, sunCorrected: options.boolean("sun_correction") ?? true)
                    input.scale = scaling.scale
                    input.offset = scaling.offset
                }
                inputs.append(input)
            } catch {
                throw StageProblem(option: "mtl", error.description)
            }
        }
        self.inputs = inputs
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        var reference: (path: String, grid: RasterGrid)?
        for (name, input) in zip(names, inputs) {
            let grid: RasterGrid
            do { grid = try Dataset.open(input.path).grid() } catch { throw StageProblem(option: "mtl", error.description) }
            if let reference, !((try? grid.matches(reference.grid)) ?? false) {
                throw StageProblem(option: "bands", "band '\(name)' (\(input.path)) is on grid \(grid), but \(reference.path) is on \(reference.grid)")
            }
            if reference == nil { reference = (input.path, grid) }
        }
        return ProductDescription(kind: .scene, bandNames: names, nativeGrid: reference?.grid, sourcePath: reference?.path,
                                  date: product.acquisitionDate)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        try RasterFileSource(bands: inputs, onto: grid, resampling: resampling, context: context,
                             stageID: "landsat-\(UUID().uuidString.prefix(8))")
    }
}
