import LandwatchGDAL

/// A pipeline whose products are described and whose run grid is known: what `landwatch validate` checks and
/// what a run executes. Building it opens raster headers but reads no pixels.
public struct RunPlan: Sendable {
    public var pipeline: Pipeline
    /// What each stage produces, by stage id (sinks have none).
    public var products: [String: ProductDescription]
    /// The grid every raster of the run is brought onto.
    public var grid: RasterGrid

    /// Describes every stage and settles the run grid; problems are reported together, located in the file.
    public init(pipeline: Pipeline) throws(PipelineFileError) {
        self.pipeline = pipeline
        var problems = DiagnosticCollector()
        var products: [String: ProductDescription] = [:]
        var failed = Set<String>()
        for id in pipeline.topologicalOrder {
            guard let stage = pipeline.stage(id) else { continue }
            let connected = stage.descriptor.inputs.compactMap { port in stage.inputs.first { $0.port == port.name } }
            let inputIDs = connected.map(\.stageID)
            if inputIDs.contains(where: failed.contains) { failed.insert(id); continue }
            let inputs = connected.compactMap { ref -> ProductDescription? in
                guard var product = products[ref.stageID] else { return nil }
                product.port = ref.port
                return product
            }
            do {
                switch stage.role {
                case .source(let source):
                    var product = try source.describe()
                    for band in product.radiometry.keys where product.radiometry[band]?.stage == nil { product.radiometry[band]?.stage = id }
                    products[id] = product
                case .pixel(let pixel):
                    products[id] = Self.inheritingRadiometry(Self.inheritingDate(try pixel.describe(inputs: inputs), from: inputs), from: inputs)
                case .wholeRaster(let whole):
                    products[id] = Self.inheritingRadiometry(Self.inheritingDate(try whole.describe(inputs: inputs), from: inputs), from: inputs)
                case .neighbourhood(let stage):
                    products[id] = Self.inheritingRadiometry(Self.inheritingDate(try stage.describe(inputs: inputs), from: inputs), from: inputs)
                case .report:
                    break
                case .wholeSink(let wholeSink):
                    try wholeSink.check(inputs: inputs)
                case .sink(let sink):
                    try sink.check(inputs: inputs)
                    products[id] = sink.describeOutput(inputs: inputs)
                }
            } catch {
                failed.insert(id)
                problems.add(error.location ?? stage.location(of: error.option), stage: id, error.message)
            }
        }
        self.products = products
        try problems.throwIfAny()

        var grid: RasterGrid?
        var gridSource: String?
        switch pipeline.grid {
        case .explicit(let crs, let resolution, let extent, let location)?:
            do { grid = try GridSpec.grid(crs: crs, resolution: resolution, extent: extent) } catch {
                problems.add(location, stage: nil, "grid: \(error)")
            }
        case .like(let stageID, let location)?:
            grid = products[stageID]?.nativeGrid
            gridSource = products[stageID]?.sourcePath
            if grid == nil { problems.add(location, stage: nil, "grid 'like: \(stageID)': the stage has no grid of its own") }
        case nil:
            var first: (id: String, grid: RasterGrid, path: String)?
            for id in pipeline.topologicalOrder {
                guard let stage = pipeline.stage(id), let native = products[id]?.nativeGrid else { continue }
                let path = products[id]?.sourcePath ?? id
                guard let reference = first else {
                    first = (id, native, path)
                    continue
                }
                let same = (try? native.matches(reference.grid)) ?? false
                if !same {
                    problems.add(stage.usesLocation, stage: id,
                                 "\(path) is on grid \(native), but stage '\(reference.id)' reads \(reference.path) on grid "
                                    + "\(reference.grid); add 'grid: {like: \(reference.id)}' (or crs, resolution and extent) to warp them onto one grid")
                }
            }
            grid = first?.grid
            gridSource = first?.path
            if grid == nil {
                problems.add(SourceLocation(file: pipeline.path, line: 1, column: 1), stage: nil,
                             "no stage reads a raster, so the run has no grid: add a read stage or a 'grid' section")
            }
        }
        if let grid, grid.crsWKT.isEmpty {
            problems.add(SourceLocation(file: pipeline.path, line: 1, column: 1), stage: nil,
                         "the run grid has no CRS: " + (gridSource.map { "\($0) carries none (no georeferencing: not a GeoTIFF, or its CRS was lost)" }
                                                          ?? "the input rasters carry none") + ", so outputs could not be placed on a map")
        }
        if let grid, !grid.geoTransform.isNorthUp {
            problems.add(SourceLocation(file: pipeline.path, line: 1, column: 1), stage: nil,
                         "the run grid is rotated (\(grid.geoTransform)); add a 'grid' section to warp onto a north-up grid")
        }
        try problems.throwIfAny()
        self.grid = grid!
    }

    /// An output band named like a band of a raster input (a stack, a focal stage's copy of its bands) carries that
    /// band's radiometry, so that a stage needing reflectance can check bands that passed through other stages.
    static func inheritingRadiometry(_ product: ProductDescription, from inputs: [ProductDescription]) -> ProductDescription {
        var carried = product
        for name in product.bandNames where carried.radiometry[name] == nil {
            if let found = inputs.lazy.filter({ ProductKind.rasters.contains($0.kind) }).compactMap({ $0.radiometry[name] }).first {
                carried.radiometry[name] = found
            }
        }
        return carried
    }

    /// A product computed from imagery of one date carries that date (an index of a scene, a classification).
    static func inheritingDate(_ product: ProductDescription, from inputs: [ProductDescription]) -> ProductDescription {
        guard product.date == nil else { return product }
        let dates = Set(inputs.filter { ProductKind.rasters.contains($0.kind) && $0.kind != .plan }.compactMap(\.date))
        var dated = product
        if dates.count == 1 { dated.date = dates.first }
        return dated
    }
}
