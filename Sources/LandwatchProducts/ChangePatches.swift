import Foundation
import LandwatchAlgorithms
import LandwatchPipeline

/// The patches of change `compliance.diff` labelled (tile by tile on its workers, joined across tiles), the product
/// `write.violations` takes with the change raster: a typed, versioned file beside the raster, written and read only
/// through this type.
public struct ChangePatches: Codable, Sendable {
    /// The version the stage writes now (files of a version 0, a bare list of patches, read too).
    public static let currentVersion = 1

    public var version: Int
    public var patches: [LabelledPatch]

    public init(patches: [LabelledPatch]) {
        version = Self.currentVersion
        self.patches = patches
    }

    /// Where the patches of a change raster are kept, beside it.
    public static func path(besides raster: String) -> String { raster + ".patches.json" }

    public func write(besides raster: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: Self.path(besides: raster)))
    }

    /// The patches of the change raster `change` (an input materialised from `compliance.diff`).
    public static func read(for change: MaterializedRaster) throws(RunError) -> ChangePatches {
        let path = Self.path(besides: change.path)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RunError(.internal, "cannot read the patches compliance.diff wrote (\(path): \(error)); this is a bug in landwatch")
        }
        if let product = try? JSONDecoder().decode(ChangePatches.self, from: data) {
            guard product.version <= currentVersion else {
                throw RunError(.input, "\(path): patches of version \(product.version), written by a newer landwatch (this one reads up to \(currentVersion)): run the diff again")
            }
            return product
        }
        // A change raster kept by a landwatch of before the version field (a resumed run): a bare list.
        do {
            var product = ChangePatches(patches: try JSONDecoder().decode([LabelledPatch].self, from: data))
            product.version = 0
            return product
        } catch {
            throw RunError(.internal, "cannot read the patches compliance.diff wrote (\(path): \(error)); this is a bug in landwatch")
        }
    }
}
