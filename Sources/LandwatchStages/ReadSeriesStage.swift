import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import Synchronization
import LandwatchSensors

/// `read.series`: several dates of one sensor as one scene (bands `NAME_YYYYMMDD`), for classifiers that use the
/// season. Dates too cloudy to use are left out, with a warning, before anything else is read; in the dates kept,
/// cloudy pixels become nodata.
///
/// The cloud test is spectral, for products without a usable mask (Sentinel-2 L1C GeoTIFF exports, say): a pixel is
/// cloud when its top-of-atmosphere reflectance in `cloud_band` (blue) exceeds `cloud_threshold` (0.2: thick cloud
/// and haze are bright in blue, vegetation, water and most soil are not), or its cirrus band exceeds
/// `cirrus_threshold`. A date's cloud share is measured on a reduced read of at most 1024 pixels a side.
public struct ReadSeriesStage: SourceStage {
    public static let sceneFiles = Option<[BandMapEntry]>(
        "scenes", help: "acquisition dates to files: {2015-07-11: S2_20150711.tif, ...}")
    public static let bandMap = Option<[BandMapEntry]>("bands", help: "band names to band numbers of every file ({blue: 2, nir: 8})")
    public static let scale = Option<Double>("scale", default: 1, help: "value = stored number x scale + offset")
    public static let offset = Option<Double>("offset", default: 0, help: "value = stored number x scale + offset")
    public static let noData = Option<Double?>("nodata", help: "stored number meaning no data (default: each file's own)")
    public static let cloudBandName = Option<String>(
        "cloud_band", default: "blue", help: "band (a name of 'bands') whose reflectance above cloud_threshold marks cloud")
    public static let cloudThreshold = Option<Double>("cloud_threshold", default: 0.2, help: "reflectance above which cloud_band is cloud")
    public static let cirrusBandNumber = Option<Int?>(
        "cirrus_band", range: 1...1000, help: "band number of a cirrus band (Sentinel-2 B10: 11 in a 13-band file; Landsat 8 band 9)")
    public static let cirrusThreshold = Option<Double>(
        "cirrus_threshold", default: 0.01, help: "reflectance above which the cirrus band is cirrus")
    public static let maxCloud = Option<Double>("max_cloud", default: 0.3, range: 0...1, help: "a date with a larger cloud share is left out")
    public static let minDates = Option<Int>("min_dates", default: 1, range: 1...1000, help: "fewer usable dates than this is an error")
    public static let maskClouds = Option<Bool>("mask_clouds", default: true, help: "cloudy pixels of the dates kept become nodata")
    public static let resampling = Option<Resampling>(
        "resampling", default: .bilinear, help: "how pixels are sampled when a file is warped onto the run grid")

    public static let descriptor = StageDescriptor(
        id: "read.series",
        summary: "Read several dates as one scene (bands NAME_YYYYMMDD), leaving out dates too cloudy to use",
        evaluation: .source,
        output: .scene,
        keys: [sceneFiles, bandMap, scale, offset, noData, cloudBandName, cloudThreshold, cirrusBandNumber, cirrusThreshold,
               maxCloud, minDates, maskClouds, resampling])

    public struct Scene: Sendable {
        public var date: String
        public var path: String
        /// The share of cloudy pixels in the reduced read.
        public var cloudShare: Double
    }

    public let scenes: [(date: String, path: String)]
    public let bands: [BandMapEntry]
    public let scale: Double
    public let offset: Double
    public let noData: Double?
    public let cloudBand: String
    public let cloudThreshold: Double
    public let cirrusBand: Int?
    public let cirrusThreshold: Double
    public let maxCloud: Double
    public let minDates: Int
    public let maskClouds: Bool
    public let resampling: Resampling
    /// Set once the kept and left-out dates are logged: a series read by several passes says so once.
    private let logged = OnceFlag()

