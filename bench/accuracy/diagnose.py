#!/usr/bin/python3
"""Why each missed must-report patch of a `make accuracy` run was missed: compliance.diff's tests replayed on it.

    /usr/bin/python3 bench/accuracy/diagnose.py [--work bench/work/accuracy] [--scenes zion,kenya] [--json out.json]

Reads what accuracy.py keeps of every planted run (truth.tif, truth.json, the pipeline, run.json, the before and after
classes, the normalised later date, the change raster) and replays, pixel by pixel on each patch, the tests of
compliance.diff in its order: the class changed; the transition breaks a rule (construction or farmland, with the
patch's plan); both confidences reach min_confidence; the new class is absent from the before map's 3 x 3 window
(only where the class test ran); the evidence reaches min_evidence (recomputed from the no-change centre and spread in
run.json). A patch is lost at the first test that leaves it under 4 pixels; one whose changed pixels (the change
raster's) fall apart into 8-connected pieces under 4 pixels is "fragmented". The vegetation test (vegetation_ndvi in
run.json) is applied to the classes as the diff does.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections import Counter, deque

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from osgeo import gdal  # noqa: E402

import scenes  # noqa: E402
from scenes import BARE, BUILT, CROPLAND, FOREST, GRASSLAND, WATER  # noqa: E402

gdal.UseExceptions()
NAMES = {0: "none", 1: "cropland", 2: "forest", 3: "grassland", 4: "water", 5: "built-up", 6: "bare"}
STEPS = ["class", "rule", "confidence", "neighbourhood", "evidence"]


def read(path):
    ds = gdal.Open(path)
    a = np.stack([ds.GetRasterBand(i + 1).ReadAsArray().astype(np.float64) for i in range(ds.RasterCount)])
    ds = None
    return a


def diff_findings(run_json):
    for stage in json.load(open(run_json, encoding="utf-8"))["stages"]:
        if stage["id"] == "changes":
            return (stage.get("findings") or {}).get("values") or {}
    return {}


def shifted(a, dy, dx, fill):
    """out[..., r, c] = a[..., r + dy, c + dx]; outside the raster: fill."""
    h, w = a.shape[-2:]
    out = np.full_like(a, fill)
    ys, yd = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
    xs, xd = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
    out[..., yd, xd] = a[..., ys, xs]
    return out


def rules_class(cls, image, bands, threshold):
    """compliance.diff's vegetation test: vegetated or bare classes under the NDVI threshold are bare (decided)."""
    if threshold is None or "red" not in bands or "nir" not in bands:
        return cls, np.zeros(cls.shape, bool)
    red, nir = image[bands.index("red")], image[bands.index("nir")]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    decided = np.isin(cls, [CROPLAND, FOREST, GRASSLAND, BARE]) & (ndvi < threshold)
    return np.where(decided, BARE, cls), decided


def construction(b, a, from_bare):
    c = (a != b) & np.isin(a, [BUILT, BARE]) & (b != BUILT)
    c &= ~((b == BARE) & ~(from_bare & (a == BUILT)))
    return c & ~((b == CROPLAND) & (a == BARE))


def evidence(before, after, centre, sigma):
    best = np.full(before.shape[1:], np.inf)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            z = (after - shifted(before, dy, dx, np.nan) - centre[:, None, None]) / sigma[:, None, None]
            s = np.mean(z * z, axis=0)
            best = np.minimum(best, np.where(np.isfinite(s), s, np.inf))
    return np.sqrt(best)


def largest_piece(mask):
    seen = np.zeros_like(mask)
    h, w = mask.shape
    biggest = 0
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        queue, n = deque([(y, x)]), 0
        seen[y, x] = True
        while queue:
            r, c = queue.popleft()
            n += 1
            for rr in range(max(0, r - 1), min(h, r + 2)):
                for cc in range(max(0, c - 1), min(w, c + 2)):
                    if mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        queue.append((rr, cc))
        biggest = max(biggest, n)
    return biggest


