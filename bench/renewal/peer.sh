#!/usr/bin/env bash
# The GDAL-tools peer of renewal.green_access (bench/renewal.sh): the same definition, step by step with GDAL's
# command-line tools and numpy by rows. Prints one line per step with its wall time.
#   1. numpy by 512-row strips: the green mask (forest) and the residential mask (built-up);
#   2. gdal_polygonize.py -8 of the green mask (8-connected patches, as the stage);
#   3. per level, ogr2ogr keeps the patches of at least its area (SQLite ST_Area), gdal_rasterize burns them
#      (pixel centres) into a zero mask, gdal_proximity.py -distunits GEO -maxdist 1000 -nodata -1 gives distances;
#   4. numpy by 512-row strips: residential pixels with a distance in [0, radius], per level.
# Usage: peer.sh LANDCOVER WORKDIR
set -euo pipefail
LC=$1
W=$2
rm -rf "$W"; mkdir -p "$W"
step() { local name=$1; shift; local t0; t0=$(date +%s.%N); "$@"; echo "peer: $name $(echo "$(date +%s.%N) - $t0" | bc) s"; }
masks() {
/usr/bin/python3 - "$LC" "$W" <<'PY'
import sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
src = gdal.Open(sys.argv[1]); w = sys.argv[2]
opts = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=IF_SAFER"]
outs = []
for name in ("green", "residential", "zero"):
    d = gdal.GetDriverByName("GTiff").Create(f"{w}/{name}.tif", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte, opts)
    d.SetGeoTransform(src.GetGeoTransform()); d.SetProjection(src.GetProjection()); outs.append(d)
for r0 in range(0, src.RasterYSize, 512):
    rows = min(512, src.RasterYSize - r0)
    c = src.GetRasterBand(1).ReadAsArray(0, r0, src.RasterXSize, rows)
    outs[0].GetRasterBand(1).WriteArray((c == 2).astype(np.uint8), 0, r0)
    outs[1].GetRasterBand(1).WriteArray((c == 5).astype(np.uint8), 0, r0)
    outs[2].GetRasterBand(1).WriteArray(np.zeros_like(c), 0, r0)
for d in outs: d.FlushCache()
PY
}
step masks masks
step polygonize gdal_polygonize.py -q -8 "$W/green.tif" -f GPKG "$W/patches.gpkg" patches DN
level() {  # level INDEX MIN_AREA
  ogr2ogr -q -f GPKG -dialect SQLite -sql "SELECT * FROM patches WHERE DN = 1 AND ST_Area(geom) >= $2 - 1e-6" \
    "$W/qualifying$1.gpkg" "$W/patches.gpkg" -nln qualifying
  cp "$W/zero.tif" "$W/mask$1.tif"
  gdal_rasterize -q -burn 1 -l qualifying "$W/qualifying$1.gpkg" "$W/mask$1.tif"
  gdal_proximity.py -q "$W/mask$1.tif" "$W/distance$1.tif" -values 1 -distunits GEO -maxdist 1000 -nodata -1 \
    -ot Float32 -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co BIGTIFF=IF_SAFER
}
step "level green (>= 400 m2: filter, rasterize, proximity)" level 0 400
step "level park (>= 1 ha: filter, rasterize, proximity)" level 1 10000
count() {
/usr/bin/python3 - "$W" <<'PY'
import sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
w = sys.argv[1]
res = gdal.Open(f"{w}/residential.tif"); d = [gdal.Open(f"{w}/distance{i}.tif") for i in (0, 1)]
radii = (300.0, 500.0); served = [0, 0]; total = 0
for r0 in range(0, res.RasterYSize, 512):
    rows = min(512, res.RasterYSize - r0)
    r = res.GetRasterBand(1).ReadAsArray(0, r0, res.RasterXSize, rows) == 1
    total += int(r.sum())
    for i in (0, 1):
        x = d[i].GetRasterBand(1).ReadAsArray(0, r0, res.RasterXSize, rows)
        served[i] += int((r & (x >= 0) & (x <= radii[i])).sum())
print(f"peer-result: residential {total} served_green {served[0]} served_park {served[1]}")
PY
}
step count count
