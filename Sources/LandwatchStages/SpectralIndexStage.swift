import LandwatchAlgorithms
import LandwatchPipeline

/// One spectral index: its id, the bands it reads (with their default names) and its formula. A new index is one
/// type conforming to this, added to ``spectralIndices``: the registry, `landwatch stages`, the rule classifier's and
/// the model's feature names all take it from there.
public protocol IndexFormula: Sendable {
    /// The stage id, `index.NAME`.
    static var id: String { get }
    static var summary: String { get }
    /// The band name written into the output.
    static var outputName: String { get }
    /// Band roles in the order `compute` receives them, each with the scene band name used by default.
    static var bands: [BandRole] { get }
    /// Extra numeric options of the formula (for example SAVI's L), read in `compute` as `parameters[key]`.
    static var parameters: [any OptionKey] { get }
    /// Computes the index for `output.count` pixels from the bands in `bands` order.
    static func compute(_ bands: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>)
}

extension IndexFormula {
    public static var parameters: [any OptionKey] { [] }
}

/// Every spectral index landwatch ships, in the order `landwatch stages` lists them: each is registered as an
/// `index.NAME` stage and may be named in rules and feature lists.
public let spectralIndices: [any IndexFormula.Type] = [NDVI.self, NDWI.self, MNDWI.self, NDBI.self, BSI.self, SAVI.self, EVI.self]

/// A band an index reads: its role in the formula and the scene band name used unless the file names another.
public struct BandRole: Sendable {
    public var role: String
    public var defaultName: String
    public var help: String

    public init(_ role: String, _ defaultName: String, _ help: String) {
        self.role = role
        self.defaultName = defaultName
        self.help = help
    }

    /// The option naming the scene band for this role.
    public var key: Option<String> { Option(role, default: defaultName, help: help) }
}

/// A pixel-wise stage computing an ``IndexFormula`` from named bands of a scene: Float32, NaN where an input is
/// nodata or the denominator is zero. The band names are options, so any band map works.
public struct SpectralIndexStage<Formula: IndexFormula>: PixelStage {
    public static var descriptor: StageDescriptor {
        StageDescriptor(
            id: Formula.id, summary: Formula.summary, evaluation: .pixelwise,
            inputs: [InputPort("scene", kinds: [.scene],
                               help: "imagery with " + Formula.bands.map(\.role).joined(separator: ", ") + " bands")],
            output: .index,
            keys: Formula.bands.map(\.key) + Formula.parameters)
    }

    /// Scene band name for each role, in the formula's order.
    public let bandNames: [String]
    public let options: StageOptions

    public init(options: StageOptions) throws(StageProblem) {
        self.options = options
        bandNames = Formula.bands.map { options[$0.key] }
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let scene = inputs[0]
        for (band, name) in zip(Formula.bands, bandNames) where scene.band(named: name) == nil {
            throw StageProblem(option: band.role,
                               "the input scene has no band '\(name)' (its bands: \(scene.bandNames.joined(separator: ", ")))")
        }
        return ProductDescription(kind: .index, bandNames: [Formula.outputName])
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        let scene = inputs[0]
        let used = scene.usedCount
        let positions = bandNames.map { name -> Int in
            guard let index = scene.band(named: name) else { preconditionFailure("\(Formula.id): scene lacks band \(name)") }
            return index
        }
        output.bands[0].withUnsafeMutableBufferPointer { out in
            Features.withBands(scene, positions, count: used) { buffers in
                Formula.compute(buffers, parameters: options, into: UnsafeMutableBufferPointer(rebasing: out[0..<used]))
            }
        }
    }
}

/// NDVI = (NIR − Red) / (NIR + Red): vegetation.
public enum NDVI: IndexFormula {
    public static let id = "index.ndvi"
    public static let summary = "Normalised difference vegetation index (NIR - Red) / (NIR + Red)"
    public static let outputName = "ndvi"
    public static let bands: [BandRole] = [BandRole("nir", "nir", "name of the near-infrared band in the scene"),
                               BandRole("red", "red", "name of the red band in the scene")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.normalizedDifference(b[0], b[1], into: output)
    }
}

