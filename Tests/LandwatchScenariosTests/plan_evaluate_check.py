#!/usr/bin/python3
"""An independent computation of plan.evaluate's figures with OGR and numpy, for PlanEvaluateTests.

Usage: plan_evaluate_check.py CLASSES.tif PROPOSALS REDLINE BASIC_FARMLAND URBAN_BOUNDARY ZONES
Each layer is rasterised onto the grid of CLASSES.tif by gdal.Rasterize (pixel centres, reprojected by GDAL from the
layer's own CRS), the proposals as their feature number (reading order, from 1); the counts are numpy's. Prints JSON:
per proposal the areas in m2 and the lines crossed; per zone intensity and green coverage before and after.
Legend: 1 cropland, 2 forest, 3 grassland, 5 built-up (green: 1, 2, 3).
"""
import json
import sys

import numpy as np
from osgeo import gdal, ogr

gdal.UseExceptions()
classes_path, proposals_path, redline_path, farmland_path, boundary_path, zones_path = sys.argv[1:7]
grid = gdal.Open(classes_path)
classes = grid.GetRasterBand(1).ReadAsArray().astype(np.int64)
width, height = grid.RasterXSize, grid.RasterYSize
gt = grid.GetGeoTransform()
pixel = abs(gt[1] * gt[5])


def burn(path, numbered):
    """The layer rasterised: feature number (1-based, reading order) or 1 inside, 0 outside."""
    source = ogr.Open(path)
    layer = source.GetLayer(0)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    copy = memory.CreateLayer("l", layer.GetSpatialRef(), ogr.wkbPolygon)
    copy.CreateField(ogr.FieldDefn("n", ogr.OFTInteger))
    for number, feature in enumerate(layer, start=1):
        f = ogr.Feature(copy.GetLayerDefn())
        f.SetField("n", number if numbered else 1)
        f.SetGeometry(feature.GetGeometryRef().Clone())
        copy.CreateFeature(f)
    target = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Int32)
    target.SetGeoTransform(gt)
    target.SetProjection(grid.GetProjection())
    gdal.RasterizeLayer(target, [1], copy, options=["ATTRIBUTE=n"])
    return target.GetRasterBand(1).ReadAsArray().astype(np.int64), layer.GetFeatureCount()


proposals, count = burn(proposals_path, True)
redline = burn(redline_path, False)[0] > 0
farmland = burn(farmland_path, False)[0] > 0
boundary = burn(boundary_path, False)[0] > 0
zones, zone_count = burn(zones_path, True)
green = np.isin(classes, [1, 2, 3])
built = classes == 5
classified = classes > 0
out = {"proposals": [], "zones": []}
for number in range(1, count + 1):
    inside = proposals == number
    crosses = []
    if (inside & redline).any():
        crosses.append("redline")
    if (inside & farmland).any():
        crosses.append("basic_farmland")
    if (inside & ~boundary).any():
        crosses.append("outside_urban_boundary")
    out["proposals"].append({
        "number": number, "area_m2": float(inside.sum() * pixel), "farmland_m2": float((inside & (classes == 1)).sum() * pixel),
        "basic_farmland_m2": float((inside & farmland).sum() * pixel), "redline_m2": float((inside & redline).sum() * pixel),
        "forest_m2": float((inside & (classes == 2)).sum() * pixel), "green_m2": float((inside & green).sum() * pixel),
        "outside_boundary_m2": float((inside & ~boundary).sum() * pixel), "crosses": crosses})
for z in range(1, zone_count + 1):
    zone = zones == z
    n = (zone & classified).sum()
    proposed = zone & (proposals > 0)
    out["zones"].append({
        "intensity_before": float((zone & built).sum() / n),
        "intensity_after": float(((zone & built).sum() + (proposed & classified & ~built).sum()) / n),
        "green_coverage_before": float((zone & green).sum() / n),
        "green_coverage_after": float(((zone & green).sum() - (proposed & green).sum()) / n)})
print(json.dumps(out))
