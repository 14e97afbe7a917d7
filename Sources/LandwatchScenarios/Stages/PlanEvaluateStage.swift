import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `plan.evaluate`: a proposed plan (proposed projects, a changed zoning or urban boundary: any OGR layer read with
/// `read.plan`) overlaid on today's land cover and today's plan. Per proposal: the farmland, basic farmland, red-line,
/// forest and green area it would take (m², 亩), the control lines it crosses (inside the red line or on basic
/// farmland: flagged; outside the urban boundary: listed); per zone: development intensity and green coverage before
/// and after, taking every proposal to become built-up. Streamed block by block: memory grows with the number of
/// proposals and zones, never with the scene.
public struct PlanEvaluateStage: SinkStage {
    public static let path = Option<String>("path", .outputPath, default: "plan_evaluation",
        help: "output name: NAME.csv (per proposal), NAME_zones.csv, NAME.json, NAME.gpkg and NAME.fgb (the proposals with their figures)")
    public static let vegetationClasses = Option<OptionList>("vegetation_classes", default: OptionList(["cropland", "forest", "grassland"]),
        help: "classes counted as green")

    public static let descriptor = StageDescriptor(
        id: "plan.evaluate",
        summary: "A proposed plan against today's land and plan: land taken per proposal (m², mu), control lines crossed, intensity and green coverage per zone before and after",
        evaluation: .sink,
        inputs: [
            InputPort("proposals", kinds: [.plan], help: "the proposals (read.plan, any role: approvals for projects, zoning or urban_boundary for a changed plan); proposals must not overlap: each pixel can count for one, so overlapping ones are refused, naming both"),
            InputPort("classes", kinds: [.classes, .scene], help: "today's land cover"),
            InputPort("redline", kinds: [.plan, .mask], help: "ecological protection red line", optional: true),
            InputPort("basic_farmland", kinds: [.plan, .mask], help: "permanent basic farmland", optional: true),
            InputPort("urban_boundary", kinds: [.plan, .mask], help: "urban development boundary", optional: true),
            InputPort("zones", kinds: [.plan], help: "districts or planning units (default: the whole grid)", optional: true),
        ],
        output: nil,
        keys: [path, vegetationClasses])

    public let path: String
    public let legend: Legend
    public let vegetation: Set<Int>
    public let farmland: Int?, forest: Int?, builtUp: Int?

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        legend = options.legend
        var codes = Set<Int>()
        for name in options[Self.vegetationClasses] {
            guard let code = options.legend.code(for: name) else {
                throw StageProblem(option: Self.vegetationClasses, "unknown class '\(name)' (legend: \(options.legend.classes.map(\.name).joined(separator: ", ")))")
            }
            codes.insert(code)
        }
        vegetation = codes
        farmland = options.legend.code(for: "cropland")
        forest = options.legend.code(for: "forest")
        builtUp = options.legend.code(for: "built-up")
        if builtUp == nil { throw StageProblem("the legend has no class named built-up, which plan.evaluate needs for development intensity") }
    }

    public var outputPaths: [String] { ["\(path).csv", "\(path)_zones.csv", "\(path).json", "\(path).gpkg", "\(path).fgb"] }

    /// WGS 84 (EPSG:4326) as fixed WKT for the FlatGeobuf header, as write.violations' list (from EPSG:4326 GDAL 3.6
    /// wrote its WKT with or without the datum ensemble from one run to the next).
    static let wgs84WKT = #"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        if let classes = inputs.first(where: { $0.port == "classes" }), classes.bandNames.count != 1 {
            throw StageProblem("input 'classes' must be one band of classes (it has \(classes.bandNames.count))")
        }
        guard let proposals = inputs.first(where: { $0.port == "proposals" }), proposals.featureTables.values.first != nil else {
            throw StageProblem("input 'proposals' must come from read.plan (its features' ids and names are needed)")
        }
    }

    public func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
        if let table = inputs.first(where: { $0.port == "proposals" })?.featureTables.values.first { try Self.refuseOverlaps(table) }
        return PlanEvaluationSink(stage: self, inputs: inputs, grid: grid, context: context)
    }

    /// The proposals are burned into one raster, each pixel holding one proposal: where two overlap, the one burned
    /// first would silently lose the shared land. Alternatives for one site are evaluated in separate runs.
    static func refuseOverlaps(_ table: FeatureTable) throws {
        let dataset = try VectorDataset.open(table.path)
        let fids = try dataset.attributes(layer: nil, fields: []).map(\.fid)
        let crs = try SpatialReference(definition: table.crsWKT)
        let geometries = Dictionary(try dataset.readAreas(layer: nil, sourceCRS: crs, target: crs).features.map { ($0.fid, $0.geometry) },
                                    uniquingKeysWith: { first, _ in first })
        let polygons: [(feature: FeatureTable.Feature, geometry: Geometry)] = table.features.enumerated().compactMap { index, feature in
            guard index < fids.count, let geometry = geometries[fids[index]] else { return nil }
            return (feature, geometry)
        }
        let boxes = polygons.map(\.geometry.envelope)
        for a in polygons.indices {
            for b in polygons.indices where b > a {
                let p = boxes[a], q = boxes[b]
                guard p.minX < q.maxX, q.minX < p.maxX, p.minY < q.maxY, q.minY < p.maxY,
                      let shared = polygons[a].geometry.intersection(polygons[b].geometry), !shared.isEmpty else { continue }
                let smaller = min(polygons[a].geometry.area, polygons[b].geometry.area)
                guard smaller > 0, shared.area > smaller * 1e-6 else { continue }
                let fraction = shared.area / smaller
                let squareMetres = [polygons[a].feature.area, polygons[b].feature.area].compactMap { $0 }.min().map { $0 * fraction }
                let size = squareMetres.map { " by about \(Int($0.rounded()).formatted()) m²" } ?? ""
                throw RunError(.input, "plan.evaluate: proposals \(polygons[a].feature.id) (\(polygons[a].feature.name)) and \(polygons[b].feature.id) (\(polygons[b].feature.name)) of \(table.path) overlap\(size) (\((fraction * 100).formatted(.number.precision(.fractionLength(1)))) % of the smaller): each pixel can count for one proposal only; make them disjoint, or evaluate alternatives for one site in separate runs")
            }
        }
    }
}

