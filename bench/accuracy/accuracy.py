#!/usr/bin/python3
"""make accuracy: landwatch's violation list scored at patch level on real scenes with planted changes.

    /usr/bin/python3 bench/accuracy/accuracy.py [--landwatch PATH] [--seeds 5] [--scenes zion,mobile,...]
        [--classifiers rules,model] [--modes planted,null,pairs] [--config extra.yaml ...]
        [--with STAGE.OPTION=VALUE ...] [--set NAME=VALUE ...] [--report bench/ACCURACY.md] [--json out.json]

See bench/accuracy/README.md. Debian's Python (/usr/bin/python3) with python3-gdal, python3-numpy, python3-yaml.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
import yaml
from osgeo import gdal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True      # no __pycache__ beside the harness
sys.path.insert(0, HERE)

import expect  # noqa: E402
import plan  # noqa: E402
import plant  # noqa: E402
import scenes  # noqa: E402
from score import score  # noqa: E402

gdal.UseExceptions()
ROOT = scenes.ROOT
WORK = os.path.join(ROOT, "bench", "work", "accuracy")


# --- Configuration --------------------------------------------------------------------------------------------

def deep_merge(base, extra):
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = deep_merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(extra)


def load_config(args):
    cfg = yaml.safe_load(open(os.path.join(HERE, "config.yaml"), encoding="utf-8")) or {}
    for path in args.config or []:
        cfg = deep_merge(cfg, yaml.safe_load(open(path, encoding="utf-8")) or {})
    for item in args.with_ or []:
        key, _, value = item.partition("=")
        stage, _, option = key.partition(".")
        if not stage or not option or not _:
            sys.exit(f"accuracy: --with takes STAGE.OPTION=VALUE (found '{item}')")
        cfg = deep_merge(cfg, {"stages": {stage: {"with": {option: yaml.safe_load(value)}}}})
    for item in args.set or []:
        name, eq, value = item.partition("=")
        if not eq:
            sys.exit(f"accuracy: --set takes NAME=VALUE (found '{item}')")
        cfg = deep_merge(cfg, {"params": {name: value}})
    cfg.setdefault("perturbation", {})
    cfg["perturbation"] = deep_merge(plant.PERTURBATION, cfg["perturbation"])
    return cfg


def apply_overrides(pipeline: dict, section: dict | None):
    """Merges one config section ({params, stages, add_stages, remove_stages}) into a pipeline."""
    if not section:
        return pipeline
    stages = pipeline["stages"]
    for sid in section.get("remove_stages") or []:
        stages[:] = [s for s in stages if s["id"] != sid]
    for add in section.get("add_stages") or []:
        add = dict(add)
        before = add.pop("before", None)
        after = add.pop("after", None)
        stages[:] = [s for s in stages if s["id"] != add["id"]]
        ids = [s["id"] for s in stages]
        if before in ids:
            stages.insert(ids.index(before), add)
        elif after in ids:
            stages.insert(ids.index(after) + 1, add)
        else:
            stages.append(add)
    for sid, change in (section.get("stages") or {}).items():
        match = [s for s in stages if s["id"] == sid]
        if not match:
            sys.exit(f"accuracy: the config changes stage '{sid}', which the pipeline does not have "
                     f"(stages: {', '.join(s['id'] for s in stages)})")
        s = match[0]
        for key, value in change.items():
            if isinstance(value, dict) and isinstance(s.get(key), dict):
                s[key] = {k: v for k, v in deep_merge(s[key], value).items() if v is not None}
            elif value is None:
                s.pop(key, None)
            else:
                s[key] = copy.deepcopy(value)
    return pipeline


def config_params(cfg, variant):
    params = dict(cfg.get("params") or {})
    params.update(((cfg.get("variants") or {}).get(variant) or {}).get("params") or {})
    return params


# --- Files --------------------------------------------------------------------------------------------------

def write_stack(path, scene, data):
    h, w = scene.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, len(scene.bands), scene.dtype,
                                              options=["COMPRESS=ZSTD", "INTERLEAVE=BAND", "TILED=YES"])
    ds.SetGeoTransform(scene.gt)
    ds.SetProjection(scene.wkt)
    for i, name in enumerate(scene.bands):
        b = ds.GetRasterBand(i + 1)
        b.SetDescription(name)
        if scene.nodata is not None:
            b.SetNoDataValue(scene.nodata)
        b.WriteArray(data[i])
    ds = None


def write_labels(path, scene, labels, dtype=gdal.GDT_Int32, nodata=None):
    h, w = scene.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, 1, dtype, options=["COMPRESS=ZSTD"])
    ds.SetGeoTransform(scene.gt)
    ds.SetProjection(scene.wkt)
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).WriteArray(labels)
    ds = None


def next_year(date):
    y, m, d = date.split("-")
    return f"{int(y) + 1}-{m}-{d}"


# --- Pipelines ----------------------------------------------------------------------------------------------

def render(kind, scene, classifier, cfg):
    """The pipeline for one run: the template, the scene's band map and scaling, the config's overrides."""
    template = {"planted": f"pipeline-{classifier}.yaml", "pair": "pipeline-pair.yaml"}[kind]
    p = yaml.safe_load(open(os.path.join(HERE, template), encoding="utf-8"))
    if kind == "pair" and classifier == "model":
        model = yaml.safe_load(open(os.path.join(HERE, "pipeline-model.yaml"), encoding="utf-8"))
        wanted = ["before-rules", "after-rules", "train", "before-classes", "after-classes"]
        ms = {s["id"]: s for s in model["stages"]}
        rest = [s for s in p["stages"] if s["id"] not in ("before-classes", "after-classes")]
        at = [s["id"] for s in rest].index("after-scene") + 1
        p["stages"] = rest[:at] + [ms[w] for w in wanted] + rest[at:]
        p["name"] = "accuracy-pair-model"
        for k in ("features", "holdout", "samples"):
            p["params"][k] = model["params"][k]
    stages = {s["id"]: s for s in p["stages"]}
    if kind == "planted":
        for sid in ("before-scene", "after-scene"):
            w = stages[sid]["with"]
            w["bands"] = {name: i + 1 for i, name in enumerate(scene.bands)}
            if scene.dtype != gdal.GDT_Float32:
                w["scale"] = scene.scale
                w["offset"] = scene.offset
            if scene.nodata is not None:
                w["nodata"] = scene.nodata
    if classifier == "model" and (kind == "pair" or scene.reference is None):
        stages["train"]["inputs"]["reference"] = "before-rules"
        p["stages"] = [s for s in p["stages"] if s["id"] != "reference"]
        p["params"].pop("reference", None)
    # Kept in work/ so that misses can say what the classes were, and diagnose.py which test of the diff dropped them.
    for sid in ("before-classes", "after-classes", "after-normalised", "changes"):
        if sid in stages:
            stages[sid]["keep"] = True
    apply_overrides(p, cfg)
    apply_overrides(p, (cfg.get("variants") or {}).get(classifier))
    if scene is not None and scene.stage_with:
        apply_overrides(p, {"stages": {sid: {"with": opts} for sid, opts in scene.stage_with.items()}})
    if kind == "pair":
        apply_overrides(p, (cfg.get("variants") or {}).get("pair"))
    return p


def run_landwatch(binary, pipeline, folder, params, log):
    path = os.path.join(folder, "pipeline.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(pipeline, f, sort_keys=False, allow_unicode=True)
    out = os.path.join(folder, "out")
    cmd = [binary, "run", path, "--out", out, "--force", "--threads", "2", "--memory", "512M",
           "--allow-read", WORK, "--allow-read", scenes.TESTDATA, "--allow-read", scenes.SHARED]
    for k, v in params.items():
        cmd += ["--set", f"{k}={v}"]
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    seconds = time.time() - t0
    with open(os.path.join(folder, "landwatch.log"), "w", encoding="utf-8") as f:
        f.write(shlex.join(cmd) + "\n\n" + proc.stdout + proc.stderr)
    error = None
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        error = f"exit {proc.returncode}: " + (lines[-1] if lines else "(no message)")
        log(f"    landwatch failed ({folder}): {error}")
    warnings = [l.split("landwatch: ", 1)[-1] for l in proc.stderr.splitlines() if " warning " in l]
    return out, seconds, error, warnings


def model_params(scene):
    h, w = scene.shape
    return {"features": scene.features, "holdout": str(max(8, min(128, min(h, w) // 4))), "samples": "5000"}


# --- One scene ----------------------------------------------------------------------------------------------

def prepare_scene(scene, log):
    folder = os.path.join(WORK, scene.name)
    os.makedirs(folder, exist_ok=True)
    write_stack(os.path.join(folder, "before.tif"), scene, scene.stored)
    if scene.reference is not None:
        write_labels(os.path.join(folder, "reference.tif"), scene, scene.reference.astype(np.uint8), gdal.GDT_Byte, 0)
    fixed = os.path.join(folder, "plan-fixed")
    plan.write_fixed_layers(scene, fixed)
    member = plan.membership(scene, fixed)
    log(f"  {scene.name}: {scene.shape[1]}x{scene.shape[0]} px, {scene.area_km2:.2f} km², targets {int(scene.target.sum())} px, "
        + ", ".join(f"{p.kind} donors {len(p.spectra)}" for p in scene.donors))
    return folder, fixed, member


def plan_folder(scene, fixed, folder, boxes):
    dst = os.path.join(folder, "plan")
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(fixed, dst)
    plan.write_approvals(scene, dst, boxes)
    return dst


def planted_case(scene, seed, member, fixed, folder, cfg):
    after, labels, patches = plant.plant(scene, seed, member)
    boxes = plant.choose_approvals(scene, seed, labels, patches)
    pl = plan_folder(scene, fixed, folder, boxes)
    approved = plan.rasterise(scene, os.path.join(pl, plan.LAYERS["approvals"][0]), all_touched=True) > 0
    for p in patches:      # the approval as read back from the file, not as intended
        p["approved"] = bool(approved[labels == p["id"]].all())
        if approved[labels == p["id"]].any() and not p["approved"]:
            raise RuntimeError(f"{scene.name} seed {seed}: patch {p['id']} partly inside an approval")
        must, codes, why = expect.expected(p, scene.pixel_area, scene.construction_from_bare)
        p["must_report"], p["expected_codes"], p["why_not"] = must, codes, why
    after, labels, radiometry = plant.perturb(scene, after, labels, seed, cfg["perturbation"])
    write_stack(os.path.join(folder, "after.tif"), scene, scene.to_stored(after))
    write_labels(os.path.join(folder, "truth.tif"), scene, labels)
    return labels, patches, radiometry, pl


def null_case(scene, seed, fixed, folder, cfg):
    labels = np.zeros(scene.shape, np.int32)
    after, labels, radiometry = plant.perturb(scene, scene.refl, labels, seed, cfg["perturbation"])
    boxes = plant.choose_approvals(scene, seed, labels, [])
    pl = plan_folder(scene, fixed, folder, boxes)
    write_stack(os.path.join(folder, "after.tif"), scene, scene.to_stored(after))
    return labels, [], radiometry, pl


def run_case(binary, scene, classifier, kind, labels, patches, folder, pl, cfg, params, log):
    rfolder = os.path.join(folder, classifier)
    os.makedirs(rfolder, exist_ok=True)
    pipeline = render(kind, scene, classifier, cfg)
    if kind == "planted":
        base = os.path.dirname(folder)
        params = {"before": os.path.join(base, "before.tif"), "after": os.path.join(folder, "after.tif"),
                  "plan": pl, "before_date": scene.date, "after_date": next_year(scene.date), **params}
        if classifier == "model" and scene.reference is not None:
            params["reference"] = os.path.join(base, "reference.tif")
    else:
        params = {"plan": pl, **params}
    if classifier == "model":
        params = {**model_params(scene), **params}
    params.update(config_params(cfg, classifier))
    out, seconds, error, warnings = run_landwatch(binary, pipeline, rfolder, params, log)
    result = {"seconds": round(seconds, 2), "error": error, "warnings": warnings}
    gj = os.path.join(out, "violations", "violations.geojson")
    if error is None and os.path.exists(gj):
        result.update(score(scene, labels, copy.deepcopy(patches) if patches else [], gj,
                            os.path.join(out, "work", "before-classes.tif"), os.path.join(out, "work", "after-classes.tif")))
    elif error is None:
        result["error"] = "no violations.geojson written"
    return result


# --- Report -------------------------------------------------------------------------------------------------

def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def pooled(rows):
    ok = [r for r in rows if not r.get("error")]
    must = sum(r["must"] for r in ok)
    reports = sum(r["reports"] for r in ok)
    return {
        "runs": len(rows), "failed": len(rows) - len(ok),
        "must": must, "hit": sum(r["hit"] for r in ok),
        "recall": sum(r["hit"] for r in ok) / must if must else None,
        "reports": reports, "precision": sum(r["tp_reports"] for r in ok) / reports if reports else None,
        "ignore": sum(r["ignore"] for r in ok), "ignored_reported": sum(r["ignored_reported"] for r in ok),
        "stray_per_km2": (sum(r["stray"] for r in ok) / sum(r["area_km2"] for r in ok)) if ok else None,
        "codes_ok": sum(r["codes_ok"] for r in ok),
    }


def table(rows, header, cells):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(out)


def planted_row(r):
    return [r["scene"], r["classifier"], str(r["seed"]), fmt(r.get("planted")), fmt(r.get("must")), fmt(r.get("hit")),
            fmt(r.get("recall")), fmt(r.get("reports")), fmt(r.get("tp_reports")), fmt(r.get("precision")),
            f"{fmt(r.get('ignored_reported'))}/{fmt(r.get('ignore'))}", fmt(r.get("stray")), fmt(r.get("stray_per_km2"), 3),
            f"{fmt(r.get('codes_ok'))}/{fmt(r.get('hit'))}", fmt(r.get("contrast"), 3), fmt(r["seconds"], 1),
            (r.get("error") or "")[:160].replace("|", "\\|")]


PLANTED_HEADER = ["scene", "classifier", "seed", "planted", "must report", "hit", "recall", "reports", "reports on a must",
                  "precision", "must-ignore reported", "stray", "stray/km²", "codes right", "median contrast", "s", "error"]


def summary_lines(results):
    lines = []
    keys = sorted({(r["scene"], r["classifier"]) for r in results if r["mode"] == "planted"},
                  key=lambda k: (list(scenes.LOADERS).index(k[0]), k[1]))
    rows = []
    for sc, cl in keys:
        pr = pooled([r for r in results if r["mode"] == "planted" and r["scene"] == sc and r["classifier"] == cl])
        nulls = [r for r in results if r["mode"] == "null" and r["scene"] == sc and r["classifier"] == cl]
        null_reports = [r.get("reports") for r in nulls if not r.get("error")]
        meets = (pr["recall"] or 0) >= 0.90 and (pr["precision"] or 0) >= 0.85 and (null_reports and max(null_reports) == 0)
        rows.append([sc, cl, f"{pr['runs']}", f"{pr['hit']}/{pr['must']}", fmt(pr["recall"]), f"{pr['reports']}", fmt(pr["precision"]),
                     f"{pr['ignored_reported']}/{pr['ignore']}", fmt(pr["stray_per_km2"], 3), f"{pr['codes_ok']}/{pr['hit']}",
                     ("–" if not nulls else ", ".join(fmt(x) for x in null_reports) + (f" ({len(nulls) - len(null_reports)} failed)" if len(null_reports) < len(nulls) else "")),
                     "yes" if meets else "no", f"{pr['failed']}"])
    lines.append(table(rows, ["scene", "classifier", "seeds", "hit/must", "recall", "reports", "precision",
                              "must-ignore reported", "stray/km²", "codes right", "null reports per seed", "target met", "failed runs"],
                       lambda r: r))
    return "\n".join(lines)


def write_report(path, results, args, cfg, binary, started, elapsed, scene_objs):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "Sources"],
                           capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Change-detection accuracy (make accuracy)",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; {elapsed / 60:.1f} min",
        f"- machine: {platform.node()}, {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- landwatch: `{os.path.relpath(binary, ROOT)}` {version} at commit {commit}" + (" (Sources modified in the working tree)" if dirty else ""),
        f"- command: `{' '.join(['/usr/bin/python3', 'bench/accuracy/accuracy.py'] + sys.argv[1:])}`",
        f"- later date: gain {cfg['perturbation']['gain']} per band, offset {cfg['perturbation']['offset']}, "
        f"Gaussian noise σ {cfg['perturbation']['noise']} (reflectance), shift {cfg['perturbation']['shift']} px",
        f"- expectation: bench/accuracy/expect.py (bare as construction: {expect.BARE_IS_CONSTRUCTION}; minimum {expect.MIN_PIXELS} px and each rule's m²)",
        "",
        "Patch level: a planted patch is hit when a reported polygon touches it (1-pixel tolerance); recall = hit / must report;",
        "precision = reports touching a must-report patch / all reports; stray = reports touching no planted patch.",
        "Target (issue 20): recall ≥ 0.90 and precision ≥ 0.85 on every scene, rules and model; null runs 0 reports.",
        "",
        "## Summary (all seeds pooled)",
        "",
        summary_lines(results),
        "",
    ]
    overrides = {k: v for k, v in cfg.items() if k != "perturbation" and v}
    if overrides:
        lines += ["Config overrides in effect:", "", "```yaml", yaml.safe_dump(overrides, sort_keys=False, allow_unicode=True).strip(), "```", ""]
    planted_rows = [r for r in results if r["mode"] == "planted"]
    if planted_rows:
        lines += ["## Planted changes, per seed", "", table(planted_rows, PLANTED_HEADER, planted_row), ""]
        misses = {}
        for r in planted_rows:
            for s in r.get("missed_seen_as") or []:
                key = (r["scene"], r["classifier"])
                misses.setdefault(key, {}).setdefault(s or "?", 0)
                misses[key][s or "?"] += 1
        if misses:
            lines += ["Missed must-report patches: what landwatch's before → after classes were at them (majority):", ""]
            for (sc, cl), d in misses.items():
                lines.append(f"- {sc} / {cl}: " + ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])))
            lines.append("")
    null_rows = [r for r in results if r["mode"] == "null"]
    if null_rows:
        lines += ["## Null: each scene against itself (gain, offset, noise, one-pixel shift; nothing planted)", "",
                  table(null_rows, ["scene", "classifier", "seed", "reports", "per 100 km²", "km² listed", "transitions (before->after)", "s", "error"],
                        lambda r: [r["scene"], r["classifier"], str(r["seed"]), fmt(r.get("reports")), fmt(r.get("per_100km2"), 1),
                                   fmt(r.get("listed_km2"), 3), ", ".join(f"{k} {v}" for k, v in list((r.get("report_transitions") or {}).items())[:4]),
                                   fmt(r["seconds"], 1), (r.get("error") or "")[:160].replace("|", "\\|")]), ""]
    pair_rows = [r for r in results if r["mode"] == "pair"]
    if pair_rows:
        lines += ["## Real pairs, nothing planted", "",
                  table(pair_rows, ["pair", "classifier", "reports", "per 100 km²", "km² listed", "share of scene", "rules", "transitions (before->after)", "s", "error"],
                        lambda r: [r["scene"], r["classifier"], fmt(r.get("reports")), fmt(r.get("per_100km2"), 1), fmt(r.get("listed_km2"), 3),
                                   fmt((r["listed_km2"] / r["area_km2"]) if r.get("listed_km2") is not None else None, 3),
                                   ";".join(r.get("report_rules") or []),
                                   ", ".join(f"{k} {v}" for k, v in list((r.get("report_transitions") or {}).items())[:4]),
                                   fmt(r["seconds"], 1), (r.get("error") or "")[:200].replace("|", "\\|")]), ""]
    lines += ["## Scenes: targets and donors", ""]
    for s in scene_objs:
        lines.append(f"- **{s.title}** ({s.area_km2:.2f} km², {s.n_patches} patches per seed): " + "; ".join(s.notes))
    lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# --- Main ---------------------------------------------------------------------------------------------------

PAIRS = {
    "marburg-pair": ("marburg", os.path.join(scenes.MARBURG, f"{scenes.MARBURG_LE07}_MTL.txt"),
                     os.path.join(scenes.MARBURG, f"{scenes.MARBURG_LC08}_MTL.txt"), "LE07 2001-07-30 vs LC08 2013-07-07"),
    "kenya-pair": ("kenya", os.path.join(scenes.KENYA, "LT05", f"{scenes.KENYA_LT05}_MTL.txt"),
                   os.path.join(scenes.KENYA, "LT5", f"{scenes.KENYA_LT5}_MTL.txt"), "LT05 2000-03-09 vs LT5 2010-12-18"),
}


def default_binary():
    env = os.environ.get("LANDWATCH")
    if env:
        return env
    built = [p for p in (os.path.join(ROOT, ".build", c, "landwatch") for c in ("release", "debug")) if os.access(p, os.X_OK)]
    if built:      # the newer of the two: a release binary left from an older build must not hide today's code
        return max(built, key=os.path.getmtime)
    return os.path.join(ROOT, ".build", "debug", "landwatch")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--landwatch", default=default_binary(), help="the binary (default: $LANDWATCH, else the newer of .build/release and .build/debug)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per scene (default: config seeds, 5)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scenes", default=",".join(scenes.LOADERS))
    ap.add_argument("--classifiers", default="rules,model")
    ap.add_argument("--modes", default="planted,null,pairs")
    ap.add_argument("--null-seeds", type=int, default=None, help="seeds of the null runs (default: 2)")
    ap.add_argument("--config", action="append", help="extra YAML merged over bench/accuracy/config.yaml")
    ap.add_argument("--with", dest="with_", action="append", metavar="STAGE.OPTION=VALUE",
                    help="set a stage option in every rendered pipeline (VALUE is YAML)")
    ap.add_argument("--set", action="append", metavar="NAME=VALUE", help="a pipeline parameter for every run")
    ap.add_argument("--report", default=None, help="Markdown report (make accuracy: bench/ACCURACY.md)")
    ap.add_argument("--json", default=None, help="every result as JSON")
    ap.add_argument("--work", default=None, help="work folder (default: bench/work/accuracy)")
    args = ap.parse_args(argv)
    global WORK
    if args.work:
        WORK = os.path.abspath(args.work)
    cfg = load_config(args)
    binary = os.path.abspath(args.landwatch)
    if not os.access(binary, os.X_OK):
        sys.exit(f"accuracy: no landwatch binary at {binary} (swift build, or --landwatch PATH)")
    seeds = args.seeds or int(cfg.get("seeds") or 5)
    null_seeds = args.null_seeds or min(seeds, 2)
    wanted = [s for s in args.scenes.split(",") if s]
    for s in wanted:
        if s not in scenes.LOADERS:
            sys.exit(f"accuracy: unknown scene '{s}' (scenes: {', '.join(scenes.LOADERS)})")
    classifiers = [c for c in args.classifiers.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]
    started = datetime.datetime.utcnow()
    t0 = time.time()
    log = lambda msg: print(msg, flush=True)
    log(f"accuracy: landwatch {binary}; scenes {', '.join(wanted)}; classifiers {', '.join(classifiers)}; "
        f"{seeds} seeds; modes {', '.join(modes)}")
    os.makedirs(WORK, exist_ok=True)
    results, scene_objs = [], []
    for name in wanted:
        scene = scenes.LOADERS[name]()
        scene_objs.append(scene)
        folder, fixed, member = prepare_scene(scene, log)
        if "planted" in modes:
            for seed in range(args.first_seed, args.first_seed + seeds):
                sf = os.path.join(folder, f"seed{seed}")
                os.makedirs(sf, exist_ok=True)
                labels, patches, radiometry, pl = planted_case(scene, seed, member, fixed, sf, cfg)
                with open(os.path.join(sf, "truth.json"), "w", encoding="utf-8") as f:
                    json.dump({"scene": name, "seed": seed, "radiometry": radiometry, "patches": patches}, f, indent=1, ensure_ascii=False)
                contrast = float(np.median([p["contrast"] for p in patches if p["must_report"]] or [0]))
                for cl in classifiers:
                    r = run_case(binary, scene, cl, "planted", labels, patches, sf, pl, cfg, {}, log)
                    r.update(scene=name, classifier=cl, seed=seed, mode="planted", area_km2=scene.area_km2, contrast=contrast)
                    results.append(r)
                    log("    " + " ".join(f"{h}={v}" for h, v in zip(PLANTED_HEADER, planted_row(r)) if v not in ("", "–")))
        if "null" in modes:
            for seed in range(args.first_seed, args.first_seed + null_seeds):
                sf = os.path.join(folder, f"null{seed}")
                os.makedirs(sf, exist_ok=True)
                labels, patches, radiometry, pl = null_case(scene, seed, fixed, sf, cfg)
                for cl in classifiers:
                    r = run_case(binary, scene, cl, "planted", labels, [], sf, pl, cfg, {}, log)
                    r.update(scene=name, classifier=cl, seed=seed, mode="null", area_km2=scene.area_km2, radiometry=radiometry)
                    results.append(r)
                    log(f"    null {name} {cl} seed {seed}: {fmt(r.get('reports'))} reports "
                        f"({fmt(r.get('listed_km2'), 3)} km²) {r.get('error') or ''}")
    if "pairs" in modes:
        for pair, (grid_scene, before, after, what) in PAIRS.items():
            if grid_scene not in wanted and grid_scene not in scenes.LOADERS:
                continue
            scene = next((s for s in scene_objs if s.name == grid_scene), None) or scenes.LOADERS[grid_scene]()
            folder = os.path.join(WORK, pair)
            os.makedirs(folder, exist_ok=True)
            fixed = os.path.join(folder, "plan-fixed")
            plan.write_fixed_layers(scene, fixed)
            pl = plan_folder(scene, fixed, folder, plant.choose_approvals(scene, 1, np.zeros(scene.shape, np.int32), []))
            for cl in classifiers:
                r = run_case(binary, scene, cl, "pair", np.zeros(scene.shape, np.int32), [], folder, pl, cfg,
                             {"before": before, "after": after}, log)
                r.update(scene=pair, classifier=cl, seed="–", mode="pair", area_km2=scene.area_km2, what=what)
                results.append(r)
                log(f"    {pair} ({what}) {cl}: {fmt(r.get('reports'))} reports, {fmt(r.get('per_100km2'), 1)} per 100 km², "
                    f"{fmt(r.get('listed_km2'), 3)} km² listed {r.get('error') or ''}")
    elapsed = time.time() - t0
    log("")
    log(summary_lines(results))
    log(f"accuracy: {len(results)} runs in {elapsed / 60:.1f} min; work files in {os.path.relpath(WORK, ROOT)}")
    if args.report:
        write_report(args.report, results, args, cfg, binary, started, elapsed, scene_objs)
        log(f"accuracy: wrote {args.report}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, ensure_ascii=False, default=str)
    return results


if __name__ == "__main__":
    main()
