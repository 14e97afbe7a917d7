import Dispatch
import Foundation
import Synchronization
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchOutputs
import LandwatchProducts

/// `write.violations`: patches of change for enforcement teams.
///
/// `compliance.diff` labels the 8-connected patches of change as it finds them and leaves them (their statistics and
/// pixel runs) beside its change raster; this stage reads them back. A patch keeps the rules for which it reaches
/// that rule's minimum size, and is dropped when it reaches none or scores under `min_score`. Each kept patch's mask
/// is rebuilt from its runs over its bounding box (over strips of a whole-grid label raster when the box is very
/// large) and vectorised with GDAL's polygonize; each gets a stable id from its location, a navigation point inside
/// it (point-on-surface) and the plan features it touches. Everything is written into a folder that replaces the
/// older one only when complete.
public struct WriteViolationsStage: WholeSinkStage {
    public static let formats = ["geojson", "csv", "gpkg", "kml", "fgb"]

    public static let path = Option<String>("path", .outputPath, default: "violations", help: "folder for the list, under the output root")
    public static let formatList = StructuredOption<FormatList>(
        "formats", shape: "[geojson|csv|gpkg|kml|fgb, …]",
        help: "files to write (default: all of " + formats.joined(separator: ", ") + "); summary files are always written")
    public static let gcj02 = Option<Bool>(
        "gcj02", default: false, help: "add the navigation point in GCJ-02, the datum of Chinese map apps (Amap, Tencent)")
    public static let chips = Option<Int>(
        "chips", default: 100, range: 0...100_000, help: "before/after PNG chips for at most this many patches, gravest first (0 = none)")
    public static let chipSize = Option<Int>(
        "chip_size", default: 8, range: 8...1000,
        help: "smallest chip window edge in pixels of the run grid; the window is anyway the patch's box with 300 m around it (a tenth of the box over 1 km)")
    public static let minScore = Option<Int>(
        "min_score", default: 0, range: 0...100,
        help: "list only patches whose change score (0–100: 50 at compliance.diff's min_evidence, more the stronger the evidence, scaled by the classifiers' confidence) is at least this")