/// Figures of one proposal, in cells.
struct ProposalCells: Sendable {
    var cells = 0, classified = 0, farmland = 0, forest = 0, green = 0, builtUp = 0, redline = 0, basicFarmland = 0, outsideBoundary = 0
    mutating func merge(_ o: ProposalCells) {
        cells += o.cells; classified += o.classified; farmland += o.farmland; forest += o.forest; green += o.green
        builtUp += o.builtUp; redline += o.redline; basicFarmland += o.basicFarmland; outsideBoundary += o.outsideBoundary
    }
}

/// Figures of one zone, in cells.
struct ZoneCells: Sendable {
    var cells = 0, classified = 0, builtUp = 0, green = 0, proposed = 0, newBuiltUp = 0, greenTaken = 0, farmlandTaken = 0
    mutating func merge(_ o: ZoneCells) {
        cells += o.cells; classified += o.classified; builtUp += o.builtUp; green += o.green; proposed += o.proposed
        newBuiltUp += o.newBuiltUp; greenTaken += o.greenTaken; farmlandTaken += o.farmlandTaken
    }
}

/// What `plan.evaluate` writes as NAME.json.
public struct PlanEvaluationResult: Codable, Sendable, Equatable {
    public struct Proposal: Codable, Sendable, Equatable {
        public var number: Int
        public var id: String
        public var name: String
        public var areaM2: Double
        public var areaMu: Double
        public var farmlandM2: Double
        public var basicFarmlandM2: Double
        public var redlineM2: Double
        public var forestM2: Double
        public var greenM2: Double
        public var builtUpAlreadyM2: Double
        public var outsideBoundaryM2: Double?
        /// Control lines crossed: `redline`, `basic_farmland`, `outside_urban_boundary`.
        public var crosses: [String]
        /// Inside the red line or on basic farmland.
        public var flagged: Bool
    }
    public struct Zone: Codable, Sendable, Equatable {
        public var zone: String
        public var name: String
        public var areaM2: Double
        public var proposedM2: Double
        public var farmlandTakenM2: Double
        public var intensityBefore: Double
        public var intensityAfter: Double
        public var greenCoverageBefore: Double
        public var greenCoverageAfter: Double
    }
    public var version: Int
    public var pixelAreaM2: Double
    public var proposals: [Proposal]
    public var zones: [Zone]
}

