import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// The STAC (SpatioTemporal Asset Catalog) version and extensions landwatch writes.
public enum STAC {
    public static let version = "1.0.0"
    public static let projection = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
    public static let processing = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
    public static let classification = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"
    public static let label = "https://stac-extensions.github.io/label/v1.0.1/schema.json"

    /// The media type of an output file, by its name (and, for a GeoTIFF, its layout).
    static func mediaType(of path: String, cloudOptimized: Bool) -> String? {
        switch (path as NSString).pathExtension.lowercased() {
        case "tif", "tiff": cloudOptimized ? "image/tiff; application=geotiff; profile=cloud-optimized" : "image/tiff; application=geotiff"
        case "geojson": "application/geo+json"
        case "gpkg": "application/geopackage+sqlite3"
        case "fgb": "application/vnd.flatgeobuf"
        case "kml": "application/vnd.google-earth.kml+xml"
        case "kmz": "application/vnd.google-earth.kmz"
        case "csv": "text/csv"
        case "json": "application/json"
        case "html": "text/html"
        case "md": "text/markdown"
        case "png": "image/png"
        case "pdf": "application/pdf"
        case "txt": "text/plain"
        default: nil
        }
    }

    /// ISO 8601 in UTC with a `Z`, as STAC wants.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// An input's acquisition date (`2013-07-07`, or a full timestamp) as a STAC datetime.
    static func datetime(fromDate text: String) -> String? {
        let day = text.prefix(10)
        guard day.count == 10, day.dropFirst(4).first == "-", Int(day.prefix(4)) != nil else { return nil }
        return "\(day)T00:00:00Z"
    }

    static func encode(_ object: [String: Any]) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }
}

/// Builds the STAC Item of a finished run: the run's footprint and time, its outputs as assets (roles, media types;
/// class rasters with `classification:classes`), the grid as `proj:` fields, `processing:` (software, versions, the
/// pipeline file and its SHA-256 as lineage) and, when the run wrote a violation list, the `label:` fields.
public struct STACItemBuilder {
    public var record: RunRecord
    public var plan: RunPlan
    /// Resolves a path relative to the output root to the file as it is now (staged or published).
    public var locate: (String) -> String
    /// The item's folder relative to the output root (hrefs are relative to it).
    public var itemFolder: String

    public init(record: RunRecord, plan: RunPlan, itemFolder: String = "stac", locate: @escaping (String) -> String) {
        self.record = record
        self.plan = plan
        self.itemFolder = itemFolder
        self.locate = locate
    }

