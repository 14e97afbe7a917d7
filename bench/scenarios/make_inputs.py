#!/usr/bin/python3
"""Inputs of the land-use simulation bench (bench/scenarios.sh), in bench/work/scenarios/, made once from real data:

- before.tif: the Zion NLCD 2011 land cover (testdata/zion-landsat8/nlcd.tif, 8 classes) on a 10980 x 10980 grid
  (nearest neighbour, 3.2 m cells over the same extent), recoded to the product's legend (1 water -> 4, 2 developed -> 5,
  3 barren -> 6, 4 forest -> 2, 5 shrubland and 6 herbaceous -> 3, 7 cultivated -> 1, 8 wetlands -> 4);
- after.tif: a planted decade of growth: each cell of cropland, grassland or bare land with a built-up cell among its
  eight neighbours in before.tif becomes built-up with probability 0.35 (a fixed hash of its position);
- dem.tif: the Zion SRTM elevation warped onto the same grid (bilinear).
All Byte/Float32 GeoTIFFs tiled 512 x 512, uncompressed. Written in bands of rows: memory stays ~100 MB.
"""
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZION = os.path.join(ROOT, "testdata", "zion-landsat8")
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "bench", "work", "scenarios")  # tests give their own
SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 10980
os.makedirs(WORK, exist_ok=True)


def current(name):
    """True when WORK/name exists at the size asked for (a folder made for another size is made again)."""
    path = os.path.join(WORK, name)
    return os.path.exists(path) and gdal.Open(path).RasterXSize == SIZE
OPTIONS = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=IF_SAFER"]
LOOKUP = np.array([0, 4, 5, 6, 2, 3, 3, 1, 4] + [0] * 247, dtype=np.uint8)


def target(name, dtype, like):
    path = os.path.join(WORK, name)
    ds = gdal.GetDriverByName("GTiff").Create(path + ".tmp", SIZE, SIZE, 1, dtype, OPTIONS)
    ds.SetGeoTransform(like.GetGeoTransform())
    ds.SetProjection(like.GetProjection())
    return ds, path


def done(ds, path):
    ds.FlushCache()
    ds = None
    os.replace(path + ".tmp", path)


before_path = os.path.join(WORK, "before.tif")
if not current("before.tif") or not current("after.tif"):
    vrt = os.path.join(WORK, "nlcd.vrt")
    gdal.Warp(vrt, os.path.join(ZION, "nlcd.tif"), format="VRT", width=SIZE, height=SIZE, resampleAlg="near")
    source = gdal.Open(vrt)
    before, _ = target("before.tif", gdal.GDT_Byte, source)
    after, after_path = target("after.tif", gdal.GDT_Byte, source)
    before.GetRasterBand(1).SetNoDataValue(0)
    after.GetRasterBand(1).SetNoDataValue(0)
    rows = 512
    band = source.GetRasterBand(1)
    for r0 in range(0, SIZE, rows):
        r1 = min(SIZE, r0 + rows)
        a0, a1 = max(0, r0 - 1), min(SIZE, r1 + 1)
        block = LOOKUP[band.ReadAsArray(0, a0, SIZE, a1 - a0).astype(np.int64)]
        built = block == 5
        near = np.zeros_like(built)
        padded = np.pad(built, 1)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    near |= padded[1 + dy:1 + dy + built.shape[0], 1 + dx:1 + dx + built.shape[1]]
        y, x = np.mgrid[a0:a1, 0:SIZE]
        index = (y.astype(np.uint64) * np.uint64(SIZE) + x.astype(np.uint64))
        h = (index * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
        chance = (h & np.uint64(0xFFFF)).astype(np.float64) / 65536.0
        grows = near & np.isin(block, [1, 3, 6]) & (chance < 0.35)
        later = np.where(grows, np.uint8(5), block)
        top = r0 - a0
        before.GetRasterBand(1).WriteArray(block[top:top + (r1 - r0)], 0, r0)
        after.GetRasterBand(1).WriteArray(later[top:top + (r1 - r0)], 0, r0)
    done(before, before_path)
    done(after, after_path)
    os.remove(vrt)

dem_path = os.path.join(WORK, "dem.tif")
if not current("dem.tif"):
    like = gdal.Open(before_path)
    gt = like.GetGeoTransform()
    bounds = (gt[0], gt[3] + gt[5] * SIZE, gt[0] + gt[1] * SIZE, gt[3])
    gdal.Warp(dem_path + ".tmp.tif", os.path.join(ZION, "srtm.tif"), format="GTiff", dstSRS=like.GetProjection(),
              outputBounds=bounds, width=SIZE, height=SIZE, resampleAlg="bilinear", outputType=gdal.GDT_Float32,
              dstNodata=float("nan"), creationOptions=OPTIONS)
    os.replace(dem_path + ".tmp.tif", dem_path)
print(f"bench: scenario inputs in {WORK} ({SIZE} x {SIZE})")
