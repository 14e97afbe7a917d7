"""make bench, tree evaluator (issue 28 item 1): classify.model with landwatch's native tree evaluator against
landwatch with XGBoost's predictor, XGBoost's Python package and the same model compiled to C by tl2cgen, on the
bench's model and on a realistic one (100 rounds, depth 6, 30 features, 6 classes). Every case reads the same
feature raster, classifies every pixel and writes the classes; wall time and peak RSS from GNU time, median of
RUNS runs. Appends a section to bench/RESULTS.md.

Usage: bench_trees.py LANDWATCH   (from bench/, after run.sh generated work/input.tif and work/model/)"""
import json
import os
import re
import statistics
import subprocess
import sys

import numpy as np
from osgeo import gdal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features as F  # noqa: E402

gdal.UseExceptions()
LANDWATCH = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.abspath("work/trees")
RESULTS = os.path.join(os.path.dirname(HERE), "RESULTS.md")
RUNS = int(os.environ.get("TREES_RUNS", "3"))
WARM = os.environ.get("TREES_WARM", "1") != "0"  # TREES_WARM=0: no warm-up round
STRIP = (0, 4096, 10980, 1024)  # xoff, yoff, width, height of the strip of work/input.tif every case classifies
CFLAGS = ["-O3"]  # tl2cgen's C; landwatch's Swift is built -O, both for the baseline x86-64 instruction set
CO = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=IF_SAFER"]
os.makedirs(WORK, exist_ok=True)


def timed(command, env=None):
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"bench: command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    predict = re.search(r"predict seconds: ([\d.]+)", result.stdout)
    return seconds, rss, float(predict.group(1)) if predict else None


def measure_together(commands):
    """Runs every command once as a warm-up, then RUNS rounds of all of them in turn (so that a change of load on
    the machine falls on every case alike); the median of each."""
    for _, command in commands if WARM else []:
        timed(command)
    results = [[] for _ in commands]
    for _ in range(RUNS):
        for index, (_, command) in enumerate(commands):
            results[index].append(timed(command))
    rows = []
    for (label, _), runs in zip(commands, results):
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        predict = statistics.median(r[2] for r in runs) if runs[0][2] is not None else None
        print(f"bench:   {label}: {wall:.2f} s, {rss:.0f} MB" + (f" (predict alone {predict:.2f} s)" if predict else "")
              + " [runs: " + ", ".join(f"{r[0]:.2f}" for r in runs) + "]", flush=True)
        rows.append({"label": label, "wall": wall, "rss": rss, "predict": predict, "runs": [r[0] for r in runs]})
    return rows


def write_raster(path, columns, like, data_type=gdal.GDT_Float32):
    driver = gdal.GetDriverByName("GTiff")
    out = driver.Create(path + ".tmp", like.RasterXSize, like.RasterYSize, len(columns), data_type, CO + ["INTERLEAVE=BAND"])
    out.SetGeoTransform(like.GetGeoTransform())
    out.SetProjection(like.GetProjection())
    for index, values in enumerate(columns):
        out.GetRasterBand(index + 1).WriteArray(values.reshape(like.RasterYSize, like.RasterXSize))
        out.GetRasterBand(index + 1).SetNoDataValue(float("nan"))
    out = None
    os.replace(path + ".tmp", path)


