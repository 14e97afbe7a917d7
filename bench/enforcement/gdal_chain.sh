#!/usr/bin/env bash
# The enforcement chain scripted with GDAL's own tools, the way a bureau would without landwatch: the same two
# scenes, the same rules and plan layers, each step writing its result for the next.
#   gdal_calc.py (classify both dates; rules per pixel) -> ogr2ogr (plan onto the grid's CRS) -> gdal_rasterize
#   -> gdal_sieve.py (drop patches under 4 pixels, 8-connected) -> gdal_polygonize.py -> ogr2ogr (GeoJSON, CSV, KML)
# It does less than landwatch: no 3 x 3 misregistration guard, one mask instead of a bit per rule, and no
# attributes per patch (rules, areas, navigation points, plan features).
# Usage: gdal_chain.sh BEFORE.tif AFTER.tif PLAN_DIR OUT_DIR
set -euo pipefail
before=$1 after=$2 plan=$3 out=$4
rm -rf "$out"; mkdir -p "$out"
CO=(--co TILED=YES --co BLOCKXSIZE=512 --co BLOCKYSIZE=512 --co COMPRESS=ZSTD --co ZSTD_LEVEL=1)
RCO=(-co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co COMPRESS=ZSTD -co ZSTD_LEVEL=1)
calc() { /usr/bin/python3 "$(command -v gdal_calc.py)" "$@" --overwrite --quiet; }

# Land cover: the rules of enforcement.yaml (codes 2 forest, 3 grassland, 4 water, 5 built-up, 6 bare; 0 nodata).
classify='numpy.where(A==65535, 0, numpy.select([
  ((B*2e-5-0.1)-(D*2e-5-0.1))/((B*2e-5-0.1)+(D*2e-5-0.1)) > 0.1,
  (((D*2e-5-0.1)-(C*2e-5-0.1))/((D*2e-5-0.1)+(C*2e-5-0.1)) < 0.2) & ((C*2e-5-0.1) > 0.15),
  ((D*2e-5-0.1)-(C*2e-5-0.1))/((D*2e-5-0.1)+(C*2e-5-0.1)) < 0.25,
  ((D*2e-5-0.1)-(C*2e-5-0.1))/((D*2e-5-0.1)+(C*2e-5-0.1)) >= 0.35], [4, 5, 6, 2], 3))'
for date in before after; do
  src=${!date}
  calc -A "$src" --A_band=1 -B "$src" --B_band=2 -C "$src" --C_band=3 -D "$src" --D_band=4 \
    --calc="$classify" --type=Byte --NoDataValue=255 --outfile="$out/$date.tif" "${CO[@]}"
done

# The plan onto the grid: reproject, then burn 1 inside.
srs=$(gdalsrsinfo -o wkt1 "$before" | tr -d '\n')
read -r xmin ymax xmax ymin < <(/usr/bin/python3 -c "
from osgeo import gdal; d=gdal.Open('$before'); g=d.GetGeoTransform()
print(g[0], g[3], g[0]+g[1]*d.RasterXSize, g[3]+g[5]*d.RasterYSize)")
size=$(/usr/bin/python3 -c "from osgeo import gdal; d=gdal.Open('$before'); print(d.RasterXSize, d.RasterYSize)")
for layer in redline:redline.geojson farmland:basic_farmland.gpkg urban:urban_boundary.geojson approvals:approvals.gpkg; do
  name=${layer%%:*} file=${layer#*:}
  ogr2ogr -f GPKG -t_srs "$srs" -nln "$name" "$out/$name.gpkg" "$plan/$file"
  gdal_rasterize -q -l "$name" -burn 1 -init 0 -ot Byte -te "$xmin" "$ymin" "$xmax" "$ymax" -ts $size "${RCO[@]}" \
    "$out/$name.gpkg" "$out/$name.tif"
done

# Change against the plan: new built-up without approval, or farmland lost, or red-line encroachment -> 1.
calc -A "$out/before.tif" -B "$out/after.tif" -C "$out/redline.tif" -D "$out/farmland.tif" -E "$out/urban.tif" \
  -F "$out/approvals.tif" --type=Byte --NoDataValue=255 --outfile="$out/change.tif" "${CO[@]}" \
  --calc='numpy.where((A==0)|(B==0)|(A==B)|(F==1), 0,
            ((B==5) | ((D==1) & numpy.isin(B, [2, 4, 5, 6])) | ((C==1) & numpy.isin(B, [5, 6]))).astype(numpy.uint8))'

# Patches: sieve out regions under 4 pixels (8-connected), vectorise, keep the changed ones.
/usr/bin/python3 "$(command -v gdal_sieve.py)" -q -st 4 -8 -nomask "$out/change.tif" "$out/sieved.tif"
/usr/bin/python3 "$(command -v gdal_polygonize.py)" -q -8 "$out/sieved.tif" -f GPKG "$out/patches.gpkg" patches value
ogr2ogr -f GeoJSON -lco RFC7946=YES -where "value = 1" "$out/violations.geojson" "$out/patches.gpkg" patches
ogr2ogr -f CSV -lco GEOMETRY=AS_WKT -where "value = 1" "$out/violations.csv" "$out/patches.gpkg" patches
ogr2ogr -f KML -where "value = 1" "$out/violations.kml" "$out/patches.gpkg" patches
