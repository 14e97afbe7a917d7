import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchRender
import LandwatchProducts

/// The field package (issue 23): what an inspector takes to the site for one violation list, on paper and on a
/// phone. One folder:
///
/// - `fieldpack.pdf`: a Geospatial PDF (GDAL's PDF driver). Page 1 maps every patch over the after image with
///   numbered markers; then a page per patch with its attributes, the before/after chips, the navigation point as
///   "lat, lon" (WGS84, GCJ-02, the plan CRS), QR codes of a `geo:` URI and an Amap link, and a form to fill in.
///   Each map is a georeferenced area with the patches as vector layers, so that phone apps that show the GPS
///   position on a GeoPDF (Avenza Maps and the like) work offline.
/// - `fieldpack.kmz`: per patch a point at the navigation point and the outline, styled by severity, the chips
///   inside, a description with the attributes, the `geo:` and the Amap links.
/// - `fieldcheck.csv` / `fieldcheck.gpkg`: the blank answer sheet, one row per id, the columns `violations import`
///   reads (id, result, date, inspector, note, photos, reason) and, after them, what identifies the patch.
public struct FieldPack {
    public struct Site: Sendable {
        public var rank: Int
        public var id: String
        public var status: String?
        /// high, medium or low.
        public var severity: String
        /// Rule codes, `;`-separated, and the Chinese names.
        public var rules: String
        public var ruleNamesZH: String?
        public var score: Int?
        public var areaM2: Double
        public var zoneCode: String?
        public var zoneName: String?
        /// Plan features touched, by role ("id name").
        public var planFeatures: [String: [String]]
        public var beforeDate: String?
        public var afterDate: String?
        public var beforeClass: String?
        public var afterClass: String?
        /// The navigation point, WGS84, and in GCJ-02.
        public var lat: Double
        public var lon: Double
        public var gcjLat: Double
        public var gcjLon: Double
        /// The navigation point in the plan's CRS, when the list recorded it.
        public var planX: Double?
        public var planY: Double?
        public var planCRS: String?
        /// The outline, WGS84 longitude/latitude.
        public var outlineWKT: String
        /// Absolute paths of the georeferenced chips, when drawn.
        public var chipBefore: String?
        public var chipAfter: String?
        /// The chips' geotransform and its CRS (WKT), from the list.
        public var chipTransform: [Double]? = nil
        public var chipCRS: String? = nil

        public init(rank: Int, id: String, status: String?, severity: String, rules: String, ruleNamesZH: String?, score: Int?,
                    areaM2: Double, zoneCode: String?, zoneName: String?, planFeatures: [String: [String]], beforeDate: String?,
                    afterDate: String?, beforeClass: String?, afterClass: String?, lat: Double, lon: Double, gcjLat: Double,
                    gcjLon: Double, planX: Double?, planY: Double?, planCRS: String?, outlineWKT: String, chipBefore: String?,
                    chipAfter: String?) {
            self.rank = rank
            self.id = id
            self.status = status
            self.severity = severity
            self.rules = rules
            self.ruleNamesZH = ruleNamesZH
            self.score = score
            self.areaM2 = areaM2
            self.zoneCode = zoneCode
            self.zoneName = zoneName
            self.planFeatures = planFeatures
            self.beforeDate = beforeDate
            self.afterDate = afterDate
            self.beforeClass = beforeClass
            self.afterClass = afterClass
            self.lat = lat
            self.lon = lon
            self.gcjLat = gcjLat
            self.gcjLon = gcjLon
            self.planX = planX
            self.planY = planY
            self.planCRS = planCRS
            self.outlineWKT = outlineWKT
            self.chipBefore = chipBefore
            self.chipAfter = chipAfter
        }
    }

    public static let pdfName = "fieldpack.pdf", kmzName = "fieldpack.kmz", sheetName = "fieldcheck.csv", sheetLayerName = "fieldcheck.gpkg"
    public static let files = [pdfName, kmzName, sheetName, sheetLayerName]
    /// The answer sheet's columns that `violations import` reads, in order.
    public static let answerColumns = ["id", "result", "date", "inspector", "note", "photos", "reason"]
    /// After them, what identifies the patch on the sheet.
    public static let referenceColumns = ["rank", "severity", "rules", "area_m2", "lat", "lon", "gcj02_lat", "gcj02_lon", "zone"]
    /// The result codes, as `violations import` reads them (English or Chinese).
    public static let results: [(code: String, zh: String, meaning: String)] = [
        ("confirmed", "确认违法", "confirmed illegal"), ("approved_late", "补办", "approved late"),
        ("false_alarm", "误报", "false alarm: give a reason"), ("demolished", "已拆除", "demolished"), ("rectified", "已整改", "rectified"),
    ]

