"""Plan layers for a scene, written in the formats and CRSs bureaus deliver, and read back onto the scene grid.

Shapes are drawn in fractions of the scene (the same layout on every scene) so that each layer covers part of it
and planted patches fall inside and outside each; they are written in other CRSs than the scene's to exercise
landwatch's reprojection, and the truth of "inside" is taken from the written files themselves (read back,
reprojected, rasterised by pixel centre; approvals by every touched pixel, as the pipeline reads them).
"""
from __future__ import annotations

import os

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

# Planned-use codes that allow construction (read.plan's default, 2023 classification first level).
CONSTRUCTION_CODES = ["07", "08", "09", "10", "11", "12", "13", "15"]

# (col, row) fractions of the scene.
REDLINE = [[(0.02, 0.02), (0.42, 0.02), (0.46, 0.30), (0.30, 0.56), (0.02, 0.50)]]
FARMLAND = [[(0.30, 0.40), (0.70, 0.40), (0.70, 0.76), (0.30, 0.76)],
            [(0.72, 0.04), (0.98, 0.04), (0.98, 0.36), (0.72, 0.36)]]
URBAN = [[(0.50, 0.46), (0.98, 0.46), (0.98, 0.98), (0.18, 0.98), (0.18, 0.82), (0.50, 0.82)]]
ZONING = [("ZN-1", "居住用地 residential", "0701", [(0.50, 0.46), (0.98, 0.46), (0.98, 0.72), (0.50, 0.72)]),
          ("ZN-2", "公园绿地 green space", "1401", [(0.50, 0.72), (0.98, 0.72), (0.98, 0.98), (0.50, 0.98)]),
          ("ZN-3", "工业用地 industrial", "1001", [(0.18, 0.82), (0.50, 0.82), (0.50, 0.98), (0.18, 0.98)])]
ZONES = [("Z-NW", "西北片区"), ("Z-NE", "东北片区"), ("Z-SW", "西南片区"), ("Z-SE", "东南片区")]

# File, CRS (None: the scene's), id/name fields: as the template's read.plan stages expect them.
LAYERS = {
    "redline": ("redline.geojson", "EPSG:4490"),
    "basic_farmland": ("basic_farmland.gpkg", "EPSG:4326"),
    "urban_boundary": ("urban_boundary.gpkg", "EPSG:3857"),
    "zoning": ("zoning.gpkg", None),
    "approvals": ("approvals.geojson", "EPSG:4326"),
    "zones": ("zones.gpkg", "EPSG:4490"),
}


def _srs(text_or_wkt: str) -> osr.SpatialReference:
    s = osr.SpatialReference()
    if text_or_wkt.startswith("EPSG:"):
        s.ImportFromEPSG(int(text_or_wkt[5:]))
    else:
        s.ImportFromWkt(text_or_wkt)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def _ring(scene, points, pixel=False):
    """A polygon from (col, row) fractions of the scene (or pixel edges when pixel=True) in the scene CRS,
    densified so that it keeps its shape in a geographic CRS."""
    h, w = scene.shape
    gt = scene.gt
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for c, r in list(points) + [points[0]]:
        col, row = (c, r) if pixel else (round(c * w), round(r * h))
        ring.AddPoint_2D(gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5])
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    poly.Segmentize(abs(gt[1]))
    return poly


def _write(path, scene, crs, fields, features):
    """features: list of (values dict, polygon in the scene CRS)."""
    if os.path.exists(path):
        os.remove(path)
    driver = ogr.GetDriverByName("GeoJSON" if path.endswith(".geojson") else "GPKG")
    ds = driver.CreateDataSource(path)
    src = _srs(scene.wkt)
    dst = _srs(crs) if crs else src
    options = ["RFC7946=YES"] if path.endswith(".geojson") and crs == "EPSG:4326" else []
    layer = ds.CreateLayer(os.path.splitext(os.path.basename(path))[0], dst, ogr.wkbPolygon, options=options)
    for name in fields:
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    transform = osr.CoordinateTransformation(src, dst)
    for values, poly in features:
        g = poly.Clone()
        g.Transform(transform)
        f = ogr.Feature(layer.GetLayerDefn())
        for k, v in values.items():
            f.SetField(k, v)
        f.SetGeometry(g)
        layer.CreateFeature(f)
    ds = None


