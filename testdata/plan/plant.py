#!/usr/bin/env python3
"""Plants the changes of planted.json into a copy of the real Landsat 8 scene of 2013-07-07 (testdata/marburg-landsat),
as the compliance tests do: every reflective band (B2-B7) of each listed pixel takes the value of that band at the
source pixel (village roofs). The copy (MTL, BQA and the six bands) goes into the folder given, for `make demo`'s
field package: a real pair of this scene shows no change to send inspectors to.

Usage: python3 testdata/plan/plant.py OUT_FOLDER
"""
import json
import os
import shutil
import sys

from osgeo import gdal

gdal.UseExceptions()
HERE = os.path.dirname(os.path.abspath(__file__))
SCENE = os.path.join(HERE, "..", "marburg-landsat")
L8 = "LC08_L1TP_195025_20130707_20170503_01_T1"


def main(out):
    truth = json.load(open(os.path.join(HERE, "planted.json")))
    os.makedirs(out, exist_ok=True)
    for suffix in ("MTL.txt", "BQA.TIF"):
        shutil.copyfile(os.path.join(SCENE, f"{L8}_{suffix}"), os.path.join(out, f"{L8}_{suffix}"))
    source = truth["source_pixel"]
    for band in range(2, 8):
        target = os.path.join(out, f"{L8}_B{band}.TIF")
        shutil.copyfile(os.path.join(SCENE, f"{L8}_B{band}.TIF"), target)
        dataset = gdal.Open(target, gdal.GA_Update)
        pixels = dataset.GetRasterBand(1).ReadAsArray()
        roof = pixels[source["row"], source["col"]]
        for patch in truth["patches"]:
            pixels[patch["rows"][0]:patch["rows"][1], patch["cols"][0]:patch["cols"][1]] = roof
        dataset.GetRasterBand(1).WriteArray(pixels)
        dataset = None
    print(f"planted {len(truth['patches'])} changes into a copy of {L8} in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1])
