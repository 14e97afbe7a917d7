#!/usr/bin/env python3
"""make formats-check (issue 25): every shipped pipeline run once; its STAC Item (stac/item.json) must pass
stac-validator with the schemas of testdata/stac-schemas (offline), every GeoTIFF it wrote GDAL's Cloud-Optimized
GeoTIFF validator, and every FlatGeobuf it wrote must open in OGR with a spatial index. Prints one line per pipeline
and exits non-zero when any fails.

Usage: python3 check_pipelines.py LANDWATCH [OUT_FOLDER] [PIPELINE ...]
"""
import json
import os
import subprocess
import sys
import tempfile

from osgeo import gdal, ogr
from osgeo_utils.samples import validate_cloud_optimized_geotiff as cog

gdal.UseExceptions()
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
SCHEMAS = os.path.join(ROOT, "testdata", "stac-schemas")


def stac_valid(path):
    args = ["stac-validator", "validate", path]
    for line in open(os.path.join(SCHEMAS, "schema-map.txt"), encoding="utf-8"):
        parts = line.split()
        if len(parts) == 2:
            args += ["-s", parts[0], os.path.join(SCHEMAS, parts[1])]
    result = subprocess.run(args, capture_output=True, text=True)
    return result.returncode == 0 and '"valid_stac": true' in result.stdout, result.stdout[-600:]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    out = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="landwatch-formats-")
    names = sys.argv[3:] or sorted(n[:-5] for n in os.listdir(os.path.join(ROOT, "pipelines"))
                                   if n.endswith(".yaml") and not n.startswith("."))  # tests' temporary copies start with '.'

    failed = 0
    for name in names:
        folder = os.path.join(out, name)
        run = subprocess.run([binary, "run", f"pipelines/{name}.yaml", "--out", folder, "--force"], cwd=ROOT, capture_output=True, text=True)
        if run.returncode != 0:
            last = [l for l in run.stderr.splitlines() if l.strip()][-1:] or ["(no message)"]
            print(f"{name}: FAILED to run (exit {run.returncode}): {last[0]}")
            failed += 1
            continue
        problems = []
        item = os.path.join(folder, "stac", "item.json")
        if not os.path.exists(item):
            problems.append("no stac/item.json")
        else:
            ok, text = stac_valid(item)
            if not ok:
                problems.append(f"stac/item.json invalid: {text}")
        rasters, lists = 0, 0
        for base, _, files in os.walk(folder):
            if os.sep + "work" in base[len(folder):]:
                continue
            for f in files:
                path = os.path.join(base, f)
                rel = os.path.relpath(path, folder)
                if f.lower().endswith((".tif", ".tiff")):
                    rasters += 1
                    try:
                        warnings, errors, _ = cog.validate(path, full_check=True)
                    except Exception as e:  # noqa: BLE001 - the validator's own failure is a finding
                        errors, warnings = [str(e)], []
                    if errors:
                        problems.append(f"{rel} is not a COG: {'; '.join(errors)}")
                elif f.endswith(".fgb"):
                    lists += 1
                    ds = ogr.Open(path)
                    layer = ds.GetLayer(0) if ds else None
                    # An empty list has nothing to index; one with features must have its packed R-tree.
                    if layer is None:
                        problems.append(f"{rel}: OGR cannot open it")
                    elif layer.GetFeatureCount() > 0 and not layer.TestCapability(ogr.OLCFastSpatialFilter):
                        problems.append(f"{rel}: FlatGeobuf without a spatial index")
        if problems:
            failed += 1
            print(f"{name}: FAILED: " + " | ".join(problems))
        else:
            print(f"{name}: Item valid, {rasters} COG{'s' if rasters != 1 else ''}, {lists} FlatGeobuf{'s' if lists != 1 else ''}")
    print(f"outputs in {out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
