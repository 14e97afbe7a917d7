#!/bin/sh
# simulate.landuse's calibrate-then-predict validation on the real pairs (bench/ACCURACY.md, "Land-use simulation"):
# demand and suitability learned on one half, the other half simulated from the first date and compared with the
# second, 30 runs each, beside the null model and 30 random allocations of the same demand.
# Run from the repository: sh bench/scenarios/accuracy.sh [landwatch binary]
set -e
LW=${1:-.build/release/landwatch}
OUT=${OUT:-out/bench-scenarios-accuracy}
K=../shared/data/marburg-landsat/kenya-pair
[ -d "$K" ] || K=testdata/marburg-landsat/kenya-pair
K=$(cd "$K" && pwd)
mkdir -p "$OUT"
for half in east west; do
  "$LW" run pipelines/scenarios-validate.yaml --out "$OUT/marburg-$half" --set half=$half > "$OUT/marburg-$half.log" 2>&1
  "$LW" run bench/scenarios/validate-nodem.yaml --out "$OUT/kenya-$half" --set half=$half --allow-read "$K" \
    --set before=$K/LT05/LT05_L1TP_167055_20000309_20161214_01_T1_MTL.txt --set after=$K/LT5/LT51670552010352MLK00_MTL.txt \
    > "$OUT/kenya-$half.log" 2>&1
done
/usr/bin/python3 bench/scenarios/summarise.py \
  "Marburg L7 2001 → L8 2013, east=$OUT/marburg-east/validation" "Marburg, west=$OUT/marburg-west/validation" \
  "Kenya L5 2000 → 2010, east=$OUT/kenya-east/validation" "Kenya, west=$OUT/kenya-west/validation"
