import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSensors

/// `mask.clouds`: a Landsat quality band turned into a cloud mask (1 masked, 0 clear, nodata for fill), with the
/// bit layout read from the product's MTL (pre-collection BQA, Collection 1 BQA or Collection 2 QA_PIXEL); or the
/// scene classification (SCL) of a Sentinel-2 L2A product, by class.
public struct CloudMaskStage: SourceStage {
    /// The `layout` option: read from the MTL, or one named layout.
    public enum LayoutChoice: OptionValueType, Equatable {
        case auto
        case layout(LandsatQALayout)
        public static var optionType: OptionType { .choice(["auto"] + LandsatQALayout.allCases.map(\.rawValue)) }
        public init?(optionValue: OptionValue) {
            guard case .string(let word) = optionValue else { return nil }
            if word == "auto" { self = .auto } else if let layout = LandsatQALayout(rawValue: word) { self = .layout(layout) } else { return nil }
        }
        public var optionValue: OptionValue? {
            switch self {
            case .auto: return .string("auto")
            case .layout(let layout): return .string(layout.rawValue)
            }
        }
    }

    /// The lowest two-bit confidence that masks a pixel.
    public enum ConfidenceChoice: String, OptionChoice {
        case low, medium, high
        var confidence: QAConfidence { QAConfidence(name: rawValue) ?? .high }
    }

    public static let mtl = Option<String?>(
        "mtl", .inputPath, help: "the product's MTL file: gives the quality layout and, unless 'qa' is set, the quality band's file")
    public static let qa = Option<String?>("qa", .inputPath, help: "the quality band (BQA or QA_PIXEL), when not found from the MTL")
    public static let layout = Option<LayoutChoice>(
        "layout", default: .auto, help: "quality bit layout; auto reads it from the MTL (COLLECTION_NUMBER)")
    public static let flags = Option<OptionList>(
        "flags", default: OptionList(["cloud", "shadow", "cirrus"]),
        help: "conditions to mask, comma-separated: " + LandsatQAFlag.allCases.map(\.rawValue).joined(separator: ", "))
    public static let confidence = Option<ConfidenceChoice>(
        "confidence", default: .high, help: "lowest two-bit confidence that masks a pixel")
    public static let safe = Option<String?>(
        "safe", .inputPath, help: "Sentinel-2 L2A: the SAFE product (folder or MTD_MSIL2A.xml) whose SCL band is the mask")
    public static let scl = Option<String?>(
        "scl", .inputPath, help: "Sentinel-2 L2A: a scene classification raster (SCL), when not taken from 'safe'")
    public static let sclClassList = Option<OptionList>(
        "scl_classes", default: OptionList(["3", "8", "9", "10"]),
        help: "SCL classes to mask: 3 cloud shadow, 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus, 11 snow")

    public static let descriptor = StageDescriptor(
        id: "mask.clouds",
        summary: "Cloud mask from a Landsat quality band (bit layout read from the MTL) or a Sentinel-2 L2A scene classification",
        evaluation: .source,
        output: .mask,
        keys: [mtl, qa, layout, flags, confidence, safe, scl, sclClassList])

    public let qaPath: String
    public let mask: LandsatQualityMask
    /// Sentinel-2 SCL classes to mask, when the mask comes from a scene classification (qaPath is then the SCL).
    public let sclClasses: Set<Int>?
    /// True when the mask is a Sentinel-2 L1C MSK_CLASSI file (band 1 opaque clouds, band 2 cirrus).
    public let classiMask: Bool

