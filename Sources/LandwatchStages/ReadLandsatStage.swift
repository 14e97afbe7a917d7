import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSensors

/// `read.landsat`: a Landsat 4–9 Level-1 product read through its MTL: bands by name, files found beside the MTL,
/// digital numbers scaled to top-of-atmosphere reflectance with the MTL's own constants.
public struct ReadLandsatStage: SourceStage {
    /// What the stage reads: reflectance from the MTL's constants, or the stored numbers.
    public enum ValuesChoice: String, OptionChoice {
        case reflectance, dn
    }

    public static let mtl = Option<String>(
        "mtl", .inputPath, help: "the product's MTL file (text or JSON); band files are found beside it; Level-2 products give surface reflectance")
    public static let bandList = Option<OptionList>(
        "bands", default: OptionList(["blue", "green", "red", "nir", "swir1", "swir2"]),
        help: "bands to read by name, comma-separated (coastal, blue, green, red, nir, swir1, swir2, cirrus ...)")
    public static let values = Option<ValuesChoice>(
        "values", default: .reflectance, help: "reflectance: TOA reflectance from REFLECTANCE_MULT/ADD; dn: the stored digital numbers")
    public static let sunCorrection = Option<Bool>(
        "sun_correction", default: true, help: "divide reflectance by the sine of the MTL's SUN_ELEVATION")
    public static let resampling = Option<Resampling>(
        "resampling", default: .bilinear, help: "how pixels are sampled when the product is warped onto the run grid")

    public static let descriptor = StageDescriptor(
        id: "read.landsat",
        summary: "Read a Landsat Level-1 product by its MTL: named bands, TOA reflectance from the MTL's constants",
        evaluation: .source,
        output: .scene,
        keys: [mtl, bandList, values, sunCorrection, resampling])

    public let product: LandsatProduct
    /// The MTL file the product was read from.
    public let mtlPath: String
    public let names: [String]
    public let inputs: [RasterFileSource.BandInput]
    public let resampling: Resampling

    public init(options: StageOptions) throws(StageProblem) {
        let mtlPath = options[Self.mtl]
        self.mtlPath = mtlPath
        do { product = try LandsatProduct(mtl: MTLFile(path: mtlPath)) } catch {
            throw StageProblem(option: Self.mtl, error.description)
        }
        resampling = options[Self.resampling]
        names = options[Self.bandList].items
        guard !names.isEmpty else { throw StageProblem(option: Self.bandList, "name at least one band") }
        let numbers = product.bandNumbers
        let reflectance = options[Self.values] != .dn
        let directory = URL(fileURLWithPath: mtlPath).deletingLastPathComponent()
        var inputs: [RasterFileSource.BandInput] = []
        for name in names {
            guard let number = numbers[name] else {
                throw StageProblem(option: Self.bandList, "\(product.spacecraft) has no band '\(name)' (its bands: "
                                   + numbers.sorted { $0.value.localizedStandardCompare($1.value) == .orderedAscending }
                                       .map(\.key).joined(separator: ", ") + ")")
            }
            if reflectance, name.hasPrefix("tir") {
                throw StageProblem(option: Self.bandList, "band '\(name)' is thermal: read it with values: dn (or thermal.lst)")
            }
            do {
                let path = try product.file(band: number, directory: directory)
                // Level-1 digital numbers use 0 for fill.
                var input = RasterFileSource.BandInput(path: path, band: 1, noData: 0)
                if reflectance {
                    let scaling = try product.reflectanceScaling(band: number, sunCorrected: options[Self.sunCorrection])
                    input.scale = scaling.scale
                    input.offset = scaling.offset
                }
                inputs.append(input)
            } catch {
                throw StageProblem(option: Self.mtl, error.description)
            }
        }
        self.inputs = inputs
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        var reference: (path: String, grid: RasterGrid)?
        for (name, input) in zip(names, inputs) {
            let grid: RasterGrid
            do { grid = try Dataset.open(input.path).grid() } catch { throw StageProblem(option: Self.mtl, error.description) }
            if let reference, !((try? grid.matches(reference.grid)) ?? false) {
                throw StageProblem(option: Self.bandList, "band '\(name)' (\(input.path)) is on grid \(grid), but \(reference.path) is on \(reference.grid)")
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
