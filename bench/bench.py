"""Runs the NDVI benchmark cases with GNU time and writes bench/RESULTS.md (called by bench/run.sh)."""
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

LANDWATCH = sys.argv[1]
WORK = os.path.abspath("work")
CO = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"]
RUNS = 5


def timed(command):
    """Runs a command under GNU time; returns (wall seconds, peak RSS in MB)."""
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    return seconds, rss


def landwatch(input_name, threads, out, layout="tiled"):
    return [LANDWATCH, "run", "ndvi.yaml", "--set", f"input={WORK}/{input_name}", "--set", f"layout={layout}", "--out", f"{WORK}/{out}",
            "--memory", "256M", "--threads", str(threads), "--force"]


def gdal_calc(input_name, out):
    command = ["/usr/bin/python3", shutil.which("gdal_calc.py") or "/usr/bin/gdal_calc.py",
               "-A", f"{WORK}/{input_name}", "--A_band=3", "-B", f"{WORK}/{input_name}", "--B_band=4",
               "--calc=(B.astype(numpy.float32)-A)/(B.astype(numpy.float32)+A)", "--type=Float32",
               f"--outfile={WORK}/{out}", "--overwrite", "--quiet"]
    for option in CO:
        command += ["--co", option]
    return command


def floor(input_name, threads, out):
    return [f"{WORK}/floor", f"{WORK}/{input_name}", "3", "4", f"{WORK}/{out}", str(threads)]


def stage_seconds(run_json):
    """Wall seconds of each task of a landwatch run, from its run.json: stages fused into one pass share a row."""
    import json
    stages = json.load(open(run_json))["stages"]
    def when(text):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    start = min(when(s["started"]) for s in stages)
    rows, seen = [], set()
    for s in sorted(stages, key=lambda s: s["started"]):
        fused = tuple(s.get("fusedWith") or [s["id"]])
        if fused in seen:
            continue
        seen.add(fused)
        names = " + ".join(f"{i} ({next((t['uses'] for t in stages if t['id'] == i), '?')})" for i in fused)
        rows.append((names, (when(s["started"]) - start).total_seconds(), (when(s["finished"]) - when(s["started"])).total_seconds()))
    return rows


def class_agreement(a_path, b_path):
    """Share of pixels where two class rasters agree, read block by block."""
    from osgeo import gdal
    a_ds, b_ds = gdal.Open(a_path), gdal.Open(b_path)  # keep the datasets alive while their bands are read
    a, b = a_ds.GetRasterBand(1), b_ds.GetRasterBand(1)
    same = total = 0
    for y in range(0, a.YSize, 1024):
        rows = min(1024, a.YSize - y)
        x = a.ReadAsArray(0, y, a.XSize, rows)
        z = b.ReadAsArray(0, y, b.XSize, rows)
        same += int((x == z).sum())
        total += x.size
    return same / total


def measure(label, command, pixels, runs=RUNS, warm=True):
    if warm:
        timed(command)  # warm the page cache and the binary
    samples = [timed(command) for _ in range(runs)]
    wall = statistics.median(s[0] for s in samples)
    rss = max(s[1] for s in samples)
    row = {"label": label, "wall": wall, "mpix": pixels / wall / 1e6, "rss": rss}
    print(f"  {label:55s} {wall:7.2f} s {row['mpix']:8.1f} MPix/s {rss:8.0f} MB", flush=True)
    return row


def alternated(label_a, command_a, label_b, command_b, pixels, runs=5):
    """Two commands run in turn (a, b, a, b, ...) after a warm-up run of each, so that both see the same load;
    one row each, as measure() gives (median wall, highest peak RSS), with the load average before and after."""
    timed(command_a)
    timed(command_b)
    load = [os.getloadavg()[0]]
    samples = ([], [])
    for _ in range(runs):
        samples[0].append(timed(command_a))
        samples[1].append(timed(command_b))
    load.append(os.getloadavg()[0])
    rows = []
    for label, runs_of in ((label_a, samples[0]), (label_b, samples[1])):
        wall = statistics.median(s[0] for s in runs_of)
        rss = max(s[1] for s in runs_of)
        row = {"label": label, "wall": wall, "mpix": pixels / wall / 1e6, "rss": rss, "load": f"{load[0]:.1f}-{load[1]:.1f}"}
        print(f"  {label:55s} {wall:7.2f} s {row['mpix']:8.1f} MPix/s {rss:8.0f} MB", flush=True)
        rows.append(row)
    return rows