def prepare():
    """The strip (4 bands UInt16) and its two feature rasters; the bench's model (bench/train.yaml, as bench.py
    trains it) and the realistic model trained on Zion with NLCD."""
    if not os.path.exists("work/model/model.json.meta.json"):
        subprocess.run([LANDWATCH, "run", "train.yaml", "--out", os.path.abspath("work/model"), "--force", "--allow-read",
                        os.path.join(os.path.dirname(HERE), "..", "testdata")], check=True, capture_output=True)
    strip = f"{WORK}/strip.tif"
    if not os.path.exists(strip):
        gdal.Translate(strip, "work/input.tif", srcWin=list(STRIP), creationOptions=CO + ["INTERLEAVE=BAND"])
    ds = gdal.Open(strip)
    blue, green, red, nir = (F.reflectance(ds.GetRasterBand(i).ReadAsArray().ravel()) for i in (1, 2, 3, 4))
    small = f"{WORK}/bench-features.tif"
    if not os.path.exists(small):
        write_raster(small, [blue, green, red, nir, F.normalized(nir, red), F.normalized(green, nir)], ds)
    names, columns = F.realistic(blue, green, red, nir)
    large = f"{WORK}/realistic-features.tif"
    if not os.path.exists(large):
        write_raster(large, columns, ds)
    model = f"{WORK}/realistic/model.json"
    if not os.path.exists(model + ".meta.json"):
        import xgboost as xgb
        zion = os.path.join(os.path.dirname(HERE), "..", "testdata", "zion-landsat8")
        bands = [F.reflectance(gdal.Open(f"{zion}/landsat_b{b}.tif").ReadAsArray().ravel()) for b in (2, 3, 4, 5)]
        _, train_columns = F.realistic(*bands)
        like = gdal.Open(f"{zion}/landsat_b2.tif")
        gt = like.GetGeoTransform()
        bounds = (gt[0], gt[3] + gt[5] * like.RasterYSize, gt[0] + gt[1] * like.RasterXSize, gt[3])
        nlcd = gdal.Warp("", f"{zion}/nlcd.tif", format="MEM", outputBounds=bounds, width=like.RasterXSize,
                         height=like.RasterYSize, dstSRS=like.GetProjection(), resampleAlg="near").ReadAsArray().ravel()
        reference = {1: 4, 8: 4, 2: 5, 3: 6, 4: 2, 5: 3, 6: 3, 7: 1}  # as bench/train.yaml
        matrix = np.stack(train_columns, axis=1)
        labels = np.array([reference.get(int(c), 0) for c in nlcd])
        usable = np.flatnonzero((labels > 0) & np.isfinite(matrix).all(axis=1))
        rng = np.random.default_rng(28)
        picked = np.concatenate([rng.choice(usable[labels[usable] == c], min(5000, int((labels[usable] == c).sum())), replace=False)
                                 for c in range(1, 7)])
        classes = sorted(set(labels[picked].tolist()))
        booster = xgb.train({"objective": "multi:softprob", "num_class": len(classes), "max_depth": 6, "eta": 0.3,
                             "nthread": 2, "seed": 28},
                            xgb.DMatrix(matrix[picked], label=[classes.index(v) for v in labels[picked]]), num_boost_round=100)
        os.makedirs(os.path.dirname(model), exist_ok=True)
        booster.save_model(model)
        meta = json.load(open("work/model/model.json.meta.json"))
        meta.update({"features": names, "classes": classes, "untrained": {}})
        for key in ("calibration", "reliability", "reliabilityRaw"):
            meta.pop(key, None)
        json.dump(meta, open(model + ".meta.json", "w"))
    return names


def pipeline(path, feature_names, model, predictor):
    bands = ", ".join(f"{name}: {index + 1}" for index, name in enumerate(feature_names))
    text = f"""version: 1
name: bench-trees
stages:
  - {{id: scene, uses: read.scene, with: {{path: "{path}", bands: {{{bands}}}}}}}
  - {{id: landcover, uses: classify.model, inputs: {{scene: scene}}, with: {{path: "{model}", predictor: {predictor}}}}}
  - {{id: out, uses: write.raster, inputs: [landcover], with: {{path: landcover.tif}}}}
"""
    file = f"{WORK}/{os.path.basename(path)}.{predictor}.yaml"
    open(file, "w").write(text)
    return file


def agreement(a, b):
    a_ds, b_ds = gdal.Open(a), gdal.Open(b)  # kept alive while their bands are read
    x = a_ds.GetRasterBand(1).ReadAsArray()
    y = b_ds.GetRasterBand(1).ReadAsArray()
    return int((x != y).sum()), x.size


def case(title, features_path, feature_names, model):
    print(f"bench: tree evaluator, {title}", flush=True)
    lib = f"{WORK}/{os.path.basename(os.path.dirname(model))}.so"
    if not os.path.exists(lib) or os.path.getmtime(lib) < os.path.getmtime(model):
        subprocess.run(["/usr/bin/python3", f"{HERE}/peer.py", "compile", model, lib, " ".join(CFLAGS)], check=True)
    out = {}
    commands = []
    for predictor in ("native", "xgboost"):
        out[predictor] = f"{WORK}/out-{os.path.basename(features_path)}-{predictor}"
        commands.append((f"landwatch classify.model, predictor: {predictor} (2 threads, --memory 256M)",
                         [LANDWATCH, "run", pipeline(features_path, feature_names, model, predictor), "--out", out[predictor],
                          "--memory", "256M", "--threads", "2", "--force"]))
    for peer, label in (("xgboost", "XGBoost Python package, inplace_predict (nthread 2)"),
                        ("tl2cgen", "tl2cgen-compiled C (" + " ".join(CFLAGS) + ", nthread 2)")):
        out[peer + "-py"] = f"{WORK}/{peer}-{os.path.basename(features_path)}"
        commands.append((label, ["/usr/bin/python3", f"{HERE}/peer.py", peer, features_path, model, lib, out[peer + "-py"]]))
    rows = measure_together(commands)
    differing, total = agreement(f"{out['native']}/landcover.tif", f"{out['xgboost']}/landcover.tif")
    differing_py, _ = agreement(f"{out['native']}/landcover.tif", out["xgboost-py"])
    differing_tl, _ = agreement(f"{out['native']}/landcover.tif", out["tl2cgen-py"])
    return {"title": title, "rows": rows, "pixels": total,
            "differing": {"landwatch with XGBoost": differing, "XGBoost Python": differing_py, "tl2cgen": differing_tl}}


