#!/usr/bin/python3
"""Inputs of the enforcement benchmark, made once in bench/work/ (run by bench/run.sh).

- after.tif: the 10980 x 10980 before scene (work/input.tif, the real Zion Landsat 8 bands enlarged) with 3000
  rectangles of 2 x 2 to 40 x 40 pixels overwritten by the four band values of a real bright, bare pixel of the same
  scene (what new roofs and cleared ground look like to the classifier): a second date with known construction.
- plan/: red line (CGCS2000, EPSG:4490), basic farmland and approvals (UTM 12N), urban boundary (WGS84), as
  GeoJSON and GeoPackage, with polygons placed by a fixed random seed over the scene.
"""
import os
import random
import numpy
from osgeo import gdal, ogr, osr

WORK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "work"))
SOURCE = os.path.join(WORK, "input.tif")
AFTER = os.path.join(WORK, "after.tif")
PLAN = os.path.join(WORK, "plan")
random.seed(2026)

src = gdal.Open(SOURCE)
width, height = src.RasterXSize, src.RasterYSize
gt = src.GetGeoTransform()

# A real pixel the bench rules call built-up: NDVI < 0.2 and red reflectance > 0.15.
probe = [src.GetRasterBand(b).ReadAsArray(0, 0, width, 2048).astype(numpy.float64) * 2e-5 - 0.1 for b in (1, 2, 3, 4)]
ndvi = (probe[3] - probe[2]) / (probe[3] + probe[2] + 1e-9)
candidates = numpy.argwhere((ndvi < 0.15) & (probe[2] > 0.2) & (probe[0] < 1.0))
row, col = candidates[len(candidates) // 2]
roof = [int(src.GetRasterBand(b).ReadAsArray(int(col), int(row), 1, 1)[0, 0]) for b in (1, 2, 3, 4)]

rects = []
for _ in range(3000):
    w, h = random.randint(2, 40), random.randint(2, 40)
    rects.append((random.randint(0, width - w), random.randint(0, height - h), w, h))

if not os.path.exists(AFTER):
    print(f"bench: generating work/after.tif (3000 planted rectangles, roof DNs {roof} from pixel {row},{col})")
    driver = gdal.GetDriverByName("GTiff")
    out = driver.Create(AFTER + ".tmp", width, height, 4, gdal.GDT_UInt16,
                        ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "INTERLEAVE=BAND", "BIGTIFF=YES"])
    out.SetGeoTransform(gt)
    out.SetProjection(src.GetProjection())
    for b in range(1, 5):
        out.GetRasterBand(b).SetNoDataValue(65535)
    for y0 in range(0, height, 1024):
        rows = min(1024, height - y0)
        for b in range(1, 5):
            block = src.GetRasterBand(b).ReadAsArray(0, y0, width, rows)
            for (x, y, w, h) in rects:
                if y + h <= y0 or y >= y0 + rows:
                    continue
                a, z = max(y, y0), min(y + h, y0 + rows)
                block[a - y0:z - y0, x:x + w] = roof[b - 1]
            out.GetRasterBand(b).WriteArray(block, 0, y0)
    out = None
    os.rename(AFTER + ".tmp", AFTER)

if not os.path.exists(os.path.join(PLAN, "approvals.gpkg")):
    os.makedirs(PLAN, exist_ok=True)
    utm = osr.SpatialReference(); utm.ImportFromWkt(src.GetProjection())

    def rectangle(x, y, w, h):
        ring = ogr.Geometry(ogr.wkbLinearRing)
        xa, ya = gt[0] + x * gt[1], gt[3] + y * gt[5]
        xb, yb = gt[0] + (x + w) * gt[1], gt[3] + (y + h) * gt[5]
        for px, py in [(xa, yb), (xb, yb), (xb, ya), (xa, ya), (xa, yb)]:
            ring.AddPoint_2D(px, py)
        polygon = ogr.Geometry(ogr.wkbPolygon); polygon.AddGeometry(ring)
        polygon.Segmentize(200)
        return polygon

    def write(name, epsg, polygons):
        target = osr.SpatialReference(); target.ImportFromEPSG(epsg)
        target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(utm, target)
        driver = ogr.GetDriverByName("GeoJSON" if name.endswith("geojson") else "GPKG")
        ds = driver.CreateDataSource(os.path.join(PLAN, name))
        layer = ds.CreateLayer(name.split(".")[0], target, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
        for index, polygon in enumerate(polygons):
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("name", f"{name.split('.')[0]}-{index + 1}")
            g = polygon.Clone(); g.Transform(transform)
            feature.SetGeometry(g)
            layer.CreateFeature(feature)
        ds = None

    def scattered(count, low, high):
        out = []
        for _ in range(count):
            w, h = random.randint(low, high), random.randint(low, high)
            out.append(rectangle(random.randint(0, width - w), random.randint(0, height - h), w, h))
        return out

    write("redline.geojson", 4490, scattered(40, 300, 1200))
    write("basic_farmland.gpkg", int(utm.GetAuthorityCode(None) or 32612), scattered(300, 100, 600))
    write("urban_boundary.geojson", 4326, [rectangle(width // 4, height // 4, width // 2, height // 2)])
    # Approvals over a third of the planted rectangles, as a bureau's approved projects would be.
    write("approvals.gpkg", int(utm.GetAuthorityCode(None) or 32612),
          [rectangle(x - 2, y - 2, w + 4, h + 4) for (x, y, w, h) in rects[::3]])
    print("bench: wrote the benchmark plan in work/plan/")