/// NDWI = (Green − NIR) / (Green + NIR): open water (McFeeters).
public enum NDWI: IndexFormula {
    public static let id = "index.ndwi"
    public static let summary = "Normalised difference water index (Green - NIR) / (Green + NIR)"
    public static let outputName = "ndwi"
    public static let bands: [BandRole] = [BandRole("green", "green", "name of the green band in the scene"),
                               BandRole("nir", "nir", "name of the near-infrared band in the scene")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.normalizedDifference(b[0], b[1], into: output)
    }
}

/// MNDWI = (Green − SWIR1) / (Green + SWIR1): water, separating built-up better than NDWI.
public enum MNDWI: IndexFormula {
    public static let id = "index.mndwi"
    public static let summary = "Modified normalised difference water index (Green - SWIR1) / (Green + SWIR1)"
    public static let outputName = "mndwi"
    public static let bands: [BandRole] = [BandRole("green", "green", "name of the green band in the scene"),
                               BandRole("swir1", "swir1", "name of the first short-wave infrared band (about 1.6 um)")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.normalizedDifference(b[0], b[1], into: output)
    }
}

/// NDBI = (SWIR1 − NIR) / (SWIR1 + NIR): built-up.
public enum NDBI: IndexFormula {
    public static let id = "index.ndbi"
    public static let summary = "Normalised difference built-up index (SWIR1 - NIR) / (SWIR1 + NIR)"
    public static let outputName = "ndbi"
    public static let bands: [BandRole] = [BandRole("swir1", "swir1", "name of the first short-wave infrared band (about 1.6 um)"),
                               BandRole("nir", "nir", "name of the near-infrared band in the scene")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.normalizedDifference(b[0], b[1], into: output)
    }
}

/// BSI = ((SWIR1 + Red) − (NIR + Blue)) / ((SWIR1 + Red) + (NIR + Blue)): bare soil.
public enum BSI: IndexFormula {
    public static let id = "index.bsi"
    public static let summary = "Bare soil index ((SWIR1 + Red) - (NIR + Blue)) / ((SWIR1 + Red) + (NIR + Blue))"
    public static let outputName = "bsi"
    public static let bands: [BandRole] = [BandRole("swir1", "swir1", "name of the first short-wave infrared band (about 1.6 um)"),
                               BandRole("red", "red", "name of the red band in the scene"),
                               BandRole("nir", "nir", "name of the near-infrared band in the scene"),
                               BandRole("blue", "blue", "name of the blue band in the scene")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.bareSoil(swir1: b[0], red: b[1], nir: b[2], blue: b[3], into: output)
    }
}

/// SAVI = (1 + L)(NIR − Red) / (NIR + Red + L): vegetation on sparse cover.
public enum SAVI: IndexFormula {
    public static let id = "index.savi"
    public static let summary = "Soil-adjusted vegetation index (1 + L)(NIR - Red) / (NIR + Red + L)"
    public static let outputName = "savi"
    public static let bands: [BandRole] = [BandRole("nir", "nir", "name of the near-infrared band in the scene"),
                               BandRole("red", "red", "name of the red band in the scene")]
    public static let l = Option<Double>("l", default: 0.5, range: 0...1,
                                         help: "soil brightness correction L (0 gives NDVI; 0.5 for intermediate cover)")
    public static var parameters: [any OptionKey] { [l] }
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.soilAdjusted(nir: b[0], red: b[1], l: parameters[l], into: output)
    }
}

/// EVI = 2.5 (NIR − Red) / (NIR + 6 Red − 7.5 Blue + 1): vegetation without saturation over dense canopy.
public enum EVI: IndexFormula {
    public static let id = "index.evi"
    public static let summary = "Enhanced vegetation index 2.5 (NIR - Red) / (NIR + 6 Red - 7.5 Blue + 1), on reflectance"
    public static let outputName = "evi"
    public static let bands: [BandRole] = [BandRole("nir", "nir", "name of the near-infrared band in the scene"),
                               BandRole("red", "red", "name of the red band in the scene"),
                               BandRole("blue", "blue", "name of the blue band in the scene")]
    public static func compute(_ b: [UnsafeBufferPointer<Float>], parameters: StageOptions, into output: UnsafeMutableBufferPointer<Float>) {
        SpectralIndex.enhancedVegetation(nir: b[0], red: b[1], blue: b[2], into: output)
    }
}
