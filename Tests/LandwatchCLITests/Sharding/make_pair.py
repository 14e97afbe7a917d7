#!/usr/bin/python3
"""Fixture of the sharding test (ShardRunTests), written into the folder given as the only argument.

- before.tif: the real Zion Landsat 8 bands 2-5 (testdata/zion-landsat8, 1128 x 1428, UInt16 DN) as one stack.
- after.tif: the same with 60 rectangles of 2 x 2 to 30 x 30 pixels overwritten by the DNs of a real bright, bare
  pixel of the scene (what the rules call built-up), a dozen of them straddling rows 357, 714 and 1071 (where four
  shards of the scene meet) so that patches are cut by shard borders.
- plan/redline.geojson (EPSG:4326) and plan/urban_boundary.gpkg (UTM 12N): a red line over the scene's west, an
  urban boundary over its centre.
- plan/basic_farmland.gpkg (UTM 12N): farmland over the east of rows 100..250, inside the first shard's rows only.
"""
import os
import random
import sys
import numpy
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
target = sys.argv[1]
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
zion = os.path.join(root, "testdata", "zion-landsat8")
bands = [gdal.Open(os.path.join(zion, f"landsat_b{b}.tif")) for b in (2, 3, 4, 5)]
width, height = bands[0].RasterXSize, bands[0].RasterYSize
gt, wkt = bands[0].GetGeoTransform(), bands[0].GetProjection()
data = [b.GetRasterBand(1).ReadAsArray().astype(numpy.uint16) for b in bands]
nodata = bands[0].GetRasterBand(1).GetNoDataValue()

reflectance = [d.astype(numpy.float64) * 2e-5 - 0.1 for d in data]
ndvi = (reflectance[3] - reflectance[2]) / (reflectance[3] + reflectance[2] + 1e-9)
valid = numpy.all([d != (nodata if nodata is not None else 65535) for d in data], axis=0) & numpy.all([d > 0 for d in data], axis=0)
candidates = numpy.argwhere((ndvi < 0.15) & (reflectance[2] > 0.2) & valid)
row, col = candidates[len(candidates) // 2]
roof = [int(d[row, col]) for d in data]

random.seed(8)
rects = []
for border in (357, 714, 1071):
    for _ in range(4):
        w, h = random.randint(3, 30), random.randint(2, 30)
        y = border - random.randint(1, h - 1)
        rects.append((random.randint(0, width - w), y, w, h))
while len(rects) < 60:
    w, h = random.randint(2, 30), random.randint(2, 30)
    rects.append((random.randint(0, width - w), random.randint(0, height - h), w, h))

driver = gdal.GetDriverByName("GTiff")
for name, planted in (("before.tif", False), ("after.tif", True)):
    out = driver.Create(os.path.join(target, name + ".tmp"), width, height, 4, gdal.GDT_UInt16,
                        ["TILED=YES", "COMPRESS=DEFLATE", "INTERLEAVE=BAND"])
    out.SetGeoTransform(gt)
    out.SetProjection(wkt)
    for index, values in enumerate(data):
        values = values.copy()
        if planted:
            for (x, y, w, h) in rects:
                values[y:y + h, x:x + w] = roof[index]
        band = out.GetRasterBand(index + 1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(values)
    out = None
    os.rename(os.path.join(target, name + ".tmp"), os.path.join(target, name))

os.makedirs(os.path.join(target, "plan"), exist_ok=True)
utm = osr.SpatialReference()
utm.ImportFromWkt(wkt)


def rectangle(x0, y0, x1, y1):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    xa, ya, xb, yb = gt[0] + x0 * gt[1], gt[3] + y0 * gt[5], gt[0] + x1 * gt[1], gt[3] + y1 * gt[5]
    for px, py in [(xa, yb), (xb, yb), (xb, ya), (xa, ya), (xa, yb)]:
        ring.AddPoint_2D(px, py)
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    polygon.Segmentize(300)
    return polygon


def write(name, epsg, polygon, label):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    polygon = polygon.Clone()
    polygon.Transform(osr.CoordinateTransformation(utm, srs))
    driver = ogr.GetDriverByName("GeoJSON" if name.endswith("geojson") else "GPKG")
    ds = driver.CreateDataSource(os.path.join(target, "plan", name))
    layer = ds.CreateLayer(name.split(".")[0], srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("name", label)
    feature.SetGeometry(polygon)
    layer.CreateFeature(feature)
    ds = None


write("redline.geojson", 4326, rectangle(0, 0, width // 3, height), "west red line")
write("urban_boundary.gpkg", utm.GetAuthorityCode(None) and int(utm.GetAuthorityCode(None)) or 32612,
      rectangle(width // 3, height // 4, 2 * width // 3, 3 * height // 4), "town")
# Farmland in the east, in rows 100..250 only: it lies in the first shard's rows, none of the others' (each shard
# checks that a plan layer reaches the image against the whole run grid, not its own rows).
write("basic_farmland.gpkg", utm.GetAuthorityCode(None) and int(utm.GetAuthorityCode(None)) or 32612,
      rectangle(2 * width // 3, 100, width, 250), "east farmland")
print(f"made {target}: {width} x {height}, {len(rects)} planted rectangles, roof DNs {roof}")
