#!/usr/bin/env bash
# make bench (called by bench/run.sh): renewal.green_access on 10980 x 10980 cells of real land cover (two GDAL
# proximities over the whole grid, issue 26) beside the same computation with GDAL's command-line tools and numpy by
# rows (bench/renewal/peer.sh). Prints time and peak memory side by side and writes the section
# "Urban renewal: green access" of bench/RESULTS.md.
# A second landwatch run at the smallest budget the stage accepts (MIN_MEMORY, 600M at 10980²: docs/renewal.md) checks
# that the peak stays within it there too.
# Usage: bash bench/renewal.sh [landwatch binary] [size] [memory] [min memory]
set -euo pipefail
cd "$(dirname "$0")/.."
LW=${1:-.build/release/landwatch}
[ -x "$LW" ] || LW=.build/debug/landwatch
SIZE=${2:-10980}
MEMORY=${3:-1G}
MIN_MEMORY=${4:-600M}
WORK=bench/work/renewal
OUT=bench/work/renewal-out
/usr/bin/python3 bench/renewal/make_inputs.py "$SIZE" "$WORK"
rm -rf "$OUT" "$OUT".*; mkdir -p "$(dirname "$OUT")"
echo "bench: renewal.green_access on ${SIZE} x ${SIZE}, --memory $MEMORY, $LW"
/usr/bin/time -v "$LW" run bench/renewal/access.yaml --out "$OUT/landwatch" --memory "$MEMORY" --threads 2 \
  > "$OUT.landwatch.log" 2> "$OUT.landwatch.time" || { tail -20 "$OUT.landwatch.time"; exit 1; }
/usr/bin/time -v "$LW" run bench/renewal/access.yaml --out "$OUT/landwatch-min" --memory "$MIN_MEMORY" --threads 2 \
  > "$OUT.landwatch-min.log" 2> "$OUT.landwatch-min.time" || { tail -20 "$OUT.landwatch-min.time"; exit 1; }
# The peer gets GDAL's block cache landwatch gives itself: a quarter of the budget.
CACHE=$(/usr/bin/python3 -c "import sys; s=sys.argv[1].upper(); n=float(s[:-1]); print(int(n*{'G':1024,'M':1}[s[-1]]/4))" "$MEMORY")
echo "bench: the same with GDAL's tools and numpy by rows (GDAL_CACHEMAX=${CACHE} MB)"
GDAL_CACHEMAX=$CACHE /usr/bin/time -v bash bench/renewal/peer.sh "$WORK/landcover.tif" "$OUT/peer" \
  > "$OUT.peer.log" 2> "$OUT.peer.time" || { tail -20 "$OUT.peer.time"; exit 1; }
/usr/bin/python3 - "$OUT" "$SIZE" "$LW" "$MEMORY" "$MIN_MEMORY" <<'PY'
import json, re, sys, datetime, platform, os
out, size, binary, memory, min_memory = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def timed(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return seconds, rss
lw_s, lw_rss = timed(out + ".landwatch.time")
peer_s, peer_rss = timed(out + ".peer.time")
min_s, min_rss = timed(out + ".landwatch-min.time")
mb = lambda m: {"G": 1024, "M": 1}[m[-1].upper()] * float(m[:-1])
min_budget = mb(min_memory)
min_served = [l["served_pixels"] for l in json.load(open(out + "/landwatch-min/green_access/access.json"))["scene"]["levels"]]
access = json.load(open(out + "/landwatch/green_access/access.json"))
scene = access["scene"]
lw_served = [level["served_pixels"] for level in scene["levels"]]
peer_log = open(out + ".peer.log").read()
steps = re.findall(r"peer: (.+) ([\d.]+) s", peer_log)
m = re.search(r"peer-result: residential (\d+) served_green (\d+) served_park (\d+)", peer_log)
peer_res, peer_served = int(m.group(1)), [int(m.group(2)), int(m.group(3))]
run = json.load(open(out + "/landwatch/run.json"))
stage = next((s for s in run["stages"] if s["id"] == "access"), {})
budget = mb(memory)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
release = "release" in binary
rows = "\n".join(f"| of which {name} | {float(t):.1f} s | |" for name, t in steps)
section = f"""## Urban renewal: green access (renewal.green_access, whole-grid proximity)

{size} x {size} cells ({size * size / 1e6:.1f} M) of real land cover: the Zion NLCD 2011 recoded to the legend on
{access['pixel_area_m2'] ** 0.5:.2f} m cells (bench/renewal/make_inputs.py); green space = forest
({access['green_patches']} 8-connected patches; {access['qualifying_patches'][0]} of at least 400 m2,
{access['qualifying_patches'][1]} of at least 1 ha), residential = built-up ({scene['residential_pixels']} pixels);
300 m of green >= 400 m2 and 500 m of a park >= 1 ha, whole scene. {datetime.date.today()}, {cpu}, {os.cpu_count()} cores,
`{binary}`{'' if release else ' (the debug binary: no release build was made for this run; LandwatchRenewal is compiled -O in debug too, GDAL is the system library)'},
--threads 2, --memory {memory}. Peer: bench/renewal/peer.sh with GDAL_CACHEMAX a quarter of that budget.

| | wall time | peak memory |
|---|---:|---:|
| landwatch run (read, masks, polygonize, two proximities, counts, access.json) | {lw_s:.1f} s | {lw_rss:.0f} MB |
| the same at --memory {min_memory} (the stage needs 573 MB at this size) | {min_s:.1f} s | {min_rss:.0f} MB |
| GDAL tools + numpy by rows, whole script | {peer_s:.1f} s | {peer_rss:.0f} MB |
{rows}

Served residential pixels, landwatch / peer: 300 m of green {lw_served[0]} / {peer_served[0]}, 500 m of a park
{lw_served[1]} / {peer_served[1]} (residential {scene['residential_pixels']} / {peer_res}); coverage
{scene['levels'][0]['coverage'] * 100:.2f} % and {scene['levels'][1]['coverage'] * 100:.2f} %.
Peak memory of the landwatch run {lw_rss:.0f} MB against the --memory budget of {budget:.0f} MB:
{'within' if lw_rss <= budget else 'OVER'} it; at --memory {min_memory}: {min_rss:.0f} MB, {'within' if min_rss <= min_budget else 'OVER'} it
(same served pixels: {min_served == lw_served}). docs/renewal.md, "Memory", gives the stage's arithmetic.
Load average at the end of the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes on the machine slow both).
"""
path = "bench/RESULTS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
text = re.sub(r"\n## Urban renewal: green access \(renewal.green_access, whole-grid proximity\)\n.*?(?=\n## |\Z)", "\n", text, flags=re.S)
open(path, "w").write(text.rstrip("\n") + "\n\n" + section)
print(section)
PY
