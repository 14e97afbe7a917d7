import LandwatchAlgorithms
import LandwatchGDAL

/// What a stage produces, so that inputs of the wrong kind are refused when the file is loaded.
public enum ProductKind: String, Sendable, CaseIterable, Codable {
    /// Multi-band imagery with named bands (reflectance or digital numbers).
    case scene
    /// One continuous band, such as an index or a temperature.
    case index
    /// One band of class codes.
    case classes
    /// One band of 0/1 flags.
    case mask
    /// A trained model file (not a raster): its consumers wait for the stage that writes it.
    case model
    /// One layer of the approved plan on the run grid: the number of the feature covering each pixel (0 outside),
    /// or a legend class for the land-use survey; the features' ids and names travel in `featureTable`.
    case plan
    /// Change between two dates checked against the plan: a bit per rule broken, the classes before and after,
    /// the confidence, and the plan features under each changed pixel.
    case change

    /// The kinds that are rasters, which stream block by block.
    public static let rasters: [ProductKind] = [.scene, .index, .classes, .mask, .plan, .change]
}

/// How a stage is evaluated, which decides what the engine can fuse.
public enum Evaluation: String, Sendable, Codable {
    /// Reads data from outside the run (files) and streams it block by block.
    case source
    /// Computes each output pixel from the same pixel of its inputs: fused and streamed.
    case pixelwise
    /// Consumes a stream block by block (writes a file).
    case sink
    /// Needs its inputs whole (sieve, polygonize, training): they are materialised in the work directory first.
    case wholeRaster = "whole-raster"
    /// Runs once every other stage has finished, from the run record and the files the run wrote (reports).
    case report
}

/// One input port of a stage type.
public struct InputPort: Sendable {
    public var name: String
    public var kinds: [ProductKind]
    public var help: String
    /// An optional port may be left unconnected; the stage then gets fewer inputs (its own option stands in).
    public var optional: Bool

    public init(_ name: String, kinds: [ProductKind], help: String, optional: Bool = false) {
        self.name = name
        self.kinds = kinds
        self.help = help
        self.optional = optional
    }
}

/// Everything a stage type declares about itself, in one place; `landwatch stages` prints it.
public struct StageDescriptor: Sendable {
    /// `category.name`, as PDAL's `filters.range`.
    public var id: String
    public var summary: String
    public var options: [OptionSpec]
    public var inputs: [InputPort]
    /// What the stage produces for later stages; nil for stages that only write files.
    public var output: ProductKind?
    public var evaluation: Evaluation

    public init(id: String, summary: String, evaluation: Evaluation, inputs: [InputPort] = [],
                output: ProductKind?, options: [OptionSpec]) {
        self.id = id
        self.summary = summary
        self.evaluation = evaluation
        self.inputs = inputs
        self.output = output
        self.options = options
    }
}

/// What a stage produces, known before a pixel is read.
public struct ProductDescription: Sendable {
    public var kind: ProductKind
    /// Band names in order, for example `["red", "nir"]` or `["ndvi"]`.
    public var bandNames: [String]
    /// The grid the product is on natively (sources), or nil when it follows the run grid.
    public var nativeGrid: RasterGrid?
    /// The raster a source reads, named in grid-mismatch messages.
    public var sourcePath: String?
    /// When the imagery behind the product was acquired (`YYYY-MM-DD`), when known; pixel stages inherit it.
    public var date: String?
    /// For plan layers and change products: the features behind the feature numbers of each band, by band name.
    public var featureTables: [String: FeatureTable] = [:]
    /// The input port this description was handed to (set by the engine for stages with optional ports).
    public var port: String?
    /// For change products: the rules whose bits the `rules` band holds, and the dates compared.
    public var compliance: ComplianceDescription?
    /// For imagery: what the numbers of each band are (by band name) and where to look at them, when the source can
    /// tell; pixel stages carry it on for output bands named like an input band. Stages needing reflectance check it.
    public var radiometry: [String: BandRadiometry] = [:]
    /// When every band holds whole numbers in this range, or NaN (a rule classifier's class codes): the engine may
    /// keep the product in its scratch folder as the smallest unsigned integer type that holds them and NaN.
    public var wholeNumbers: ClosedRange<Int>? = nil

    public init(kind: ProductKind, bandNames: [String], nativeGrid: RasterGrid? = nil, sourcePath: String? = nil,
                date: String? = nil) {
        self.kind = kind
        self.bandNames = bandNames
        self.nativeGrid = nativeGrid
        self.sourcePath = sourcePath
        self.date = date
    }

    /// The index of a named band.
    public func band(named name: String) -> Int? { bandNames.firstIndex(of: name) }
}

