import LandwatchGDAL

/// A stage whose output at a pixel depends on its inputs within a halo around it (focal windows, the compliance
/// diff's neighbourhood test).
///
/// Its inputs are materialised, like a whole-raster stage's; the engine then computes its output tile by tile on the
/// run's workers and memory budget: each worker opens its own dataset handles (no GDAL handle is shared between
/// threads), reads each declared input with its halo around the tile, hands the blocks to the stage's worker, writes
/// the output tile, and collects what each tile reduces to (patch pieces, counts) for ``NeighbourhoodKernel/finish(tiles:output:context:)``.
public protocol NeighbourhoodStage: StageType {
    func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription
    /// Settles the tile computation for this run: whole-grid work first (through `tiles`, which runs a kernel
    /// without output over every tile and returns each tile's reduction), then the kernel of the output.
    func prepare(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext, tiles: any TileRunner) throws -> any NeighbourhoodKernel
}

/// Bands of a materialised input that a kernel reads for each tile, with the halo around the tile.
public struct NeighbourhoodRead: Sendable {
    /// The materialised file.
    public var path: String
    /// Bands of the file, from 1.
    public var bands: [Int]
    /// Pixels read around the tile on every side (cut at the grid's edges); 0 reads the tile alone.
    public var halo: Int
    /// The names of the bands in the block (``PixelBlock/band(named:)``).
    public var names: [String]

    public init(path: String, bands: [Int], halo: Int = 0, names: [String]? = nil) {
        self.path = path
        self.bands = bands
        self.halo = halo
        self.names = names ?? bands.map { "band\($0)" }
    }
}

/// What a neighbourhood stage computes for each tile.
public protocol NeighbourhoodKernel: Sendable {
    /// The inputs read for each tile, in the order the worker gets their blocks.
    var reads: [NeighbourhoodRead] { get }
    /// Names of the output bands (none: the kernel only reduces, see ``TileRunner``).
    var outputBands: [String] { get }
    /// True when most output pixels are 0 (a change raster): the output is compressed even as scratch.
    var sparseOutput: Bool { get }
    /// Bytes one worker holds besides the blocks the engine reads and writes (tables, scratch), for tiles of
    /// `tile` x `tile` pixels.
    func workerBytes(tile: Int) -> Int
    /// For a kernel without output (see ``TileRunner``): whether `tile` needs computing at all (a sampler whose
    /// sample lies elsewhere skips it, unread). Default: every tile.
    func computes(tile: Window) -> Bool
    /// A worker for one thread; never shared between threads.
    func makeWorker() throws -> any NeighbourhoodWorker
    /// Called once every tile is written and the output is closed, with every tile's reduction (in no set order).
    func finish(tiles: [TileReduction], output: String?, context: RunContext) throws
}

extension NeighbourhoodKernel {
    public var sparseOutput: Bool { false }
    public func computes(tile: Window) -> Bool { true }
    public func workerBytes(tile: Int) -> Int { 0 }
    public func finish(tiles: [TileReduction], output: String?, context: RunContext) throws {}
}

/// Computes tiles for one worker thread.
public protocol NeighbourhoodWorker: AnyObject {
    /// Computes the tile `output.window`. `inputs` hold one block per ``NeighbourhoodKernel/reads`` entry: the tile
    /// with that read's halo around it (cut at the grid's edges), rows `window.width` apart; `output` has one band
    /// per output band, rows `window.width` apart, and its values from the previous tile (the worker sets every
    /// pixel). Returns what the tile reduces to (nil: nothing).
    func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)?
}

/// A kernel whose output may be written without computing a tile: a file from which readers of the materialised
/// output read the values the tiles would hold (a value VRT of the input with a transform, see ``ValueTransform``).
/// The engine asks only when the output is scratch (a kept or handed-over output is always computed).
public protocol DirectOutputKernel: NeighbourhoodKernel {
    /// Writes the output at `path` and returns true, or returns false, writing nothing, when it cannot (its tiles
    /// are then computed).
    func writeDirectly(to path: String, grid: RasterGrid) throws -> Bool
}

/// What one tile reduced to, with the tile.
public struct TileReduction: Sendable {
    public var tile: Window
    public var value: any Sendable

    public init(tile: Window, value: any Sendable) {
        self.tile = tile
        self.value = value
    }
}

/// Runs a kernel without output over every tile of the run grid (the engine's tiles, workers and budget), for the
/// whole-grid work a neighbourhood stage does before its output (a sample of the grid, say).
public protocol TileRunner: Sendable {
    func reduce(_ kernel: any NeighbourhoodKernel) throws -> [TileReduction]
}

extension Window {
    /// This window with `halo` pixels around it on every side, cut at the edges of a `width` x `height` grid.
    public func padded(by halo: Int, width: Int, height: Int) -> Window {
        let x0 = max(colOffset - halo, 0), y0 = max(rowOffset - halo, 0)
        return Window(colOffset: x0, rowOffset: y0, width: min(colOffset + self.width + halo, width) - x0,
                      height: min(rowOffset + self.height + halo, height) - y0)
    }
}

/// A kernel whose tiles need no state of their own on a worker thread: the engine's worker calls ``compute(inputs:into:)``.
public protocol StatelessNeighbourhoodKernel: NeighbourhoodKernel {
    /// Computes a tile as ``NeighbourhoodWorker/apply(inputs:into:)`` does; called from several threads at once.
    func compute(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)?
}

extension StatelessNeighbourhoodKernel {
    public func makeWorker() throws -> any NeighbourhoodWorker { StatelessWorker(kernel: self) }
}

/// The worker of a ``StatelessNeighbourhoodKernel``.
final class StatelessWorker<Kernel: StatelessNeighbourhoodKernel>: NeighbourhoodWorker {
    let kernel: Kernel
    init(kernel: Kernel) { self.kernel = kernel }
    func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
        try kernel.compute(inputs: inputs, into: &output)
    }
}
