#!/usr/bin/python3
"""Writes testdata/plan/proposals.gpkg: three proposed projects drawn by hand over the Marburg grid of the example plan
(make_plan.py: 41 x 41 pixels at 30 m, EPSG:32632, origin 483285, 5628525; red line rows 28-41 x columns 0-14, basic
farmland rows 28-41 x columns 12-26, urban boundary rows 0-22). Invented for plan.evaluate's tests, like the plan:
vertices at arbitrary points (not pixel edges), in CGCS2000 longitude/latitude (EPSG:4490; Marburg lies outside every
CGCS2000 Gauss-Krueger zone). Run with Debian's python3: /usr/bin/python3 testdata/plan/make_proposals.py
"""
import os
from osgeo import ogr, osr

HERE = os.path.dirname(os.path.abspath(__file__))
X0, Y0, PIXEL = 483285.0, 5628525.0, 30.0


def at(col, row):
    return X0 + PIXEL * col, Y0 - PIXEL * row


# (id, name, kind, outline in (column, row) of the pixel grid, fractional)
PROPOSALS = [
    ("XM-2025-01", "新建产业园", "industrial", [(24.3, 2.6), (37.8, 3.4), (36.1, 12.7), (29.5, 14.2), (23.7, 10.1)]),
    ("XM-2025-02", "旅游配套设施", "tourism", [(3.2, 23.5), (11.6, 24.1), (12.9, 33.8), (6.4, 35.2), (2.1, 30.7)]),
    ("XM-2025-03", "物流仓储项目", "storage", [(15.4, 29.2), (24.8, 30.6), (23.9, 38.3), (16.2, 37.4)]),
]

utm = osr.SpatialReference(); utm.ImportFromEPSG(32632)
target = osr.SpatialReference(); target.ImportFromEPSG(4490)
for s in (utm, target):
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
transform = osr.CoordinateTransformation(utm, target)
path = os.path.join(HERE, "proposals.gpkg")
if os.path.exists(path):
    os.remove(path)
ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
layer = ds.CreateLayer("proposals", target, ogr.wkbPolygon)
for field in ("xm_id", "name", "kind"):
    layer.CreateField(ogr.FieldDefn(field, ogr.OFTString))
for xm_id, name, kind, outline in PROPOSALS:
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for col, row in outline + outline[:1]:
        ring.AddPoint_2D(*at(col, row))
    polygon = ogr.Geometry(ogr.wkbPolygon); polygon.AddGeometry(ring)
    polygon.Segmentize(10.0)
    polygon.Transform(transform)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("xm_id", xm_id); feature.SetField("name", name); feature.SetField("kind", kind)
    feature.SetGeometry(polygon)
    layer.CreateFeature(feature)
ds = None