final class PlanEvaluationSink: BlockSink, @unchecked Sendable {  // `proposals` and `zones` are guarded by `lock`
    let stage: PlanEvaluateStage
    let grid: RasterGrid
    let context: RunContext
    let ports: [String: Int]
    let proposalTable: FeatureTable
    let zoneTable: FeatureTable?
    private let lock = NSLock()
    private var proposals: [Int: ProposalCells] = [:]
    private var zones: [Int: ZoneCells] = [:]

    init(stage: PlanEvaluateStage, inputs: [ProductDescription], grid: RasterGrid, context: RunContext) {
        self.stage = stage
        self.grid = grid
        self.context = context
        var ports: [String: Int] = [:]
        for (index, input) in inputs.enumerated() { if let port = input.port { ports[port] = index } }
        self.ports = ports
        proposalTable = inputs[ports["proposals"]!].featureTables.values.first!
        zoneTable = ports["zones"].flatMap { inputs[$0].featureTables.values.first }
    }

    func write(_ blocks: [PixelBlock]) throws {
        let proposal = blocks[ports["proposals"]!], classes = blocks[ports["classes"]!]
        let red = ports["redline"].map { blocks[$0] }, farm = ports["basic_farmland"].map { blocks[$0] }
        let boundary = ports["urban_boundary"].map { blocks[$0] }, zone = ports["zones"].map { blocks[$0] }
        var localProposals: [Int: ProposalCells] = [:], localZones: [Int: ZoneCells] = [:]
        func inside(_ block: PixelBlock?, _ i: Int) -> Bool { block.map { $0.bands[0][i].isFinite && $0.bands[0][i] > 0 } ?? false }
        let builtUp = stage.builtUp!
        for row in 0..<proposal.window.height {
            for col in 0..<proposal.window.width {
                let i = row * proposal.stride + col
                let z: Int
                if let zone {
                    let value = zone.bands[0][i]
                    guard value.isFinite, value >= 1 else { continue }
                    z = Int(value)
                } else { z = 0 }
                let c = classes.bands[0][i]
                let code = c.isFinite && c >= 1 ? Int(c) : 0
                let p = proposal.bands[0][i]
                let number = p.isFinite && p >= 1 ? Int(p) : 0
                var zc = localZones[z] ?? ZoneCells()
                zc.cells += 1
                if code != 0 {
                    zc.classified += 1
                    if code == builtUp { zc.builtUp += 1 }
                    if stage.vegetation.contains(code) { zc.green += 1 }
                }
                if number > 0 {
                    zc.proposed += 1
                    var pc = localProposals[number] ?? ProposalCells()
                    pc.cells += 1
                    if code != 0 {
                        pc.classified += 1
                        if code == stage.farmland { pc.farmland += 1; zc.farmlandTaken += 1 }
                        if code == stage.forest { pc.forest += 1 }
                        if stage.vegetation.contains(code) { pc.green += 1; zc.greenTaken += 1 }
                        if code == builtUp { pc.builtUp += 1 } else { zc.newBuiltUp += 1 }
                    }
                    if inside(red, i) { pc.redline += 1 }
                    if inside(farm, i) { pc.basicFarmland += 1 }
                    if boundary != nil && !inside(boundary, i) { pc.outsideBoundary += 1 }
                    localProposals[number] = pc
                }
                localZones[z] = zc
            }
        }
        lock.withLock {
            for (k, v) in localProposals { proposals[k, default: ProposalCells()].merge(v) }
            for (k, v) in localZones { zones[k, default: ZoneCells()].merge(v) }
        }
    }