/// A stage type: its declaration, and construction from checked options.
public protocol StageType: Sendable {
    static var descriptor: StageDescriptor { get }
    /// Builds the stage from type-checked options; throws for problems between options.
    init(options: StageOptions) throws(StageProblem)
}

/// A stage that reads rasters from outside the run.
public protocol SourceStage: StageType {
    /// Opens file headers (never pixels) and describes the product on its native grid.
    func describe() throws(StageProblem) -> ProductDescription
    /// Prepares reading onto `grid`: rasters on another grid are warped as they are read.
    func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource
    /// Writes the whole product onto `grid` as a Float32 GeoTIFF at `path` (NaN or 0 where empty), when the stage can
    /// do so more cheaply than being streamed into one; returns false to be streamed. Default: false.
    func materialize(onto grid: RasterGrid, at path: String, context: RunContext) throws -> Bool
    /// True when ``materialize(onto:at:context:)`` writes the product without a pixel of it being streamed (a value VRT
    /// of the file itself, see ``ValueTransform``), judged from file headers: the planner then gives its
    /// materialisation a pass of its own instead of fusing it with the stages that stream it. Default: false.
    func materializesWithoutStreaming(onto grid: RasterGrid) -> Bool
}

extension SourceStage {
    public func materialize(onto grid: RasterGrid, at path: String, context: RunContext) throws -> Bool { false }
    public func materializesWithoutStreaming(onto grid: RasterGrid) -> Bool { false }
}

/// A stage whose output pixel depends only on the same pixel of its inputs; the engine fuses and streams it.
public protocol PixelStage: StageType {
    /// Checks the inputs (in port order) and describes the output.
    func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription
    /// Computes one block. `output` has as many bands as the description says, sized like the inputs.
    func apply(inputs: [PixelBlock], into output: inout PixelBlock)
    /// A computation with state of its own for one worker thread (a loaded model, say), or nil to use ``apply``.
    /// `inputs` describes every input port, models included; inputs that are not rasters are not streamed.
    func makeWorker(inputs: [ProductDescription], context: RunContext) throws -> (any PixelWorker)?
    /// Pixel counts worth recording in run.json for one computed block (for example pixels masked as cloud);
    /// the engine sums them over the run. Empty by default.
    func tally(inputs: [PixelBlock], output: PixelBlock) -> [String: Int]
}

extension PixelStage {
    public func tally(inputs: [PixelBlock], output: PixelBlock) -> [String: Int] { [:] }
    public func makeWorker(inputs: [ProductDescription], context: RunContext) throws -> (any PixelWorker)? { nil }
}

/// One worker thread's computation of a pixel stage; never shared between threads.
public protocol PixelWorker: AnyObject {
    /// Computes one block from the streamed (raster) inputs, in port order.
    func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws
}

/// A stage that consumes a stream, block by block, and writes files under the output root.
public protocol SinkStage: StageType {
    /// Checks the inputs (in port order) before a run starts.
    func check(inputs: [ProductDescription]) throws(StageProblem)
    /// Output paths (relative to the output root) the stage will write, checked when the file is loaded.
    var outputPaths: [String] { get }
    /// Prepares writing. Called once per run; the sink is shared by the worker threads.
    func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink
    /// What the sink produces for later stages (a model file), when its type declares an output.
    func describeOutput(inputs: [ProductDescription]) -> ProductDescription?
}

extension SinkStage {
    public func describeOutput(inputs: [ProductDescription]) -> ProductDescription? { nil }
}

/// A stage that needs its inputs whole; the engine materialises them in the work directory first.
public protocol WholeRasterStage: StageType {
    func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription
    /// Reads the materialised inputs and writes its whole output to `output` (a GeoTIFF on the run grid).
    func run(inputs: [MaterializedRaster], output: String, grid: RasterGrid, context: RunContext) throws
}

/// A stage that needs its inputs whole and writes files, not a raster (patches, violation lists, reports).
public protocol WholeSinkStage: StageType {
    /// Checks the inputs (in port order) before a run starts.
    func check(inputs: [ProductDescription]) throws(StageProblem)
    /// Output paths (relative to the output root) the stage will write, checked when the file is loaded.
    var outputPaths: [String] { get }
    /// Reads the materialised inputs and writes its files; returns the paths written, relative to the output root.
    func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String]
}

