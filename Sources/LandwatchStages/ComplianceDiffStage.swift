import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchProducts

/// `compliance.diff`: change between two dates checked against the plan, pixel by pixel.
///
/// A pixel is a change only where both dates have a class (clouds and nodata never change), both classifications
/// are confident enough, and either the new class is absent from the 3 x 3 neighbourhood of the before map (without the
/// images, so that a one-pixel misregistration does not outline every field) or — when the two images are connected — the **evidence** is
/// strong: the later pixel lies at least `min_evidence` no-change standard deviations from the most similar earlier
/// pixel around it (``ChangeEvidence``; the spread is measured on the scene's own unchanged pixels, so one setting
/// works on digital numbers, TOA and surface reflectance). Each change is tested against the rules; the output holds
/// a bit per rule broken, the classes, the confidence, the evidence and the plan features under the pixel, at changed
/// pixels only (0 elsewhere). A neighbourhood stage: the engine reads its tiles with the neighbourhood's halo and runs
/// the pixel test (``ChangeTest``, in LandwatchAlgorithms) and each tile's patch labelling on its workers.
public struct ComplianceDiffStage: NeighbourhoodStage, MergeFinishingStage {
    static let planPorts = ["redline", "basic_farmland", "urban_boundary", "zoning", "approvals", "zones"]
    static let planKinds: [ProductKind] = [.plan, .mask, .classes]
    /// The bands of a change raster before its plan layers.
    public static let leadingBands = ChangeTest.leadingBands

    /// What `before` is.
    public enum CompareWith: String, OptionChoice {
        case before, landuse
    }

    public static let ruleSettings = StructuredOption<RuleSettings>(
        "rules", shape: "{rule: {code, name, name_zh, severity, min_area, min_pixels, exempt_if_approved, enabled}}",
        help: "changes to the default rules, by rule: " + ChangeRule.defaults.map {
            "\($0.kind.rawValue) (\($0.code), \($0.severity.name), \(Int($0.minArea)) m²)"
        }.joined(separator: ", "))
    public static let compareWith = Option<CompareWith?>(
        "compare_with", help: "what 'before' is: the earlier classification or the land-use survey (default: 'before' when connected)")
    public static let minConfidence = Option<Double>(
        "min_confidence", default: 50, range: 0...100, help: "both classifications must be at least this confident (%) for a change to count")
    public static let minEvidence = Option<Double>(
        "min_evidence", default: 4, range: 0...1000,
        help: "with before_image and after_image: a changed pixel must lie at least this many no-change standard deviations (RMS over the bands) from the most similar earlier pixel in the neighbourhood")
    public static let evidenceBands = Option<OptionList?>(
        "evidence_bands", help: "image bands the evidence compares, comma-separated (default: every band both images have)")
    public static let seasonWindow = Option<Int>(
        "season_window", default: 45, range: 0...183,
        help: "days of the year the two dates may differ by and count as one season; beyond it a warning, and cropland → bare (FL-S) is taken as harvest")
    public static let constructionFromBare = Option<Bool>(
        "construction_from_bare", default: false,
        help: "count bare → built-up as new construction (off: bare soil and roofs are the classes 10–30 m imagery confuses most)")
    public static let minIndexChange = Option<Double?>(
        "min_index_change", range: 0...2, help: "count a change only where |after_index - before_index| is at least this")
    public static let neighbourhood = Option<Int>(
        "neighbourhood", default: 3, range: 1...7,
        help: "window searched for the most similar earlier pixel (the evidence) and, see neighbourhood_classes, for the new class on the before map (1 = off, 3 = 3x3)")
    public static let neighbourhoodClasses = Option<Bool?>(
        "neighbourhood_classes",
        help: "require the new class to be absent from the before map's neighbourhood window (default: true without before_image and after_image; false with them, whose evidence already looks for the most similar earlier pixel in the same window, so that a misregistration is no change, while the class test would drop new construction next to built-up land)")
    public static let vegetationNDVI = Option<Double>(
        "vegetation_ndvi", default: 0.2, range: -1...1,
        help: "with before_image and after_image holding red and nir: a pixel classified as cropland, forest or grassland whose NDVI on its date is under this counts as bare for the rules (bare soil and sealed surfaces are under 0.2, whatever a model calls them); -1: off")
    public static let minPixels = Option<Int>(
        "min_pixels", default: 4, range: 1...1_000_000, help: "smallest patch in pixels for every rule (a rule's own min_pixels overrides it)")