def main():
    env_threads = os.environ.get("GDAL_NUM_THREADS")
    pixels = 10980 * 10980
    print("bench: NDVI, 10980 x 10980 x 4 bands UInt16, median of 5 after a warm-up run")
    rows = {}
    rows["lw"] = measure("landwatch run (2 threads, --memory 256M)", landwatch("input.tif", 2, "lw"), pixels)
    rows["lw1"] = measure("landwatch run (1 thread, --memory 256M)", landwatch("input.tif", 1, "lw1"), pixels)
    # The COG output's cost: tiled and COG alternated in the same minutes (the machine's load moves), side by side.
    rows["lw_tiled_alt"], rows["lw_cog"] = alternated(
        "landwatch run, tiled GeoTIFF output, alternated with the next row", landwatch("input.tif", 2, "lw_tiled_alt"),
        "landwatch run, Cloud-Optimized GeoTIFF output (write.raster's default)", landwatch("input.tif", 2, "lw_cog", layout="cog"),
        pixels)
    tiled, cog = rows["lw_tiled_alt"], rows["lw_cog"]
    print(f"  COG / tiled (alternated, load {cog['load']}): wall {cog['wall'] / tiled['wall']:.2f}, "
          f"peak RSS {cog['rss'] / tiled['rss']:.2f} (target <= 1.15 each)", flush=True)
    os.environ["GDAL_NUM_THREADS"] = "2"
    rows["floor"] = measure("floor: C, GDAL read 2 bands + write 1 (2 threads)", floor("input.tif", 2, "floor.tif"), pixels)
    rows["calc"] = measure("gdal_calc.py (GDAL_CACHEMAX=64, as the others)", gdal_calc("input.tif", "calc.tif"), pixels)
    del os.environ["GDAL_CACHEMAX"]
    rows["calc_default"] = measure("gdal_calc.py (GDAL's default cache, as users run it)",
                                   gdal_calc("input.tif", "calc.tif"), pixels)
    os.environ["GDAL_CACHEMAX"] = "64"
    rows["numpy"] = measure("numpy, whole arrays (numpy_ndvi.py)",
                            ["/usr/bin/python3", "numpy_ndvi.py", f"{WORK}/input.tif", f"{WORK}/numpy.tif"], pixels, runs=3)
    otb_out = f"{WORK}/otb.tif?&gdal:co:TILED=YES&gdal:co:BLOCKXSIZE=512&gdal:co:BLOCKYSIZE=512&gdal:co:COMPRESS=ZSTD&gdal:co:BIGTIFF=IF_SAFER"
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = "2"
    rows["otb"] = measure("otbcli_BandMath (Orfeo ToolBox, 2 threads, -ram 256)",
                          ["otbcli_BandMath", "-il", f"{WORK}/input.tif", "-out", otb_out, "float", "-ram", "256",
                           "-exp", "(im1b4-im1b3)/(im1b4+im1b3)"], pixels, runs=3)
    rows["lw_d"] = measure("landwatch run, DEFLATE input (2 threads)", landwatch("input-deflate.tif", 2, "lw_d"), pixels)
    rows["floor_d"] = measure("floor, DEFLATE input (2 threads)", floor("input-deflate.tif", 2, "floor_d.tif"), pixels)
    rows["calc_d"] = measure("gdal_calc.py, DEFLATE input", gdal_calc("input-deflate.tif", "calc_d.tif"), pixels)
    if env_threads is None:
        del os.environ["GDAL_NUM_THREADS"]
    rows["lw4"] = measure("landwatch run, 4x the pixels (21960 x 21960)", landwatch("input-4x.tif", 2, "lw4"),
                          4 * pixels, runs=1)

    # Classification with a trained model: landwatch (blocks, one booster per worker) against XGBoost's Python
    # package on whole arrays, same model, same pixels. One run each: they take minutes.
    print("bench: land cover with a trained XGBoost model (20 rounds, 6 features), 10980 x 10980")
    model_dir = f"{WORK}/model"
    subprocess.run([LANDWATCH, "run", "train.yaml", "--out", model_dir, "--force", "--allow-read",
                    os.path.join(os.path.dirname(WORK), "..", "testdata")], check=True, capture_output=True)
    rows["lw_model"] = measure("landwatch classify.model (2 threads, --memory 256M)",
                               [LANDWATCH, "run", "classify.yaml", "--set", f"input={WORK}/input.tif",
                                "--set", f"model={model_dir}/model.json", "--out", f"{WORK}/lw_model", "--memory", "256M",
                                "--threads", "2", "--force"], pixels, runs=1, warm=False)
    rows["py_model"] = measure("xgboost Python package, whole arrays (nthread 2)",
                               ["/usr/bin/python3", "xgboost_peer.py", f"{WORK}/input.tif", f"{model_dir}/model.json",
                                f"{model_dir}/model.json.meta.json", f"{WORK}/py_model.tif"], pixels, runs=1, warm=False)
    agreement = class_agreement(f"{WORK}/lw_model/landcover.tif", f"{WORK}/py_model.tif")
    print(f"  class agreement landwatch vs Python: {agreement:.6f}")

    # The enforcement chain: two dates classified, compared against four plan layers, patches written, against
    # the same chain scripted with GDAL's command-line tools. Median of 3 after a warm-up run.
    print("bench: enforcement chain, two 10980 x 10980 scenes, 4 plan layers, violation list")
    cache = os.environ.pop("GDAL_CACHEMAX", None)  # GDAL's tools as users run them; landwatch sets its own from --memory
    rows["lw_enf"] = measure("landwatch enforcement chain (2 threads, --memory 512M)",
                             [LANDWATCH, "run", "enforcement/enforcement.yaml", "--set", f"before={WORK}/input.tif",
                              "--set", f"after={WORK}/after.tif", "--set", f"plan={WORK}/plan", "--out", f"{WORK}/lw_enf",
                              "--memory", "512M", "--threads", "2", "--force"], pixels, runs=3)
    rows["gdal_enf"] = measure("GDAL tools chain (gdal_calc, ogr2ogr, gdal_rasterize, gdal_sieve, gdal_polygonize)",
                               ["bash", "enforcement/gdal_chain.sh", f"{WORK}/input.tif", f"{WORK}/after.tif", f"{WORK}/plan",
                                f"{WORK}/gdal_enf"], pixels, runs=3)
    import json
    enforcement_stages = stage_seconds(f"{WORK}/lw_enf/run.json")  # the last of the 3 runs
    lw_patches = json.load(open(f"{WORK}/lw_enf/violations/summary.json"))["violations"]
    gdal_patches = int(subprocess.run(["ogrinfo", "-so", "-al", f"{WORK}/gdal_enf/violations.geojson"], capture_output=True,
                                      text=True).stdout.split("Feature Count: ")[1].split()[0])
    print(f"  patches listed: landwatch {lw_patches}, GDAL tools chain {gdal_patches} (3000 planted, 1000 of them approved)")

    # Zonal statistics: NDVI per zone for 1000 zones (CGCS2000 polygons) over the 10980 x 10980 scene, against the
    # notebook way: zones rasterised with GDAL's tools, arrays read whole, numpy bincount. Median of 3.
    print("bench: zonal statistics, 1000 zones, 10980 x 10980")
    rows["lw_zonal"] = measure("landwatch metrics.zonal (2 threads, --memory 256M)",
                               [LANDWATCH, "run", "metrics/zonal.yaml", "--set", f"input={WORK}/input.tif", "--set",
                                f"zones={WORK}/zones.gpkg", "--out", f"{WORK}/lw_zonal", "--memory", "256M", "--threads", "2", "--force"],
                               pixels, runs=3)
    rows["np_zonal"] = measure("ogr2ogr + gdal_rasterize + numpy bincount, whole arrays",
                               ["/usr/bin/python3", "metrics/numpy_zonal.py", f"{WORK}/input.tif", f"{WORK}/zones.gpkg",
                                f"{WORK}/np_zonal"], pixels, runs=3)
    if cache is not None:
        os.environ["GDAL_CACHEMAX"] = cache

    lw, fl, calc = rows["lw"], rows["floor"], rows["calc"]
    ratios = [
        ("landwatch / floor (uncompressed input), target <= 1.3", lw["wall"] / fl["wall"]),
        ("landwatch COG output / tiled GeoTIFF output, NDVI, alternated (wall), target <= 1.15",
         rows["lw_cog"]["wall"] / rows["lw_tiled_alt"]["wall"]),
        ("landwatch COG output / tiled GeoTIFF output, NDVI, alternated (peak RSS), target <= 1.15",
         rows["lw_cog"]["rss"] / rows["lw_tiled_alt"]["rss"]),
        ("gdal_calc.py / landwatch (uncompressed input), target >= 3", calc["wall"] / lw["wall"]),
        ("gdal_calc.py / floor (uncompressed input): the most any program can gain", calc["wall"] / fl["wall"]),
        ("numpy / landwatch, NDVI (wall)", rows["numpy"]["wall"] / lw["wall"]),
        ("numpy / landwatch, NDVI (peak RSS)", rows["numpy"]["rss"] / lw["rss"]),
        ("otbcli_BandMath / landwatch, NDVI (wall)", rows["otb"]["wall"] / lw["wall"]),
        ("otbcli_BandMath / landwatch, NDVI (peak RSS)", rows["otb"]["rss"] / lw["rss"]),
        ("landwatch / floor (DEFLATE input)", rows["lw_d"]["wall"] / rows["floor_d"]["wall"]),
        ("gdal_calc.py / landwatch (DEFLATE input)", rows["calc_d"]["wall"] / rows["lw_d"]["wall"]),
        ("landwatch 1 thread / 2 threads", rows["lw1"]["wall"] / lw["wall"]),
        ("landwatch peak RSS at 4x pixels / at 1x", rows["lw4"]["rss"] / lw["rss"]),
        ("XGBoost Python / landwatch, model classification (wall)", rows["py_model"]["wall"] / rows["lw_model"]["wall"]),
        ("XGBoost Python / landwatch, model classification (peak RSS)", rows["py_model"]["rss"] / rows["lw_model"]["rss"]),
        ("share of pixels with the same class, landwatch vs XGBoost Python", agreement),
        ("GDAL tools chain / landwatch, enforcement chain (wall), target >= 3", rows["gdal_enf"]["wall"] / rows["lw_enf"]["wall"]),
        ("landwatch enforcement peak RSS / its --memory budget (512 MB)", rows["lw_enf"]["rss"] / 512),
        ("GDAL tools chain / landwatch, enforcement chain (peak RSS)", rows["gdal_enf"]["rss"] / rows["lw_enf"]["rss"]),
        ("numpy / landwatch, zonal statistics (wall)", rows["np_zonal"]["wall"] / rows["lw_zonal"]["wall"]),
        ("numpy / landwatch, zonal statistics (peak RSS)", rows["np_zonal"]["rss"] / rows["lw_zonal"]["rss"]),
        ("landwatch zonal peak RSS / its --memory budget (256 MB)", rows["lw_zonal"]["rss"] / 256),
    ]
    print("bench: ratios")
    for label, value in ratios:
        print(f"  {label:60s} {value:6.2f}")

    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gdal_version = subprocess.run(["gdal-config", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {datetime.date.today().isoformat()}: {platform.node()}, {os.cpu_count()} cores "
        f"({cpu}), {platform.system()} {platform.release()}, GDAL {gdal_version}.",
        "",
        "NDVI of a 10980 × 10980, 4-band UInt16 GeoTIFF (512 × 512 tiles, band-interleaved; the real Zion Landsat 8 "
        "bands enlarged), output one Float32 band with TILED=YES, 512 × 512 blocks, ZSTD level 1. Wall time is the "
        "median of 5 runs after a warm-up run (4× case: one run); peak RSS from GNU time -v. landwatch runs with "
        "`--memory 256M` (GDAL cache 64 MB, GDAL_NUM_THREADS 2); the floor and gdal_calc.py with GDAL_CACHEMAX=64 and GDAL_NUM_THREADS=2, and gdal_calc.py once more with GDAL\'s default cache, as users run it; numpy reads both bands whole (bench/numpy_ndvi.py); otbcli_BandMath (Debian\'s otb-bin) with 2 ITK threads and -ram 256 (these two: median of 3). Timings on this shared VM vary by about 20 % from run to run. The cost of the Cloud-Optimized GeoTIFF output: its row and the tiled row above it run alternately, 5 each after a warm-up of each, so that both see the same load (the load average is printed with their ratio).",
        "",
        "The enforcement chain: the NDVI input as the earlier date and a copy with 3000 planted rectangles of real "
        "bright bare pixels as the later one (bench/enforcement/make_inputs.py), both classified by the same five "
        "threshold rules, compared against a red line (EPSG:4490), basic farmland, an urban boundary and approvals "
        "(a third of the planted rectangles), patches of 4 pixels or more listed. The GDAL tools chain "
        "(bench/enforcement/gdal_chain.sh) does less: no 3 x 3 misregistration guard and no per-patch attributes. "
        "Median of 3 runs after a warm-up; GDAL's tools run with their default cache. Zonal statistics: NDVI mean, min, "
        "max and std for 1000 zones (a 40 x 25 grid of polygons in EPSG:4490, bench/metrics/make_zones.py) against "
        "ogr2ogr + gdal_rasterize + numpy bincount on whole arrays (bench/metrics/numpy_zonal.py); same numbers.",
        "",
        "| case | wall (s) | MPix/s | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows.values():
        lines.append(f"| {row['label']} | {row['wall']:.2f} | {row['mpix']:.1f} | {row['rss']:.0f} |")
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += [f"| {label} | {value:.2f} |" for label, value in ratios]
    lines += ["", "Where the enforcement chain's time goes (landwatch, 2 threads, the last of its runs; from its run.json; "
              "tasks without a dependency between them overlap):", "", "| task (stages fused into it) | starts at (s) | wall (s) |",
              "| --- | ---: | ---: |"]
    lines += [f"| {names} | {offset:.1f} | {seconds:.1f} |" for names, offset, seconds in enforcement_stages]
    lines.append("")
    with open("RESULTS.md", "w") as f:
        f.write("\n".join(lines))
    print("bench: wrote bench/RESULTS.md")


main()
