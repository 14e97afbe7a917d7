#!/usr/bin/python3
"""Compares the outputs of an unsharded run (first folder) with those of a merge (second folder); used by
check_pipelines.sh (make shard-check). Rasters pixel for pixel (NaN equal to NaN), GeoPackages by the rows of their
tables, other files byte for byte; run.json, report/ and stac/ are left out (they hold times and the run's own path).
Prints one line per difference and a summary; exits 1 when anything differs."""
import os
import sqlite3
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def files(root):
    found = set()
    for folder, _, names in os.walk(root):
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), root)
            if relative != "run.json" and not relative.startswith((".landwatch", "report" + os.sep, "stac" + os.sep)):
                found.add(relative)
    return found


def gpkg_rows(path):
    connection = sqlite3.connect(path)
    tables = [name for (name,) in connection.execute(
        "select name from sqlite_master where type = 'table' and name not like 'gpkg%' and name not like 'rtree%' "
        "and name not like 'sqlite%'")]
    return {table: sorted(connection.execute(f'select * from "{table}"').fetchall()) for table in tables}


def same_raster(a, b):
    x, y = gdal.Open(a).ReadAsArray(), gdal.Open(b).ReadAsArray()
    if x.shape != y.shape or x.dtype != y.dtype:
        return f"shape or type {x.shape} {x.dtype} against {y.shape} {y.dtype}"
    differ = ~((x == y) | (np.isnan(x) & np.isnan(y))) if x.dtype.kind == "f" else x != y
    return None if not differ.any() else f"{int(differ.sum())} of {x.size} values differ"


whole, merged = sys.argv[1:3]
a, b = files(whole), files(merged)
problems = [f"only in {whole}: {name}" for name in sorted(a - b)] + [f"only in {merged}: {name}" for name in sorted(b - a)]
differing = 0
for name in sorted(a & b):
    pa, pb = os.path.join(whole, name), os.path.join(merged, name)
    if name.endswith((".tif", ".tiff")):
        difference = same_raster(pa, pb)
    elif name.endswith(".gpkg"):
        difference = None if gpkg_rows(pa) == gpkg_rows(pb) else "rows differ"
    else:
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            difference = None if fa.read() == fb.read() else "bytes differ"
    if difference:
        differing += 1
        problems.append(f"{name}: {difference}")
for line in problems:
    print(line)
print(f"{len(a & b) - differing} files the same, {len(problems)} differences")
sys.exit(1 if problems else 0)
