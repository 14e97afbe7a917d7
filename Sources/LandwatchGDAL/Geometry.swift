import CGDAL
import Foundation

/// An OGR geometry, owned. Coordinates are in whatever CRS the code that made it says (x = easting or longitude).
public final class Geometry: @unchecked Sendable {  // immutable after creation: OGR only reads a geometry it does not own or modify
    let handle: OGRGeometryH

    /// Takes ownership of a geometry handle.
    init(owning handle: OGRGeometryH) { self.handle = handle }

    deinit { OGR_G_DestroyGeometry(handle) }

    /// Parses well-known text, for example `POLYGON ((0 0, 1 0, 1 1, 0 0))`.
    public convenience init(wkt: String) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        var created: OGRGeometryH? = nil
        let status = wkt.withCString { text -> OGRErr in
            var cursor: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: text)
            return OGR_G_CreateFromWkt(&cursor, nil, &created)
        }
        guard status == OGRERR_NONE, let created else {
            throw GDALError(kind: .other, operation: "cannot parse the geometry '\(wkt.prefix(60))'")
        }
        self.init(owning: created)
    }

    /// Parses a GeoJSON geometry object (`{"type": "Polygon", "coordinates": ...}`).
    public convenience init(geoJSON: String) throws(GDALError) {
        GDALRuntime.ensureRegistered()
        guard let created = OGR_G_CreateGeometryFromJson(geoJSON) else {
            throw GDALError(kind: .other, operation: "cannot parse the GeoJSON geometry '\(geoJSON.prefix(60))'")
        }
        self.init(owning: created)
    }

    /// The geometry as a GeoJSON geometry object.
    public var geoJSON: String {
        guard let text = OGR_G_ExportToJson(handle) else { return "null" }
        defer { VSIFree(text) }
        return String(cString: text)
    }

    /// The geometry as well-known text.
    public var wkt: String {
        var text: UnsafeMutablePointer<CChar>? = nil
        guard OGR_G_ExportToWkt(handle, &text) == OGRERR_NONE, let text else { return "" }
        defer { VSIFree(text) }
        return String(cString: text)
    }

    /// The part both geometries cover (nil when they do not meet or GEOS refuses).
    public func intersection(_ other: Geometry) -> Geometry? {
        guard OGR_G_Intersects(handle, other.handle) != 0, let result = OGR_G_Intersection(handle, other.handle) else { return nil }
        return Geometry(owning: result)
    }

    /// A point.
    public convenience init(x: Double, y: Double) {
        GDALRuntime.ensureRegistered()
        let point = OGR_G_CreateGeometry(wkbPoint)!
        OGR_G_SetPoint_2D(point, 0, x, y)
        self.init(owning: point)
    }

    public var isEmpty: Bool { OGR_G_IsEmpty(handle) != 0 }
    public var isValid: Bool { OGR_G_IsValid(handle) != 0 }
    /// The OGR type name, for example `Polygon`.
    public var typeName: String { String(cString: OGR_G_GetGeometryName(handle)) }
    /// True for polygons and multipolygons (the only geometries a plan's areas can be).
    public var isAreal: Bool {
        let flat = OGR_GT_Flatten(OGR_G_GetGeometryType(handle))
        return flat == wkbPolygon || flat == wkbMultiPolygon || flat == wkbCurvePolygon || flat == wkbMultiSurface
    }

    /// Area in the square units of the geometry's CRS.
    public var area: Double { OGR_G_Area(handle) }

    /// A repaired copy (GEOS MakeValid), or nil when GDAL cannot repair it.
    public func madeValid() -> Geometry? {
        CPLErrorReset()
        guard let repaired = OGR_G_MakeValid(handle) else { return nil }
        return Geometry(owning: repaired)
    }

    /// The areal part of a geometry (MakeValid can turn a bow-tie into polygons plus lines), or nil if none.
    public func arealPart() -> Geometry? {
        if isAreal { return self }
        let flat = OGR_GT_Flatten(OGR_G_GetGeometryType(handle))
        guard flat == wkbGeometryCollection else { return nil }
        let multi = OGR_G_CreateGeometry(wkbMultiPolygon)!
        for index in 0..<OGR_G_GetGeometryCount(handle) {
            guard let part = OGR_G_GetGeometryRef(handle, index) else { continue }
            let type = OGR_GT_Flatten(OGR_G_GetGeometryType(part))
            if type == wkbPolygon {
                OGR_G_AddGeometry(multi, part)
            } else if type == wkbMultiPolygon {
                for inner in 0..<OGR_G_GetGeometryCount(part) { OGR_G_AddGeometry(multi, OGR_G_GetGeometryRef(part, inner)) }
            }
        }
        let result = Geometry(owning: multi)
        return result.isEmpty ? nil : result
    }

    /// A copy in another CRS.
    public func transformed(by transformation: CoordinateTransformation) throws(GDALError) -> Geometry {
        let copy = OGR_G_Clone(handle)!
        CPLErrorReset()
        guard OGR_G_Transform(copy, transformation.handle) == OGRERR_NONE else {
            let message = lastGDALErrorMessage()
            OGR_G_DestroyGeometry(copy)
            throw GDALError(kind: .spatialReference, operation: "cannot transform a geometry", gdalMessage: message)
        }
        return Geometry(owning: copy)
    }

    /// A point guaranteed to lie inside the geometry (GEOS point-on-surface); a centroid can fall outside an L.
    public func pointOnSurface() -> (x: Double, y: Double)? {
        guard let point = OGR_G_PointOnSurface(handle) else { return nil }
        defer { OGR_G_DestroyGeometry(point) }
        guard OGR_G_IsEmpty(point) == 0 else { return nil }
        return (OGR_G_GetX(point, 0), OGR_G_GetY(point, 0))
    }

    /// The bounding box.
    public var envelope: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        var envelope = OGREnvelope()
        OGR_G_GetEnvelope(handle, &envelope)
        return (envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY)
    }

    /// Every ring of the polygons (exteriors and holes), as lists of (x, y); for point-in-polygon tests.
    public var allRings: [[(x: Double, y: Double)]] {
        var rings: [[(x: Double, y: Double)]] = []
        func polygonRing(_ polygon: OGRGeometryH) {
            for index in 0..<OGR_G_GetGeometryCount(polygon) {
                guard let ring = OGR_G_GetGeometryRef(polygon, index) else { continue }
                rings.append((0..<OGR_G_GetPointCount(ring)).map { (OGR_G_GetX(ring, $0), OGR_G_GetY(ring, $0)) })
            }
        }
        let flat = OGR_GT_Flatten(OGR_G_GetGeometryType(handle))
        if flat == wkbPolygon { polygonRing(handle) }
        else if flat == wkbMultiPolygon {
            for index in 0..<OGR_G_GetGeometryCount(handle) { polygonRing(OGR_G_GetGeometryRef(handle, index)) }
        }
        return rings
    }
}