    /// The `formats:` option: a list of the file formats to write, each named once or more.
    public struct FormatList: ConfigDecodable {
        public var formats: [String]

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            formats = []
            for item in try node.decodeList("must be a list such as [geojson, csv]") {
                guard let text = item.scalarText?.lowercased(), WriteViolationsStage.formats.contains(text) else {
                    throw ConfigDecodingError("unknown format \(item.shortDescription) (formats: \(WriteViolationsStage.formats.joined(separator: ", ")))",
                                              at: item.location)
                }
                formats.append(text)
            }
        }
    }

    public static let descriptor = StageDescriptor(
        id: "write.violations",
        summary: "Violation list for enforcement teams: patches as GeoJSON, CSV (Excel), GeoPackage, KML and FlatGeobuf, with image chips",
        evaluation: .wholeRaster,
        inputs: [
            InputPort("changes", kinds: [.change], help: "the output of compliance.diff"),
            InputPort("before_image", kinds: [.scene], help: "the earlier image (bands red, green, blue) for before/after chips", optional: true),
            InputPort("after_image", kinds: [.scene], help: "the new image (bands red, green, blue)", optional: true),
        ],
        output: nil,
        keys: [path, formatList, gcj02, chips, chipSize, minScore])

    /// The after image over the whole grid, written beside the chips (page 1 of the field package; its geotransform in
    /// violations.json).
    static let overviewName = "overview.png"

    /// WGS 84 (EPSG:4326) as WKT, for the FlatGeobuf list's header.
    static let wgs84WKT = #"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#

    /// Patches whose bounding box holds more pixels than this are polygonised from a whole-grid label raster.
    static let boxPolygonizeLimit = 4096 * 4096

    public let path: String
    public let formats: [String]
    public let gcj02: Bool
    public let chipLimit: Int
    public let chipSize: Int
    public let minScore: Int
    public let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        gcj02 = options[Self.gcj02]
        chipLimit = options[Self.chips]
        chipSize = options[Self.chipSize]
        minScore = options[Self.minScore]
        legend = options.legend
        formats = try options.decode(Self.formatList)?.formats ?? Self.formats
    }

    public var outputPaths: [String] {
        formats.map { "\(path)/violations.\($0)" } + ["\(path)/summary.csv", "\(path)/summary.json", "\(path)/\(ViolationList.fileName)"]
    }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        let images = inputs.filter { $0.port == "before_image" || $0.port == "after_image" }
        if images.count == 1 {
            throw StageProblem("connect both before_image and after_image for chips, or neither")
        }
        for image in images {
            let missing = ["red", "green", "blue"].filter { image.band(named: $0) == nil }
            if !missing.isEmpty {
                throw StageProblem("input '\(image.port ?? "")' has no band \(missing.joined(separator: ", ")) for true-colour chips (its bands: \(image.bandNames.joined(separator: ", ")))")
            }
        }
        guard let change = inputs.first(where: { $0.port == "changes" }), change.compliance != nil else {
            throw StageProblem("input 'changes' must come from compliance.diff")
        }
    }

    // MARK: - Running

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        guard let change = inputs.first(where: { $0.description.port == "changes" }), let compliance = change.description.compliance else {
            throw RunError(.internal, "write.violations ran without a change input")
        }
        let folder = try AtomicDirectory(target: context.outputRoot.resolve(path))
        do {
            let written = try write(change: change, compliance: compliance, images: inputs, grid: grid, folder: folder, context: context)
            try folder.commit()
            return written
        } catch {
            folder.abort()
            throw error
        }
    }

    typealias Violation = LandwatchOutputs.Violation

    /// The plan measures of a patch: zone, areas per plan layer, outside the urban boundary, cropland taken, approvals.
    static func planMeasures(_ patch: PatchLabeler.Patch, planRoles: [String], tables: [String: FeatureTable], legend: Legend,
                             pixelArea: Double) -> (zone: (code: String, name: String)?, areas: [String: Double], outside: Double?,
                                                    cropland: Double?, approvals: [String]) {
        func area(_ pixels: Int) -> Double { (Double(pixels) * pixelArea * 10).rounded() / 10 }
        var areas: [String: Double] = [:]
        var zone: (code: String, name: String)?
        var outside: Double?
        var approvals: [String] = []
        let inside = patch.planPixels
        for (layer, role) in planRoles.enumerated() {
            areas[role] = area(inside[layer])
            switch role {
            case "zones":
                if let number = patch.majorityFeature(layer: layer) {
                    let feature = tables[role]?.feature(number: number)
                    zone = (feature.map { $0.code.isEmpty ? $0.id : $0.code } ?? String(number), feature?.name ?? "")
                }
            case "urban_boundary":
                outside = area(patch.pixelCount - inside[layer])
            case "approvals":
                approvals = patch.planFeatures[layer].map { number in
                    tables[role]?.feature(number: number).map { $0.code.isEmpty ? $0.id : $0.code } ?? String(number)
                }
            default: break
            }
        }
        // No cropland class in the legend: unknown, never 0.
        let cropland = legend.code(for: "cropland").map { area(patch.before[$0] ?? 0) }
        return (zone, areas, outside, cropland, approvals)
    }

    typealias KeptPatch = (patch: PatchLabeler.Patch, rules: [ChangeRule], severity: Severity, score: Int)

    /// The patches that reach a rule's minimum size and the minimum score, gravest first; within a severity, the
    /// strongest evidence first.
    private func keptPatches(_ patches: [PatchLabeler.Patch], compliance: ComplianceDescription, pixelArea: Double,
                             context: RunContext) -> [KeptPatch] {
        let logger = context.logger
        let ruleSet = compliance.ruleSet
        let kinds = ChangeRule.Kind.allCases
        var kept: [KeptPatch] = []
        var underScore = 0
        for patch in patches {
            let rules = ruleSet.rules.filter { rule in
                let index = kinds.firstIndex(of: rule.kind)!
                let minimum = max(rule.minPixels, Int((rule.minArea / pixelArea).rounded(.up)))
                return patch.ruleCounts[index] >= minimum
            }
            guard let severity = rules.map(\.severity).max() else { continue }
            let score = ChangeEvidence.score(meanEvidence: compliance.minEvidence == nil ? nil : patch.meanEvidence,
                                             threshold: compliance.minEvidence ?? 0, meanConfidence: patch.meanConfidence)
            guard score >= minScore else { underScore += 1; continue }
            kept.append((patch, rules, severity, score))
        }
        // Gravest first; within a severity, the strongest evidence first.
        kept.sort { ($0.severity, $0.score, $0.patch.pixelCount, -$0.patch.minRow, -$0.patch.minColumn)
            > ($1.severity, $1.score, $1.patch.pixelCount, -$1.patch.minRow, -$1.patch.minColumn) }
        let scored = minScore > 0 ? ", \(kept.count) of them the minimum score \(minScore)" : ""
        logger.info("\(patches.count) patches of change, \(kept.count + underScore) reach a rule's minimum size\(scored)")
        context.findings?.set("patches", Double(patches.count))
        context.findings?.set("listed", Double(kept.count))
        if minScore > 0 { context.findings?.set("under_min_score", Double(underScore)) }
        return kept
    }

    /// The kept patches vectorised by GDAL, by rank: each patch's mask is rebuilt from its runs, over its bounding box
    /// (or, for a patch too large for that, over strips of a whole-grid label raster).
    private func polygons(of kept: [KeptPatch], runs: [UInt32: [PatchLabeler.Run]], numbers: [UInt32: UInt32], grid: RasterGrid,
                          context: RunContext) throws -> [Int: [Geometry]] {
        var geometries: [Int: [Geometry]] = [:]
        let largestBox = kept.map { ($0.patch.maxColumn - $0.patch.minColumn + 1) * ($0.patch.maxRow - $0.patch.minRow + 1) }.max() ?? 0
        if !kept.isEmpty && largestBox <= Self.boxPolygonizeLimit {
            for (index, entry) in kept.enumerated() {
                let patch = entry.patch
                let window = Window(colOffset: patch.minColumn, rowOffset: patch.minRow,
                                    width: patch.maxColumn - patch.minColumn + 1, height: patch.maxRow - patch.minRow + 1)
                var mask = [Float](repeating: 0, count: window.pixelCount)
                for run in runs[patch.label] ?? [] {
                    let base = (Int(run.row) - window.rowOffset) * window.width - window.colOffset
                    for x in Int(run.start)..<Int(run.end) { mask[base + x] = 1 }
                }
                let memory = try Dataset.createInMemory(width: window.width, height: window.height, bandCount: 1, dataType: .uint8)
                var transform = grid.geoTransform
                transform.originX += Double(window.colOffset) * transform.pixelWidth
                transform.originY += Double(window.rowOffset) * transform.pixelHeight
                try memory.setGeoTransform(transform)
                try memory.setCRS(grid.crsWKT)
                try mask.withUnsafeBufferPointer { try memory.band(1).write(Window(width: window.width, height: window.height), from: $0) }
                geometries[index + 1] = try memory.band(1).polygonize(eightConnected: true).map(\.geometry)
            }
        } else if !kept.isEmpty {
            let finalPath = context.scratchPath("patches-\(UUID().uuidString.prefix(8)).tif")
            let final = try Dataset.createGeoTIFF(at: finalPath, grid: grid, bandCount: 1, dataType: .uint32,
                                                  options: GeoTIFFOptions(compression: .zstd, blockSize: context.blockSize))
            let sortedRuns = runs.flatMap { root, list in list.map { ($0, numbers[root] ?? 0) } }.filter { $0.1 != 0 }
                .sorted { $0.0.row < $1.0.row }
            var cursor = 0
            var row0 = 0
            let stripRows = max(1, min(512, context.memoryBudget / 8 / max(grid.width * 4, 1)))
            while row0 < grid.height {
                let rows = min(stripRows, grid.height - row0)
                let window = Window(colOffset: 0, rowOffset: row0, width: grid.width, height: rows)
                var labels = [UInt32](repeating: 0, count: window.pixelCount)
                while cursor < sortedRuns.count, Int(sortedRuns[cursor].0.row) < row0 + rows {
                    let (run, number) = sortedRuns[cursor]
                    let base = (Int(run.row) - row0) * grid.width
                    for x in Int(run.start)..<Int(run.end) { labels[base + x] = number }
                    cursor += 1
                }
                try labels.withUnsafeBytes { raw in
                    try final.band(1).writeRaw(window, from: raw.baseAddress!, byteCapacity: raw.count, type: .uint32, lineStride: grid.width)
                }
                row0 += rows
            }
            try final.flush()
            for (value, geometry) in try final.band(1).polygonize(eightConnected: true) {
                geometries[value, default: []].append(geometry)
            }
            try final.close()
            try? FileManager.default.removeItem(atPath: finalPath)
        }
        return geometries
    }

    private func write(change: MaterializedRaster, compliance: ComplianceDescription, images: [MaterializedRaster],
                       grid: RasterGrid, folder: AtomicDirectory, context: RunContext) throws -> [String] {
        let logger = context.logger
        let planRoles = Array(change.description.bandNames.dropFirst(ComplianceDiffStage.leadingBands.count))
        let gridSRS = try SpatialReference(definition: grid.crsWKT)
        guard !gridSRS.isGeographic else {
            throw RunError(.input, "the run grid is in longitude/latitude (\(grid.crsLabel)); patch areas need a projected grid in metres: set 'grid: {crs: …}' to a projected CRS")
        }
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let ruleSet = compliance.ruleSet
        let underOnePixel = ruleSet.rules.filter { $0.minArea > 0 && $0.minArea < pixelArea }
        if !underOnePixel.isEmpty {
            let list = underOnePixel.map { "\($0.code) \(Int($0.minArea)) m²" }.joined(separator: ", ")
            logger.warning("min_area under one pixel (\(Int(pixelArea)) m²) for \(list): the minimum pixel count decides")
        }

        let started = Date()
        // 1. The patches compliance.diff labelled, tile by tile, as it found the changes.
        let labelled = try ChangePatches.read(for: change).patches
        let runs = Dictionary(uniqueKeysWithValues: labelled.map { ($0.patch.label, $0.runs) })
        logger.debug("write.violations: step 2 at \(Date().timeIntervalSince(started)) s")
        // 2. Which patches reach a rule's minimum, gravest and largest first.
        let patches = labelled.map(\.patch)
        let kept = keptPatches(patches, compliance: compliance, pixelArea: pixelArea, context: context)
        var numbers: [UInt32: UInt32] = [:]
        for (index, entry) in kept.enumerated() { numbers[entry.patch.label] = UInt32(index + 1) }

        logger.debug("write.violations: step 3 at \(Date().timeIntervalSince(started)) s")
        // 3. The kept patches vectorised by GDAL.
        let geometries = try polygons(of: kept, runs: runs, numbers: numbers, grid: grid, context: context)
        logger.debug("write.violations: step 4 at \(Date().timeIntervalSince(started)) s")
        // 4. Attributes of each patch.
        let wgs84 = SpatialReference.wgs84()
        let toWGS84 = try CoordinateTransformation(from: gridSRS, to: wgs84)
        let planCRSWKT = planRoles.compactMap { change.description.featureTables[$0]?.crsWKT }.first { !$0.isEmpty } ?? grid.crsWKT
        let planSRS = try SpatialReference(definition: planCRSWKT)
        let toPlan = try CoordinateTransformation(from: gridSRS, to: planSRS)
        var violations: [Violation] = []
        var usedIDs = Set<String>()
        for (index, entry) in kept.enumerated() {
            let number = index + 1
            guard let parts = geometries[number], !parts.isEmpty else {
                throw RunError(.internal, "patch \(number) has no polygon after polygonize; this is a bug in landwatch")
            }
            let geometry = parts.count == 1 ? parts[0] : Geometry.multiPolygon(parts)
            guard let inside = geometry.pointOnSurface() else {
                throw RunError(.internal, "patch \(number) has no point on its surface; this is a bug in landwatch")
            }
            let point = try toWGS84.transform(x: inside.x, y: inside.y)
            let planPoint = try toPlan.transform(x: inside.x, y: inside.y)
            var id = "LW-" + Navigation.geohash(longitude: point.x, latitude: point.y, precision: 9)
            var suffix = 2
            while usedIDs.contains(id) { id = "LW-" + Navigation.geohash(longitude: point.x, latitude: point.y, precision: 9) + "-\(suffix)"; suffix += 1 }
            usedIDs.insert(id)
            var plan: [(String, [FeatureTable.Feature])] = []
            for (layer, role) in planRoles.enumerated() {
                let table = change.description.featureTables[role]
                let features = entry.patch.planFeatures[layer].map { number in
                    table?.feature(number: number) ?? FeatureTable.Feature(id: String(number), name: "", code: "")
                }
                plan.append((role, features))
            }
            let measures = Self.planMeasures(entry.patch, planRoles: planRoles, tables: change.description.featureTables,
                                             legend: legend, pixelArea: pixelArea)
            violations.append(Violation(
                number: number, id: id, patch: entry.patch, rules: entry.rules, severity: entry.severity, score: entry.score, geometry: geometry,
                wgs84: try geometry.transformed(by: toWGS84), planGeometry: try geometry.transformed(by: toPlan),
                point: (point.x, point.y), gcj: gcj02 ? { let g = Navigation.gcj02(longitude: point.x, latitude: point.y); return (g.longitude, g.latitude) }() : nil,
                planPoint: (planPoint.x, planPoint.y), areaM2: Double(entry.patch.pixelCount) * pixelArea, plan: plan, chips: nil,
                zone: measures.zone, planAreas: measures.areas, outsideUrbanBoundary: measures.outside, croplandArea: measures.cropland,
                approvals: measures.approvals))
        }

        // The ids a registry tracks, when the run was given them (landwatch nightly): one id on every list and export.
        var statuses: [String: String]?
        let trackedFile = context.outputRoot.url.appendingPathComponent(TrackedViolations.fileName)
        if FileManager.default.fileExists(atPath: trackedFile.path) {
            let tracked: TrackedViolations
            do { tracked = try JSONDecoder().decode(TrackedViolations.self, from: Data(contentsOf: trackedFile)) } catch {
                throw RunError(.input, "\(trackedFile.path): not a list of tracked violations (\(error))")
            }
            statuses = try Self.adoptTrackedIDs(&violations, tracked: tracked)
        }

        logger.debug("write.violations: step 5 at \(Date().timeIntervalSince(started)) s")
        // 5. Chips, then the files.
        var written: [String] = []
        var overview: String?
        var overviewTransform: [Double]?
        let before = images.first { $0.description.port == "before_image" }, after = images.first { $0.description.port == "after_image" }
        if let before, let after, chipLimit > 0, !violations.isEmpty {
            let chips = try ChipMaker(before: before, after: after, grid: grid, dates: (compliance.beforeDate, compliance.afterDate),
                                      minimumWindow: chipSize)
            // The chips on the run's threads (each reads its windows through its own dataset handles), in list order.
            let chipped = Array(violations.indices.prefix(chipLimit))
            let workers = max(1, min(context.threads, chipped.count))
            let jobs = ChipJobs(makers: try [chips] + (1..<workers).map { _ in try chips.reopened() },
                                violations: chipped.map { violations[$0] }, runs: runs)
            let frames = Mutex<[Int: ChipMaker.Frame]>([:])
            let failure = Mutex<(any Error)?>(nil)
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while failure.withLock({ $0 == nil }) {
                    let n = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard n < chipped.count else { break }
                    let v = jobs.violations[n]
                    do {
                        let frame = try jobs.makers[worker].write(patch: v.patch, runs: jobs.runs[v.patch.label] ?? [], id: v.id,
                                                             beforePath: folder.path("chips/\(v.id)-before.png"),
                                                             afterPath: folder.path("chips/\(v.id)-after.png"))
                        frames.withLock { $0[n] = frame }
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                    }
                }
            }
            if let error = failure.withLock({ $0 }) { throw error }
            let framed = frames.withLock { $0 }
            for (n, index) in chipped.enumerated() {
                let v = violations[index]
                let names = (before: "chips/\(v.id)-before.png", after: "chips/\(v.id)-after.png")
                violations[index].chips = names
                violations[index].chipTransform = chips.transform(of: framed[n]!).coefficients
                written += [names.before, names.after]
            }
            overviewTransform = try chips.writeOverview(to: folder.path(Self.overviewName)).coefficients
            overview = Self.overviewName
            written.append(Self.overviewName)
        }
        let table = ViolationTable(violations: violations, compliance: compliance, legend: legend, gcj02: gcj02,
                                   planRoles: planRoles, planCRS: planSRS.label,
                                   planDigits: ViolationTable.planDigits(geographic: planSRS.isGeographic), statuses: statuses)
        if formats.contains("csv") {
            try table.csv().write(toFile: folder.path("violations.csv"), atomically: false, encoding: .utf8)
            written.append("violations.csv")
        }
        if formats.contains("geojson") {
            try table.writeVector(to: folder.path("violations.geojson"), driver: "GeoJSON", crs: wgs84, geometry: \.wgs84,
                                  layerOptions: ["RFC7946=YES", "WRITE_NAME=NO"])
            written.append("violations.geojson")
        }
        if formats.contains("gpkg") {
            try table.writeVector(to: folder.path("violations.gpkg"), driver: "GPKG", crs: planSRS, geometry: \.planGeometry)
            written.append("violations.gpkg")
        }
        if formats.contains("kml") {
            try table.writeKML(to: folder.path("violations.kml"))
            written.append("violations.kml")
        }
        // FlatGeobuf with its packed R-tree, in WGS 84 as the GeoJSON: QGIS and web maps (flatgeobuf.js) read it over
        // HTTP with range requests, a bounding box at a time.
        if formats.contains("fgb") {
            // The CRS from fixed WKT: from EPSG:4326 GDAL 3.6 wrote its WKT with or without the datum ensemble from one
            // run to the next, so that two runs' files differed in their header.
            try table.writeVector(to: folder.path("violations.fgb"), driver: "FlatGeobuf", crs: try SpatialReference(definition: Self.wgs84WKT),
                                  geometry: \.wgs84,
                                  layerOptions: ["SPATIAL_INDEX=YES"])
            written.append("violations.fgb")
        }
        try table.summaryCSV().write(toFile: folder.path("summary.csv"), atomically: false, encoding: .utf8)
        try table.summaryJSON(pixelArea: pixelArea, patchesFound: patches.count).write(to: URL(fileURLWithPath: folder.path("summary.json")))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var list = Self.typedList(violations, statuses: statuses, compliance: compliance, legend: legend,
                                  planCRS: planSRS.label, planDigits: table.planDigits)
        list.overview = overview
        list.overview_transform = overviewTransform
        list.crs_wkt = overview == nil ? nil : grid.crsWKT
        try encoder.encode(list)
            .write(to: URL(fileURLWithPath: folder.path(ViolationList.fileName)))
        written += ["summary.csv", "summary.json", ViolationList.fileName]
        logger.info("\(violations.count) violations written to \(path)/")
        return written.map { "\(path)/\($0)" }
    }
}

/// The chips to draw: one chip maker per worker thread, each used by its thread alone (its GDAL datasets are never
/// shared), and the violations and their pixel runs, only read.
private final class ChipJobs: @unchecked Sendable {
    let makers: [ChipMaker]
    let violations: [Violation]
    let runs: [UInt32: [PatchLabeler.Run]]
    init(makers: [ChipMaker], violations: [Violation], runs: [UInt32: [PatchLabeler.Run]]) {
        self.makers = makers
        self.violations = violations
        self.runs = runs
    }
}

extension WriteViolationsStage: SideProductReader {
    /// The list is made from the patches compliance.diff leaves beside its raster (``ChangePatches``), never from the
    /// raster's pixels.
    public static var sideProductPorts: Set<String> { ["changes"] }
}
