#!/usr/bin/python3
"""Draws the example plan layers of testdata/plan/ over the Marburg Landsat grid (testdata/marburg-landsat).

The polygons are invented (Marburg has no Chinese plan): rectangles in pixel rows and columns of the 41 x 41
scene at 30 m (EPSG:32632, origin 483285, 5628525), written in the CRSs and formats bureaus deliver:
red line in CGCS2000 (EPSG:4490) GeoJSON, basic farmland as a GBK-encoded Shapefile in UTM, the urban boundary in
Web Mercator, zoning and approvals as GeoPackage and GeoJSON, zones in CGCS2000 with Chinese names.
Run with Debian's python3 (GDAL bindings):  /usr/bin/python3 testdata/plan/make_plan.py
"""
import os
from osgeo import ogr, osr

HERE = os.path.dirname(os.path.abspath(__file__))
X0, Y0, PIXEL = 483285.0, 5628525.0, 30.0
UTM = osr.SpatialReference(); UTM.ImportFromEPSG(32632)


def srs(code):
    s = osr.SpatialReference(); s.ImportFromEPSG(code)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def rect(rows, cols):
    """Polygon covering pixel rows [r0, r1) and columns [c0, c1), in UTM, densified so it stays exact when reprojected."""
    (r0, r1), (c0, c1) = rows, cols
    xa, xb = X0 + PIXEL * c0, X0 + PIXEL * c1
    ya, yb = Y0 - PIXEL * r1, Y0 - PIXEL * r0
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in [(xa, ya), (xb, ya), (xb, yb), (xa, yb), (xa, ya)]:
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon); poly.AddGeometry(ring)
    poly.Segmentize(10.0)
    return poly


def write(name, driver, epsg, fields, features, options=()):
    path = os.path.join(HERE, name)
    drv = ogr.GetDriverByName(driver)
    if os.path.exists(path):
        drv.DeleteDataSource(path)
    ds = drv.CreateDataSource(path)
    target = srs(epsg)
    layer = ds.CreateLayer(os.path.splitext(name)[0], target, ogr.wkbPolygon, options=list(options))
    for field, kind in fields:
        layer.CreateField(ogr.FieldDefn(field, kind))
    transform = osr.CoordinateTransformation(UTM, target)
    for values, geometry in features:
        feature = ogr.Feature(layer.GetLayerDefn())
        for key, value in values.items():
            feature.SetField(key, value)
        g = geometry.Clone(); g.Transform(transform)
        feature.SetGeometry(g)
        layer.CreateFeature(feature)
    ds = None


S, I = ogr.OFTString, ogr.OFTInteger
write("redline.geojson", "GeoJSON", 4490, [("hx_id", S), ("name", S)],
      [({"hx_id": "HX-001", "name": "西山水源涵养生态保护红线"}, rect((28, 41), (0, 14)))])
write("basic_farmland.shp", "ESRI Shapefile", 32632, [("jbnt_id", S), ("name", S)],
      [({"jbnt_id": "JBNT-07", "name": "南坡永久基本农田保护片"}, rect((28, 41), (12, 26)))], options=["ENCODING=GBK"])
write("urban_boundary.gpkg", "GPKG", 3857, [("name", S)],
      [({"name": "中心城区城镇开发边界"}, rect((0, 22), (0, 41)))])
write("zoning.gpkg", "GPKG", 32632, [("zone_id", S), ("use_code", S), ("use_name", S)],
      [({"zone_id": "GH-01", "use_code": "0701", "use_name": "城镇住宅用地"}, rect((0, 22), (0, 41))),
       ({"zone_id": "GH-02", "use_code": "0301", "use_name": "乔木林地"}, rect((22, 41), (0, 41)))])
write("approvals.geojson", "GeoJSON", 4326, [("pz_no", S), ("kind", S)],
      [({"pz_no": "PZ-2012-031", "kind": "设施农用地"}, rect((30, 38), (29, 37)))])
write("zones.gpkg", "GPKG", 4490, [("code", S), ("name", S)],
      [({"code": "330102", "name": "城西区"}, rect((0, 41), (0, 20))),
       ({"code": "330103", "name": "城东区"}, rect((0, 41), (20, 41)))])
