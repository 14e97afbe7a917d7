#!/usr/bin/env python3
"""A planted multi-patch case on the real Zion Landsat 8 crop (testdata/zion-landsat8) for the field-package tests
(issue 23): patches of 4 to 400 pixels on vegetated land, each pixel a distinct real pixel of the scene's developed
land (NLCD 2, NDVI < 0.2, at least 30 pixels away), with the accuracy harness's plan layers (bench/accuracy/plan.py)
and its rules pipeline (bench/accuracy/pipeline-rules.yaml) given chips and a field package.

Usage: python3 plant_zion.py OUT_FOLDER
Writes OUT_FOLDER/{before.tif, after.tif, plan/, pipeline.yaml, params.json, patches.json}.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "accuracy"))
import accuracy  # noqa: E402
import plan  # noqa: E402
import plant  # noqa: E402
import scenes  # noqa: E402

SIZES = [4, 6, 9, 16, 25, 49, 100, 196, 400]


def main(out):
    scene = scenes.zion()
    os.makedirs(out, exist_ok=True)
    accuracy.write_stack(os.path.join(out, "before.tif"), scene, scene.stored)
    fixed = os.path.join(out, "plan-fixed")
    plan.write_fixed_layers(scene, fixed)
    pl = os.path.join(out, "plan")
    if os.path.exists(pl):
        shutil.rmtree(pl)
    shutil.copytree(fixed, pl)
    plan.write_approvals(scene, pl, [])
    shutil.rmtree(fixed)

    rng = np.random.default_rng(23)
    h, w = scene.shape
    border = np.zeros((h, w), bool)
    border[4:-4, 4:-4] = True
    free = scene.target & scene.valid & border
    blocked = np.zeros((h, w), bool)
    after = scene.refl.copy()
    pool = next(p for p in scene.donors if p.kind == "built")
    used = np.zeros(len(pool.spectra), bool)
    patches = []
    for size in SIZES:
        for _ in range(200):
            room = free & ~blocked
            rr, cc = np.nonzero(room)
            i = int(rng.integers(len(rr)))
            pixels = plant.grow(rng, (int(rr[i]), int(cc[i])), size, room)
            if len(pixels) == size:
                break
        else:
            raise SystemExit(f"plant_zion: no room for a {size}-pixel patch")
        pr = np.array([p[0] for p in pixels])
        pc = np.array([p[1] for p in pixels])
        far = np.hypot(pool.rows - pr[0], pool.cols - pc[0]) >= scene.min_donor_distance
        choice = np.nonzero(far & ~used)[0]
        donors = rng.choice(choice, size=size, replace=False)
        used[donors] = True
        after[:, pr, pc] = pool.spectra[donors].T
        mask = np.zeros((h, w), bool)
        mask[pr, pc] = True
        blocked |= plant.dilate(mask, 6)
        patches.append({"pixels": size, "rows": [int(pr.min()), int(pr.max()) + 1], "cols": [int(pc.min()), int(pc.max()) + 1]})
    accuracy.write_stack(os.path.join(out, "after.tif"), scene, scene.to_stored(after))

    cfg = accuracy.load_config(argparse.Namespace(config=None, with_=None, set=None))
    pipeline = accuracy.render("planted", scene, "rules", cfg)
    stages = {s["id"]: s for s in pipeline["stages"]}
    stages["violations"]["inputs"] = {"changes": "changes", "before_image": "before-scene", "after_image": "after-scene"}
    stages["violations"]["with"]["chips"] = 50
    stages["violations"]["with"]["gcj02"] = True
    stages["violations"]["with"].pop("formats", None)     # every format: the field-package checks read the GeoPackage
    pipeline["stages"].append({"id": "fieldpack", "uses": "write.fieldpack",
                               "with": {"path": "fieldpack", "list": "violations",
                                        "note": "Changes planted into a copy of the real Zion scene (Tests/LandwatchStagesTests/FieldPack/plant_zion.py)"}})
    for stage in pipeline["stages"]:
        stage.pop("keep", None)
    with open(os.path.join(out, "pipeline.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(pipeline, f, sort_keys=False, allow_unicode=True)
    params = {"before": os.path.join(out, "before.tif"), "after": os.path.join(out, "after.tif"), "plan": pl,
              "before_date": scene.date, "after_date": accuracy.next_year(scene.date)}
    json.dump(params, open(os.path.join(out, "params.json"), "w"), indent=1)
    json.dump(patches, open(os.path.join(out, "patches.json"), "w"), indent=1)
    print(f"planted {len(patches)} patches of {SIZES[0]}-{SIZES[-1]} pixels into Zion in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