def main():
    load_start = open("/proc/loadavg").read().split()[:3]
    names = prepare()
    if os.environ.get("TREES_PREPARE_ONLY"):
        return
    trees_bench = json.load(open("work/model/model.json"))["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"]
    cases = [case(f"the bench's model ({trees_bench} trees: 20 rounds x 6 classes, 6 features)", f"{WORK}/bench-features.tif",
                  ["blue", "green", "red", "nir", "ndvi", "ndwi"], os.path.abspath("work/model/model.json")),
             case("a realistic model (600 trees: 100 rounds x 6 classes, depth 6, 30 features)", f"{WORK}/realistic-features.tif",
                  names, f"{WORK}/realistic/model.json")]
    load = open("/proc/loadavg").read().split()[:3]
    lines = ["", "## Tree evaluator (classify.model)", "",
             f"bench/trees/bench_trees.py: a {STRIP[2]} x {STRIP[3]} strip of the NDVI input (rows {STRIP[1]}..{STRIP[1] + STRIP[3]}), "
             "its features written once as a Float32 GeoTIFF that every case reads whole; each case classifies every pixel "
             "and writes the classes. landwatch: `landwatch run` of read.scene → classify.model → write.raster (features "
             "read block by block, 2 workers). Peers: bench/trees/peer.py reads the raster with GDAL, predicts with 2 threads "
             "(XGBoost's `inplace_predict`; tl2cgen's Predictor over the model compiled to C by tl2cgen 1.0 / treelite 4.1 "
             f"with gcc {' '.join(CFLAGS)}, the baseline x86-64 instruction set as landwatch's `swift build -c release`), "
             f"arg-max, writes the classes; 'predict' is its predict call alone. Median of {RUNS} round(s)"
             + (" after a warm-up" if WARM else " without a warm-up (the feature rasters were in the page cache from earlier runs)") + ", "
             "each round running every case in turn; "
             f"load average (1, 5, 15 min) at the start: {' '.join(load_start)}, at the end: {' '.join(load)} "
             "(2 cores; other agents' builds and tests were running on this machine).", ""]
    ratios = []
    for c in cases:
        lines += [f"**{c['title']}**, {c['pixels'] / 1e6:.1f} MPix", "", "| case | wall (s) | predict alone (s) | peak RSS (MB) |",
                  "| --- | ---: | ---: | ---: |"]
        for r in c["rows"]:
            predict = "" if r["predict"] is None else f"{r['predict']:.2f}"
            lines.append(f"| {r['label']} | {r['wall']:.2f} | {predict} | {r['rss']:.0f} |")
        native, lw_xgb, py, tl = c["rows"]
        lines += ["", "| ratio | value |", "| --- | ---: |",
                  f"| landwatch with XGBoost's predictor / native (wall) | {lw_xgb['wall'] / native['wall']:.2f} |",
                  f"| XGBoost Python / landwatch native (wall), target >= 3 | {py['wall'] / native['wall']:.2f} |",
                  f"| tl2cgen C / landwatch native (wall), target >= 1.2 | {tl['wall'] / native['wall']:.2f} |",
                  f"| XGBoost Python predict alone / landwatch native whole run | {py['predict'] / native['wall']:.2f} |",
                  f"| tl2cgen predict alone / landwatch native whole run | {tl['predict'] / native['wall']:.2f} |", ""]
        lines.append("Pixels whose class differs from landwatch native: "
                     + ", ".join(f"{k} {v}" for k, v in c["differing"].items()) + f" (of {c['pixels']}).")
        lines.append("")
        ratios.append((c["title"], py["wall"] / native["wall"], tl["wall"] / native["wall"]))
    lines += ["Targets (issue 28 item 1):", ""]
    for title, vs_xgb, vs_tl in ratios:
        for name, value, bound in (("≥ 3× XGBoost's predictor", vs_xgb, 3.0), ("≥ 1.2× tl2cgen C", vs_tl, 1.2)):
            verdict = "met" if value >= bound else f"missed: {value:.2f} of {bound:g} ({100 * (1 - value / bound):.0f} % short)"
            lines.append(f"- {title}: {name}: {value:.2f}, {verdict}")
    lines.append("")
    # The section replaces its earlier version in place; the sections after it (written by other scripts and by
    # hand) are kept.
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    head, marker, rest = text.partition("\n## Tree evaluator (classify.model)")
    tail = ("\n## " + rest.split("\n## ", 1)[1]) if marker and "\n## " in rest else ""
    open(RESULTS, "w").write(head.rstrip("\n") + "\n" + "\n".join(lines) + tail)
    print("bench: tree evaluator section written to bench/RESULTS.md")
    for line in lines[-(len(ratios) * 2 + 1):]:
        print("  " + line)


main()
