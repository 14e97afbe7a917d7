import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// The driver rasters of a simulation, as files on the run grid read back in bands of rows: elevation and slope from
/// the DEM, every band of `drivers`, the distance (m, GDAL proximity) to each class of `distance_to` on a class map,
/// and the distance to the urban boundary. Each is checked to have a valid pixel.
struct DriverSet {
    struct Source { var name: String; var path: String; var band: Int; var noData: Float? }
    let run: SimulationRun
    private(set) var sources: [Source] = []
    var names: [String] { sources.map(\.name) }

    init(run: SimulationRun, classMap: LandMap, layers: [UInt8]) throws {
        self.run = run
        let grid = run.grid, context = run.context
        if let dem = run.input("dem") {
            sources.append(Source(name: "elevation", path: dem.path, band: 1, noData: nil))
            sources.append(Source(name: "slope", path: try slopeRaster(dem.path), band: 1, noData: nil))
        }
        if let drivers = run.input("drivers") {
            for (index, name) in drivers.description.bandNames.enumerated() {
                sources.append(Source(name: name, path: drivers.path, band: index + 1, noData: nil))
            }
        }
        for code in run.stage.distanceClasses {
            let name = "distance_to_" + run.stage.legend.name(of: code)
            sources.append(Source(name: name, path: try distanceRaster(name) { classMap.cells[$0] == UInt8(code) }, band: 1, noData: -1))
        }
        if run.input("urban_boundary") != nil, !layers.isEmpty {
            sources.append(Source(name: "distance_to_urban_boundary",
                                  path: try distanceRaster("distance_to_urban_boundary") { layers[$0] & SimulationRun.insideBoundary != 0 },
                                  band: 1, noData: -1))
        }
        _ = grid
        _ = context
        for source in sources { try checkValid(source) }
    }

    /// Reads rows `window` of every driver: `values[d]` row-major over the window, NaN where missing.
    func read(_ window: Window, datasets: [Dataset]) throws -> [[Float]] {
        try sources.enumerated().map { index, source in
            var values = try datasets[index].band(source.band).read(window)
            if let noData = source.noData { for i in values.indices where values[i] == noData || values[i] < 0 { values[i] = .nan } }
            return values
        }
    }

    func open() throws -> [Dataset] { try sources.map { try Dataset.open($0.path) } }

    private func checkValid(_ source: Source) throws {
        let dataset = try Dataset.open(source.path)
        var row = 0
        let grid = run.grid
        while row < grid.height {
            let window = Window(colOffset: 0, rowOffset: row, width: grid.width, height: min(run.chunkRows, grid.height - row))
            let values = try dataset.band(source.band).read(window)
            if values.contains(where: { $0.isFinite && (source.noData == nil || ($0 != source.noData! && $0 >= 0)) }) { return }
            row += window.height
        }
        let origin = source.noData != nil ? "computed from the class map (no \(source.name.replacingOccurrences(of: "distance_to_", with: "")) cell on it)" : "band \(source.band) of \(source.path)"
        throw run.fail("driver '\(source.name)' has no valid pixel (\(origin))")
    }

    /// Samples the calibration region's cells for the suitability of `classes`.
    func train(before: LandMap, after: LandMap, classes: [Int], region: Region) throws -> SuitabilityTrainer {
        let options = run.stage.options
        var trainer = SuitabilityTrainer(drivers: names, classes: names.isEmpty ? [] : classes, samplesPerLabel: options[SimulateLandUseStage.samples],
                                         minimumPositives: options[SimulateLandUseStage.minExpansion],
                                         seed: UInt64(options[SimulateLandUseStage.seed]))
        guard !names.isEmpty, !classes.isEmpty else { return trainer }
        let datasets = try open()
        let grid = run.grid, width = grid.width
        var row = 0
        while row < grid.height {
            let window = Window(colOffset: 0, rowOffset: row, width: width, height: min(run.chunkRows, grid.height - row))
            let values = try read(window, datasets: datasets)
            for r in 0..<window.height {
                let first = (row + r) * width
                let rowValues = values.map { Array($0[(r * width)..<((r + 1) * width)]) }
                trainer.add(before: before.cells[first..<(first + width)], after: after.cells[first..<(first + width)], values: rowValues,
                            firstIndex: first) { region.contains($0, width: width, height: grid.height) }
            }
            row += window.height
        }
        return trainer
    }

