import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSensors
import LandwatchSTAC

/// `read.stac`: a scene described by a STAC Item. Its assets are mapped to the pipeline's bands by their `eo:bands`
/// common names (or by asset keys given in `assets`), scaled by their `raster:bands` scale and offset, read in place
/// (`/vsicurl/` for http hrefs, local files for the others) and, when asked, masked by the Item's QA asset (Landsat
/// `qa_pixel`, Sentinel-2 `scl`). The product is the same scene `read.scene` gives.
public struct ReadSTACStage: SourceStage {
    /// Which QA asset masks clouds.
    public enum CloudMask: String, OptionChoice {
        /// No mask.
        case off
        /// `qa_pixel` when the Item has one, else `scl`.
        case auto
        /// Landsat Collection 2 QA_PIXEL bits (cloud, shadow, cirrus at high confidence).
        case qa_pixel
        /// Sentinel-2 L2A scene classification classes.
        case scl
    }

    public static let item = Option<String>(
        "item", .inputPath,
        help: "the STAC Item (JSON): a file, or a URL written /vsicurl/https://...; relative asset hrefs are resolved against it, and every href read must lie in the folders or prefixes the run may read (--allow-read)")
    public static let bandNames = Option<OptionList>(
        "band_names", default: OptionList(["blue", "green", "red", "nir", "swir1", "swir2"]),
        help: "the bands to read, by landwatch's names; each is found by its eo:bands common name (swir1 = swir16, swir2 = swir22, nir2 = nir08) or asset key; an Item without one of them is refused")
    public static let assets = Option<ConfigNode?>(
        "assets", .structured(shape: "a mapping of band names to asset keys"),
        help: "asset keys by band name ({red: B04, nir: B08}), for Items whose assets carry no eo:bands common names")
    public static let cloudMask = Option<CloudMask>(
        "cloud_mask", default: .off,
        help: "mask clouds with the Item's QA asset: off, auto (qa_pixel, else scl), qa_pixel (Landsat Collection 2 bits: cloud, shadow, cirrus at high confidence) or scl (Sentinel-2 L2A classes 'scl_classes'); masked pixels are nodata")
    public static let qaAsset = Option<String?>("qa_asset", help: "the QA asset's key (default: qa_pixel or scl, as cloud_mask says)")
    public static let sclClassList = Option<OptionList>(
        "scl_classes", default: OptionList(["3", "8", "9", "10"]),
        help: "with cloud_mask scl: the classes masked (3 cloud shadow, 8 and 9 cloud, 10 thin cirrus, 11 snow)")
    public static let values = Option<BandRadiometry.Values?>(
        "values", help: "what the numbers are after scale and offset: dn, toa or sr (default: digital numbers for integer data without scale or offset, else what the data shows)")
    public static let noData = Option<Double?>("nodata", help: "stored number meaning no data (default: raster:bands nodata, else the file's own)")
    public static let resampling = Option<Resampling>(
        "resampling", default: .bilinear, help: "how pixels are sampled when the raster is warped onto the run grid")

    public static let descriptor = StageDescriptor(
        id: "read.stac",
        summary: "Read imagery described by a STAC Item: assets by eo:bands common name, raster:bands scaling, optional QA cloud mask",
        evaluation: .source,
        output: .scene,
        keys: [item, bandNames, assets, cloudMask, qaAsset, sclClassList, values, noData, resampling])

    public let itemPath: String
    public let stacItem: STACInputItem
    /// Band names, in order, with where each is read and how it is scaled.
    public let bands: [(name: String, asset: String, input: RasterFileSource.BandInput)]
    /// The QA asset's path and how its values become a mask, when clouds are masked.
    let qa: (asset: String, path: String, sclClasses: Set<Int>?)?
    public let values: BandRadiometry.Values?
    public let resampling: Resampling

