import Foundation
import LandwatchAlgorithms
import LandwatchPipeline
import LandwatchSensors

/// `thermal.lst`: land surface temperature in °C from a Landsat thermal band, calibrated with its MTL.
///
/// Level-1 (Landsat 8/9 band 10, Landsat 7 band 6 low gain unless asked, Landsat 4/5 band 6): radiance from the MTL's
/// M_L and A_L, brightness temperature from its K1 and K2, emissivity from NDVI by the threshold method (water
/// 0.991 where a water class or mask says so). Collection-2 Level-2 ST bands are surface temperature already.
public struct ThermalLSTStage: PixelStage {
    public static let mtl = Option<String>("mtl", .inputPath, help: "the product's MTL file: radiance scaling, K1/K2, sensor (wavelength)")
    public static let highGain = Option<Bool>("high_gain", default: false, help: "Landsat 7: the band is 6 high gain (VCID_2), not low gain")
    public static let soilNDVI = Option<Double>("soil_ndvi", default: 0.2, help: "NDVI under which a pixel is bare soil")
    public static let vegetationNDVI = Option<Double>("vegetation_ndvi", default: 0.5, help: "NDVI over which a pixel is full vegetation")
    public static let soilEmissivity = Option<Double>("soil_emissivity", default: 0.973, range: 0.5...1, help: "emissivity of bare soil")
    public static let vegetationEmissivity = Option<Double>(
        "vegetation_emissivity", default: 0.99, range: 0.5...1, help: "emissivity of full vegetation")
    public static let waterEmissivity = Option<Double>("water_emissivity", default: 0.991, range: 0.5...1, help: "emissivity of water")

    public static let descriptor = StageDescriptor(
        id: "thermal.lst",
        summary: "Land surface temperature (°C) from a Landsat thermal band, constants from its MTL, emissivity from NDVI",
        evaluation: .pixelwise,
        inputs: [
            InputPort("thermal", kinds: [.scene], help: "the thermal band as stored numbers (read.landsat with bands: tir1 or tir, values: dn)"),
            InputPort("ndvi", kinds: [.index], help: "NDVI of the same image, for emissivity (not needed for Level-2 ST)", optional: true),
            InputPort("water", kinds: [.classes, .mask], help: "water: a land-cover map (its water class) or a 0/1 mask", optional: true),
        ],
        output: .index,
        keys: [mtl, highGain, soilNDVI, vegetationNDVI, soilEmissivity, vegetationEmissivity, waterEmissivity])

    public let calibration: ThermalCalibration
    public let emissivity: EmissivityModel
    public let waterCode: Float

    public init(options: StageOptions) throws(StageProblem) {
        do {
            let product = try LandsatProduct(mtl: MTLFile(path: options[Self.mtl]))
            calibration = try product.thermalCalibration(highGain: options[Self.highGain])
        } catch {
            throw StageProblem(option: Self.mtl, "\(error)")
        }
        var model = EmissivityModel()
        model.soilNDVI = options[Self.soilNDVI]
        model.vegetationNDVI = options[Self.vegetationNDVI]
        model.soil = options[Self.soilEmissivity]
        model.vegetation = options[Self.vegetationEmissivity]
        model.water = options[Self.waterEmissivity]
        guard model.soilNDVI < model.vegetationNDVI else {
            throw StageProblem(option: Self.soilNDVI, "soil_ndvi (\(model.soilNDVI)) must be below vegetation_ndvi (\(model.vegetationNDVI))")
        }
        emissivity = model
        waterCode = Float(options.legend.code(for: "water") ?? -1)
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        guard let thermal = inputs.first(where: { $0.port == "thermal" }) else { throw StageProblem("connect 'thermal'") }
        if thermal.bandNames.count != 1 {
            throw StageProblem("input 'thermal' must have one band, the thermal band (it has \(thermal.bandNames.joined(separator: ", ")))")
        }
        if case .radiance = calibration.kind, !inputs.contains(where: { $0.port == "ndvi" }) {
            throw StageProblem("a Level-1 thermal band (band \(calibration.band)) needs input 'ndvi' for emissivity")
        }
        return ProductDescription(kind: .index, bandNames: ["lst"])
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        preconditionFailure("thermal.lst computes through its worker, which knows which optional inputs are connected")
    }

    public func makeWorker(inputs: [ProductDescription], context: RunContext) throws -> (any PixelWorker)? {
        let streamed = inputs.filter { ProductKind.rasters.contains($0.kind) }
        let water = streamed.first { $0.port == "water" }
        return Worker(calibration: calibration, emissivity: emissivity, ndvi: streamed.firstIndex { $0.port == "ndvi" },
                      water: streamed.firstIndex { $0.port == "water" }, waterIsMask: water?.kind == .mask, waterCode: waterCode)
    }

    final class Worker: PixelWorker {
        let calibration: ThermalCalibration
        let emissivity: EmissivityModel
        let ndvi: Int?, water: Int?
        let waterIsMask: Bool
        let waterCode: Float

        init(calibration: ThermalCalibration, emissivity: EmissivityModel, ndvi: Int?, water: Int?, waterIsMask: Bool, waterCode: Float) {
            self.calibration = calibration
            self.emissivity = emissivity
            self.ndvi = ndvi
            self.water = water
            self.waterIsMask = waterIsMask
            self.waterCode = waterCode
        }

        func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws {
            let thermal = inputs[0]
            for row in 0..<thermal.window.height {
                let start = row * thermal.stride
                for i in start..<(start + thermal.window.width) {
                    let dn = thermal.bands[0][i]
                    guard dn.isFinite else { output.bands[0][i] = .nan; continue }
                    var isWater = false
                    if let water {
                        let w = inputs[water].bands[0][i]
                        isWater = waterIsMask ? (w.isFinite && w > 0) : w == waterCode
                    }
                    let v = ndvi.map { Double(inputs[$0].bands[0][i]) }
                    output.bands[0][i] = calibration.surfaceTemperature(dn: Double(dn), ndvi: v, isWater: isWater, emissivity: emissivity)
                        .map(Float.init) ?? .nan
                }
            }
        }
    }
}
