#!/usr/bin/python3
"""The zonal-statistics peer: what a notebook does. The zones are reprojected and rasterised with GDAL's tools
(ogr2ogr, gdal_rasterize), the arrays read whole, NDVI computed with numpy and summed per zone with bincount
(count, mean, std; min and max with numpy's ufunc.at). Usage: numpy_zonal.py INPUT.tif ZONES.gpkg OUT_DIR"""
import csv
import os
import subprocess
import sys
import numpy
from osgeo import gdal

source, zones, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
ds = gdal.Open(source)
gt = ds.GetGeoTransform()
srs = ds.GetProjection()
subprocess.run(["ogr2ogr", "-f", "GPKG", "-t_srs", srs, "-overwrite", "-dialect", "SQLite", "-sql", "SELECT fid + 0 AS zid, geom FROM zones",
                "-nln", "zones", f"{out}/zones_utm.gpkg", zones], check=True)
xmin, ymax = gt[0], gt[3]
xmax, ymin = xmin + gt[1] * ds.RasterXSize, ymax + gt[5] * ds.RasterYSize
subprocess.run(["gdal_rasterize", "-q", "-a", "zid", "-init", "0", "-ot", "UInt16", "-te", str(xmin), str(ymin), str(xmax), str(ymax),
                "-ts", str(ds.RasterXSize), str(ds.RasterYSize), "-co", "TILED=YES", "-co", "COMPRESS=ZSTD",
                f"{out}/zones_utm.gpkg", f"{out}/zones.tif"], check=True)
zone = gdal.Open(f"{out}/zones.tif").ReadAsArray().ravel()
red = ds.GetRasterBand(3).ReadAsArray().astype(numpy.float32).ravel()
nir = ds.GetRasterBand(4).ReadAsArray().astype(numpy.float32).ravel()
valid = (red != 65535) & (nir != 65535)
red = red * 2e-5 - 0.1
nir = nir * 2e-5 - 0.1
with numpy.errstate(divide="ignore", invalid="ignore"):
    ndvi = (nir - red) / (nir + red)
valid &= numpy.isfinite(ndvi) & (zone > 0)
z, v = zone[valid], ndvi[valid].astype(numpy.float64)
n = int(zone.max()) + 1
count = numpy.bincount(z, minlength=n)
total = numpy.bincount(z, weights=v, minlength=n)
squares = numpy.bincount(z, weights=v * v, minlength=n)
low = numpy.full(n, numpy.inf); numpy.minimum.at(low, z, v)
high = numpy.full(n, -numpy.inf); numpy.maximum.at(high, z, v)
with open(f"{out}/zonal.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["zone", "pixels", "mean", "min", "max", "std"])
    for i in range(1, n):
        if count[i]:
            mean = total[i] / count[i]
            writer.writerow([i, count[i], mean, low[i], high[i], max(squares[i] / count[i] - mean * mean, 0) ** 0.5])