    /// The suitability of `code` on every cell (0 outside `region`), 0–255.
    func predict(_ model: SuitabilityModel, class code: Int, region: Region) throws -> [UInt8] {
        let datasets = try open()
        let grid = run.grid, width = grid.width, d = sources.count
        var result = [UInt8](repeating: 0, count: width * grid.height)
        var row = 0
        while row < grid.height {
            let window = Window(colOffset: 0, rowOffset: row, width: width, height: min(max(1, 65536 / max(width, 1)), grid.height - row))
            if !region.containsRow(row, height: grid.height) && !region.containsRow(row + window.height - 1, height: grid.height) {
                row += window.height
                continue
            }
            let values = try read(window, datasets: datasets)
            let n = window.pixelCount
            var features = [Float](repeating: .nan, count: n * d)
            for c in 0..<d { for i in 0..<n { features[i * d + c] = values[c][i] } }
            let predicted = try model.predict(code, features: features, rows: n)
            let base = row * width
            for i in 0..<n where region.contains(base + i, width: width, height: grid.height) { result[base + i] = predicted[i] }
            row += window.height
        }
        return result
    }

    // MARK: - Computed drivers

    private func slopeRaster(_ demPath: String) throws -> String {
        let grid = run.grid, width = grid.width
        let dem = try Dataset.open(demPath)
        let path = run.context.scratchPath("simulate-slope-\(UUID().uuidString.prefix(8)).tif")
        let output = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .float32,
                                               options: GeoTIFFOptions(compression: .none, blockSize: run.context.blockSize))
        func row(_ r: Int) throws -> [Float] {
            try dem.band(1).read(Window(colOffset: 0, rowOffset: min(max(r, 0), grid.height - 1), width: width, height: 1))
        }
        var above = try row(-1), current = try row(0)
        for r in 0..<grid.height {
            let below = try row(r + 1)
            let slope = hornSlope(above: above, row: current, below: below, cellWidth: abs(grid.geoTransform.pixelWidth),
                                  cellHeight: abs(grid.geoTransform.pixelHeight))
            try slope.withUnsafeBufferPointer { try output.band(1).write(Window(colOffset: 0, rowOffset: r, width: width, height: 1), from: $0) }
            above = current
            current = below
        }
        try output.close()
        return path
    }

    private func distanceRaster(_ name: String, _ isTarget: (Int) -> Bool) throws -> String {
        let grid = run.grid, width = grid.width, context = run.context
        let tag = UUID().uuidString.prefix(8)
        let maskPath = context.scratchPath("simulate-\(name)-mask-\(tag).tif"), path = context.scratchPath("simulate-\(name)-\(tag).tif")
        let mask = try Dataset.createGeoTIFF(at: maskPath, grid: grid, bandCount: 1, dataType: .uint8,
                                             options: GeoTIFFOptions(compression: .none, blockSize: context.blockSize))
        var row = 0
        while row < grid.height {
            let window = Window(colOffset: 0, rowOffset: row, width: width, height: min(run.chunkRows, grid.height - row))
            var values = [Float](repeating: 0, count: window.pixelCount)
            for i in values.indices where isTarget(row * width + i) { values[i] = 1 }
            try values.withUnsafeBufferPointer { try mask.band(1).write(window, from: $0) }
            row += window.height
        }
        try mask.flush()
        let distance = try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .float32,
                                                 options: GeoTIFFOptions(compression: .none, blockSize: context.blockSize))
        let diagonal = hypot(Double(grid.width) * abs(grid.geoTransform.pixelWidth), Double(grid.height) * abs(grid.geoTransform.pixelHeight))
        try mask.band(1).proximity(into: distance.band(1), values: [1], maxDistance: diagonal * 2, noData: -1)
        try mask.close()
        try distance.close()
        return path
    }
}