    func finish() throws -> [String] {
        let (proposals, zones) = lock.withLock { (self.proposals, self.zones) }
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let hasBoundary = ports["urban_boundary"] != nil
        var proposalRows: [PlanEvaluationResult.Proposal] = []
        for (index, feature) in proposalTable.features.enumerated() {
            let number = index + 1
            let p = proposals[number] ?? ProposalCells()
            var crosses: [String] = []
            if p.redline > 0 { crosses.append("redline") }
            if p.basicFarmland > 0 { crosses.append("basic_farmland") }
            if hasBoundary && p.outsideBoundary > 0 { crosses.append("outside_urban_boundary") }
            if p.cells == 0 { context.logger.warning("plan.evaluate: proposal \(feature.id) (\(feature.name)) covers no pixel of the image") }
            proposalRows.append(PlanEvaluationResult.Proposal(
                number: number, id: feature.id, name: feature.name, areaM2: Double(p.cells) * pixelArea, areaMu: Double(p.cells) * pixelArea / 666.67,
                farmlandM2: Double(p.farmland) * pixelArea, basicFarmlandM2: Double(p.basicFarmland) * pixelArea,
                redlineM2: Double(p.redline) * pixelArea, forestM2: Double(p.forest) * pixelArea, greenM2: Double(p.green) * pixelArea,
                builtUpAlreadyM2: Double(p.builtUp) * pixelArea, outsideBoundaryM2: hasBoundary ? Double(p.outsideBoundary) * pixelArea : nil,
                crosses: crosses, flagged: p.redline > 0 || p.basicFarmland > 0))
        }
        var zoneRows: [PlanEvaluationResult.Zone] = []
        for z in zones.keys.sorted() {
            let c = zones[z]!, n = Double(max(c.classified, 1))
            let feature = zoneTable?.feature(number: z)
            zoneRows.append(PlanEvaluationResult.Zone(
                zone: zoneTable == nil ? "all" : (feature?.id ?? String(z)), name: feature?.name ?? (zoneTable == nil ? "whole area" : ""),
                areaM2: Double(c.cells) * pixelArea, proposedM2: Double(c.proposed) * pixelArea, farmlandTakenM2: Double(c.farmlandTaken) * pixelArea,
                intensityBefore: Double(c.builtUp) / n, intensityAfter: Double(c.builtUp + c.newBuiltUp) / n,
                greenCoverageBefore: Double(c.green) / n, greenCoverageAfter: Double(c.green - c.greenTaken) / n))
        }
        let result = PlanEvaluationResult(version: 1, pixelAreaM2: pixelArea, proposals: proposalRows, zones: zoneRows)
        let root = context.outputRoot, path = stage.path
        var rows = [["id", "name", "area_m2", "area_mu", "farmland_m2", "farmland_mu", "basic_farmland_m2", "basic_farmland_mu", "redline_m2",
                     "redline_mu", "forest_m2", "green_m2", "built_up_already_m2", "outside_boundary_m2", "crosses", "flagged"]]
        for p in proposalRows {
            rows.append([p.id, p.name, number(p.areaM2, 1), number(p.areaMu, 2), number(p.farmlandM2, 1), number(p.farmlandM2 / 666.67, 2),
                         number(p.basicFarmlandM2, 1), number(p.basicFarmlandM2 / 666.67, 2), number(p.redlineM2, 1), number(p.redlineM2 / 666.67, 2),
                         number(p.forestM2, 1), number(p.greenM2, 1), number(p.builtUpAlreadyM2, 1), p.outsideBoundaryM2.map { number($0, 1) } ?? "",
                         p.crosses.joined(separator: ";"), p.flagged ? "yes" : "no"])
        }
        try root.writeAtomically(csv(rows), to: "\(path).csv")
        var zoneCSV = [["zone", "name", "area_m2", "proposed_m2", "farmland_taken_m2", "intensity_before", "intensity_after",
                        "green_coverage_before", "green_coverage_after"]]
        for z in zoneRows {
            zoneCSV.append([z.zone, z.name, number(z.areaM2, 1), number(z.proposedM2, 1), number(z.farmlandTakenM2, 1), number(z.intensityBefore),
                            number(z.intensityAfter), number(z.greenCoverageBefore), number(z.greenCoverageAfter)])
        }
        try root.writeAtomically(csv(zoneCSV), to: "\(path)_zones.csv")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try root.writeAtomically(try encoder.encode(result), to: "\(path).json")
        try writeGeoPackage(proposalRows)
        return stage.outputPaths
    }

