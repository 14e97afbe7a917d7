import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `features.focal`: moving-window statistics of bands or indices (texture, and terrain position from elevation),
/// added to the scene as bands named `FEATURE_STATSIZE` (`nir_std15`, `elevation_dev31`) for a classifier.
///
/// A pixel's class depends on its neighbours: a built-up pixel sits among varied pixels, a forest pixel among
/// similar ones, a valley floor below its surroundings. A neighbourhood stage: the engine reads its tiles with a halo
/// of half the largest window, so the result does not depend on the tiling; windows are cut at the image's edges
/// and skip nodata.
public struct FocalStage: NeighbourhoodStage, RowLocalStage {
    public static let features = Option<OptionList>(
        "features", help: "bands or indices, comma-separated (" + Features.indexBands.keys.sorted().joined(separator: ", ") + ")")
    public static let sizes = Option<OptionList>("sizes", default: OptionList(["5", "15"]), help: "window sizes in pixels, odd, comma-separated")
    public static let statistics = Option<OptionList>(
        "statistics", default: OptionList(["mean", "std"]),
        help: "mean, std (standard deviation), dev (value minus the window mean: terrain position for elevation), comma-separated")
    public static let keep = Option<Bool>("keep", default: true, help: "pass the scene's own bands through before the new ones")

    public static let descriptor = StageDescriptor(
        id: "features.focal",
        summary: "Moving-window mean, standard deviation and deviation from the mean of bands or indices, added as bands",
        evaluation: .wholeRaster,
        inputs: [InputPort("scene", kinds: [.scene], help: "the imagery (and elevation) the features come from")],
        output: .scene,
        keys: [features, sizes, statistics, keep])

    public let features: [String]
    public let sizes: [Int]
    public let statistics: [FocalStatistics.Statistic]
    public let keep: Bool

    /// The largest window reaches half its size away.
    public var haloRows: Int { (sizes.max() ?? 1) / 2 }

    public init(options: StageOptions) throws(StageProblem) {
        features = options[Self.features].items
        if features.isEmpty { throw StageProblem(option: Self.features, "name at least one band or index") }
        if Set(features).count != features.count { throw StageProblem(option: Self.features, "a feature is named twice") }
        var sizes: [Int] = []
        for word in options[Self.sizes] {
            guard let size = Int(word), size >= 3, size <= 255, size % 2 == 1 else {
                throw StageProblem(option: Self.sizes, "'\(word)' is not an odd window size from 3 to 255 pixels")
            }
            sizes.append(size)
        }
        if sizes.isEmpty { throw StageProblem(option: Self.sizes, "name at least one window size") }
        self.sizes = Array(Set(sizes)).sorted()
        var statistics: [FocalStatistics.Statistic] = []
        for word in options[Self.statistics] {
            guard let statistic = FocalStatistics.Statistic(rawValue: word) else {
                throw StageProblem(option: Self.statistics, "'\(word)' is not a statistic (mean, std, dev)")
            }
            if !statistics.contains(statistic) { statistics.append(statistic) }
        }
        if statistics.isEmpty { throw StageProblem(option: Self.statistics, "name at least one statistic") }
        self.statistics = statistics
        keep = options[Self.keep]
    }

    /// The new bands, feature by feature, then size, then statistic.
    var derivedNames: [String] {
        features.flatMap { feature in sizes.flatMap { size in statistics.map { "\(feature)_\($0.rawValue)\(size)" } } }
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let bands = inputs[0].bandNames
        for feature in features {
            if let problem = Features.problem(with: feature, bands: bands) { throw StageProblem(option: Self.features, problem) }
        }
        if keep, let clash = derivedNames.first(where: bands.contains) {
            throw StageProblem(option: Self.features, "the scene already has a band named '\(clash)'")
        }
        return ProductDescription(kind: .scene, bandNames: (keep ? bands : []) + derivedNames)
    }

    /// Every tile of the output from the scene read with a halo of half the largest window (the engine's tiles,
    /// workers and readers, see ``NeighbourhoodStage``).
    public func prepare(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext, tiles: any TileRunner) throws -> any NeighbourhoodKernel {
        let scene = inputs[0]
        let sceneBands = scene.description.bandNames
        return Kernel(stage: self, reads: [NeighbourhoodRead(path: scene.path, bands: Array(1...sceneBands.count), halo: haloRows, names: sceneBands)],
                      outputBands: (keep ? sceneBands : []) + derivedNames)
    }

    struct Kernel: NeighbourhoodKernel {
        let stage: FocalStage
        let reads: [NeighbourhoodRead]
        let outputBands: [String]

        /// One feature's values over the halo'd tile and its tables.
        func workerBytes(tile: Int) -> Int {
            let haloValues = (tile + 2 * stage.haloRows) * (tile + 2 * stage.haloRows)
            return haloValues * 4 * 2 + FocalStatistics.tableBytes(values: haloValues)
        }

        func makeWorker() throws -> any NeighbourhoodWorker { Worker(stage: stage) }
    }

    final class Worker: NeighbourhoodWorker {
        let stage: FocalStage
        init(stage: FocalStage) { self.stage = stage }

        /// The scene's own bands (with `keep`), then each feature's statistics, cut from the halo'd tile.
        func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
            let block = inputs[0], halo = inputs[0].window, tile = output.window
            let dx = tile.colOffset - halo.colOffset, dy = tile.rowOffset - halo.rowOffset
            var next = 0
            if stage.keep {
                for position in block.bands.indices {
                    for row in 0..<tile.height {
                        for col in 0..<tile.width { output.bands[next][row * tile.width + col] = block.bands[position][(row + dy) * halo.width + col + dx] }
                    }
                    next += 1
                }
            }
            for feature in stage.features {
                let values = Features.values(feature, block, halo.pixelCount)
                let table = values.withUnsafeBufferPointer { FocalStatistics(values: $0, width: halo.width, height: halo.height) }
                for size in stage.sizes {
                    for statistic in stage.statistics {
                        for row in 0..<tile.height {
                            for col in 0..<tile.width {
                                let x = col + dx, y = row + dy
                                output.bands[next][row * tile.width + col] = table.value(statistic, size: size, x: x, y: y, centre: values[y * halo.width + x])
                            }
                        }
                        next += 1
                    }
                }
            }
            return nil
        }
    }
}