    public var title: String
    /// Lines for page 1 (where the imagery comes from, a planted demonstration).
    public var notes: [String]
    /// A georeferenced image for page 1 (write.violations' overview.png), when there is one.
    public var overview: String?
    /// Its geotransform and CRS (WKT).
    public var overviewTransform: [Double]?
    public var overviewCRS: String?
    public var sites: [Site]
    /// The zones (districts) drawn on page 1: their names and WGS84 outlines.
    public var zones: [(name: String, outline: Geometry)]

    public init(title: String, notes: [String] = [], overview: String?, overviewTransform: [Double]? = nil, overviewCRS: String? = nil,
                sites: [Site], zones: [(name: String, outline: Geometry)] = []) {
        self.title = title
        self.notes = notes
        self.overview = overview
        self.overviewTransform = overviewTransform
        self.overviewCRS = overviewCRS
        self.sites = sites
        self.zones = zones
    }

    /// The zones of a plan layer (read.plan with role zones): every feature's name (else its code or id) and outline
    /// in WGS84.
    public static func zones(path: String, layer: String?, crs: String?, encoding: String?, nameFields: [String]) throws -> [(name: String, outline: Geometry)] {
        let dataset = try VectorDataset.open(path, encoding: encoding)
        let read = try dataset.readAreas(layer: layer, sourceCRS: try crs.map { try SpatialReference(definition: $0) }, target: .wgs84())
        let info = try dataset.layer(layer)
        let fields = nameFields.filter { info.fieldNames.contains($0) }
        let names = Dictionary(uniqueKeysWithValues: try dataset.attributes(layer: layer, fields: fields).map { row in
            (row.fid, fields.compactMap { row.values[$0] }.first { !$0.isEmpty } ?? String(row.fid))
        })
        return read.features.map { (names[$0.fid] ?? String($0.fid), $0.geometry) }
    }

    /// The sites of a list written by write.violations into `folder`.
    public static func sites(of list: ViolationList, folder: URL) -> [Site] {
        list.violations.map { entry -> Site in
            let gcj = entry.gcj02_lat.flatMap { lat in entry.gcj02_lon.map { (lat, $0) } }
                ?? { let g = Navigation.gcj02(longitude: entry.lon, latitude: entry.lat); return (g.latitude, g.longitude) }()
            var site = Site(rank: entry.rank, id: entry.id, status: entry.status, severity: entry.severity, rules: entry.rules,
                        ruleNamesZH: entry.rule_names_zh, score: entry.score, areaM2: entry.area_m2, zoneCode: entry.zone_code,
                        zoneName: entry.zone_name, planFeatures: entry.plan_features ?? [:], beforeDate: list.before_date,
                        afterDate: list.after_date, beforeClass: entry.before_class_name, afterClass: entry.after_class_name,
                        lat: entry.lat, lon: entry.lon, gcjLat: gcj.0, gcjLon: gcj.1, planX: entry.plan_x, planY: entry.plan_y,
                        planCRS: entry.plan_crs, outlineWKT: entry.geometry_wkt,
                        chipBefore: entry.chip_before.map { folder.appendingPathComponent($0).path },
                        chipAfter: entry.chip_after.map { folder.appendingPathComponent($0).path })
            site.chipTransform = entry.chip_transform
            site.chipCRS = list.crs_wkt
            return site
        }
    }

    // MARK: - Links

    package static func coordinate(_ value: Double) -> String { String(format: "%.6f", value) }

    /// `geo:LAT,LON?q=LAT,LON(ID)` (RFC 5870; Android map apps open it, with a pin named by the id).
    public static func geoURI(_ site: Site) -> String {
        let pair = "\(coordinate(site.lat)),\(coordinate(site.lon))"
        return "geo:\(pair)?q=\(pair)(\(site.id))"
    }

