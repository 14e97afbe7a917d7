import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `features.focal`: moving-window statistics of bands or indices (texture, and terrain position from elevation),
/// added to the scene as bands named `FEATURE_STATSIZE` (`nir_std15`, `elevation_dev31`) for a classifier.
///
/// A pixel's class depends on its neighbours: a built-up pixel sits among varied pixels, a forest pixel among
/// similar ones, a valley floor below its surroundings. Tiles are read with a halo of half the largest window, so the
/// result does not depend on the tiling; windows are cut at the image's edges and skip nodata.
public struct FocalStage: WholeRasterStage, RowLocalStage {
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

    public func run(inputs: [MaterializedRaster], output: String, grid: RasterGrid, context: RunContext) throws {
        let scene = inputs[0]
        let sceneBands = scene.description.bandNames
        let names = (keep ? sceneBands : []) + derivedNames
        let target = try Dataset.createGeoTIFF(at: output, grid: grid, bandCount: names.count, dataType: .float32,
                                               options: GeoTIFFOptions(compression: .zstd, blockSize: context.blockSize))
        for (index, name) in names.enumerated() { try target.band(index + 1).setDescription(name) }
        let radius = sizes.last! / 2
        let tile = context.blockSize
        let tiles = Window(width: grid.width, height: grid.height).subdivided(tileWidth: tile, tileHeight: tile)
        // Per worker: the halo'd scene bands, one feature, its tables (sums and squares with their rounding errors, counts), the tile's outputs.
        let haloValues = (tile + 2 * radius) * (tile + 2 * radius)
        let perWorker = haloValues * 4 * (sceneBands.count + 2) + FocalStatistics.tableBytes(values: haloValues) + tile * tile * 4 * names.count
        let workers = max(1, min(context.threads, tiles.count, context.memoryBudget / 2 / max(perWorker, 1)))
        let next = Counter()
        let failure = FirstError()
        let outputLock = NSLock()
        let targetBox = UncheckedSendable(target)
        let stage = self
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            do {
                try stage.work(scene: scene, names: sceneBands, radius: radius, grid: grid, tiles: tiles, next: next,
                               failure: failure) { window, outputs throws in
                    try outputLock.withLock {
                        for (index, values) in outputs.enumerated() {
                            try values.withUnsafeBufferPointer { try targetBox.value.band(index + 1).write(window, from: $0) }
                        }
                    }
                }
            } catch {
                failure.set(error)
            }
        }
        if let error = failure.error { throw error }
        try target.close()
    }

    /// One worker: takes tiles until none is left, and hands each tile's output bands to `write`.
    private func work(scene: MaterializedRaster, names: [String], radius: Int, grid: RasterGrid, tiles: [Window],
                      next: Counter, failure: FirstError, write: (Window, [[Float]]) throws -> Void) throws {
        let dataset = try Dataset.open(scene.path)
        let bands = try (1...names.count).map { try dataset.band($0) }
        while failure.error == nil {
            let index = next.next()
            guard index < tiles.count else { return }
            let tile = tiles[index]
            let x0 = max(tile.colOffset - radius, 0), y0 = max(tile.rowOffset - radius, 0)
            let halo = Window(colOffset: x0, rowOffset: y0,
                              width: min(tile.colOffset + tile.width + radius, grid.width) - x0,
                              height: min(tile.rowOffset + tile.height + radius, grid.height) - y0)
            var block = PixelBlock(bandNames: names, blockWidth: halo.width, blockHeight: halo.height)
            block.window = halo
            for (position, band) in bands.enumerated() {
                try block.bands[position].withUnsafeMutableBufferPointer { try band.read(halo, into: $0) }
            }
            var outputs: [[Float]] = []
            let dx = tile.colOffset - x0, dy = tile.rowOffset - y0
            if keep {
                for position in bands.indices {
                    var values = [Float](repeating: .nan, count: tile.pixelCount)
                    for row in 0..<tile.height {
                        for col in 0..<tile.width { values[row * tile.width + col] = block.bands[position][(row + dy) * halo.width + col + dx] }
                    }
                    outputs.append(values)
                }
            }
            for feature in features {
                let values = Features.values(feature, block, halo.pixelCount)
                let table = values.withUnsafeBufferPointer { FocalStatistics(values: $0, width: halo.width, height: halo.height) }
                for size in sizes {
                    for statistic in statistics {
                        var out = [Float](repeating: .nan, count: tile.pixelCount)
                        for row in 0..<tile.height {
                            for col in 0..<tile.width {
                                let x = col + dx, y = row + dy
                                out[row * tile.width + col] = table.value(statistic, size: size, x: x, y: y, centre: values[y * halo.width + x])
                            }
                        }
                        outputs.append(out)
                    }
                }
            }
            try write(tile, outputs)
        }
    }
}