    /// The item id: the pipeline's name and the run's start (UTC), for example `demo-20261202T153012Z`.
    public var id: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(record.pipelineName)-\(formatter.string(from: record.started))"
    }

    /// The input acquisition dates the run's products carry, as STAC datetimes, sorted.
    public var inputDatetimes: [String] {
        Array(Set(plan.products.values.compactMap(\.date).compactMap(STAC.datetime(fromDate:)))).sorted()
    }

    public func item() throws -> [String: Any] {
        let grid = plan.grid
        var extensions = [STAC.projection, STAC.processing]
        var properties: [String: Any] = [:]

        // When: the inputs' dates (one, or the range), else the run's own time.
        let dates = inputDatetimes
        if dates.count == 1 {
            properties["datetime"] = dates[0]
        } else if let first = dates.first, let last = dates.last {
            properties["datetime"] = NSNull()
            properties["start_datetime"] = first
            properties["end_datetime"] = last
        } else {
            properties["datetime"] = STAC.timestamp(record.started)
        }
        properties["created"] = STAC.timestamp(record.finished ?? Date())
        properties["title"] = "\(record.pipelineName): landwatch run"
        if !plan.pipeline.description.isEmpty { properties["description"] = plan.pipeline.description }

        // How: software, versions and the pipeline file as lineage.
        let pipelineFile = URL(fileURLWithPath: record.pipeline).lastPathComponent
        let parameters = record.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        properties["processing:software"] = ["landwatch": record.landwatchVersion, "GDAL": record.gdalVersion]
        properties["processing:lineage"] = "landwatch run of pipeline file \(pipelineFile) (sha256 \(record.pipelineSHA256))"
            + (parameters.isEmpty ? "" : " with parameters \(parameters)")
        properties["processing:datetime"] = STAC.timestamp(record.finished ?? Date())
        properties["landwatch:pipeline"] = record.pipeline
        properties["landwatch:pipeline_sha256"] = record.pipelineSHA256

        // Where: the run grid.
        let crs = try SpatialReference(definition: grid.crsWKT)
        properties["proj:epsg"] = crs.epsgCode.map { $0 as Any } ?? NSNull()
        if crs.epsgCode == nil { properties["proj:wkt2"] = grid.crsWKT }
        let t = grid.geoTransform
        properties["proj:shape"] = [grid.height, grid.width]
        properties["proj:transform"] = [t.pixelWidth, t.rowRotation, t.originX, t.colRotation, t.pixelHeight, t.originY]
        let extent = grid.extent
        properties["proj:bbox"] = [extent.minX, extent.minY, extent.maxX, extent.maxY]
        let (geometry, bbox) = try footprint(grid: grid, crs: crs)

        // What: the outputs.
        var assets: [String: Any] = [:]
        var hasClasses = false, hasLabels = false
        for path in record.outputs where !path.hasPrefix("shard/") && !path.contains("/chips/") {
            var asset: [String: Any] = ["href": relativeHref(path)]
            let lower = path.lowercased()
            let isRaster = lower.hasSuffix(".tif") || lower.hasSuffix(".tiff")
            var cloudOptimized = false
            if isRaster {
                let dataset = try Dataset.open(locate(path))
                cloudOptimized = dataset.isCloudOptimized
                let kind = dataset.metadata()["LANDWATCH_KIND"]
                if let kind { asset["landwatch:kind"] = kind }
                let band = try dataset.band(1)
                let classes = band.categories.filter { !$0.name.isEmpty }.map { category -> [String: Any] in
                    [
                        "value": category.value,
                        "name": Self.className(category.name),
                        "description": category.name,
                        "color_hint": String(format: "%02X%02X%02X", category.red, category.green, category.blue),
                    ]
                }
                if !classes.isEmpty {
                    asset["classification:classes"] = classes
                    hasClasses = true
                }
                asset["roles"] = ["data"]
                if dataset.width != grid.width || dataset.height != grid.height {
                    asset["proj:shape"] = [dataset.height, dataset.width]
                }
            } else if Self.isViolationList(path) {
                asset["roles"] = ["data", "labels"]
                hasLabels = true
            } else if lower.hasSuffix(".png") {
                asset["roles"] = ["overview"]
            } else {
                asset["roles"] = ["metadata"]
            }
            if let type = STAC.mediaType(of: path, cloudOptimized: cloudOptimized) { asset["type"] = type }
            asset["title"] = path
            assets[path] = asset
        }
        if hasClasses { extensions.append(STAC.classification) }
        if hasLabels {
            extensions.append(STAC.label)
            properties["label:description"] = "Patches of land-cover change checked against the plan (write.violations): one feature per patch, gravest first"
            properties["label:type"] = "vector"
            properties["label:properties"] = ["severity", "rules", "before_class", "after_class", "score"]
            properties["label:classes"] = [["name": "severity", "classes": ["high", "medium", "low"]]]
            properties["label:tasks"] = ["detection", "classification"]
            properties["label:methods"] = ["automated"]
        }

        return [
            "type": "Feature",
            "stac_version": STAC.version,
            "stac_extensions": extensions,
            "id": id,
            "geometry": geometry,
            "bbox": bbox,
            "properties": properties,
            "links": [
                ["rel": "related", "href": relativeHref("run.json"), "type": "application/json", "title": "landwatch run record"],
            ],
            "assets": assets,
        ]
    }

    /// The grid's outline in WGS 84 (corners and edge midpoints, so that a reprojected edge keeps its bend).
    func footprint(grid: RasterGrid, crs: SpatialReference) throws -> (geometry: [String: Any], bbox: [Double]) {
        let transform = try CoordinateTransformation(from: crs, to: .wgs84())
        let w = Double(grid.width), h = Double(grid.height)
        let pixels: [(Double, Double)] = [(0, 0), (0, h / 2), (0, h), (w / 2, h), (w, h), (w, h / 2), (w, 0), (w / 2, 0), (0, 0)]
        var ring: [[Double]] = []
        for (col, row) in pixels {
            let map = grid.geoTransform.mapPoint(col: col, row: row)
            let point = try transform.transform(x: map.x, y: map.y)
            ring.append([Self.rounded(point.x), Self.rounded(point.y)])
        }
        let lons = ring.map { $0[0] }, lats = ring.map { $0[1] }
        // Counter-clockwise exterior ring (RFC 7946): the order above runs down the west edge first.
        return (["type": "Polygon", "coordinates": [ring]], [lons.min()!, lats.min()!, lons.max()!, lats.max()!])
    }

    static func rounded(_ value: Double) -> Double { (value * 1e7).rounded() / 1e7 }

    /// `cropland 耕地` -> `cropland`: the class's English name, as an identifier.
    static func className(_ text: String) -> String {
        let first = text.split(separator: " ").first.map(String.init) ?? text
        return first.isEmpty ? text : first
    }

    static func isViolationList(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return name.hasPrefix("violations.") && name != "violations.png"
    }

    func relativeHref(_ path: String) -> String {
        let depth = itemFolder.split(separator: "/").count
        return String(repeating: "../", count: depth) + path
    }
}

/// Writes `stac/item.json` for every run and merge that succeeds (registered in the standard registry).
public struct STACItemWriter: RunDescriber {
    public static let path = "stac/item.json"

    public init() {}

    public func describe(record: RunRecord, plan: RunPlan, context: RunContext) throws -> [String] {
        let root = context.outputRoot
        let builder = STACItemBuilder(record: record, plan: plan) { relative in
            (try? root.resolve(relative).path) ?? relative
        }
        let data = try STAC.encode(try builder.item())
        try AtomicOutput(target: try root.resolve(Self.path)).write { path in
            try data.write(to: URL(fileURLWithPath: path))
        }
        return [Self.path]
    }
}
