import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// `read.scene`: one multi-band raster, or one file per band, with named bands and DN-to-value scaling.
public struct ReadSceneStage: SourceStage {
    public static let descriptor = StageDescriptor(
        id: "read.scene",
        summary: "Read imagery: a multi-band raster or one file per band, with named bands and scaling",
        evaluation: .source,
        output: .scene,
        options: [
            OptionSpec("path", .inputPath, optional: true,
                       help: "multi-band raster whose bands the band map numbers (leave out when every band has its own file)"),
            OptionSpec("bands", .bandMap,
                       help: "band names to band numbers of 'path' ({red: 4, nir: 5}) or to files ({red: b4.tif})"),
            OptionSpec("scale", .number, default: .number(1), help: "value = stored number x scale + offset (Landsat C1 L1: 2.0e-5)"),
            OptionSpec("offset", .number, default: .number(0), help: "value = stored number x scale + offset (Landsat C1 L1: -0.1)"),
            OptionSpec("nodata", .number, optional: true, help: "stored number meaning no data (default: the file's own nodata)"),
            OptionSpec("resampling", .choice(Resampling.allCases.map(\.rawValue)), default: .string("bilinear"),
                       help: "how pixels are sampled when the raster is warped onto the run grid"),
            OptionSpec("date", .string, optional: true,
                       help: "acquisition date (YYYY-MM-DD), carried into violation lists and reports"),
        ])

    public let path: String?
    public let bands: [BandMapEntry]
    public let scale: Double
    public let offset: Double
    public let noData: Double?
    public let resampling: Resampling
    public let date: String?

    public init(options: StageOptions) throws(StageProblem) {
        date = options.string("date")
        if let date, !ReadSceneStage.isDate(date) {
            throw StageProblem(option: "date", "'\(date)' is not a date written YYYY-MM-DD")
        }
        path = options.string("path")
        bands = options.bandMap("bands") ?? []
        scale = options.number("scale") ?? 1
        offset = options.number("offset") ?? 0
        noData = options.number("nodata")
        resampling = Resampling(rawValue: options.string("resampling") ?? "bilinear") ?? .bilinear
        if path == nil, let numbered = bands.first(where: { $0.band != nil }) {
            throw StageProblem(option: "bands",
                               "band '\(numbered.name)' is band number \(numbered.band!), which needs 'path' (the multi-band raster it is a band of)")
        }
        var seen = Set<String>()
        for entry in bands where !seen.insert(entry.name).inserted {
            throw StageProblem(option: "bands", "band name '\(entry.name)' is given twice")
        }
    }

    /// Where each named band is read from.
    var bandInputs: [RasterFileSource.BandInput] {
        bands.map { entry in
            RasterFileSource.BandInput(path: entry.path ?? path!, band: entry.band ?? 1, scale: scale, offset: offset, noData: noData)
        }
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        var reference: (path: String, grid: RasterGrid)?
        for (entry, input) in zip(bands, bandInputs) {
            let option = entry.path == nil ? "path" : "bands"
            let dataset: Dataset
            do { dataset = try Dataset.open(input.path) } catch {
                throw StageProblem(option: option, error.description)
            }
            guard input.band <= dataset.bandCount else {
                throw StageProblem(option: "bands",
                                   "band '\(entry.name)' is band \(input.band), but \(input.path) has \(dataset.bandCount) band\(dataset.bandCount == 1 ? "" : "s")")
            }
            let band: Band
            do { band = try dataset.band(input.band) } catch { throw StageProblem(option: option, error.description) }
            guard band.dataType != nil else {
                throw StageProblem(option: option, "band \(input.band) of \(input.path) has pixel type \(band.dataTypeName), which landwatch does not read")
            }
            let grid = dataset.grid()
            if let reference {
                let same = (try? grid.matches(reference.grid)) ?? false
                if !same {
                    throw StageProblem(option: "bands",
                                       "band '\(entry.name)' (\(input.path)) is on grid \(grid), but \(reference.path) is on grid \(reference.grid); the bands of one scene must share a grid")
                }
            } else {
                reference = (input.path, grid)
            }
        }
        return ProductDescription(kind: .scene, bandNames: bands.map(\.name), nativeGrid: reference?.grid,
                                  sourcePath: path ?? reference?.path, date: date)
    }

    /// True for `YYYY-MM-DD` with a plausible month and day.
    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil else { return false }
        return (1...12).contains(month) && (1...31).contains(day)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        try RasterFileSource(bands: bandInputs, onto: grid, resampling: resampling, context: context,
                             stageID: "read-\(UUID().uuidString.prefix(8))")
    }
}
