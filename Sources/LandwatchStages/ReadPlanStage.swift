import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `read.plan`: one layer of the approved plan (red line, basic farmland, urban boundary, zoning, approvals,
/// land-use survey, reporting zones), reprojected and rasterised onto the run grid.
///
/// Each pixel holds the number of the feature covering it (1 for the first feature read, 0 outside), so later
/// stages can name the polygons a patch touches; the `landuse` role holds the legend class of the survey code.
public struct ReadPlanStage: SourceStage {
    public enum Role: String, CaseIterable, Sendable, OptionChoice {
        case redline, basicFarmland = "basic_farmland", urbanBoundary = "urban_boundary", zoning, approvals, landuse, zones
    }

    /// GB/T 21010-2017 first-level codes onto the default legend (docs/terms.md); longer codes match by prefix.
    /// 02 (garden land: orchards, tea) counts as forest, tree cover being what imagery sees there.
    public static let defaultLandUseCodes: [(String, String)] = [
        ("01", "cropland"), ("02", "forest"), ("03", "forest"), ("04", "grassland"), ("05", "built-up"), ("06", "built-up"),
        ("07", "built-up"), ("08", "built-up"), ("09", "built-up"), ("10", "built-up"), ("11", "water"), ("12", "bare"),
    ]

    /// Planned uses that allow construction (first-level codes of the 2023 land- and sea-use classification for
    /// planning: residential 07, public services 08, commercial 09, industrial and mining 10, storage 11,
    /// transport 12, utilities 13, special 15); longer codes match by prefix.
    public static let defaultConstructionCodes = ["07", "08", "09", "10", "11", "12", "13", "15"]

    /// What an invalid polygon does.
    public enum InvalidGeometry: String, OptionChoice {
        case fail, repair
    }

    public static let roleKey = Option<Role>("role", help: "what the layer is in the plan")
    public static let path = Option<String>(
        "path", .inputPath, help: "GeoPackage, GeoJSON, Shapefile, File Geodatabase, … or a GeoTIFF (non-zero inside)")
    public static let layer = Option<String?>("layer", help: "layer name (default: the first layer)")
    public static let encoding = Option<String?>("encoding", help: "text encoding of a Shapefile's attributes, for example GBK")
    public static let crs = Option<String?>(
        "crs", help: "CRS of a layer that carries none (a Shapefile without .prj), for example EPSG:4490 or EPSG:4527")
    public static let idField = Option<String?>("id_field", help: "attribute with the feature's id (default: the FID)")
    public static let nameField = Option<String?>("name_field", help: "attribute with the feature's name")
    public static let codeField = Option<String?>(
        "code_field", help: "attribute with the use code: the planned use (zoning) or the GB/T 21010 code (landuse); required for those")
    public static let landUseCodeMap = StructuredOption<LandUseCodes>(
        "codes", shape: "{code: class}",
        help: "landuse: GB/T 21010 code (or its prefix) to legend class, or none (never compared); default: "
            + defaultLandUseCodes.map { "\($0.0): \($0.1)" }.joined(separator: ", "))
    public static let constructionCodeList = StructuredOption<ConstructionCodes>(
        "construction_codes", shape: "[code, …]",
        help: "zoning: planned-use codes (or prefixes) that allow construction; default: " + defaultConstructionCodes.joined(separator: ", "))
    public static let allTouched = Option<Bool>(
        "all_touched", default: false, help: "burn every pixel a polygon touches, not only those whose centre it covers")
    public static let allowOutside = Option<Bool>(
        "allow_outside", default: false, help: "accept a layer with no feature over the image (otherwise an error: usually a wrong CRS)")
    public static let invalidGeometry = Option<InvalidGeometry>(
        "invalid_geometry", default: .fail,
        help: "a self-intersecting or otherwise invalid polygon stops the run (fail), or is repaired with GEOS MakeValid and named in a warning (repair)")

    /// The `codes:` option: land-use codes (or prefixes) to legend codes, 0 for none, in the file's order.
    public struct LandUseCodes: ConfigDecodable {
        public var pairs: [(prefix: String, code: Int)]

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            let legend = context.legend
            guard let entries = node.entries, !entries.isEmpty else {
                throw ConfigDecodingError("must map land-use codes to classes, e.g. {'01': cropland} (found \(node.shortDescription))")
            }
            pairs = []
            for entry in entries {
                let name = entry.value.scalarText ?? ""
                guard let code = name == "none" ? 0 : legend.code(for: name), code >= 0 else {
                    throw ConfigDecodingError("code '\(entry.key)' maps to '\(entry.value.scalarText ?? entry.value.shortDescription)', "
                                              + "which is not a class of the legend (" + legend.classes.map(\.name).joined(separator: ", ")
                                              + ", or none for land that is never compared)",
                                              at: entry.value.location)
                }
                pairs.append((entry.key, code))
            }
        }
    }

    /// The `construction_codes:` option: a list of planned-use codes (or prefixes).
    public struct ConstructionCodes: ConfigDecodable {
        public var codes: [String]

        public init(config node: ConfigNode, context: ConfigDecodingContext) throws(ConfigDecodingError) {
            guard let items = node.items, items.allSatisfy({ $0.scalarText != nil }) else {
                throw ConfigDecodingError("must be a list of codes, e.g. ['07', '09'] (found \(node.shortDescription))")
            }
            codes = items.compactMap(\.scalarText)
        }
    }

    public static let descriptor = StageDescriptor(
        id: "read.plan",
        summary: "Read one layer of the approved plan (any OGR vector in any CRS, or a raster) onto the run grid",
        evaluation: .source,
        output: .plan,
        keys: [roleKey, path, layer, encoding, crs, idField, nameField, codeField, landUseCodeMap, constructionCodeList, allTouched,
               allowOutside, invalidGeometry])

    public let role: Role
    public let path: String
    public let layer: String?
    public let encoding: String?
    public let crs: String?
    public let idField: String?
    public let nameField: String?
    public let codeField: String?
    public let landUseCodes: [(prefix: String, code: Int)]
    public let constructionCodes: [String]
    public let allTouched: Bool
    public let allowOutside: Bool
    public let repairInvalid: Bool

    public init(options: StageOptions) throws(StageProblem) {
        role = options[Self.roleKey]
        path = options[Self.path]
        layer = options[Self.layer]
        encoding = options[Self.encoding]
        crs = options[Self.crs]
        idField = options[Self.idField]
        nameField = options[Self.nameField]
        codeField = options[Self.codeField]
        allTouched = options[Self.allTouched]
        allowOutside = options[Self.allowOutside]
        repairInvalid = options[Self.invalidGeometry] == .repair
        if (role == .zoning || role == .landuse), codeField == nil, !Self.isRaster(path) {
            throw StageProblem(option: Self.codeField, "a \(role.rawValue) layer needs 'code_field': the attribute holding the "
                               + (role == .zoning ? "planned use" : "GB/T 21010 land-use code"))
        }
        if options.isSet(Self.landUseCodeMap), role != .landuse {
            throw StageProblem(option: Self.landUseCodeMap, "'codes' maps land-use survey codes: it applies to role landuse only")
        }
        if options.isSet(Self.constructionCodeList), role != .zoning {
            throw StageProblem(option: Self.constructionCodeList, "'construction_codes' applies to role zoning only")
        }
        var pairs: [(String, Int)] = []
        if let decoded = try options.decode(Self.landUseCodeMap) {
            pairs = decoded.pairs.map { ($0.prefix, $0.code) }
        } else if role == .landuse {
            for (prefix, name) in Self.defaultLandUseCodes {
                if let code = options.legend.code(for: name) { pairs.append((prefix, code)) }
            }
        }
        // Longest prefix first, so that 0101 can differ from 01.
        landUseCodes = pairs.sorted { $0.0.count > $1.0.count }.map { (prefix: $0.0, code: $0.1) }
        if let decoded = try options.decode(Self.constructionCodeList) {
            constructionCodes = decoded.codes
        } else {
            constructionCodes = Self.defaultConstructionCodes
        }
        if let crs {
            do { _ = try SpatialReference(definition: crs) } catch { throw StageProblem(option: Self.crs, error.description) }
        }
    }

    static func isRaster(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".tif") || lower.hasSuffix(".tiff") || lower.hasSuffix(".vrt") || lower.hasSuffix(".img")
    }

    /// The legend class of a land-use code, by longest prefix.
    func landUseClass(_ code: String) -> Int? {
        landUseCodes.first { code.hasPrefix($0.prefix) }?.code
    }

    /// The features in reading order, with the FID of each, as the burn numbers will count them.
    func featureTable() throws(StageProblem) -> (table: FeatureTable, fids: [Int]) {
        let dataset: VectorDataset
        let info: VectorDataset.LayerInfo
        do {
            dataset = try VectorDataset.open(path, encoding: encoding)
            info = try dataset.layer(layer)
        } catch {
            throw StageProblem(option: error.kind == .outOfRange ? "layer" : "path", error.description)
        }
        // An empty approvals layer (no approval this period) may have no fields at all: a GeoJSON's come from its features.
        let emptyApprovals = role == .approvals && info.featureCount == 0
        for (option, field) in [("id_field", idField), ("name_field", nameField), ("code_field", codeField)] where !emptyApprovals {
            if let field, !info.fieldNames.contains(field) {
                throw StageProblem(option: option, "field '\(field)' does not exist in layer '\(info.name)' of \(path) "
                                   + "(its fields: \(info.fieldNames.isEmpty ? "none" : info.fieldNames.joined(separator: ", ")))")
            }
        }
        var crsWKT = info.crsWKT
        if let crs {
            crsWKT = (try? SpatialReference(definition: crs).wkt) ?? ""
        } else if crsWKT.isEmpty {
            throw StageProblem(option: Self.path, "layer '\(info.name)' of \(path) has no CRS (a Shapefile without its .prj?); "
                               + "give it with 'crs', for example crs: EPSG:4490")
        }
        let rows: [(fid: Int, values: [String: String])]
        do { rows = emptyApprovals ? [] : try dataset.attributes(layer: layer, fields: [idField, nameField, codeField].compactMap { $0 }) } catch {
            throw StageProblem(option: Self.path, error.description)
        }
        // An approvals layer with no feature is a period with no approval (every change is unapproved); any other
        // empty plan layer is a broken delivery.
        guard !rows.isEmpty || role == .approvals else {
            throw StageProblem(option: Self.path, "plan layer '\(role.rawValue)' (\(path), layer '\(info.name)') has no features")
        }
        // Zones report the share of their area the image covers: their areas, on an equal-area projection.
        var areas: [Int: Double] = [:]
        if role == .zones {
            do {
                let equalArea = try SpatialReference(definition: "+proj=cea +datum=WGS84 +units=m")
                let source = try crs.map { definition throws(GDALError) in try SpatialReference(definition: definition) }
                for feature in try dataset.readAreas(layer: layer, sourceCRS: source, target: equalArea).features {
                    areas[feature.fid, default: 0] += feature.geometry.area
                }
            } catch {
                throw StageProblem(option: Self.path, error.description)
            }
        }
        var features: [FeatureTable.Feature] = []
        for row in rows {
            let code = codeField.flatMap { row.values[$0] } ?? ""
            if role == .landuse, landUseClass(code) == nil {
                throw StageProblem(option: Self.landUseCodeMap, "land-use code '\(code)' of feature \(row.fid) in \(path) maps to no class "
                                   + "(mapped: \(landUseCodes.map(\.prefix).sorted().joined(separator: ", "))); add it to 'codes'")
            }
            features.append(FeatureTable.Feature(
                id: idField.flatMap { row.values[$0] } ?? String(row.fid), name: nameField.flatMap { row.values[$0] } ?? "",
                code: code, allowsConstruction: role != .zoning || constructionCodes.contains { code.hasPrefix($0) },
                area: areas[row.fid]))
        }
        return (FeatureTable(role: role.rawValue, path: path, crsWKT: crsWKT, features: features), rows.map(\.fid))
    }

    public func describe() throws(StageProblem) -> ProductDescription {
        if Self.isRaster(path) {
            let dataset: Dataset
            do { dataset = try Dataset.open(path) } catch { throw StageProblem(option: Self.path, error.description) }
            var product = ProductDescription(kind: .plan, bandNames: [role.rawValue], nativeGrid: nil, sourcePath: path)
            product.featureTables[role.rawValue] = FeatureTable(role: role.rawValue, path: path, crsWKT: dataset.crsWKT, features: [])
            return product
        }
        let (table, _) = try featureTable()
        var product = ProductDescription(kind: .plan, bandNames: [role.rawValue], nativeGrid: nil, sourcePath: path)
        product.featureTables[role.rawValue] = table
        return product
    }

    public func makeSource(onto grid: RasterGrid, context: RunContext) throws -> any BlockSource {
        let name = "plan-\(role.rawValue)-\(UUID().uuidString.prefix(8))"
        if Self.isRaster(path) {
            return try RasterFileSource(bands: [.init(path: path, band: 1)], onto: grid, resampling: .nearest,
                                        context: context, stageID: name)
        }
        let raster = context.scratchPath(name + ".tif")
        try rasterize(onto: grid, at: raster, dataType: .uint32, context: context)
        return try RasterFileSource(bands: [.init(path: raster, band: 1)], onto: grid, resampling: .nearest,
                                    context: context, stageID: name)
    }

    /// A vector layer used only by whole-raster stages is burned straight into the file they read.
    public func materialize(onto grid: RasterGrid, at path: String, context: RunContext) throws -> Bool {
        guard !Self.isRaster(self.path) else { return false }
        try rasterize(onto: grid, at: path, dataType: .float32, context: context)
        return true
    }

    /// Reprojects the layer's polygons onto the grid and burns their feature numbers (or land-use classes) into a
    /// new tiled GeoTIFF at `raster`.
    func rasterize(onto grid: RasterGrid, at raster: String, dataType: DataType, context: RunContext) throws {
        let (table, fids) = try featureTable()
        let dataset = try VectorDataset.open(path, encoding: encoding)
        let target = try SpatialReference(definition: grid.crsWKT)
        let source = try crs.map { definition throws(GDALError) in try SpatialReference(definition: definition) }
        let (features, report) = try dataset.readAreas(layer: layer, sourceCRS: source, target: target, repairInvalid: repairInvalid)
        if let first = report.invalid.first {
            throw RunError(.input, "plan layer '\(role.rawValue)' (\(path)): feature \(first.fid) is not a valid polygon (\(first.reason))"
                           + (report.invalid.count > 1 ? " and \(report.invalid.count - 1) more (\(Self.list(report.invalid.dropFirst().map(\.fid))))" : "")
                           + "; fix the layer, or set invalid_geometry: repair to repair it with GEOS MakeValid")
        }
        if !report.repaired.isEmpty {
            let message = "plan layer '\(role.rawValue)' (\(path)): repaired the invalid geometry of feature"
                + (report.repaired.count == 1 ? " " : "s ") + Self.list(report.repaired)
            context.logger.warning("\(message)")
        }
        for skipped in report.skipped {
            context.logger.warning("plan layer '\(role.rawValue)' (\(path)): skipped feature \(skipped.fid): \(skipped.reason)")
        }
        if features.isEmpty, report.total == 0, role == .approvals {
            let message = "plan layer 'approvals' (\(path)) has no features: no approvals this period, so no change is taken as approved"
            context.logger.warning("\(message)")
            context.findings?.note(message)
        } else if features.isEmpty {
            if !report.skipped.isEmpty, report.skipped.allSatisfy({ $0.reason.hasPrefix("it cannot be transformed") }) {
                let layerCRS = (try? dataset.spatialReference(layer: layer))??.label
                throw RunError(.input, "plan layer '\(role.rawValue)' (\(path)): no feature can be transformed from "
                               + "\(crs ?? layerCRS ?? "its CRS") to \(target.label): the layer's CRS is wrong or unknown "
                               + "(GDAL takes WGS 84 for a GeoJSON whose CRS it cannot read); set crs: to the CRS its coordinates are in")
            }
            throw RunError(.input, "plan layer '\(role.rawValue)' (\(path)) has no usable polygon (\(report.total) features, all skipped)")
        }
        let numbers = Dictionary(fids.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { first, _ in first })
        // Only features that reach the grid are burned; none reaching it usually means a wrong CRS. A shard checks
        // against the whole run's grid: the layer may lie in another shard's rows.
        func reaching(_ grid: RasterGrid) -> [VectorFeature] {
            let extent = grid.extent
            return features.filter { feature in
                let box = feature.geometry.envelope
                return box.maxX > extent.minX && box.minX < extent.maxX && box.maxY > extent.minY && box.minY < extent.maxY
            }
        }
        let inside = reaching(grid)
        let checked = context.fullGrid ?? grid
        if inside.isEmpty && !features.isEmpty && !allowOutside && (checked == grid || reaching(checked).isEmpty) {
            let extent = checked.extent
            let union = features.map(\.geometry.envelope).reduce((Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)) {
                (min($0.0, $1.minX), min($0.1, $1.minY), max($0.2, $1.maxX), max($0.3, $1.maxY))
            }
            throw RunError(.input, "plan layer '\(role.rawValue)' (\(path)) does not overlap the image: reprojected to \(grid.crsLabel), its "
                           + (features.count == 1 ? "feature lies in " : "\(features.count) features lie in ") + Self.box(union)
                           + ", the run grid covers " + Self.box((extent.minX, extent.minY, extent.maxX, extent.maxY))
                           + "; check the layer's CRS" + (crs == nil ? "" : " ('crs: \(crs!)')")
                           + ", or set allow_outside: true")
        }
        let values: [Double] = inside.map { feature in
            let number = numbers[feature.fid] ?? 0
            if role == .landuse { return Double(landUseClass(table.feature(number: number)?.code ?? "") ?? 0) }
            return Double(number)
        }
        let output = try Dataset.createGeoTIFF(at: raster, grid: grid, bandCount: 1, dataType: dataType,
                                               options: GeoTIFFOptions(compression: .zstd, blockSize: context.blockSize))
        try output.burn(inside.map(\.geometry), values: values, allTouched: allTouched, background: 0)
        try output.close()
    }

    static func list(_ fids: [Int]) -> String {
        fids.prefix(20).map(String.init).joined(separator: ", ") + (fids.count > 20 ? " and \(fids.count - 20) more" : "")
    }

    static func box(_ box: (Double, Double, Double, Double)) -> String {
        String(format: "x %.1f..%.1f, y %.1f..%.1f", box.0, box.2, box.1, box.3)
    }
}