    public init(options: StageOptions) throws(StageProblem) {
        var scenes: [(date: String, path: String)] = []
        for entry in options[Self.sceneFiles] {
            guard AcquisitionDate.isValid(entry.name) else {
                throw StageProblem(option: Self.sceneFiles, "'\(entry.name)' is not a date written YYYY-MM-DD", at: entry.location)
            }
            guard let path = entry.path else {
                throw StageProblem(option: Self.sceneFiles, "date \(entry.name) must name a file", at: entry.location)
            }
            scenes.append((entry.name, path))
        }
        self.scenes = scenes.sorted { $0.date < $1.date }
        if Set(scenes.map(\.date)).count != scenes.count { throw StageProblem(option: Self.sceneFiles, "a date is given twice") }
        bands = options[Self.bandMap]
        if let entry = bands.first(where: { $0.band == nil }) {
            throw StageProblem(option: Self.bandMap, "band '\(entry.name)' must be a band number (the same in every file)", at: entry.location)
        }
        scale = options[Self.scale]
        offset = options[Self.offset]
        noData = options[Self.noData]
        let cloudBand = options[Self.cloudBandName]
        self.cloudBand = cloudBand
        if !bands.contains(where: { $0.name == cloudBand }) {
            throw StageProblem(option: Self.cloudBandName, "'\(cloudBand)' is not a band of 'bands' (\(bands.map(\.name).joined(separator: ", ")))")
        }
        cloudThreshold = options[Self.cloudThreshold]
        cirrusBand = options[Self.cirrusBandNumber]
        cirrusThreshold = options[Self.cirrusThreshold]
        maxCloud = options[Self.maxCloud]
        minDates = options[Self.minDates]
        maskClouds = options[Self.maskClouds]
        resampling = options[Self.resampling]
    }

    /// A share as a percentage, with a decimal under 10 %: "0 %", "0.9 %", "98 %".
    static func percent(_ share: Double) -> String {
        let value = share * 100
        if value == 0 || value >= 10 { return "\(Int(value.rounded())) %" }
        return String(format: "%.1f %%", value)
    }

    /// The band name of `name` at `date`: `blue_20150711`.
    static func bandName(_ name: String, date: String) -> String { "\(name)_\(date.replacingOccurrences(of: "-", with: ""))" }

    /// Every date with its cloud share, from a reduced read of its cloud (and cirrus) band.
    public func measure() throws(StageProblem) -> [Scene] {
        let cloudNumber = bands.first { $0.name == cloudBand }!.band!
        var measured: [Scene] = []
        for scene in scenes {
            do {
                let dataset = try Dataset.open(scene.path)
                let needed = bands.compactMap(\.band) + (cirrusBand.map { [$0] } ?? [])
                if let beyond = needed.first(where: { $0 > dataset.bandCount }) {
                    throw StageProblem(option: Self.bandMap, "\(scene.path) (\(scene.date)) has \(dataset.bandCount) band\(dataset.bandCount == 1 ? "" : "s"); band \(beyond) does not exist")
                }
                let cloudBandHandle = try dataset.band(cloudNumber)
                let fileNoData = noData ?? cloudBandHandle.noDataValue
                let cloud = try cloudBandHandle.readOverview(maxSide: 1024).values
                let cirrus = try cirrusBand.map { try dataset.band($0).readOverview(maxSide: 1024).values }
                var valid = 0, cloudy = 0
                for i in cloud.indices {
                    let stored = cloud[i]
                    guard stored.isFinite, fileNoData.map({ Double(stored) != $0 }) ?? true else { continue }
                    valid += 1
                    let reflectance = Double(stored) * scale + offset
                    let cirrusValue = cirrus.map { Double($0[i]) * scale + offset } ?? 0
                    if reflectance > cloudThreshold || cirrusValue > cirrusThreshold { cloudy += 1 }
                }
                measured.append(Scene(date: scene.date, path: scene.path, cloudShare: valid == 0 ? 1 : Double(cloudy) / Double(valid)))
            } catch let problem as StageProblem {
                throw problem
            } catch {
                throw StageProblem(option: Self.sceneFiles, "\(scene.date): \(error)")
            }
        }
        return measured
    }

