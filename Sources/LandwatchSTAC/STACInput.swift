import Foundation
import LandwatchGDAL

/// A STAC document that cannot be used as input: one line naming the document and what is wrong.
public struct STACInputError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A STAC Item read as input (`read.stac`, `nightly --stac`): id, time, footprint and assets, hrefs resolved to paths
/// GDAL reads (`/vsicurl/https://…`, `/vsis3/…`, absolute local paths).
public struct STACInputItem: Sendable {
    /// One band of an asset, from its `eo:bands` and `raster:bands` entries at the same index.
    public struct Band: Sendable, Equatable {
        public var name: String?
        public var commonName: String?
        public var scale: Double?
        public var offset: Double?
        public var noData: Double?
    }

    public struct Asset: Sendable {
        public var key: String
        /// The href as written in the Item.
        public var written: String
        /// The href as GDAL reads it.
        public var href: String
        public var type: String?
        public var roles: [String]
        public var bands: [Band]
    }

    public var id: String
    public var collection: String?
    /// `datetime`, or `start_datetime` when `datetime` is null.
    public var datetime: String
    /// The day of `datetime`, YYYY-MM-DD.
    public var date: String
    /// The Item's geometry as GeoJSON text (WGS84), when it has one.
    public var geometry: String?
    public var assets: [Asset]
    /// Where the Item was read from (a file, a URL as GDAL reads it, or the ItemCollection holding it).
    public var source: String
    /// The Item as JSON with every asset href resolved (absolute), to be read again on its own.
    public var resolvedJSON: Data

    /// Reads one Item from a file or URL (`https://…` is read through `/vsicurl/`).
    public static func read(_ location: String) throws(STACInputError) -> STACInputItem {
        let path = STACLocation.gdalPath(location)
        let object = try STACLocation.readObject(path)
        return try STACInputItem(object: object, base: path, source: path)
    }