/// The features of one plan layer, in the order of the numbers burned into its raster (feature 1 first).
public struct FeatureTable: Sendable {
    public struct Feature: Sendable, Equatable {
        /// The id the bureau gave it (an id field), or the FID.
        public var id: String
        public var name: String
        /// The use or land-use code, when the layer has one.
        public var code: String
        /// For zoning: whether the planned use allows construction.
        public var allowsConstruction: Bool
        /// The polygon's area in m² (on an equal-area projection), for zones: the share of it the image covers.
        public var area: Double?
        public init(id: String, name: String, code: String, allowsConstruction: Bool = true, area: Double? = nil) {
            self.id = id
            self.name = name
            self.code = code
            self.allowsConstruction = allowsConstruction
            self.area = area
        }
    }
    /// The plan role (`redline`, `zones`, …).
    public var role: String
    public var path: String
    /// The layer's own CRS, as WKT (violation lists are also written in it).
    public var crsWKT: String
    public var features: [Feature]

    public init(role: String, path: String, crsWKT: String, features: [Feature]) {
        self.role = role
        self.path = path
        self.crsWKT = crsWKT
        self.features = features
    }

    /// The feature burned as `number` (1-based), or nil for 0 and numbers out of range.
    public func feature(number: Int) -> Feature? {
        number >= 1 && number <= features.count ? features[number - 1] : nil
    }
}

/// A raster written whole to the work directory, with what it holds.
public struct MaterializedRaster: Sendable {
    public var path: String
    public var description: ProductDescription

    public init(path: String, description: ProductDescription) {
        self.path = path
        self.description = description
    }
}

/// A stage that reads, of the inputs on some ports, only what their stage leaves beside its raster (compliance.diff's
/// patches), never the raster's pixels: when every stage reading a neighbourhood stage's scratch output is such a
/// port, the engine computes the tiles' reductions without writing the raster (a change raster of 9 Float32 bands,
/// compressed tile by tile under one lock, was a third of compliance.diff's time and kept its second thread idle).
public protocol SideProductReader {
    static var sideProductPorts: Set<String> { get }
}

/// A stage that runs after all the others, from what they recorded and wrote: a report.
public protocol ReportStage: StageType {
    /// What the report reads from the run when it is there: each input the stages of one type (found by the type,
    /// never by its name in a string), none of them required.
    static var optionalInputs: [ReportInput] { get }
    /// Files it writes, relative to the output root (a folder counts as one path).
    var outputPaths: [String] { get }
    /// Writes the report; `record` holds every stage that ran, with its outputs, and `plan` what each stage's product
    /// is (dates, bands, sources). Returns the files written.
    func run(record: RunRecord, plan: RunPlan, context: RunContext) throws -> [String]
}

extension ReportStage {
    public static var optionalInputs: [ReportInput] { [] }
}

/// An optional input of a report: the stages of one type that ran (zero, one or more of them).
public struct ReportInput: Sendable, Hashable {
    /// The input's name, for `landwatch stages` and messages.
    public let name: String
    /// The id of the stage type, taken from the type.
    public let stageTypeID: String
    public let help: String

    public init<Stage: StageType>(_ name: String, of type: Stage.Type, help: String) {
        self.name = name
        stageTypeID = Stage.descriptor.id
        self.help = help
    }

    /// The stages of this input that ran (are in `record`), in the pipeline's order.
    public func stages(in plan: RunPlan, record: RunRecord) -> [StageDeclaration] {
        let ran = Set(record.stages.map(\.id))
        return plan.pipeline.topologicalOrder.compactMap { plan.pipeline.stage($0) }.filter { $0.uses == stageTypeID && ran.contains($0.id) }
    }
}

/// A whole-raster stage or a sink that can run on a band of rows of the grid (`landwatch run --shard`): each output
/// row depends only on input rows at most `haloRows` away, and nothing it computes spans the whole grid. Sources and
/// pixel stages are row-local by nature; other stages are deferred to `landwatch merge`, which runs them on the
/// mosaic of their inputs.
public protocol RowLocalStage {
    /// How many rows above and below a row its output needs (0 for a stage that looks at one pixel at a time).
    var haloRows: Int { get }
    /// False when the stage, with these input ports connected, needs the whole grid after all (statistics over
    /// every row, such as the no-change spread of `compliance.diff`'s evidence): it is then deferred to the merge.
    /// True by default.
    func isRowLocal(connectedPorts: Set<String>) -> Bool
}

extension RowLocalStage {
    public func isRowLocal(connectedPorts: Set<String>) -> Bool { true }
}

/// A row-local whole-raster or neighbourhood stage that keeps something beside its output raster spanning the whole
/// grid (the patches of `compliance.diff`): `landwatch merge` lets it rebuild that from the mosaic of its output.
public protocol MergeFinishingStage: RowLocalStage {
    func finishMerged(output: String, description: ProductDescription, grid: RasterGrid, context: RunContext) throws
}