def write_fixed_layers(scene, folder):
    """Red line, basic farmland, urban boundary, zoning and zones: the same for every seed of a scene."""
    os.makedirs(folder, exist_ok=True)
    p = lambda role: os.path.join(folder, LAYERS[role][0])
    crs = lambda role: LAYERS[role][1]
    _write(p("redline"), scene, crs("redline"), ["hx_id", "name"],
           [({"hx_id": f"HX-{i + 1}", "name": f"生态保护红线 {i + 1}"}, _ring(scene, r)) for i, r in enumerate(REDLINE)])
    _write(p("basic_farmland"), scene, crs("basic_farmland"), ["jbnt_id", "name"],
           [({"jbnt_id": f"JB-{i + 1}", "name": f"永久基本农田 {i + 1}"}, _ring(scene, r)) for i, r in enumerate(FARMLAND)])
    _write(p("urban_boundary"), scene, crs("urban_boundary"), ["name"],
           [({"name": "城镇开发边界"}, _ring(scene, r)) for r in URBAN])
    _write(p("zoning"), scene, crs("zoning"), ["zone_id", "use_name", "use_code"],
           [({"zone_id": z, "use_name": n, "use_code": c}, _ring(scene, r)) for z, n, c, r in ZONING])
    quads = [[(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)], [(0.5, 0), (1, 0), (1, 0.5), (0.5, 0.5)],
             [(0, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)], [(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 1)]]
    _write(p("zones"), scene, crs("zones"), ["code", "name"],
           [({"code": c, "name": n}, _ring(scene, q)) for (c, n), q in zip(ZONES, quads)])


def write_approvals(scene, folder, boxes):
    """boxes: list of (pz_no, kind, (row0, col0, row1, col1)) in pixel edges (row1/col1 exclusive)."""
    feats = []
    for pz, kind, (r0, c0, r1, c1) in boxes:
        pts = [(c0, r0), (c1, r0), (c1, r1), (c0, r1)]
        feats.append(({"pz_no": pz, "kind": kind}, _ring(scene, pts, pixel=True)))
    _write(os.path.join(folder, LAYERS["approvals"][0]), scene, LAYERS["approvals"][1], ["pz_no", "kind"], feats)


def rasterise(scene, path, all_touched=False, attribute=None, values=None):
    """A layer read back from its file, reprojected onto the scene grid: 1 inside (or values[feature index]+1)."""
    h, w = scene.shape
    ds = ogr.Open(path)
    src_layer = ds.GetLayer(0)
    src = src_layer.GetSpatialRef().Clone()
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = _srs(scene.wkt)
    transform = osr.CoordinateTransformation(src, dst)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = mem.CreateLayer("l", dst, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    for i, f in enumerate(src_layer):
        g = f.GetGeometryRef().Clone()
        g.Transform(transform)
        nf = ogr.Feature(layer.GetLayerDefn())
        nf.SetField("v", int(values(f) if values else i + 1))
        nf.SetGeometry(g)
        layer.CreateFeature(nf)
    raster = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Int32)
    raster.SetGeoTransform(scene.gt)
    raster.SetProjection(scene.wkt)
    opts = ["ATTRIBUTE=v"] + (["ALL_TOUCHED=TRUE"] if all_touched else [])
    gdal.RasterizeLayer(raster, [1], layer, options=opts)
    a = raster.GetRasterBand(1).ReadAsArray()
    raster = None
    mem = None
    ds = None
    return a


def membership(scene, folder):
    """Per pixel: inside the red line, basic farmland, urban boundary, zoned for non-construction (bool arrays)."""
    p = lambda role: os.path.join(folder, LAYERS[role][0])
    nc = lambda f: 0 if any(str(f.GetField("use_code")).startswith(c) for c in CONSTRUCTION_CODES) else 1
    return {
        "redline": rasterise(scene, p("redline")) > 0,
        "basic_farmland": rasterise(scene, p("basic_farmland")) > 0,
        "urban_boundary": rasterise(scene, p("urban_boundary")) > 0,
        "zoned_non_construction": rasterise(scene, p("zoning"), values=lambda f: nc(f) + 1) == 2,
    }
