#!/usr/bin/env bash
# make bench: landwatch against its peers on one machine in one run: NDVI (gdal_calc.py, a raw GDAL floor, numpy,
# otbcli_BandMath), model
# classification (XGBoost's Python package; the native tree evaluator also against tl2cgen-compiled C, bench/trees/),
# the enforcement chain (GDAL's command-line tools), zonal statistics
# (a numpy bincount script).
# Writes bench/RESULTS.md. Inputs are generated once in bench/work/ from the real Zion Landsat 8 bands.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work
ROOT=$(cd .. && pwd)
ZION=$ROOT/testdata/zion-landsat8
export GDAL_CACHEMAX=64

make_input() {  # make_input SIZE NAME COMPRESS
  local size=$1 name=$2 compress=$3
  [ -f "work/$name" ] && return
  echo "bench: generating work/$name (${size}x${size}, 4 bands UInt16, 512x512 tiles, $compress) from the Zion bands"
  for b in 2 3 4 5; do
    gdalwarp -q -overwrite -ts "$size" "$size" -r bilinear -srcnodata 65535 -dstnodata 65535 -of VRT \
      "$ZION/landsat_b$b.tif" "work/big_b$b.vrt"
  done
  gdalbuildvrt -q -separate -overwrite work/big.vrt work/big_b2.vrt work/big_b3.vrt work/big_b4.vrt work/big_b5.vrt
  gdal_translate -q -of GTiff -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co INTERLEAVE=BAND -co BIGTIFF=YES \
    -co COMPRESS="$compress" work/big.vrt "work/$name.tmp"
  mv "work/$name.tmp" "work/$name"
}

# The tree-evaluator tl2cgen peer (PyPI: tl2cgen, and the treelite it is built against).
/usr/bin/python3 -c 'import tl2cgen, treelite' 2>/dev/null || { echo "bench: installing tl2cgen and treelite from PyPI for the tree-evaluator peer"; \
  /usr/bin/python3 -m pip install -q --break-system-packages tl2cgen "treelite==4.1.2" 2>/dev/null || /usr/bin/python3 -m pip install -q tl2cgen "treelite==4.1.2"; }

make_input 10980 input.tif NONE
# `bash bench/run.sh trees`: only the tree-evaluator cases (a section of RESULTS.md of their own).
if [ "${1:-}" = trees ]; then
  /usr/bin/python3 trees/bench_trees.py "$ROOT/.build/release/landwatch"
  exit 0
fi
command -v otbcli_BandMath >/dev/null || { echo "bench: installing Orfeo ToolBox (otb-bin) for the NDVI peer"; \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq otb-bin >/dev/null; }
make_input 10980 input-deflate.tif DEFLATE
make_input 21960 input-4x.tif NONE
/usr/bin/python3 enforcement/make_inputs.py   # work/after.tif (planted construction) and work/plan/
/usr/bin/python3 metrics/make_zones.py         # work/zones.gpkg: 1000 planning units

echo "bench: building the floor program"
gcc -O2 -o work/floor floor.c $(pkg-config --cflags --libs gdal) -lpthread

LANDWATCH=$ROOT/.build/release/landwatch
/usr/bin/python3 bench.py "$LANDWATCH"
/usr/bin/python3 targets.py
/usr/bin/python3 trees/bench_trees.py "$LANDWATCH"
bash "$ROOT/bench/scenarios.sh" "$LANDWATCH"   # simulate.landuse: a decade on 10980 x 10980 beside numpy (issue 27)
bash "$ROOT/bench/renewal.sh" "$LANDWATCH"     # renewal.green_access: whole-grid proximity on 10980 x 10980 beside GDAL tools + numpy (issue 26)