    public init(options: StageOptions) throws(StageProblem) {
        itemPath = options[Self.item]
        do { stacItem = try STACInputItem.read(itemPath) } catch { throw StageProblem(option: Self.item, error.description) }
        values = options[Self.values]
        resampling = options[Self.resampling]
        var keys: [String: String] = [:]
        if let node = options[Self.assets] {
            guard let entries = node.entries, !entries.isEmpty else {
                throw StageProblem(option: Self.assets, "must map band names to asset keys, for example {red: B04, nir: B08} (found \(node.shortDescription))")
            }
            for entry in entries {
                guard let key = entry.value.scalarText, !key.isEmpty else {
                    throw StageProblem(option: Self.assets, "band '\(entry.key)' must name an asset key (found \(entry.value.shortDescription))", at: entry.value.location)
                }
                keys[entry.key] = key
            }
        }
        let names = options[Self.bandNames].items
        if names.isEmpty { throw StageProblem(option: Self.bandNames, "name at least one band") }
        for name in keys.keys.sorted() where !names.contains(name) {
            throw StageProblem(option: Self.assets, "'\(name)' is not one of the bands read (band_names: \(names.joined(separator: ", ")))")
        }
        var seen = Set<String>()
        var bands: [(name: String, asset: String, input: RasterFileSource.BandInput)] = []
        for name in names {
            guard seen.insert(name).inserted else { throw StageProblem(option: Self.bandNames, "band name '\(name)' is given twice") }
            let found: (asset: STACInputItem.Asset, band: Int)
            do { found = try stacItem.band(named: name, assetKey: keys[name]) } catch {
                throw StageProblem(option: keys[name] == nil ? Self.bandNames.name : Self.assets.name, error.description)
            }
            try Self.checkAllowed(found.asset, item: stacItem, roots: options.readRoots)
            let described = found.band <= found.asset.bands.count ? found.asset.bands[found.band - 1] : nil
            bands.append((name, found.asset.key,
                          RasterFileSource.BandInput(path: found.asset.href, band: found.band, scale: described?.scale ?? 1,
                                                     offset: described?.offset ?? 0, noData: options[Self.noData] ?? described?.noData)))
        }
        self.bands = bands

        let choice = options[Self.cloudMask]
        if choice == .off {
            if options.isSet(Self.qaAsset) { throw StageProblem(option: Self.qaAsset, "'qa_asset' names the cloud mask's asset: set cloud_mask too") }
            qa = nil
            return
        }
        let wanted: [String]
        switch choice {
        case .qa_pixel: wanted = ["qa_pixel", "QA_PIXEL"]
        case .scl: wanted = ["scl", "SCL"]
        default: wanted = ["qa_pixel", "QA_PIXEL", "scl", "SCL"]
        }
        let key = options[Self.qaAsset]
        guard let asset = stacItem.assets.first(where: { asset in key.map { asset.key == $0 } ?? wanted.contains(asset.key) }) else {
            throw StageProblem(option: key == nil ? Self.cloudMask.name : Self.qaAsset.name,
                               "\(stacItem.source): Item \(stacItem.id) has no QA asset \(key.map { "'\($0)'" } ?? wanted.filter { $0 == $0.lowercased() }.joined(separator: " or ")) for cloud_mask \(choice.rawValue) (its assets: \(stacItem.assets.map(\.key).joined(separator: ", ")))")
        }
        try Self.checkAllowed(asset, item: stacItem, roots: options.readRoots)
        let isSCL = choice == .scl || (choice == .auto && asset.key.lowercased() == "scl")
            || (choice == .auto && key != nil && !asset.key.lowercased().contains("qa"))
        var classes: Set<Int>?
        if isSCL {
            var set = Set<Int>()
            for word in options[Self.sclClassList] {
                guard let code = Int(word), (1...11).contains(code) else {
                    throw StageProblem(option: Self.sclClassList, "'\(word)' is not a scene classification class (1 to 11)")
                }
                set.insert(code)
            }
            if set.isEmpty { throw StageProblem(option: Self.sclClassList, "name at least one class to mask") }
            classes = set
        }
        qa = (asset.key, asset.href, classes)
    }

