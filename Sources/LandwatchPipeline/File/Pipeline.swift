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
    public var stages: [StageDeclaration]

    /// The stage with an id.
    public func stage(_ id: String) -> StageDeclaration? { stages.first { $0.id == id } }

    /// Stage ids in an order where every stage comes after its inputs.
    public var topologicalOrder: [String] {
        var visited = Set<String>(), order: [String] = []
        func visit(_ id: String) {
            guard !visited.contains(id), let stage = stage(id) else { return }
            visited.insert(id)
            for input in stage.inputs { visit(input.stageID) }
            order.append(id)
        }
        for stage in stages { visit(stage.id) }
        return order
    }

    /// Input files named by the stages' options, resolved.
    public var inputFiles: [String] {
        var files: [String] = []
        for stage in stages {
            for spec in type(of: stage.instance).descriptor.options {
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
    public var instance: any StageType

    public var descriptor: StageDescriptor { type(of: instance).descriptor }

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
        let width = Int(((extent[2] - extent[0]) / resolution).rounded(.up))
        let height = Int(((extent[3] - extent[1]) / resolution).rounded(.up))
        return RasterGrid(width: width, height: height,
                          geoTransform: GeoTransform(originX: extent[0], pixelWidth: resolution,
                                                     originY: extent[3], pixelHeight: -resolution),
                          crsWKT: srs.wkt, crsLabel: srs.label)
    }
}
