#!/usr/bin/env bash
# make bench (called by bench/run.sh): one simulated decade on 10980 x 10980 cells with simulate.landuse beside the
# same allocation in numpy (bench/scenarios/numpy_allocation.py), and the hold-out validation on the real pairs
# (bench/scenarios/accuracy.sh, printed). Writes the section "Land-use simulation" of bench/RESULTS.md.
# Usage: bash bench/scenarios.sh [landwatch binary] [size]
set -euo pipefail
cd "$(dirname "$0")/.."
LW=${1:-.build/release/landwatch}
SIZE=${2:-10980}
WORK=bench/work/scenarios
OUT=bench/work/scenarios-out
/usr/bin/python3 bench/scenarios/make_inputs.py "$SIZE"
rm -rf "$OUT"
echo "bench: simulate.landuse, one decade on ${SIZE} x ${SIZE}"
/usr/bin/time -v "$LW" run bench/scenarios/decade.yaml --out "$OUT/landwatch" --memory 2G --threads 2 \
  > "$OUT.landwatch.log" 2> "$OUT.landwatch.time" || { cat "$OUT.landwatch.time"; exit 1; }
echo "bench: the same allocation in numpy"
/usr/bin/time -v /usr/bin/python3 bench/scenarios/numpy_allocation.py "$WORK/before.tif" "$WORK/after.tif" \
  > "$OUT.numpy.log" 2> "$OUT.numpy.time"
OUT=bench/work/scenarios-accuracy sh bench/scenarios/accuracy.sh "$LW" | tee bench/work/scenarios-accuracy.md
/usr/bin/python3 - "$OUT" "$SIZE" "$LW" <<'PY'
import json, re, sys, datetime, platform, os
out, size, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def timed(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return seconds, rss
lw_s, lw_rss = timed(out + ".landwatch.time")
np_s, np_rss = timed(out + ".numpy.time")
run = json.load(open(out + "/landwatch/run.json"))
findings = next(s for s in run["stages"] if s["id"] == "simulate").get("findings", {}).get("values", {})
result = json.load(open(out + "/landwatch/decade/scenarios.json"))
demand = result["scenarios"][0]["demand"]
met = all(d["simulated"] == d["demand"] for d in demand)
numpy_line = open(out + ".numpy.log").read().strip()
np_alloc = float(re.search(r"allocation ([\d.]+) s", numpy_line).group(1))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
section = f"""## Land-use simulation (simulate.landuse, one decade)

{size} x {size} cells ({size * size / 1e6:.1f} M): the Zion NLCD 2011 land cover recoded to the legend, a planted decade of
built-up growth next to built-up cells (bench/scenarios/make_inputs.py) and the SRTM elevation; one run of the
baseline scenario (Markov demand, XGBoost suitability from elevation, slope and distance to built-up, 20 CA
iterations, 3 x 3 neighbourhood). {datetime.date.today()}, {cpu}, {os.cpu_count()} cores, `{binary}`, --threads 2, --memory 2G.

| | wall time | peak memory |
|---|---:|---:|
| landwatch run (read, drivers, training, suitability, allocation, map and tables written) | {lw_s:.1f} s | {lw_rss:.0f} MB |
| of which drivers + XGBoost training | {findings.get('seconds_drivers_and_training', float('nan')):.1f} s | |
| of which suitability prediction (XGBoost on every cell) | {findings.get('seconds_suitability_prediction', float('nan')):.1f} s | |
| of which CA allocation | {findings.get('seconds_baseline.allocation_run1', float('nan')):.1f} s | |
| numpy peer, whole process (same CA steps, no suitability model) | {np_s:.1f} s | {np_rss:.0f} MB |
| of which allocation | {np_alloc:.1f} s | |

Cells converted: {result['scenarios'][0]['converted_cells']['mean']:.0f}; demand met exactly per class: {met}. numpy: {numpy_line}
simulate.landuse's own estimate of its whole-grid arrays: {result['memory_bytes'] / 2**20:.0f} MiB (docs/scenarios.md).
"""
path = "bench/RESULTS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
text = re.sub(r"\n## Land-use simulation \(simulate.landuse, one decade\)\n.*?(?=\n## |\Z)", "\n", text, flags=re.S)
open(path, "w").write(text.rstrip("\n") + "\n\n" + section)
print(section)
PY