    public init(options: StageOptions) throws(StageProblem) {
        if options[Self.safe] != nil || options[Self.scl] != nil {
            if let safe = options[Self.safe] {
                let product = try Sentinel2Product(path: safe)
                if product.level == .l1c {
                    // Level-1C from baseline 04.00: the raster cloud mask MSK_CLASSI_B00 (opaque clouds, cirrus, snow).
                    qaPath = try product.classificationMask()
                    sclClasses = nil
                    classiMask = true
                    mask = LandsatQualityMask(layout: .collection2, flags: [.cloud], minimumConfidence: .high)
                    return
                }
                do { qaPath = try product.file(for: "SCL") } catch { throw StageProblem(option: Self.safe, error.message) }
            } else {
                qaPath = options[Self.scl]!
            }
            var classes = Set<Int>()
            for word in options[Self.sclClassList] {
                guard let code = Int(word), (1...11).contains(code) else {
                    throw StageProblem(option: Self.sclClassList, "'\(word)' is not a scene classification class (1 to 11)")
                }
                classes.insert(code)
            }
            if classes.isEmpty { throw StageProblem(option: Self.sclClassList, "name at least one class to mask") }
            sclClasses = classes
            classiMask = false
            mask = LandsatQualityMask(layout: .collection2, flags: [.cloud], minimumConfidence: .high)
            return
        }
        sclClasses = nil
        classiMask = false
        var product: LandsatProduct?
        if let mtlPath = options[Self.mtl] {
            do { product = try LandsatProduct(mtl: MTLFile(path: mtlPath)) } catch {
                throw StageProblem(option: Self.mtl, error.description)
            }
        }
        let layout: LandsatQALayout
        switch options[Self.layout] {
        case .auto:
            guard let product else {
                throw StageProblem(option: Self.layout, "layout 'auto' reads the quality layout from the MTL: give 'mtl', or name the layout")
            }
            layout = product.qualityLayout
        case .layout(let named):
            layout = named
        }
        if let qa = options[Self.qa] {
            qaPath = qa
        } else if let product, let mtlPath = options[Self.mtl] {
            do {
                qaPath = try product.file(band: "QA", directory: URL(fileURLWithPath: mtlPath).deletingLastPathComponent())
            } catch {
                throw StageProblem(option: Self.mtl, error.description)
            }
        } else {
            throw StageProblem(option: Self.qa, "give the quality band ('qa') or the MTL it is named in ('mtl')")
        }
        var flags = Set<LandsatQAFlag>()
        for name in options[Self.flags] {
            guard let flag = LandsatQAFlag(rawValue: name) else {
                throw StageProblem(option: Self.flags, "unknown flag '\(name)' (known: \(LandsatQAFlag.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            flags.insert(flag)
        }
        if flags.isEmpty { throw StageProblem(option: Self.flags, "name at least one flag to mask") }
        mask = LandsatQualityMask(layout: layout, flags: flags, minimumConfidence: options[Self.confidence].confidence)
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        let dataset: Dataset
        do { dataset = try Dataset.open(qaPath) } catch { throw StageProblem(option: Self.qa, error.description) }
        let band: Band
        do { band = try dataset.band(1) } catch { throw StageProblem(option: Self.qa, error.description) }
        guard band.dataType == .uint16 || band.dataType == .int16 || band.dataType == .uint8 else {
            throw StageProblem(option: sclClasses == nil ? "qa" : "scl", "\(qaPath) is \(band.dataTypeName); a Landsat quality band holds 16-bit integers")
        }
        return ProductDescription(kind: .mask, bandNames: ["clouds"], nativeGrid: dataset.grid(), sourcePath: qaPath)
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        if classiMask {
            let inner = try RasterFileSource(bands: [.init(path: qaPath, band: 1, noData: .nan), .init(path: qaPath, band: 2, noData: .nan)],
                                             onto: grid, resampling: .nearest, context: context, stageID: "classi-\(UUID().uuidString.prefix(8))")
            return ClassiSource(inner: inner)
        }
        if let sclClasses {
            // Classes are labels: nearest neighbour only (the 20 m SCL onto a 10 m grid). 0 is no data.
            let inner = try RasterFileSource(bands: [.init(path: qaPath, band: 1, noData: .nan)], onto: grid,
                                             resampling: .nearest, context: context, stageID: "scl-\(UUID().uuidString.prefix(8))")
            var table = [Float](repeating: 0, count: 65536)
            table[0] = .nan
            for code in sclClasses { table[code] = 1 }
            return QualitySource(inner: inner, mask: mask, table: table)
        }
        for flag in mask.unsupportedFlags.sorted(by: { $0.rawValue < $1.rawValue }) {
            context.logger.warning("mask.clouds: the \(mask.layout.rawValue) quality layout has no \(flag.rawValue) flag; it is not masked")
        }
        // Quality words are bit fields: never interpolate them, and take no nodata (fill is bit 0).
        let inner = try RasterFileSource(bands: [.init(path: qaPath, band: 1, noData: .nan)], onto: grid,
                                         resampling: .nearest, context: context, stageID: "qa-\(UUID().uuidString.prefix(8))")
        return QualitySource(inner: inner, mask: mask, table: mask.makeTable())
    }

    /// Sentinel-2 L1C MSK_CLASSI: masked where band 1 (opaque clouds) or band 2 (cirrus) is set.
    struct ClassiSource: BlockSource {
        let inner: RasterFileSource
        var bandCount: Int { 1 }
        func makeReader() throws -> any BlockReader { ClassiReader(inner: try inner.makeReader()) }
    }

    final class ClassiReader: BlockReader {
        let inner: any BlockReader
        var both: PixelBlock?
        init(inner: any BlockReader) { self.inner = inner }
        func read(_ window: Window, into block: inout PixelBlock) throws {
            var pair = both ?? PixelBlock(bandNames: ["opaque", "cirrus"], blockWidth: block.stride, blockHeight: block.capacityRows)
            try inner.read(window, into: &pair)
            block.window = window
            for i in 0..<block.usedCount {
                let opaque = pair.bands[0][i], cirrus = pair.bands[1][i]
                block.bands[0][i] = opaque.isNaN ? .nan : (opaque != 0 || cirrus != 0 ? 1 : 0)
            }
            both = pair
        }
    }

    /// Reads quality words and turns them into mask values through a 65536-entry table.
    struct QualitySource: BlockSource {
        let inner: RasterFileSource
        let mask: LandsatQualityMask
        let table: [Float]
        var bandCount: Int { 1 }
        func makeReader() throws -> any BlockReader { Reader(inner: try inner.makeReader(), mask: mask, table: table) }
    }

    final class Reader: BlockReader {
        let inner: any BlockReader
        let mask: LandsatQualityMask
        let table: [Float]
        init(inner: any BlockReader, mask: LandsatQualityMask, table: [Float]) {
            self.inner = inner
            self.mask = mask
            self.table = table
        }
        func read(_ window: Window, into block: inout PixelBlock) throws {
            try inner.read(window, into: &block)
            let used = block.usedCount
            block.bands[0].withUnsafeMutableBufferPointer { values in
                let region = UnsafeMutableBufferPointer(rebasing: values[0..<used])
                mask.classify(UnsafeBufferPointer(region), into: region, table: table)
            }
        }
    }
}

/// `mask.apply`: sets a scene's pixels to nodata where a mask is 1 (or is nodata), and counts them in run.json.
public struct ApplyMaskStage: PixelStage {
    public static let descriptor = StageDescriptor(
        id: "mask.apply",
        summary: "Make a scene's pixels nodata where a mask flags them (clouds); counts them in run.json",
        evaluation: .pixelwise,
        inputs: [InputPort("scene", kinds: [.scene], help: "imagery to mask"),
                 InputPort("mask", kinds: [.mask], help: "1 = masked, 0 = clear, nodata = fill")],
        output: .scene,
        options: [])

    public init(options: StageOptions) throws(StageProblem) {}

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        ProductDescription(kind: .scene, bandNames: inputs[0].bandNames)
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        let scene = inputs[0], mask = inputs[1]
        let used = scene.usedCount
        mask.bands[0].withUnsafeBufferPointer { flags in
            for band in scene.bands.indices {
                scene.bands[band].withUnsafeBufferPointer { source in
                    output.bands[band].withUnsafeMutableBufferPointer { out in
                        for i in 0..<used { out[i] = flags[i] == 0 ? source[i] : .nan }
                    }
                }
            }
        }
    }

    /// Counts the window's pixels: `masked` (flagged by the mask), `fill` (mask nodata), `clear`.
    public func tally(inputs: [PixelBlock], output: PixelBlock) -> [String: Int] {
        let mask = inputs[1]
        var masked = 0, fill = 0, clear = 0
        mask.bands[0].withUnsafeBufferPointer { flags in
            for row in 0..<mask.window.height {
                let start = row * mask.stride
                for i in start..<start + mask.window.width {
                    let value = flags[i]
                    if value.isNaN { fill += 1 } else if value == 0 { clear += 1 } else { masked += 1 }
                }
            }
        }
        return ["masked": masked, "fill": fill, "clear": clear]
    }
}