/// A coordinate transformation between two CRSs (PROJ through OGR), longitude first for geographic systems.
public final class CoordinateTransformation: @unchecked Sendable {  // immutable; each use makes its own, never shared by two threads at once
    let handle: OGRCoordinateTransformationH
    public let source: SpatialReference
    public let target: SpatialReference

    public init(from source: SpatialReference, to target: SpatialReference) throws(GDALError) {
        CPLErrorReset()
        guard let handle = OCTNewCoordinateTransformation(source.handle, target.handle) else {
            throw GDALError(kind: .spatialReference, operation: "cannot transform coordinates from \(source.label) to \(target.label)",
                            gdalMessage: lastGDALErrorMessage())
        }
        self.handle = handle
        self.source = source
        self.target = target
    }

    deinit { OCTDestroyCoordinateTransformation(handle) }

    /// Transforms one point.
    public func transform(x: Double, y: Double) throws(GDALError) -> (x: Double, y: Double) {
        var xs = x, ys = y, zs = 0.0
        guard OCTTransform(handle, 1, &xs, &ys, &zs) != 0, xs.isFinite, ys.isFinite else {
            throw GDALError(kind: .spatialReference, operation: "cannot transform (\(x), \(y)) from \(source.label) to \(target.label)")
        }
        return (xs, ys)
    }
}

extension SpatialReference {
    /// A copy of an OGR-owned spatial reference, longitude first.
    static func copying(_ handle: OGRSpatialReferenceH) -> SpatialReference? {
        guard let clone = OSRClone(handle) else { return nil }
        return SpatialReference(adopting: clone)
    }

    /// WGS 84 longitude/latitude (EPSG:4326), longitude first.
    public static func wgs84() -> SpatialReference {
        // EPSG:4326 is in every PROJ database GDAL ships with.
        try! SpatialReference(definition: "EPSG:4326")
    }
}

extension Geometry {
    /// One multipolygon of several polygons (the pieces polygonize gives for one patch).
    public static func multiPolygon(_ parts: [Geometry]) -> Geometry {
        let multi = OGR_G_CreateGeometry(wkbMultiPolygon)!
        for part in parts {
            let flat = OGR_GT_Flatten(OGR_G_GetGeometryType(part.handle))
            if flat == wkbPolygon { OGR_G_AddGeometry(multi, part.handle) }
            else if flat == wkbMultiPolygon {
                for index in 0..<OGR_G_GetGeometryCount(part.handle) { OGR_G_AddGeometry(multi, OGR_G_GetGeometryRef(part.handle, index)) }
            }
        }
        return Geometry(owning: multi)
    }
}

extension Geometry {
    /// Which pixel centres of `window` (on a grid with `transform`) lie inside the polygon, even-odd over every ring:
    /// row-major, `window.pixelCount` values.
    public func pixelCentresInside(_ window: Window, transform: GeoTransform) -> [Bool] {
        var inside = [Bool](repeating: false, count: window.pixelCount)
        let rings = allRings
        for row in 0..<window.height {
            let y = transform.originY + (Double(window.rowOffset + row) + 0.5) * transform.pixelHeight
            for col in 0..<window.width {
                let x = transform.originX + (Double(window.colOffset + col) + 0.5) * transform.pixelWidth
                var crossings = 0
                for ring in rings where ring.count > 2 {
                    var j = ring.count - 1
                    for i in 0..<ring.count {
                        let (xi, yi) = ring[i], (xj, yj) = ring[j]
                        if (yi > y) != (yj > y), x < (xj - xi) * (y - yi) / (yj - yi) + xi { crossings += 1 }
                        j = i
                    }
                }
                inside[row * window.width + col] = crossings % 2 == 1
            }
        }
        return inside
    }
}