    public static let descriptor = StageDescriptor(
        id: "compliance.diff",
        summary: "Change between two dates against the approved plan: a bit per violated rule for every changed pixel",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("after", kinds: [.classes], help: "classification of the new image (class, and confidence from classify.model)"),
            InputPort("before", kinds: [.classes], help: "classification of the earlier image of the same season", optional: true),
            InputPort("landuse", kinds: [.plan, .classes], help: "land-use survey (read.plan role landuse): the legal before state", optional: true),
            InputPort("redline", kinds: planKinds, help: "ecological protection red line", optional: true),
            InputPort("basic_farmland", kinds: planKinds, help: "permanent basic farmland", optional: true),
            InputPort("urban_boundary", kinds: planKinds, help: "urban development boundary", optional: true),
            InputPort("zoning", kinds: planKinds, help: "planned use per polygon (read.plan role zoning)", optional: true),
            InputPort("approvals", kinds: planKinds, help: "approved construction, temporary-use and facility-agriculture land", optional: true),
            InputPort("zones", kinds: planKinds, help: "districts or planning units, named in the violation list", optional: true),
            InputPort("before_image", kinds: [.scene], help: "the earlier image, for the change evidence (min_evidence)", optional: true),
            InputPort("after_image", kinds: [.scene], help: "the later image, best normalised onto the earlier one (normalize.relative)", optional: true),
            InputPort("before_index", kinds: [.index], help: "an index of the earlier image, for min_index_change", optional: true),
            InputPort("after_index", kinds: [.index], help: "the same index of the new image", optional: true),
        ],
        output: .change,
        keys: [ruleSettings, compareWith, minConfidence, minEvidence, evidenceBands, seasonWindow, constructionFromBare,
               minIndexChange, neighbourhood, neighbourhoodClasses, vegetationNDVI, minPixels])

    public let rules: [ChangeRule]
    public let classes: ComplianceClasses
    public let legendCodes: [Int]
    public let compareWith: String?
    public let minConfidence: Float
    public let minEvidence: Float
    /// True when the file set `min_evidence` (it then needs the images).
    let minEvidenceIsSet: Bool
    public let evidenceBands: [String]?
    public let seasonWindow: Int
    public let constructionFromBare: Bool
    public let minIndexChange: Float?
    public let radius: Int
    /// Whether the new class must be absent from the before map's window (nil: only without the images).
    public let neighbourhoodClasses: Bool?
    /// The NDVI under which a vegetated class counts as bare (nil: off).
    public let vegetationNDVI: Float?
    /// Legend codes of the vegetated classes (cropland, forest, grassland).
    let vegetatedCodes: [Int]
    let baseSettings: [(String, String)]

    public init(options: StageOptions) throws(StageProblem) {
        let legend = options.legend
        classes = ComplianceClasses(cropland: legend.code(for: "cropland") ?? 0, forest: legend.code(for: "forest") ?? 0,
                                    water: legend.code(for: "water") ?? 0, builtUp: legend.code(for: "built-up") ?? 0,
                                    bare: legend.code(for: "bare") ?? 0)
        let minPixels = options[Self.minPixels]
        var rules = ChangeRule.defaults.map { rule -> ChangeRule in
            var copy = rule
            copy.minPixels = minPixels
            return copy
        }
        for change in try options.decode(Self.ruleSettings)?.changes ?? [] {
            // A rule disabled by an earlier entry is gone: naming it again is refused as before.
            guard let index = rules.firstIndex(where: { $0.kind == change.kind }) else {
                throw StageProblem(option: Self.ruleSettings, RuleSettings.unknownRule(change.kind.rawValue), at: change.keyLocation)
            }
            rules[index] = change.applied(to: rules[index])
            if change.enabled == false { rules.remove(at: index) }
        }
        guard !rules.isEmpty else { throw StageProblem(option: Self.ruleSettings, "every rule is disabled: nothing would be reported") }
        self.rules = rules
        legendCodes = legend.classes.map(\.code)
        compareWith = options[Self.compareWith]?.rawValue
        minConfidence = Float(options[Self.minConfidence])
        minEvidence = Float(options[Self.minEvidence])
        minEvidenceIsSet = options.isSet(Self.minEvidence)
        if let list = options[Self.evidenceBands]?.items {
            if list.isEmpty { throw StageProblem(option: Self.evidenceBands, "name at least one band") }
            evidenceBands = list
        } else {
            evidenceBands = nil
        }
        seasonWindow = options[Self.seasonWindow]
        constructionFromBare = options[Self.constructionFromBare]
        minIndexChange = options[Self.minIndexChange].map(Float.init)
        let window = options[Self.neighbourhood]
        guard window % 2 == 1 else { throw StageProblem(option: Self.neighbourhood, "must be odd (1, 3, 5 or 7), found \(window)") }
        radius = window / 2
        neighbourhoodClasses = options[Self.neighbourhoodClasses]
        let ndvi = options[Self.vegetationNDVI]
        vegetationNDVI = ndvi > -1 ? Float(ndvi) : nil
        vegetatedCodes = ["cropland", "forest", "grassland"].compactMap { legend.code(for: $0) }
        baseSettings = [("min_confidence", "\(Int(minConfidence)) %"), ("neighbourhood", "\(window) x \(window)"),
                        ("min_pixels", "\(minPixels)"), ("season_window", "\(seasonWindow) days"),
                        ("construction_from_bare", "\(constructionFromBare)")]
            + (minIndexChange.map { [("min_index_change", "\($0)")] } ?? [])
    }

    /// Days between two dates' days of the year (0–183), nil when either date is unknown.
    public static func seasonGap(_ before: String?, _ after: String?) -> Int? {
        func dayOfYear(_ text: String?) -> Int? {
            guard let text, text.count >= 10 else { return nil }
            let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3 else { return nil }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return nil }
            return calendar.ordinality(of: .day, in: .year, for: date)
        }
        guard let a = dayOfYear(before), let b = dayOfYear(after) else { return nil }
        let gap = abs(a - b)
        return min(gap, 365 - gap)
    }

    /// The rules for a pair of dates: cropland → bare is taken as harvest when the dates are of different seasons.
    func ruleSet(beforeDate: String?, afterDate: String?) -> ChangeRuleSet {
        let seasonal = Self.seasonGap(beforeDate, afterDate).map { $0 > seasonWindow } ?? false
        return ChangeRuleSet(rules: rules, classes: classes, constructionFromBare: constructionFromBare, bareFarmlandIsSeasonal: seasonal)
    }

    func input(_ port: String, in inputs: [ProductDescription]) -> ProductDescription? { inputs.first { $0.port == port } }

    /// The port the before map comes from.
    func beforePort(_ ports: Set<String>) -> String? {
        if let compareWith { return ports.contains(compareWith) ? compareWith : nil }
        return ports.contains("before") ? "before" : ports.contains("landuse") ? "landuse" : nil
    }

    /// The bands the evidence compares, given both images' bands.
    func comparedBands(before: [String], after: [String]) throws(StageProblem) -> [String] {
        if let evidenceBands {
            let missing = evidenceBands.filter { !before.contains($0) || !after.contains($0) }
            if !missing.isEmpty {
                throw StageProblem(option: Self.evidenceBands, "band \(missing.joined(separator: ", ")) is not in both images (before_image: \(before.joined(separator: ", ")); after_image: \(after.joined(separator: ", ")))")
            }
            return evidenceBands
        }
        let common = after.filter(before.contains)
        if common.isEmpty {
            throw StageProblem("before_image and after_image have no band in common (before_image: \(before.joined(separator: ", ")); after_image: \(after.joined(separator: ", ")))")
        }
        if Set(before) != Set(after) {
            throw StageProblem("before_image and after_image have different bands (before_image: \(before.joined(separator: ", ")); after_image: \(after.joined(separator: ", "))): read both dates with the same band names, or list the common ones in evidence_bands")
        }
        return common
    }

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let ports = Set(inputs.compactMap(\.port))
        guard let beforePort = beforePort(ports) else {
            if let compareWith {
                throw StageProblem(option: Self.compareWith, "compare_with: \(compareWith), but no stage is connected to input '\(compareWith)'")
            }
            throw StageProblem("connect 'before' (a classification of the earlier image) or 'landuse' (the land-use survey): "
                               + "there is nothing to compare the new image with")
        }
        if minIndexChange != nil, !(ports.contains("before_index") && ports.contains("after_index")) {
            throw StageProblem(option: Self.minIndexChange, "min_index_change needs both inputs before_index and after_index")
        }
        if ports.contains("before_image") != ports.contains("after_image") {
            throw StageProblem("connect both before_image and after_image for the change evidence, or neither")
        }
        if let beforeImage = input("before_image", in: inputs), let afterImage = input("after_image", in: inputs) {
            _ = try comparedBands(before: beforeImage.bandNames, after: afterImage.bandNames)
        } else if evidenceBands != nil {
            throw StageProblem(option: Self.evidenceBands, "evidence_bands needs the inputs before_image and after_image")
        } else if minEvidenceIsSet {
            throw StageProblem(option: Self.minEvidence, "min_evidence needs the inputs before_image and after_image (the change evidence is measured on the images); connect both, or leave the option out")
        }
        for product in inputs where product.kind == .plan {
            let role = product.featureTables.keys.first ?? ""
            if let port = product.port, port != role, !(port == "landuse" && role == "landuse") {
                throw StageProblem("input '\(port)' is connected to a plan layer of role '\(role)': connect it to input '\(role)', or give the layer role \(port)")
            }
        }
        let planBands = Self.planPorts.filter(ports.contains)
        var product = ProductDescription(kind: .change, bandNames: Self.leadingBands + planBands,
                                         date: input("after", in: inputs)?.date)
        for port in planBands {
            if let table = input(port, in: inputs)?.featureTables.values.first { product.featureTables[port] = table }
        }
        let before = input(beforePort, in: inputs)
        let beforeDate = beforePort == "before" ? before?.date : nil, afterDate = input("after", in: inputs)?.date
        var settings = baseSettings
        if ports.contains("after_image") {
            settings.insert(("min_evidence", "\(minEvidence) σ"), at: 1)
            settings.append(("neighbourhood_classes", "\(neighbourhoodClasses ?? false)"))
            if let vegetationNDVI, let names = try? comparedBands(before: input("before_image", in: inputs)?.bandNames ?? [],
                                                                   after: input("after_image", in: inputs)?.bandNames ?? []),
               names.contains("red"), names.contains("nir") {
                settings.insert(("vegetation_ndvi", "\(vegetationNDVI)"), at: 2)
            }
        }
        if let gap = Self.seasonGap(beforeDate, afterDate), gap > seasonWindow {
            settings.append(("season", "the dates are \(gap) days of the year apart, over the \(seasonWindow)-day window: cropland → bare is taken as harvest (FL-S off)"))
        }
        product.compliance = ComplianceDescription(
            ruleSet: ruleSet(beforeDate: beforeDate, afterDate: afterDate), beforeDate: beforeDate, afterDate: afterDate,
            beforeSource: beforePort == "before" ? "classification" : "land-use survey", settings: settings,
            minEvidence: ports.contains("after_image") ? Double(minEvidence) : nil)
        return product
    }

    /// Settles the run's rules and the no-change spread of the images (sampled through the engine's tiles), then
    /// the kernel the engine runs over every tile: the pixel test (``ChangeTest``) and the tile's patch labelling.
    public func prepare(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext, tiles: any TileRunner) throws -> any NeighbourhoodKernel {
        let ports = Set(inputs.compactMap(\.description.port))
        let beforePort = beforePort(ports)!
        func raster(_ port: String) -> MaterializedRaster? { inputs.first { $0.description.port == port } }
        let planBands = Self.planPorts.filter(ports.contains)
        let zoningTable = raster("zoning")?.description.featureTables.values.first
        let nonConstruction: [Bool] = [false] + (zoningTable?.features.map { !$0.allowsConstruction } ?? [])
        let beforeDate = beforePort == "before" ? raster("before")?.description.date : nil
        let afterDate = raster("after")?.description.date
        let ruleSet = self.ruleSet(beforeDate: beforeDate, afterDate: afterDate)
        if let gap = Self.seasonGap(beforeDate, afterDate), gap > seasonWindow {
            let message = "the dates \(beforeDate ?? "") and \(afterDate ?? "") are \(gap) days of the year apart (over the \(seasonWindow)-day season window): "
                + "seasonal change may be listed; cropland → bare is taken as harvest"
            context.logger.warning("compliance.diff: \(message)")
            context.findings?.note(message)
        }
        context.findings?.set("season_gap_days", Double(Self.seasonGap(beforeDate, afterDate) ?? -1))

        // The images for the evidence, and the no-change spread measured on them.
        let beforeImage = raster("before_image"), afterImage = raster("after_image")
        var evidence: ChangeEvidence?
        var vegetation: ChangeTest.Vegetation?
        var imageBands: (before: [Int], after: [Int]) = ([], [])
        if let beforeImage, let afterImage {
            let names = try comparedBands(before: beforeImage.description.bandNames, after: afterImage.description.bandNames)
            imageBands = (names.map { beforeImage.description.band(named: $0)! + 1 }, names.map { afterImage.description.band(named: $0)! + 1 })
            let measured = try noChangeSpread(before: raster(beforePort)!, after: raster("after")!, beforeImage: beforeImage, afterImage: afterImage,
                                              bands: imageBands, grid: grid, context: context, tiles: tiles)
            evidence = measured
            if let vegetationNDVI, let red = names.firstIndex(of: "red"), let nir = names.firstIndex(of: "nir") {
                vegetation = ChangeTest.Vegetation(red: red, nir: nir, threshold: vegetationNDVI, classes: vegetatedCodes, bare: classes.bare)
                context.findings?.set("vegetation_ndvi", Double(vegetationNDVI))
            }
            for (index, name) in names.enumerated() {
                context.findings?.set("evidence.\(name).centre", Double(measured.centre[index]))
                context.findings?.set("evidence.\(name).sigma", Double(measured.sigma[index]))
            }
            context.findings?.set("min_evidence", Double(minEvidence))
            let spread = zip(names, measured.sigma).map { name, sigma in "\(name) σ " + String(format: "%.4g", sigma) }.joined(separator: ", ")
            context.logger.info("compliance.diff: no-change spread \(spread)")
        } else {
            let message = "no before_image/after_image: change is found from the classes alone, which overstates it; connect both images for the change evidence"
            context.logger.warning("compliance.diff: \(message)")
            context.findings?.note(message)
        }

        // What each tile reads: the before map and image with the neighbourhood's halo, the rest on the tile alone.
        var reads: [NeighbourhoodRead] = []
        func read(_ raster: MaterializedRaster?, bands: [Int] = [1], halo: Int = 0) -> Int? {
            guard let raster else { return nil }
            reads.append(NeighbourhoodRead(path: raster.path, bands: bands, halo: halo))
            return reads.count - 1
        }
        func confidence(_ port: String) -> MaterializedRaster? {
            guard let input = raster(port), input.description.band(named: "confidence") != nil else { return nil }
            return input
        }
        func confidenceBand(_ port: String) -> [Int] { [(raster(port)?.description.band(named: "confidence") ?? 0) + 1] }
        var layout = DiffKernel.Layout(beforeClasses: read(raster(beforePort), halo: radius)!, afterClasses: read(raster("after"))!)
        if beforePort == "before" { layout.beforeConfidence = read(confidence("before"), bands: confidenceBand("before")) }
        layout.afterConfidence = read(confidence("after"), bands: confidenceBand("after"))
        layout.plan = planBands.map { read(raster($0))! }
        if minIndexChange != nil {
            layout.beforeIndex = read(raster("before_index"))
            layout.afterIndex = read(raster("after_index"))
        }
        if beforeImage != nil, afterImage != nil {
            layout.beforeImage = read(beforeImage, bands: imageBands.before, halo: radius)
            layout.afterImage = read(afterImage, bands: imageBands.after)
        }
        let layers = ChangeTest.Layers(redline: planBands.firstIndex(of: "redline"), basicFarmland: planBands.firstIndex(of: "basic_farmland"),
                                       urbanBoundary: planBands.firstIndex(of: "urban_boundary"), zoning: planBands.firstIndex(of: "zoning"),
                                       approvals: planBands.firstIndex(of: "approvals"))
        // With the evidence, the window is searched for the most similar earlier pixel; the class test is then off
        // unless the file asks for it.
        let classRadius = (neighbourhoodClasses ?? (evidence == nil)) ? radius : 0
        let test = ChangeTest(ruleSet: ruleSet, minConfidence: minConfidence, minIndexChange: minIndexChange, minEvidence: minEvidence,
                              evidence: evidence, radius: classRadius, layers: layers, nonConstruction: nonConstruction, vegetation: vegetation)
        return DiffKernel(test: test, reads: reads, layout: layout, outputBands: Self.leadingBands + planBands, classCodes: legendCodes)
    }

    /// The diff's tiles: the pixel test into the output bands, and the tile's patches of change, labelled on the
    /// worker and joined across tiles when every tile is done.
    struct DiffKernel: NeighbourhoodKernel {
        /// Where each input's block is in ``reads``.
        struct Layout: Sendable {
            var beforeClasses: Int, afterClasses: Int
            var beforeConfidence: Int?, afterConfidence: Int?
            var plan: [Int] = []
            var beforeIndex: Int?, afterIndex: Int?
            var beforeImage: Int?, afterImage: Int?
        }

        /// What a tile reduces to.
        struct Reduction: Sendable {
            var pieces: [LabelledPatch]
            var counts: ChangeTest.Counts
        }

        let test: ChangeTest
        let reads: [NeighbourhoodRead]
        let layout: Layout
        let outputBands: [String]
        let classCodes: [Int]

        /// Values only at changed pixels: compressed even as scratch (uncompressed, 11 bands of a 10980² scene are 5 GB).
        var sparseOutput: Bool { true }

        /// The worker's own output buffers (the patch labeller reads them before the engine writes the tile).
        func workerBytes(tile: Int) -> Int { outputBands.count * tile * tile * 4 }

        func makeWorker() throws -> any NeighbourhoodWorker { DiffWorker(kernel: self) }

        func finish(tiles: [TileReduction], output: String?, context: RunContext) throws {
            let reductions = tiles.compactMap { tile in (tile.value as? Reduction).map { (tile.tile, $0) } }
            let counts = reductions.reduce(ChangeTest.Counts()) { $0 + $1.1.counts }
            context.findings?.set("changed_pixels", Double(counts.changed))
            if test.evidence != nil {
                context.findings?.set("weak_evidence_pixels", Double(counts.weak))
                context.findings?.set("no_imagery_pixels", Double(counts.noImagery))
                context.logger.info("compliance.diff: \(counts.changed) changed pixels; \(counts.weak) whose class changed left out for weak evidence (under \(test.minEvidence) σ)")
            }
            // The patches, for write.violations: labelling them tile by tile on every worker spares it a sequential
            // pass over the whole raster.
            guard let output else { return }
            let pieces = reductions.filter { !$0.1.pieces.isEmpty }.map { tile, reduction in
                (columns: tile.colOffset..<(tile.colOffset + tile.width), rows: tile.rowOffset..<(tile.rowOffset + tile.height), pieces: reduction.pieces)
            }
            try ChangePatches(patches: PatchMerger.mergeTiles(pieces)).write(besides: output)
        }
    }

    final class DiffWorker: NeighbourhoodWorker {
        let kernel: DiffKernel

        init(kernel: DiffKernel) { self.kernel = kernel }

        func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
            let tile = output.window, layout = kernel.layout
            let halo = inputs[layout.beforeClasses].window
            // The test writes into the engine's own output block (no copy of the tile's bands), which the labeller
            // then reads.
            var bands = output.bands
            output.bands = []
            defer { output.bands = bands }
            let (counts, pieces) = ComplianceDiffStage.withViews(inputs) { views in
                ComplianceDiffStage.withMutableViews(&bands) { buffers in
                    let test = ChangeTest.Tile(
                        width: tile.width, height: tile.height, haloWidth: halo.width, haloHeight: halo.height,
                        haloColumn: tile.colOffset - halo.colOffset, haloRow: tile.rowOffset - halo.rowOffset,
                        beforeClasses: views[layout.beforeClasses][0], afterClasses: views[layout.afterClasses][0],
                        beforeConfidence: layout.beforeConfidence.map { views[$0][0] }, afterConfidence: layout.afterConfidence.map { views[$0][0] },
                        plan: layout.plan.map { views[$0][0] },
                        beforeIndex: layout.beforeIndex.map { views[$0][0] }, afterIndex: layout.afterIndex.map { views[$0][0] },
                        beforeImage: layout.beforeImage.map { views[$0] } ?? [], afterImage: layout.afterImage.map { views[$0] } ?? [])
                    let counts = kernel.test.apply(test, into: buffers)
                    // The tile's patches of change, labelled here in parallel and joined across tiles afterwards.
                    let labeler = PatchLabeler(width: tile.width, ruleCount: ChangeRule.Kind.allCases.count, classCodes: kernel.classCodes,
                                               planLayerCount: layout.plan.count, columnOffset: tile.colOffset)
                    ComplianceDiffStage.label(buffers.map { UnsafeBufferPointer($0) }, tile: tile, into: labeler)
                    return (counts, PatchMerger.pieces(of: labeler, classCodes: kernel.classCodes))
                }
            }
            return DiffKernel.Reduction(pieces: pieces, counts: counts)
        }
    }

    /// The no-change centre and spread of each compared band: differences (after − the most similar earlier pixel in
    /// the neighbourhood) at sampled pixels whose class is the same on both dates, about 200,000 of them, chosen by a
    /// hash of the position (so the sample does not depend on the tiling); sampled through the engine's tiles.
    func noChangeSpread(before: MaterializedRaster, after: MaterializedRaster, beforeImage: MaterializedRaster, afterImage: MaterializedRaster,
                        bands: (before: [Int], after: [Int]), grid: RasterGrid, context: RunContext, tiles: any TileRunner) throws -> ChangeEvidence {
        let sampler = SpreadSampler(reads: [NeighbourhoodRead(path: before.path, bands: [1]), NeighbourhoodRead(path: after.path, bands: [1]),
                                            NeighbourhoodRead(path: beforeImage.path, bands: bands.before, halo: radius),
                                            NeighbourhoodRead(path: afterImage.path, bands: bands.after)],
                                    radius: radius, positions: PositionSample(width: grid.width, height: grid.height, target: 200_000))
        let collected = SampleCollector()
        for tile in try tiles.reduce(sampler) {
            guard let sample = tile.value as? SpreadSampler.Sample else { continue }
            collected.add(positions: sample.positions, values: sample.values, stride: sample.stride)
        }
        let (beforeSample, afterSample) = collected.bandMajor(bands: bands.before.count)
        guard (beforeSample.first?.count ?? 0) >= 50 else {
            throw RunError(.input, "only \(beforeSample.first?.count ?? 0) sampled pixels keep their class between the dates and have imagery on both: too few to measure the no-change spread of the change evidence (a cloud-covered or empty date?)")
        }
        let differences = zip(beforeSample, afterSample).map { pair in zip(pair.0, pair.1).map { $1 - $0 } }
        context.findings?.set("evidence.sampled_pixels", Double(beforeSample[0].count))
        let magnitudes = beforeSample.map { Float(RelativeNormalization.median($0.map(abs))) }
        return ChangeEvidence.noChange(differences: differences, magnitudes: magnitudes, radius: radius)
    }

    /// Samples of unchanged pixels for the no-change spread: reads before classes, after classes, the before image
    /// (with the halo) and the after image; no output.
    struct SpreadSampler: NeighbourhoodKernel {
        struct Sample: Sendable {
            var positions: [Int], values: [Float], stride: Int
        }

        let reads: [NeighbourhoodRead]
        let radius: Int
        let positions: PositionSample
        var outputBands: [String] { [] }

        func computes(tile: Window) -> Bool {
            positions.touches(rows: tile.rowOffset..<(tile.rowOffset + tile.height), columns: tile.colOffset..<(tile.colOffset + tile.width))
        }

        func makeWorker() throws -> any NeighbourhoodWorker { Worker(sampler: self) }

        final class Worker: NeighbourhoodWorker {
            let sampler: SpreadSampler
            init(sampler: SpreadSampler) { self.sampler = sampler }
            func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? { sampler.sample(inputs, tile: output.window) }
        }

        func sample(_ inputs: [PixelBlock], tile: Window) -> Sample {
            let bc = inputs[0].bands[0], ac = inputs[1].bands[0]
            let bv = inputs[2].bands, av = inputs[3].bands, halo = inputs[2].window
            var sampled: [Int] = [], values: [Float] = []
            for row in 0..<tile.height {
                for col in 0..<tile.width {
                    let gridRow = tile.rowOffset + row, gridCol = tile.colOffset + col
                    guard positions.isSampled(row: gridRow, column: gridCol) else { continue }
                    let i = row * tile.width + col
                    guard bc[i].isFinite, bc[i] > 0, bc[i] == ac[i] else { continue }
                    var valid = true
                    for band in av.indices where !av[band][i].isFinite { valid = false; break }
                    guard valid else { continue }
                    // The most similar earlier pixel in the neighbourhood, as the evidence takes it: the spread is
                    // that of the same statistic, so a one-pixel misregistration does not inflate it.
                    let haloRow = gridRow - halo.rowOffset, haloCol = gridCol - halo.colOffset
                    var best = -1
                    var bestDistance = Float.infinity
                    for r in max(haloRow - radius, 0)...min(haloRow + radius, halo.height - 1) {
                        for c in max(haloCol - radius, 0)...min(haloCol + radius, halo.width - 1) {
                            let j = r * halo.width + c
                            var distance: Float = 0
                            for band in av.indices {
                                let d = av[band][i] - bv[band][j]
                                distance += d * d
                            }
                            if distance.isFinite, distance < bestDistance { bestDistance = distance; best = j }
                        }
                    }
                    guard best >= 0 else { continue }
                    sampled.append(gridRow * positions.width + gridCol)
                    for band in av.indices { values.append(bv[band][best]); values.append(av[band][i]) }
                }
            }
            return Sample(positions: sampled, values: values, stride: 2 * bv.count)
        }
    }

    /// Calls `body` with mutable views of the storage of every array of `arrays` (no copy).
    static func withMutableViews<R>(_ arrays: inout [[Float]], _ body: ([UnsafeMutableBufferPointer<Float>]) throws -> R) rethrows -> R {
        // Each array is moved out while its view lives (no copy: it stays uniquely referenced), and put back.
        var moved = arrays
        arrays = []
        defer { arrays = moved }
        func nest(_ index: Int, _ collected: [UnsafeMutableBufferPointer<Float>]) throws -> R {
            if index == moved.count { return try body(collected) }
            var array = moved[index]
            moved[index] = []
            defer { moved[index] = array }
            return try array.withUnsafeMutableBufferPointer { view in try nest(index + 1, collected + [view]) }
        }
        return try nest(0, [])
    }

    /// Calls `body` with read-only views of every band of every block.
    private static func withViews<R>(_ blocks: [PixelBlock], _ body: ([[UnsafeBufferPointer<Float>]]) throws -> R) rethrows -> R {
        let arrays = blocks.map(\.bands)
        func nest(_ block: Int, _ band: Int, _ collected: [[UnsafeBufferPointer<Float>]]) throws -> R {
            if block == arrays.count { return try body(collected) }
            var collected = collected
            if band == 0 { collected.append([]) }
            if band == arrays[block].count { return try nest(block + 1, 0, collected) }
            return try arrays[block][band].withUnsafeBufferPointer { view in
                var grown = collected
                grown[grown.count - 1].append(view)
                return try nest(block, band + 1, grown)
            }
        }
        return try nest(0, 0, [])
    }


    /// The neighbourhood search reaches `radius` rows away.
    public var haloRows: Int { radius }

    /// With the images connected the no-change spread is measured over the whole grid: the stage runs in the merge.
    public func isRowLocal(connectedPorts: Set<String>) -> Bool { !connectedPorts.contains("after_image") }

    /// Labels the patches of a change raster joined from shards (a patch cut by a shard border comes back whole):
    /// the same tiles, labeller and joining as the diff's own tiles, reading the raster back through the engine's tiles.
    public func finishMerged(output: String, description: ProductDescription, grid: RasterGrid, context: RunContext) throws {
        let bandCount = description.bandNames.count
        let labeller = MergedLabeller(reads: [NeighbourhoodRead(path: output, bands: Array(1...bandCount))], classCodes: legendCodes,
                                      planLayers: bandCount - Self.leadingBands.count)
        let pieces = try context.tileRunner(grid: grid).reduce(labeller).compactMap { tile -> (columns: Range<Int>, rows: Range<Int>, pieces: [LabelledPatch])? in
            guard let found = tile.value as? [LabelledPatch], !found.isEmpty else { return nil }
            return (columns: tile.tile.colOffset..<(tile.tile.colOffset + tile.tile.width), rows: tile.tile.rowOffset..<(tile.tile.rowOffset + tile.tile.height), pieces: found)
        }
        try ChangePatches(patches: PatchMerger.mergeTiles(pieces)).write(besides: output)
    }

    /// Each tile of a merged change raster labelled, as the diff labels its own tiles; no output.
    struct MergedLabeller: NeighbourhoodKernel {
        let reads: [NeighbourhoodRead]
        let classCodes: [Int]
        let planLayers: Int
        var outputBands: [String] { [] }

        func makeWorker() throws -> any NeighbourhoodWorker { Worker(kernel: self) }

        final class Worker: NeighbourhoodWorker {
            let kernel: MergedLabeller
            init(kernel: MergedLabeller) { self.kernel = kernel }

            func apply(inputs: [PixelBlock], into output: inout PixelBlock) throws -> (any Sendable)? {
                let tile = output.window
                let labeler = PatchLabeler(width: tile.width, ruleCount: ChangeRule.Kind.allCases.count, classCodes: kernel.classCodes,
                                           planLayerCount: kernel.planLayers, columnOffset: tile.colOffset)
                ComplianceDiffStage.withViews(inputs) { views in ComplianceDiffStage.label(views[0], tile: tile, into: labeler) }
                return PatchMerger.pieces(of: labeler, classCodes: kernel.classCodes)
            }
        }
    }

    /// Where the patches of a change raster are kept, beside it (see ``ChangePatches``).
    public static func patchesPath(_ raster: String) -> String { ChangePatches.path(besides: raster) }

    /// Runs a labeller over one tile of outputs (rules, before, after, confidence, evidence, plan layers), row by row.
    static func label(_ outputs: [UnsafeBufferPointer<Float>], tile: Window, into labeler: PatchLabeler) {
        var bits = [UInt32](repeating: 0, count: tile.width)
        let lead = leadingBands.count
        for row in 0..<tile.height {
            let start = row * tile.width
            var any = false
            for x in 0..<tile.width {
                let v = outputs[0][start + x]
                bits[x] = v > 0 ? UInt32(v) : 0
                if bits[x] != 0 { any = true }
            }
            guard any else { labeler.addEmptyRow(); continue }
            let slices = outputs.map { UnsafeBufferPointer(rebasing: $0[start..<(start + tile.width)]) }
            bits.withUnsafeBufferPointer { bitRow in
                labeler.addRow(tile.rowOffset + row, bits: bitRow, before: slices[1], after: slices[2], confidence: slices[3],
                               evidence: slices[4], plan: Array(slices[lead...]))
            }
        }
    }
}

