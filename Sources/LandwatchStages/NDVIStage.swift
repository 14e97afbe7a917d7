import LandwatchAlgorithms
import LandwatchPipeline

/// `index.ndvi`: (NIR − Red) / (NIR + Red), Float32, NaN where an input is nodata or the sum is zero.
public struct NDVIStage: PixelStage {
    public static let descriptor = StageDescriptor(
        id: "index.ndvi",
        summary: "Normalised difference vegetation index (NIR - Red) / (NIR + Red)",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "imagery with red and near-infrared bands")],
        output: .index,
        options: [
            OptionSpec("red", .string, default: .string("red"), help: "name of the red band in the scene"),
            OptionSpec("nir", .string, default: .string("nir"), help: "name of the near-infrared band in the scene"),
        ])

    public let red: String
    public let nir: String

    public init(options: StageOptions) throws(StageProblem) {
        red = options.string("red") ?? "red"
        nir = options.string("nir") ?? "nir"
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let scene = inputs[0]
        for (option, name) in [("red", red), ("nir", nir)] where scene.band(named: name) == nil {
            throw StageProblem(option: option, "the input scene has no band '\(name)' (its bands: \(scene.bandNames.joined(separator: ", ")))")
        }
        return ProductDescription(kind: .index, bandNames: ["ndvi"])
    }

    /// Band positions are looked up per block by name (describe(inputs:) checked they exist); cheap next to the pixels.
    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        let scene = inputs[0]
        let used = scene.usedCount
        guard let r = scene.band(named: red), let n = scene.band(named: nir) else {
            preconditionFailure("index.ndvi ran on a scene without bands \(red) and \(nir)")
        }
        scene.bands[n].withUnsafeBufferPointer { nirValues in
            scene.bands[r].withUnsafeBufferPointer { redValues in
                output.bands[0].withUnsafeMutableBufferPointer { out in
                    SpectralIndex.normalizedDifference(UnsafeBufferPointer(rebasing: nirValues[0..<used]),
                                                       UnsafeBufferPointer(rebasing: redValues[0..<used]),
                                                       into: UnsafeMutableBufferPointer(rebasing: out[0..<used]))
                }
            }
        }
    }
}
