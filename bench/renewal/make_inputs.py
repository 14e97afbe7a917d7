#!/usr/bin/python3
"""Input of the green-access bench (bench/renewal.sh), in bench/work/renewal/, made once from real data:

- landcover.tif: the Zion NLCD 2011 land cover (testdata/zion-landsat8/nlcd.tif, 8 classes) over its top-left
  33.8 x 33.8 km square, on SIZE x SIZE square cells (nearest neighbour: 3.08 m at 10980), recoded to the product's
  legend (1 water -> 4 water, 2 developed -> 5 built-up, 3 barren -> 6 bare, 4 forest -> 2 forest, 5 shrubland and
  6 herbaceous -> 3 grassland, 7 cultivated -> 1 cropland, 8 wetlands -> 4 water). Byte, tiled 512 x 512,
  uncompressed, nodata 0. Written in bands of rows: memory stays ~100 MB.
Usage: make_inputs.py [SIZE] [WORK]
"""
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 10980
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "bench", "work", "renewal")
NLCD = os.path.join(ROOT, "testdata", "zion-landsat8", "nlcd.tif")
LOOKUP = np.array([0, 4, 5, 6, 2, 3, 3, 1, 4] + [0] * 247, dtype=np.uint8)
os.makedirs(WORK, exist_ok=True)
path = os.path.join(WORK, "landcover.tif")
if os.path.exists(path) and gdal.Open(path).RasterXSize == SIZE:
    print(f"bench: {path} exists ({SIZE} x {SIZE})")
    sys.exit(0)
source = gdal.Open(NLCD)
gt = source.GetGeoTransform()
side = min(source.RasterXSize * gt[1], source.RasterYSize * -gt[5])
pixel = round(side / SIZE, 2) if SIZE == 10980 else side / SIZE
x0, y1 = gt[0], gt[3]
bounds = (x0, y1 - pixel * SIZE, x0 + pixel * SIZE, y1)
vrt = os.path.join(WORK, "nlcd.vrt")
gdal.Warp(vrt, source, format="VRT", outputBounds=bounds, width=SIZE, height=SIZE, resampleAlg="near")
warped = gdal.Open(vrt)
out = gdal.GetDriverByName("GTiff").Create(path + ".tmp", SIZE, SIZE, 1, gdal.GDT_Byte,
                                           ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=IF_SAFER"])
out.SetGeoTransform(warped.GetGeoTransform())
out.SetProjection(warped.GetProjection())
band = out.GetRasterBand(1)
band.SetNoDataValue(0)
counts = np.zeros(256, dtype=np.int64)
for r0 in range(0, SIZE, 512):
    rows = min(512, SIZE - r0)
    block = LOOKUP[warped.GetRasterBand(1).ReadAsArray(0, r0, SIZE, rows).astype(np.int64)]
    counts += np.bincount(block.ravel(), minlength=256)
    band.WriteArray(block, 0, r0)
out.FlushCache()
out = None
os.replace(path + ".tmp", path)
os.remove(vrt)
names = {1: "cropland", 2: "forest", 3: "grassland", 4: "water", 5: "built-up", 6: "bare"}
print(f"bench: {path} ({SIZE} x {SIZE}, {pixel:.2f} m cells): "
      + ", ".join(f"{names[c]} {counts[c] / SIZE / SIZE:.1%}" for c in names))