    /// Amap's marker link, in GCJ-02 (its URL takes longitude first).
    public static func amapLink(_ site: Site) -> String {
        "https://uri.amap.com/marker?position=\(coordinate(site.gcjLon)),\(coordinate(site.gcjLat))&name=\(site.id)&coordinate=gaode&callnative=1"
    }

    package static func severityColor(_ severity: String) -> Color {
        switch severity {
        case "high": return .red
        case "medium": return .orange
        case "low": return Color(230, 200, 0)
        default: return .grey  // not recorded (a registry older than schema v3)
        }
    }

    package static func severityZH(_ severity: String) -> String {
        ["high": "高", "medium": "中", "low": "低"][severity] ?? severity
    }

    package static func ruleText(_ site: Site) -> String {
        let names = Dictionary(ChangeRule.defaults.map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
        let codes = site.rules.split(separator: ";").map(String.init)
        let english = codes.map { code in names[code].map { "\(code) \($0)" } ?? code }.joined(separator: "; ")
        return english + (site.ruleNamesZH.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
    }

    package static func areaText(_ site: Site) -> String {
        String(format: "%.0f m² (%.2f 亩 mu)", site.areaM2, site.areaM2 / Navigation.squareMetresPerMu)
    }

    package static func zoneText(_ site: Site) -> String {
        let parts = [site.zoneCode, site.zoneName].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? "none recorded" : parts.joined(separator: " ")
    }

    // MARK: - Writing

    /// Writes the four files into `folder` (the caller's staging folder, published whole); `scratch` is a folder
    /// for the page images and layers GDAL's PDF driver reads, removed afterwards. Returns the names written.
    public func write(into folder: AtomicDirectory, scratch: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try writeSheet(csv: folder.path(Self.sheetName), layer: folder.path(Self.sheetLayerName))
        try writeKMZ(to: folder.path(Self.kmzName))
        try FieldPackPDF(pack: self, scratch: scratch).write(to: folder.path(Self.pdfName))
        return Self.files
    }

    /// The blank answer sheet as CSV (UTF-8 with BOM, CRLF: Excel) and as a GeoPackage of navigation points.
    package func writeSheet(csv: String, layer: String) throws {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func reference(_ site: Site) -> [String: String] {
            ["rank": String(site.rank), "severity": site.severity, "rules": site.rules, "area_m2": String(format: "%.1f", site.areaM2),
             "lat": Self.coordinate(site.lat), "lon": Self.coordinate(site.lon), "gcj02_lat": Self.coordinate(site.gcjLat),
             "gcj02_lon": Self.coordinate(site.gcjLon), "zone": Self.zoneText(site)]
        }
        let columns = Self.answerColumns + Self.referenceColumns
        var lines = [columns.joined(separator: ",")]
        for site in sites {
            let values = reference(site).merging(["id": site.id]) { a, _ in a }
            lines.append(columns.map { field(values[$0] ?? "") }.joined(separator: ","))
        }
        try Data(("\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: csv))

        let fields: [(String, VectorWriter.FieldType)] = columns.map { name in
            (name, ["lat", "lon", "gcj02_lat", "gcj02_lon", "area_m2"].contains(name) ? .real : name == "rank" ? .integer : .string)
        }
        let writer = try VectorWriter(path: layer, driver: "GPKG", layer: "fieldcheck", crs: .wgs84(), geometry: .point, fields: fields)
        for site in sites {
            var values: [String: VectorWriter.Value] = Dictionary(uniqueKeysWithValues: Self.answerColumns.map { ($0, VectorWriter.Value.string("")) })
            values["id"] = .string(site.id)
            values["rank"] = .integer(site.rank)
            values["severity"] = .string(site.severity)
            values["rules"] = .string(site.rules)
            values["area_m2"] = .real(site.areaM2)
            values["lat"] = .real(site.lat)
            values["lon"] = .real(site.lon)
            values["gcj02_lat"] = .real(site.gcjLat)
            values["gcj02_lon"] = .real(site.gcjLon)
            values["zone"] = .string(Self.zoneText(site))
            try writer.add(Geometry(wkt: "POINT (\(site.lon) \(site.lat))"), values: values)
        }
        try writer.close()
    }

    /// `text` escaped for XML text and attribute values (&, <, >, "). One pass over the UTF-8 and no copy when
    /// nothing needs escaping: Foundation's four `replacingOccurrences` were a sixth of write.violations' time on a
    /// list of 1600 patches.
    package static func xml(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }) else { return text }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case 0x26: escaped += Array("&amp;".utf8)
            case 0x3C: escaped += Array("&lt;".utf8)
            case 0x3E: escaped += Array("&gt;".utf8)
            case 0x22: escaped += Array("&quot;".utf8)
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    /// KML colour (aabbggrr).
    package static func kmlColor(_ color: Color, alpha: UInt8) -> String {
        String(format: "%02x%02x%02x%02x", alpha, color.blue, color.green, color.red)
    }

    /// The outline as KML polygons (WGS84 lon,lat as KML wants).
    package static func kmlPolygons(_ geometry: Geometry) -> String {
        // allRings lists each part's exterior ring, then its holes: a ring inside the last exterior is one of its holes.
        func contains(_ ring: [(x: Double, y: Double)], _ point: (x: Double, y: Double)) -> Bool {
            var inside = false
            var j = ring.count - 1
            for i in 0..<ring.count {
                if (ring[i].y > point.y) != (ring[j].y > point.y),
                   point.x < (ring[j].x - ring[i].x) * (point.y - ring[i].y) / (ring[j].y - ring[i].y) + ring[i].x { inside.toggle() }
                j = i
            }
            return inside
        }
        var polygons: [(outer: [(x: Double, y: Double)], holes: [[(x: Double, y: Double)]])] = []
        for ring in geometry.allRings where ring.count > 2 {
            if let last = polygons.last, ring.allSatisfy({ vertex in
                contains(last.outer, vertex) || last.outer.contains(where: { $0.x == vertex.x && $0.y == vertex.y })
            }) {
                polygons[polygons.count - 1].holes.append(ring)
            } else {
                polygons.append((ring, []))
            }
        }
        func coordinates(_ ring: [(x: Double, y: Double)]) -> String {
            ring.map { String(format: "%.7f,%.7f,0", $0.x, $0.y) }.joined(separator: " ")
        }
        let parts = polygons.map { polygon in
            "<Polygon><outerBoundaryIs><LinearRing><coordinates>\(coordinates(polygon.outer))</coordinates></LinearRing></outerBoundaryIs>"
                + polygon.holes.map { "<innerBoundaryIs><LinearRing><coordinates>\(coordinates($0))</coordinates></LinearRing></innerBoundaryIs>" }.joined()
                + "</Polygon>"
        }
        return parts.count == 1 ? parts[0] : "<MultiGeometry>" + parts.joined() + "</MultiGeometry>"
    }

    /// A round marker of `color` with a white rim, 32 px, transparent around (RGBA PNG): the KMZ carries its own
    /// icons, so that a phone without a network shows them.
    package static func markerIcon(_ color: Color) throws -> Data {
        let size = 32
        let memory = try Dataset.createInMemory(width: size, height: size, bandCount: 4, dataType: .uint8)
        var planes = [[UInt8]](repeating: [UInt8](repeating: 0, count: size * size), count: 4)
        for y in 0..<size {
            for x in 0..<size {
                let dx = Double(x) + 0.5 - 16, dy = Double(y) + 0.5 - 16, r = (dx * dx + dy * dy).squareRoot()
                guard r <= 15 else { continue }
                let fill = r <= 11 ? color : .white
                let i = y * size + x
                (planes[0][i], planes[1][i], planes[2][i], planes[3][i]) = (fill.red, fill.green, fill.blue, 255)
            }
        }
        for (band, plane) in planes.enumerated() {
            try plane.withUnsafeBytes { raw in
                try memory.band(band + 1).writeRaw(Window(width: size, height: size), from: raw.baseAddress!, byteCapacity: raw.count,
                                                   type: .uint8, lineStride: size)
            }
        }
        let path = "/vsimem/landwatch-marker-\(UUID().uuidString).png"
        try memory.copy(to: path, driver: "PNG").close()
        defer { VirtualFiles.remove(path); VirtualFiles.remove(path + ".aux.xml") }
        return try VirtualFiles.read(path)
    }

    /// fieldpack.kmz: doc.kml, the chips and the markers under images/.
    package func writeKMZ(to path: String) throws {
        var kml = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<kml xmlns=\"http://www.opengis.net/kml/2.2\">", "<Document>",
                   "<name>\(Self.xml(title))</name>"]
        var icons: [(name: String, data: Data)] = []
        for severity in ["high", "medium", "low", "unknown"] {
            let color = Self.severityColor(severity)
            icons.append(("images/marker-\(severity).png", try Self.markerIcon(color)))
            kml.append("<Style id=\"\(severity)\"><IconStyle><scale>1.0</scale>"
                       + "<Icon><href>images/marker-\(severity).png</href></Icon></IconStyle>"
                       + "<LineStyle><color>\(Self.kmlColor(color, alpha: 255))</color><width>\(severity == "high" ? 4 : 3)</width></LineStyle>"
                       + "<PolyStyle><color>\(Self.kmlColor(color, alpha: 60))</color></PolyStyle></Style>")
        }
        var entries: [(name: String, data: Data)] = []
        var points: [String] = [], outlines: [String] = []
        for site in sites {
            var images: [String] = []
            for (label, chip) in [("before", site.chipBefore), ("after", site.chipAfter)] {
                guard let chip else { continue }
                let name = "images/\(site.id)-\(label).png"
                entries.append((name, try Data(contentsOf: URL(fileURLWithPath: chip))))
                images.append("<td><img src=\"\(name)\" width=\"240\"/><br/>\(label) \(Self.xml((label == "before" ? site.beforeDate : site.afterDate) ?? ""))</td>")
            }
            var rows: [(String, String)] = []
            rows.append(("Rank", String(site.rank)))
            rows.append(("Severity", "\(site.severity) (\(Self.severityZH(site.severity)))"))
            rows.append(("Rules", Self.ruleText(site)))
            rows.append(("Area", Self.areaText(site)))
            rows.append(("Score", site.score.map(String.init) ?? "–"))
            rows.append(("Zone", Self.zoneText(site)))
            rows.append(("Change", "\(site.beforeClass ?? "?") → \(site.afterClass ?? "?")"))
            rows.append(("Dates", "before \(site.beforeDate ?? "land-use survey"), after \(site.afterDate ?? "?")"))
            rows.append(("Navigate (WGS84 lat, lon)", "\(Self.coordinate(site.lat)), \(Self.coordinate(site.lon))"))
            rows.append(("GCJ-02 lat, lon (Amap, Tencent)", "\(Self.coordinate(site.gcjLat)), \(Self.coordinate(site.gcjLon))"))
            if let x = site.planX, let y = site.planY { rows.append(("Plan CRS x, y (\(site.planCRS ?? ""))", "\(x), \(y)")) }
            for role in site.planFeatures.keys.sorted() { rows.append((role, site.planFeatures[role]!.joined(separator: "; "))) }
            let table = rows.map { "<tr><td><b>\(Self.xml($0.0))</b></td><td>\(Self.xml($0.1))</td></tr>" }.joined()
            let description = "<table>\(table)</table>"
                + "<p><a href=\"\(Self.xml(Self.geoURI(site)))\">Open in a map app (geo:)</a> · "
                + "<a href=\"\(Self.xml(Self.amapLink(site)))\">高德地图 Amap</a></p>"
                + (images.isEmpty ? "" : "<table><tr>\(images.joined())</tr></table>")
            points.append("<Placemark><name>\(Self.xml(site.id))</name><styleUrl>#\(site.severity)</styleUrl>"
                          + "<description><![CDATA[\(description)]]></description>"
                          + "<Point><coordinates>\(String(format: "%.7f,%.7f,0", site.lon, site.lat))</coordinates></Point></Placemark>")
            outlines.append("<Placemark><name>\(Self.xml(site.id)) outline</name><styleUrl>#\(site.severity)</styleUrl>"
                            + Self.kmlPolygons(try Geometry(wkt: site.outlineWKT)) + "</Placemark>")
        }
        kml.append("<Folder><name>Navigation points</name>" + points.joined(separator: "\n") + "</Folder>")
        kml.append("<Folder><name>Outlines</name>" + outlines.joined(separator: "\n") + "</Folder>")
        kml += ["</Document>", "</kml>"]
        try ZipArchive.write([("doc.kml", Data(kml.joined(separator: "\n").utf8))] + icons + entries, to: path)
    }
}