def run_folder(scene, seed_folder, classifier, truth, labels, class_test_default=None):
    out = os.path.join(seed_folder, classifier, "out")
    work = os.path.join(out, "work")
    if not os.path.exists(os.path.join(out, "run.json")) or not os.path.exists(os.path.join(work, "changes.tif")):
        return []
    pipeline = yaml.safe_load(open(os.path.join(seed_folder, classifier, "pipeline.yaml"), encoding="utf-8"))
    diff = next(s for s in pipeline["stages"] if s["id"] == "changes")
    options = diff.get("with") or {}
    with_images = "after_image" in (diff.get("inputs") or {})
    class_test = options.get("neighbourhood_classes", not with_images if class_test_default is None else class_test_default)
    min_confidence = float(options.get("min_confidence", 50))
    min_evidence = float(options.get("min_evidence", 4))
    from_bare = bool(options.get("construction_from_bare", False))
    found = diff_findings(os.path.join(out, "run.json"))
    bc, ac = read(os.path.join(work, "before-classes.tif")), read(os.path.join(work, "after-classes.tif"))
    bcls, acls = np.nan_to_num(bc[0]).astype(int), np.nan_to_num(ac[0]).astype(int)
    full = np.full(bcls.shape, 100.0)
    bconf, aconf = (bc[1] if len(bc) > 1 else full), (ac[1] if len(ac) > 1 else full)
    normalised = os.path.join(work, "after-normalised.tif")
    after_image = read(normalised) if os.path.exists(normalised) else None
    ev = None
    if with_images and after_image is not None:
        centre = np.array([found.get(f"evidence.{b}.centre", 0.0) for b in scene.bands])
        sigma = np.array([max(found.get(f"evidence.{b}.sigma", 1.0), 1e-6) for b in scene.bands])
        ev = evidence(scene.refl, after_image, centre, sigma)
        bcls, bdecided = rules_class(bcls, scene.refl, scene.bands, found.get("vegetation_ndvi"))
        acls, adecided = rules_class(acls, after_image, scene.bands, found.get("vegetation_ndvi"))
        bconf, aconf = np.where(bdecided, 100, bconf), np.where(adecided, 100, aconf)
    conf = np.minimum(np.nan_to_num(bconf), np.nan_to_num(aconf))
    absent = np.ones(bcls.shape, bool)
    if class_test:
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                absent &= shifted(bcls, dy, dx, -1) != acls
    changed = read(os.path.join(work, "changes.tif"))[0] > 0
    rows = []
    for p in truth["patches"]:
        if not p["must_report"]:
            continue
        m = labels == p["id"]
        b, a = bcls[m], acls[m]
        moved = (a != b) & (a > 0) & (b > 0)
        farmland = (b == CROPLAND) | p["basic_farmland"]
        farmland_rule = moved & farmland & (b != BUILT) & np.isin(a, [BUILT, BARE, WATER, FOREST]) & ~((a == BARE) & (b == BARE))
        tests = {"class": moved, "rule": construction(b, a, from_bare) | farmland_rule, "confidence": conf[m] >= min_confidence,
                 "neighbourhood": absent[m], "evidence": (ev[m] >= min_evidence) if ev is not None else np.ones(len(b), bool)}
        kept, lost, left = np.ones(len(b), bool), None, {}
        for step in STEPS:
            kept &= tests[step]
            left[step] = int(kept.sum())
            if lost is None and kept.sum() < 4:
                lost = step
        rr, cc = np.nonzero(m)
        window = changed[max(0, rr.min() - 1):rr.max() + 2, max(0, cc.min() - 1):cc.max() + 2]
        piece = largest_piece(window)
        if lost is None and piece < 4:
            lost = "fragmented"
        majority = lambda v: NAMES.get(int(np.bincount(v[v >= 0]).argmax()) if len(v) else 0, "?")
        rows.append({"seed": truth["seed"], "patch": p["id"], "kind": p["kind"], "pixels": int(m.sum()),
                     "seen_as": f"{majority(b)}->{majority(a)}",
                     "after_classes": {NAMES.get(int(k), str(k)): int(v) for k, v in zip(*np.unique(a, return_counts=True))},
                     "median_confidence": float(np.median(conf[m])),
                     "median_evidence": float(np.median(ev[m])) if ev is not None else None,
                     "left_after": left, "largest_piece": piece, "lost_at": lost})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(scenes.ROOT, "bench", "work", "accuracy"))
    ap.add_argument("--scenes", default=",".join(scenes.LOADERS))
    ap.add_argument("--json", default=None, help="every patch's replay as JSON")
    ap.add_argument("--class-test", choices=["auto", "on", "off"], default="auto",
                    help="whether the diff ran the before-map class test when the pipeline does not say (auto: as compliance.diff "
                         "does today, only without the images; on: as builds before neighbourhood_classes did)")
    args = ap.parse_args(argv)
    results = {}
    for name in [s for s in args.scenes.split(",") if s]:
        seeds = sorted(glob.glob(os.path.join(args.work, name, "seed*")))
        if not seeds:
            continue
        scene = scenes.LOADERS[name]()
        for folder in seeds:
            truth = json.load(open(os.path.join(folder, "truth.json"), encoding="utf-8"))
            labels = read(os.path.join(folder, "truth.tif"))[0].astype(int)
            for classifier in ("rules", "model"):
                default = {"auto": None, "on": True, "off": False}[args.class_test]
                results.setdefault(f"{name}/{classifier}", []).extend(run_folder(scene, folder, classifier, truth, labels, default))
    print("| scene / classifier | must report | not lost | " + " | ".join(STEPS + ["fragmented"]) + " |")
    print("|---|---:|---:|" + "---:|" * (len(STEPS) + 1))
    for key, rows in results.items():
        lost = Counter(r["lost_at"] for r in rows)
        print(f"| {key} | {len(rows)} | {lost.get(None, 0)} | " + " | ".join(str(lost.get(s, 0)) for s in STEPS + ["fragmented"]) + " |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