extension ComplianceDiffStage {
    /// The `rules:` option: by rule name, the settings that change a default rule, in the file's order.
    public struct RuleSettings: ConfigDecodable {
        public struct Change: Sendable {
            public var kind: ChangeRule.Kind
            public var keyLocation: SourceLocation
            public var code: String?, name: String?, nameZH: String?
            public var severity: Severity?
            public var minArea: Double?
            public var minPixels: Int?
            public var exemptIfApproved: Bool?
            public var enabled: Bool?

            /// The rule with these settings.
            func applied(to rule: ChangeRule) -> ChangeRule {
                var rule = rule
                if let code { rule.code = code }
                if let name { rule.name = name }
                if let nameZH { rule.nameZH = nameZH }
                if let severity { rule.severity = severity }
                if let minArea { rule.minArea = minArea }
                if let minPixels { rule.minPixels = minPixels }
                if let exemptIfApproved { rule.exemptIfApproved = exemptIfApproved }
                return rule
            }
        }

        public var changes: [Change]

        static let settings = "code, name, name_zh, severity, min_area, min_pixels, exempt_if_approved, enabled"

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            guard let entries = node.entries else {
                throw ConfigDecodingError("must map rule names to settings, e.g. {unapproved_construction: {min_area: 300}} (found \(node.shortDescription))")
            }
            // Every wrong rule and every wrong setting is reported, not only the first.
            var problems = ConfigProblems()
            var changes: [Change] = []
            for entry in entries {
                let header = problems.attempt { () throws(ConfigDecodingError) -> (ChangeRule.Kind, [ConfigNode.Entry]) in
                    guard let kind = ChangeRule.Kind(rawValue: entry.key) else {
                        throw ConfigDecodingError(Self.unknownRule(entry.key), at: entry.keyLocation)
                    }
                    guard let settings = entry.value.entries else {
                        throw ConfigDecodingError("rule '\(entry.key)' takes a mapping {\(Self.settings)} (found \(entry.value.shortDescription))",
                                                  at: entry.value.location)
                    }
                    return (kind, settings)
                }
                guard let (kind, settings) = header else { continue }
                var change = Change(kind: kind, keyLocation: entry.keyLocation)
                for setting in settings { _ = problems.attempt { () throws(ConfigDecodingError) in
                    let text = setting.value.scalarText ?? ""
                    func bad(_ wanted: String) -> ConfigDecodingError {
                        ConfigDecodingError("rule '\(entry.key)': '\(setting.key)' must be \(wanted) (found \(setting.value.shortDescription))",
                                            at: setting.value.location)
                    }
                    switch setting.key {
                    case "code": guard !text.isEmpty else { throw bad("a short code") }; change.code = text
                    case "name": guard !text.isEmpty else { throw bad("text") }; change.name = text
                    case "name_zh": guard !text.isEmpty else { throw bad("text") }; change.nameZH = text
                    case "severity": guard let severity = Severity(name: text) else { throw bad("low, medium or high") }; change.severity = severity
                    case "min_area": guard let area = Double(text), area >= 0 else { throw bad("an area in m² (0 or more)") }; change.minArea = area
                    case "min_pixels": guard let pixels = Int(text), pixels >= 1 else { throw bad("a whole number of pixels (1 or more)") }; change.minPixels = pixels
                    case "exempt_if_approved": guard let flag = Bool(text) else { throw bad("true or false") }; change.exemptIfApproved = flag
                    case "enabled": guard let flag = Bool(text) else { throw bad("true or false") }; change.enabled = flag
                    default:
                        throw ConfigDecodingError("rule '\(entry.key)': unknown setting '\(setting.key)' (settings: \(Self.settings))",
                                                  at: setting.keyLocation)
                    }
                } }
                changes.append(change)
            }
            try problems.throwIfAny()
            self.changes = changes
        }

        static func unknownRule(_ name: String) -> String {
            "unknown rule '\(name)' (rules: " + ChangeRule.Kind.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        }
    }
}