    /// An Item from its JSON object; relative hrefs are resolved against its `self` link when that is absolute,
    /// else against `base` (the document it was read from).
    public init(object: [String: Any], base: String, source: String) throws(STACInputError) {
        self.source = source
        guard (object["type"] as? String) == "Feature" else {
            throw STACInputError("\(source): not a STAC Item (its \"type\" is \(object["type"].map { "'\($0)'" } ?? "missing"), not 'Feature')")
        }
        guard let id = object["id"] as? String, !id.isEmpty else { throw STACInputError("\(source): a STAC Item without an \"id\"") }
        self.id = id
        let label = "\(source): Item \(id)"
        collection = object["collection"] as? String
        let properties = object["properties"] as? [String: Any] ?? [:]
        guard let datetime = (properties["datetime"] as? String) ?? (properties["start_datetime"] as? String) else {
            throw STACInputError("\(label): no properties.datetime (nor start_datetime)")
        }
        let day = String(datetime.prefix(10))
        guard day.count == 10, STACLocation.isDay(day) else {
            throw STACInputError("\(label): datetime '\(datetime)' is not an RFC 3339 date and time")
        }
        self.datetime = datetime
        date = day
        if let geometry = object["geometry"] as? [String: Any],
           let data = try? JSONSerialization.data(withJSONObject: geometry, options: [.sortedKeys]) {
            self.geometry = String(decoding: data, as: UTF8.self)
        }
        // The self link, when absolute, is where relative hrefs point from.
        var base = base
        if let links = object["links"] as? [[String: Any]], let selfHref = links.first(where: { ($0["rel"] as? String) == "self" })?["href"] as? String,
           STACLocation.isAbsolute(selfHref) {
            base = STACLocation.gdalPath(selfHref)
        }
        guard let written = object["assets"] as? [String: Any], !written.isEmpty else { throw STACInputError("\(label): no assets") }
        var assets: [Asset] = []
        var resolvedAssets: [String: Any] = [:]
        for key in written.keys.sorted() {
            guard var asset = written[key] as? [String: Any], let href = asset["href"] as? String, !href.isEmpty else {
                throw STACInputError("\(label): asset '\(key)' has no href")
            }
            let resolved = STACLocation.resolve(href, against: base)
            let eo = asset["eo:bands"] as? [[String: Any]] ?? []
            let raster = asset["raster:bands"] as? [[String: Any]] ?? []
            let count = max(eo.count, raster.count)
            let bands = (0..<count).map { index -> Band in
                let e = index < eo.count ? eo[index] : [:], r = index < raster.count ? raster[index] : [:]
                return Band(name: e["name"] as? String, commonName: e["common_name"] as? String, scale: STACLocation.number(r["scale"]),
                            offset: STACLocation.number(r["offset"]), noData: STACLocation.number(r["nodata"]))
            }
            assets.append(Asset(key: key, written: href, href: resolved, type: asset["type"] as? String,
                                roles: asset["roles"] as? [String] ?? [], bands: bands))
            asset["href"] = resolved
            resolvedAssets[key] = asset
        }
        self.assets = assets
        var resolvedObject = object
        resolvedObject["assets"] = resolvedAssets
        do {
            resolvedJSON = try JSONSerialization.data(withJSONObject: resolvedObject, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw STACInputError("\(label): cannot be written back as JSON: \(error)")
        }
    }

    /// landwatch's band names and the STAC common names (eo extension) that mean them.
    public static let commonNames: [String: [String]] = [
        "coastal": ["coastal"], "blue": ["blue"], "green": ["green"], "red": ["red"], "yellow": ["yellow"],
        "nir": ["nir"], "nir2": ["nir08"], "watervapour": ["nir09"], "cirrus": ["cirrus"],
        "swir1": ["swir16"], "swir2": ["swir22"], "pan": ["pan"], "lwir": ["lwir11", "lwir"],
    ]

    /// The asset and band (from 1) holding a band named as landwatch names it, by the asset key given, else by its
    /// `eo:bands` common name, else by an asset key equal to the name or its common name. GeoTIFFs come before other
    /// encodings of the same band (Earth Search lists `red` and `red-jp2`).
    public func band(named name: String, assetKey: String?) throws(STACInputError) -> (asset: Asset, band: Int) {
        if let assetKey {
            guard let asset = assets.first(where: { $0.key == assetKey }) else {
                throw STACInputError("\(source): Item \(id) has no asset '\(assetKey)' (given for band \(name); its assets: \(assets.map(\.key).joined(separator: ", ")))")
            }
            let index = asset.bands.firstIndex { Self.means($0, name) } ?? 0
            return (asset, index + 1)
        }
        let ordered = assets.sorted { Self.rank($0) < Self.rank($1) }
        for asset in ordered {
            if let index = asset.bands.firstIndex(where: { Self.means($0, name) }) { return (asset, index + 1) }
        }
        let keys = [name] + (Self.commonNames[name] ?? [])
        if let asset = ordered.first(where: { keys.contains($0.key.lowercased()) }) { return (asset, 1) }
        throw STACInputError("\(source): Item \(id) has no asset for band '\(name)' (no eo:bands common name \((Self.commonNames[name] ?? [name]).joined(separator: "/")), no asset key \(name); its assets: \(assets.map(\.key).joined(separator: ", "))); name it in 'assets'")
    }

    static func means(_ band: Band, _ name: String) -> Bool {
        guard let common = band.commonName?.lowercased() else { return false }
        return (commonNames[name] ?? [name]).contains(common)
    }

    /// GeoTIFF data assets first, then other data, then the rest.
    static func rank(_ asset: Asset) -> (Int, String) {
        let tiff = (asset.type ?? "").contains("tiff") || asset.href.lowercased().hasSuffix(".tif") || asset.href.lowercased().hasSuffix(".tiff")
        let data = asset.roles.isEmpty || asset.roles.contains("data")
        return ((tiff ? 0 : 2) + (data ? 0 : 1), asset.key)
    }

    /// The assets whose identity makes the Item's content: every asset but thumbnails, overviews and metadata.
    public var contentAssets: [Asset] {
        assets.filter { asset in !asset.roles.contains { ["thumbnail", "overview", "metadata"].contains($0) } }
    }
}

/// Paths and documents: hrefs as GDAL reads them, JSON read from files or over HTTP.
public enum STACLocation {
    /// `https://…` → `/vsicurl/https://…`, `s3://b/k` → `/vsis3/b/k`, `gs://` → `/vsigs/`, `file://` → the path; others unchanged.
    public static func gdalPath(_ href: String) -> String {
        if href.hasPrefix("http://") || href.hasPrefix("https://") { return "/vsicurl/" + href }
        if href.hasPrefix("s3://") { return "/vsis3/" + href.dropFirst(5) }
        if href.hasPrefix("gs://") { return "/vsigs/" + href.dropFirst(5) }
        if href.hasPrefix("file://") { return URL(string: href)?.path ?? String(href.dropFirst(7)) }
        return href
    }

    static func isAbsolute(_ href: String) -> Bool {
        href.hasPrefix("/") || href.contains("://")
    }

    /// An href resolved against the document it was written in (a GDAL path: local, or `/vsicurl/URL`).
    public static func resolve(_ href: String, against base: String) -> String {
        if isAbsolute(href) {
            return gdalPath(href)
        }
        if base.hasPrefix("/vsicurl/"), let url = URL(string: String(base.dropFirst("/vsicurl/".count))),
           let joined = URL(string: href, relativeTo: url)?.absoluteURL.absoluteString {
            return "/vsicurl/" + joined
        }
        if base.hasPrefix("/vsi") {
            let folder = (base as NSString).deletingLastPathComponent
            return folder + "/" + href
        }
        return URL(fileURLWithPath: base).deletingLastPathComponent().appendingPathComponent(href).standardizedFileURL.path
    }

    /// A JSON object read from a file or URL (as GDAL reads it), or one line saying why not.
    public static func readObject(_ path: String) throws(STACInputError) -> [String: Any] {
        let data: Data
        do { data = try VirtualFiles.read(path) } catch { throw STACInputError(error.description) }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw STACInputError("\(path): not a JSON object (\(data.count) bytes: \(String(decoding: data.prefix(40), as: UTF8.self).debugDescription))")
        }
        return object
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: number.doubleValue
        case let text as String: Double(text)
        default: nil
        }
    }

    static func isDay(_ text: String) -> Bool {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.isLenient = false
        return formatter.date(from: text) != nil
    }
}