    /// Refuses an href outside the folders and prefixes the run may read, as the loader refuses such an option.
    static func checkAllowed(_ asset: STACInputItem.Asset, item: STACInputItem, roots: ReadRoots?) throws(StageProblem) {
        guard let roots, !roots.allows(asset.href) else { return }
        throw StageProblem(option: Self.item,
                           "\(item.source): Item \(item.id): asset '\(asset.key)' href \(asset.written) (read as \(asset.href)) is outside the folders and prefixes this run may read (allowed: \(roots.list)); allow it with --allow-read PREFIX")
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        var reference: (asset: String, grid: RasterGrid)?
        var radiometry: [String: BandRadiometry] = [:]
        for (name, asset, input) in bands {
            let dataset: Dataset
            do { dataset = try Dataset.open(input.path) } catch {
                throw StageProblem(option: Self.item, "Item \(stacItem.id): asset '\(asset)' (band \(name)): \(error.description)")
            }
            guard input.band <= dataset.bandCount else {
                throw StageProblem(option: Self.item, "Item \(stacItem.id): band '\(name)' is band \(input.band) of asset '\(asset)', but \(input.path) has \(dataset.bandCount)")
            }
            let band: Band
            do { band = try dataset.band(input.band) } catch { throw StageProblem(option: Self.item, error.description) }
            guard let dataType = band.dataType else {
                throw StageProblem(option: Self.item, "band \(input.band) of \(input.path) has pixel type \(band.dataTypeName), which landwatch does not read")
            }
            let unscaledIntegers = !dataType.isFloatingPoint && input.scale == 1 && input.offset == 0
            let probe = RadiometryProbe(path: input.path, band: input.band, scale: input.scale, offset: input.offset, noData: input.noData)
            let described = BandRadiometry(values: values ?? (unscaledIntegers ? .dn : nil), declared: values != nil,
                                           unscaledIntegers: unscaledIntegers, dataType: dataType.rawValue, probe: probe)
            if let problem = RadiometryCheck.contradiction(band: name, described, observation: nil) {
                let observation = (try? RadiometryCheck.observe(probe)) ?? nil
                throw StageProblem(option: Self.values, RadiometryCheck.contradiction(band: name, described, observation: observation) ?? problem)
            }
            radiometry[name] = described
            let grid = dataset.grid()
            if let reference {
                let same = (try? grid.matches(reference.grid)) ?? false
                if !same {
                    throw StageProblem(option: Self.item,
                                       "\(stacItem.source): Item \(stacItem.id): asset '\(asset)' (band \(name)) is on grid \(grid), but asset '\(reference.asset)' is on grid \(reference.grid); the bands of one scene must share a grid")
                }
            } else {
                reference = (asset, grid)
            }
        }
        if let qa {
            do { _ = try Dataset.open(qa.path) } catch {
                throw StageProblem(option: Self.cloudMask, "Item \(stacItem.id): QA asset '\(qa.asset)': \(error.description)")
            }
        }
        var product = ProductDescription(kind: .scene, bandNames: bands.map(\.name), nativeGrid: reference?.grid,
                                         sourcePath: itemPath, date: stacItem.date)
        product.radiometry = radiometry
        return product
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        let scene = try RasterFileSource(bands: bands.map(\.input), onto: grid, resampling: resampling, context: context,
                                         stageID: "stac-\(UUID().uuidString.prefix(8))")
        guard let qa else { return scene }
        // QA values are labels or bit fields: nearest neighbour, no nodata of their own.
        let inner = try RasterFileSource(bands: [.init(path: qa.path, band: 1, noData: .nan)], onto: grid, resampling: .nearest,
                                         context: context, stageID: "stac-qa-\(UUID().uuidString.prefix(8))")
        let mask: CloudMaskStage.QualitySource
        if let classes = qa.sclClasses {
            var table = [Float](repeating: 0, count: 65536)
            table[0] = .nan
            for code in classes { table[code] = 1 }
            mask = .init(inner: inner, mask: LandsatQualityMask(layout: .collection2, flags: [.cloud], minimumConfidence: .high), table: table)
        } else {
            let quality = LandsatQualityMask(layout: .collection2, flags: [.cloud, .shadow, .cirrus], minimumConfidence: .high)
            mask = .init(inner: inner, mask: quality, table: quality.makeTable())
        }
        return MaskedScene(scene: scene, mask: mask)
    }

    /// The scene with its pixels nodata where the QA mask is 1 (cloud) or nodata (fill).
    struct MaskedScene: BlockSource {
        let scene: RasterFileSource
        let mask: CloudMaskStage.QualitySource
        var bandCount: Int { scene.bandCount }
        func makeReader() throws -> any BlockReader { Reader(scene: try scene.makeReader(), mask: try mask.makeReader()) }
    }

    final class Reader: BlockReader {
        let scene: any BlockReader
        let mask: any BlockReader
        var maskBlock: PixelBlock?
        init(scene: any BlockReader, mask: any BlockReader) {
            self.scene = scene
            self.mask = mask
        }
        func read(_ window: Window, into block: inout PixelBlock) throws {
            try scene.read(window, into: &block)
            var flags = maskBlock ?? PixelBlock(bandNames: ["clouds"], blockWidth: block.stride, blockHeight: block.capacityRows)
            try mask.read(window, into: &flags)
            for i in 0..<block.usedCount where flags.bands[0][i] != 0 {
                for b in block.bands.indices { block.bands[b][i] = .nan }
            }
            maskBlock = flags
        }
    }
}
