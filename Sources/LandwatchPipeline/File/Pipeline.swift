import Foundation
import LandwatchAlgorithms
import LandwatchGDAL

/// A loaded and checked pipeline file.
public struct Pipeline: Sendable {
    /// The pipeline file as given on the command line.
    public var path: String
    /// The folder relative input paths are resolved against.
    public var directory: URL
    /// The file's bytes, for the run record's hash.
    public var contents: Data
    public var version: Int
    public var name: String
    public var description: String
    /// Parameters after `--set` overrides.
    public var params: [String: String]
    public var grid: GridSpec?
    /// The class legend: codes, names, Chinese names, colours.
    public var legend: Legend
    public var stages: [StageDeclaration] {
        didSet { stageIndex = Self.index(stages) }
    }
    /// Position of each stage by id, so that looking a stage up is O(1) (validate and plan are linear in stages).
    private var stageIndex: [String: Int]

    init(path: String, directory: URL, contents: Data, version: Int, name: String, description: String,
         params: [String: String], grid: GridSpec?, legend: Legend, stages: [StageDeclaration]) {
        self.path = path
        self.directory = directory
        self.contents = contents
        self.version = version
        self.name = name
        self.description = description
        self.params = params
        self.grid = grid
        self.legend = legend
        self.stages = stages
        stageIndex = Self.index(stages)
    }

    private static func index(_ stages: [StageDeclaration]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (position, stage) in stages.enumerated() where index[stage.id] == nil { index[stage.id] = position }
        return index
    }

    /// The stage with an id.
    public func stage(_ id: String) -> StageDeclaration? {
        guard let position = stageIndex[id] else { return nil }
        return stages[position]
    }

    /// Stage ids in an order where every stage comes after its inputs (iterative: 15,000 stages in a chain do not
    /// exhaust the stack).
    public var topologicalOrder: [String] {
        var visited = Set<String>(), order: [String] = []
        order.reserveCapacity(stages.count)
        // Positions, not declarations: copying a declaration (options, instance) per visit was most of validate's time.
        for (rootPosition, root) in stages.enumerated() where !visited.contains(root.id) {
            visited.insert(root.id)
            var stack: [(position: Int, next: Int)] = [(rootPosition, 0)]
            while let top = stack.last {
                let inputs = stages[top.position].inputs
                guard top.next < inputs.count else {
                    stack.removeLast()
                    order.append(stages[top.position].id)
                    continue
                }
                stack[stack.count - 1].next += 1
                let input = inputs[top.next].stageID
                if let position = stageIndex[input], visited.insert(input).inserted { stack.append((position, 0)) }
            }
        }
        return order
    }

    /// Input files named by the stages' options, resolved.
    public var inputFiles: [String] {
        var files: [String] = []
        for stage in stages {
            for spec in stage.descriptor.options {
                switch stage.options[spec.name] {
                case .path(let p)? where spec.type == .inputPath: files.append(p)
                case .bandMap(let entries)?: files += entries.compactMap(\.path)
                default: break
                }
            }
        }
        return Array(Set(files)).sorted()
    }
}

/// One stage as the file declares it, with its type instantiated from checked options.
public struct StageDeclaration: Sendable {
    public struct InputReference: Sendable {
        /// The port of this stage's type the input feeds.
        public var port: String
        public var stageID: String
        public var location: SourceLocation
    }

    public var id: String
    public var uses: String
    public var location: SourceLocation
    public var usesLocation: SourceLocation
    public var inputs: [InputReference]
    public var options: StageOptions
    /// Keep the stage's output as a GeoTIFF in the output root's `work/` folder.
    public var keep: Bool
    public var instance: any StageType {
        didSet { descriptor = type(of: instance).descriptor }
    }
    /// The instance in its one role, resolved when the stage was declared.
    public var role: StageRole

    /// The type's descriptor, taken once (some types build theirs on every call: an index stage's was a seventh of
    /// validating 15,000 stages).
    public private(set) var descriptor: StageDescriptor

    init(id: String, uses: String, location: SourceLocation, usesLocation: SourceLocation, inputs: [InputReference],
         options: StageOptions, keep: Bool, instance: any StageType, role: StageRole) {
        self.id = id
        self.uses = uses
        self.location = location
        self.usesLocation = usesLocation
        self.inputs = inputs
        self.options = options
        self.keep = keep
        self.instance = instance
        self.role = role
        descriptor = type(of: instance).descriptor
    }

    /// Where a problem with an option (or the stage, when nil) should point.
    public func location(of option: String?) -> SourceLocation {
        option.flatMap { options.locations[$0] } ?? usesLocation
    }
}

/// What every raster of the run is brought onto.
public enum GridSpec: Sendable {
    /// A CRS, a pixel size and an extent (xmin, ymin, xmax, ymax) in that CRS.
    case explicit(crs: String, resolution: Double, extent: [Double], location: SourceLocation)
    /// The native grid of a source stage.
    case like(stageID: String, location: SourceLocation)

    /// The grid an explicit spec describes.
    public static func grid(crs: String, resolution: Double, extent: [Double]) throws(GDALError) -> RasterGrid {
        let srs = try SpatialReference(definition: crs)
        let columns = ((extent[2] - extent[0]) / resolution).rounded(.up)
        let rows = ((extent[3] - extent[1]) / resolution).rounded(.up)
        // GDAL's rasters are at most 2^31-1 pixels a side; beyond, the arithmetic of blocks would overflow.
        let largest = Double(Int32.max)
        guard columns.isFinite, rows.isFinite, columns >= 1, rows >= 1, columns <= largest, rows <= largest,
              columns * rows <= Double(1 << 46) else {
            throw GDALError(kind: .outOfRange, operation: "the grid's extent and resolution give \(columns.isFinite ? String(format: "%.0f", columns) : "∞") x \(rows.isFinite ? String(format: "%.0f", rows) : "∞") pixels; "
                            + "at most \(Int32.max) a side and 2^46 in all (is the resolution in the CRS's units?)")
        }
        let width = Int(columns), height = Int(rows)
        return RasterGrid(width: width, height: height,
                          geoTransform: GeoTransform(originX: extent[0], pixelWidth: resolution,
                                                     originY: extent[3], pixelHeight: -resolution),
                          crsWKT: srs.wkt, crsLabel: srs.label)
    }
}