    /// The dates kept, after leaving out those over `max_cloud`.
    public func usableScenes() throws(StageProblem) -> (kept: [Scene], left: [Scene]) {
        let measured = try measure()
        let kept = measured.filter { $0.cloudShare <= maxCloud }
        let left = measured.filter { $0.cloudShare > maxCloud }
        guard kept.count >= minDates else {
            throw StageProblem(option: Self.maxCloud,
                               "only \(kept.count) of \(measured.count) dates have at most \(Self.percent(maxCloud)) cloud, and min_dates is \(minDates) (cloud shares: "
                                   + measured.map { "\($0.date) \(Self.percent($0.cloudShare))" }.joined(separator: ", ") + ")")
        }
        return (kept, left)
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        if scenes.isEmpty { throw StageProblem(option: Self.sceneFiles, "name at least one date") }
        let kept = try usableScenes().kept
        var reference: (path: String, grid: RasterGrid)?
        for scene in kept {
            let grid: RasterGrid
            do { grid = try Dataset.open(scene.path).grid() } catch { throw StageProblem(option: Self.sceneFiles, error.description) }
            if let reference, !((try? grid.matches(reference.grid)) ?? false) {
                throw StageProblem(option: Self.sceneFiles, "\(scene.path) is on grid \(grid), but \(reference.path) is on grid \(reference.grid); the dates of a series must share a grid")
            }
            if reference == nil { reference = (scene.path, grid) }
        }
        let names = kept.flatMap { scene in bands.map { Self.bandName($0.name, date: scene.date) } }
        return ProductDescription(kind: .scene, bandNames: names, nativeGrid: reference?.grid, sourcePath: reference?.path,
                                  date: kept.last?.date)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        let (kept, left) = try usableScenes()
        let first = logged.claim()
        for scene in left where first {
            context.logger.warning("read.series: \(scene.date) left out: \(Self.percent(scene.cloudShare)) cloud, over max_cloud \(Self.percent(maxCloud)) (\(scene.path))")
        }
        for scene in kept where first {
            context.logger.info("read.series: \(scene.date) kept: \(Self.percent(scene.cloudShare)) cloud")
        }
        var inputs: [RasterFileSource.BandInput] = []
        for scene in kept {
            for entry in bands { inputs.append(.init(path: scene.path, band: entry.band!, scale: scale, offset: offset, noData: noData)) }
        }
        // The cloud tests read their bands after the named ones; the reader drops them.
        let cloudNumber = bands.first { $0.name == cloudBand }!.band!
        var tests: [(cloud: Int, cirrus: Int?)] = []
        if maskClouds {
            for scene in kept {
                inputs.append(.init(path: scene.path, band: cloudNumber, scale: scale, offset: offset, noData: noData))
                let cloud = inputs.count - 1
                if let cirrusBand {
                    inputs.append(.init(path: scene.path, band: cirrusBand, scale: scale, offset: offset, noData: noData))
                }
                tests.append((cloud, cirrusBand == nil ? nil : inputs.count - 1))
            }
        }
        let files = try RasterFileSource(bands: inputs, onto: grid, resampling: resampling, context: context,
                                         stageID: "series-\(UUID().uuidString.prefix(8))")
        return CloudMaskedSource(files: files, perDate: bands.count, dates: kept.count, tests: tests,
                                 cloudThreshold: Float(cloudThreshold), cirrusThreshold: Float(cirrusThreshold))
    }
}

/// Reads the bands of a series with its cloud-test bands, and hands on only the named bands, with the cloudy pixels
/// of each date set to nodata.
struct CloudMaskedSource: BlockSource {
    let files: RasterFileSource
    let perDate: Int
    let dates: Int
    let tests: [(cloud: Int, cirrus: Int?)]
    let cloudThreshold: Float
    let cirrusThreshold: Float

    var bandCount: Int { perDate * dates }

    func makeReader() throws -> any BlockReader { Reader(source: self, inner: try files.makeReader()) }

    final class Reader: BlockReader {
        let source: CloudMaskedSource
        let inner: any BlockReader
        var scratch: PixelBlock?

        init(source: CloudMaskedSource, inner: any BlockReader) {
            self.source = source
            self.inner = inner
        }

        func read(_ window: Window, into block: inout PixelBlock) throws {
            if source.tests.isEmpty {
                try inner.read(window, into: &block)
                return
            }
            var all = scratch ?? PixelBlock(bandNames: (0..<source.files.bandCount).map { "b\($0)" },
                                            blockWidth: block.stride, blockHeight: block.capacityRows)
            try inner.read(window, into: &all)
            block.window = window
            let used = block.usedCount
            for date in 0..<source.dates {
                let test = source.tests[date]
                for band in 0..<source.perDate {
                    let position = date * source.perDate + band
                    swap(&block.bands[position], &all.bands[position])
                    for i in 0..<used {
                        let cloud = all.bands[test.cloud][i] > source.cloudThreshold
                        let cirrus = test.cirrus.map { all.bands[$0][i] > source.cirrusThreshold } ?? false
                        if cloud || cirrus { block.bands[position][i] = .nan }
                    }
                }
            }
            scratch = all
        }
    }
}

/// True the first time `claim` is called, false after: for saying a thing once however often a stage is asked.
final class OnceFlag: Sendable {
    private let done = Mutex(false)

    func claim() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
