#!/usr/bin/python3
"""The nightly fixtures, from the real Marburg Landsat 8 scene (2013-07-07):

- before.tif: its TOA reflectance (blue, green, red, NIR, SWIR1, SWIR2), written by make_pair.yaml.
- after.tif: the same with a 4 x 4 pixel patch (120 m x 120 m) inside the example red line (testdata/plan) given the
  spectrum of a real built-up pixel of the same scene (row 0, column 12): planted construction in protected forest.

Run: landwatch run testdata/nightly/make_pair.yaml --out /tmp/nightly-fixture
     /usr/bin/python3 testdata/nightly/make_pair.py /tmp/nightly-fixture
"""
import os
import shutil
import sys
from osgeo import gdal

gdal.UseExceptions()
here = os.path.dirname(os.path.abspath(__file__))
built = sys.argv[1]
redline = gdal.Open(os.path.join(built, "redline.tif")).ReadAsArray()
classes = gdal.Open(os.path.join(built, "classes.tif")).ReadAsArray()
rows, cols = slice(33, 37), slice(4, 8)
assert (redline[rows, cols] > 0).all(), "the patch must lie inside the red line"
assert (classes[rows, cols] != 5).all(), "the patch must not be built-up before"
assert classes[0, 12] == 5, "the donor pixel must be built-up"

gdal.Translate(os.path.join(here, "before.tif"), os.path.join(built, "before.tif"), creationOptions=["COMPRESS=DEFLATE"])
after = gdal.Translate(os.path.join(here, "after.tif"), os.path.join(built, "before.tif"), creationOptions=["COMPRESS=DEFLATE"])
for b in range(1, after.RasterCount + 1):
    band = after.GetRasterBand(b)
    values = band.ReadAsArray()
    values[rows, cols] = values[0, 12]
    band.WriteArray(values)
after = None
for name in ("before.tif", "after.tif"):
    aux = os.path.join(here, name + ".aux.xml")
    if os.path.exists(aux):
        os.remove(aux)
print("before.tif, after.tif written")