    /// The proposals' own polygons with their figures: NAME.gpkg in their layer's CRS (the first layer of the file
    /// read.plan read), and NAME.fgb, FlatGeobuf with its packed R-tree in WGS 84 as write.violations' list: QGIS and
    /// web maps (flatgeobuf.js) read it over HTTP with range requests, a bounding box at a time (issue 25 item 4).
    func writeGeoPackage(_ rows: [PlanEvaluationResult.Proposal]) throws {
        let dataset = try VectorDataset.open(proposalTable.path)
        let fids = try dataset.attributes(layer: nil, fields: []).map(\.fid)
        let crs = try SpatialReference(definition: proposalTable.crsWKT)
        let layers: [(String, String, SpatialReference, [String])] = [
            ("gpkg", "GPKG", crs, []),
            ("fgb", "FlatGeobuf", try SpatialReference(definition: PlanEvaluateStage.wgs84WKT), ["SPATIAL_INDEX=YES"]),
        ]
        for (suffix, driver, target, layerOptions) in layers {
            let output = AtomicOutput(target: try context.outputRoot.resolve("\(stage.path).\(suffix)"), keepingExtension: true)
            do {
                let geometries = Dictionary(try dataset.readAreas(layer: nil, sourceCRS: crs, target: target).features.map { ($0.fid, $0.geometry) },
                                            uniquingKeysWith: { first, _ in first })
                let writer = try VectorWriter(path: output.temporaryPath, driver: driver, layer: "proposals", crs: target, geometry: .polygon, fields: [
                    ("id", .string), ("name", .string), ("area_m2", .real), ("area_mu", .real), ("farmland_m2", .real), ("basic_farmland_m2", .real),
                    ("redline_m2", .real), ("forest_m2", .real), ("green_m2", .real), ("crosses", .string), ("flagged", .integer)],
                    layerOptions: layerOptions)
                for (index, row) in rows.enumerated() where index < fids.count {
                    guard let geometry = geometries[fids[index]] else { continue }
                    try writer.add(geometry, values: [
                        "id": .string(row.id), "name": .string(row.name), "area_m2": .real(row.areaM2), "area_mu": .real(row.areaMu),
                        "farmland_m2": .real(row.farmlandM2), "basic_farmland_m2": .real(row.basicFarmlandM2), "redline_m2": .real(row.redlineM2),
                        "forest_m2": .real(row.forestM2), "green_m2": .real(row.greenM2), "crosses": .string(row.crosses.joined(separator: ";")),
                        "flagged": .integer(row.flagged ? 1 : 0)])
                }
                try writer.close()
                try output.commit()
            } catch {
                output.abort()
                throw error
            }
        }
    }

    func abort() {}
}
