import Foundation

/// The Items a night takes from STAC: a static ItemCollection (a file or URL), or a STAC API `/search` queried with
/// a bounding box, a datetime window and collections, following `next` links up to a page limit.
public struct STACFeed: Sendable {
    /// The query of a STAC API search (`GET /search?bbox=…&datetime=…&collections=…&limit=…`).
    public struct Search: Sendable, Equatable {
        /// west, south, east, north in degrees.
        public var bbox: [Double]?
        /// An RFC 3339 interval, `2024-06-01T00:00:00Z/2024-09-01T00:00:00Z` (either end may be `..`).
        public var datetime: String?
        public var collections: [String] = []
        /// Items per page asked for.
        public var limit: Int?
        public init(bbox: [Double]? = nil, datetime: String? = nil, collections: [String] = [], limit: Int? = nil) {
            self.bbox = bbox
            self.datetime = datetime
            self.collections = collections
            self.limit = limit
        }
    }

    /// An ItemCollection file or URL, or a STAC API's `/search` endpoint.
    public var location: String
    /// The query, for a `/search` endpoint (nil: the location is read as it is).
    public var search: Search?
    /// How many pages (`next` links followed, plus the first) are read at most.
    public var maxPages: Int

    public init(location: String, search: Search?, maxPages: Int) {
        self.location = location
        self.search = search
        self.maxPages = maxPages
    }

    /// True when the location names a STAC API search endpoint (its path ends in `/search`).
    public static func isSearch(_ location: String) -> Bool {
        let path = location.split(separator: "?", maxSplits: 1).first.map(String.init) ?? location
        return path.hasSuffix("/search")
    }

    /// What was read: Items (or, for an Item that cannot be read, its id when known and why), and lines about pages
    /// that were not read (a failed later page, the page limit).
    public struct Result: Sendable {
        public var items: [STACInputItem] = []
        public var broken: [(id: String?, problem: String)] = []
        public var warnings: [String] = []
    }

    /// Reads every page. A first page that cannot be read is an error; a later one is a warning and the Items read so
    /// far are kept.
    public func read() throws(STACInputError) -> Result {
        var result = Result()
        var next: String? = firstPage
        var pages = 0
        var seen = Set<String>()
        while let page = next {
            if pages == maxPages {
                result.warnings.append("the Items after page \(maxPages) of \(location): the page limit (param stac_max_pages = \(maxPages)) is reached and a next page is still linked; raise stac_max_pages or narrow the search to take them")
                break
            }
            if !seen.insert(page).inserted {
                result.warnings.append("the Items after page \(pages) of \(location): its next link \(page) was read before (a loop), paging stops")
                break
            }
            pages += 1
            let object: [String: Any]
            do { object = try STACLocation.readObject(page) } catch {
                if pages == 1 { throw STACInputError("STAC \(Self.isSearch(location) ? "API" : "ItemCollection"): \(error.description)") }
                result.warnings.append("the Items from page \(pages) of \(location) on: that page cannot be read (\(error.description)); the Items of the \(pages - 1) page\(pages == 2 ? "" : "s") before it are processed")
                break
            }
            guard (object["type"] as? String) == "FeatureCollection", let features = object["features"] as? [Any] else {
                let problem = "\(page): not a STAC ItemCollection (a FeatureCollection with \"features\")"
                if pages == 1 { throw STACInputError(problem) }
                result.warnings.append("the Items from page \(pages) of \(location) on: \(problem); the Items of the \(pages - 1) page\(pages == 2 ? "" : "s") before it are processed")
                break
            }
            for (index, feature) in features.enumerated() {
                guard let feature = feature as? [String: Any] else {
                    result.broken.append((nil, "\(page): feature \(index + 1) is not a JSON object"))
                    continue
                }
                do {
                    result.items.append(try STACInputItem(object: feature, base: page, source: page))
                } catch {
                    result.broken.append((feature["id"] as? String, error.description))
                }
            }
            next = Self.nextLink(object, page: page)
        }
        return result
    }

    /// The first page's path as GDAL reads it: the search's query in the URL.
    var firstPage: String {
        let path = STACLocation.gdalPath(location)
        guard let search, Self.isSearch(location) else { return path }
        var query: [String] = []
        if let bbox = search.bbox { query.append("bbox=" + bbox.map { Self.format($0) }.joined(separator: ",")) }
        if let datetime = search.datetime { query.append("datetime=" + Self.escape(datetime)) }
        if !search.collections.isEmpty { query.append("collections=" + search.collections.map(Self.escape).joined(separator: ",")) }
        if let limit = search.limit { query.append("limit=\(limit)") }
        guard !query.isEmpty else { return path }
        return path + (path.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// A query value with everything but RFC 3986's unreserved characters percent-encoded (`/` and `:` of a datetime
    /// interval too: GDAL's `/vsicurl/` takes the last `/` of a URL for a folder, query or not).
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The `next` link of a page (GET; a POST `next` with a body is not followed).
    static func nextLink(_ object: [String: Any], page: String) -> String? {
        guard let links = object["links"] as? [[String: Any]],
              let link = links.first(where: { ($0["rel"] as? String) == "next" }),
              let href = link["href"] as? String, !href.isEmpty,
              ((link["method"] as? String) ?? "GET").uppercased() == "GET" else { return nil }
        return STACLocation.resolve(href, against: page)
    }
}
