"""Planting changes into a real scene, and the later date's radiometry and misregistration.

A patch is grown from a seed pixel by adding random 4-neighbours (irregular, 8-connected shapes of 1-20 pixels)
inside one plan stratum (the same membership of every plan layer, at least 2 pixels from any layer edge so that
the one-pixel shift cannot move it across one), on target land only, and at least `spacing` empty pixels from every
other patch. Each of its pixels gets a different real donor pixel. Then the whole later date gets a gain and an
offset per band, Gaussian noise, and a shift of one pixel (the truth moves with it).
"""
from __future__ import annotations

import zlib

import numpy as np

# The later date's radiometry (reflectance units); the harness config may override any of these.
PERTURBATION = {"gain": [0.9, 1.1], "offset": [-0.01, 0.01], "noise": 0.004, "shift": 1}


def rng_for(scene_name: str, seed: int, what: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(scene_name.encode()), zlib.crc32(what.encode())])


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square (Chebyshev) dilation without scipy."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx == 0:
                continue
            src = mask[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            out[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] |= src
    return out


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square erosion; pixels beyond the edge count as outside."""
    padded = np.pad(~mask, radius, constant_values=True)
    return ~dilate(padded, radius)[radius:-radius, radius:-radius] if radius else mask.copy()


def strata(member: dict[str, np.ndarray], margin: int = 2):
    """A code per pixel for its plan membership, and where that membership is the same `margin` pixels around."""
    code = np.zeros(next(iter(member.values())).shape, np.int64)
    stable = np.ones_like(code, bool)
    for bit, key in enumerate(sorted(member)):
        m = member[key]
        code |= m.astype(np.int64) << bit
        stable &= erode(m, margin) | erode(~m, margin)
    return code, stable


def grow(rng, seed, size, allowed):
    """A 4-connected random patch of up to `size` pixels from `seed` within `allowed`."""
    h, w = allowed.shape
    patch = {seed}
    frontier = []

    def push(r, c):
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < h and 0 <= nc < w and allowed[nr, nc] and (nr, nc) not in patch:
                frontier.append((nr, nc))

    push(*seed)
    while len(patch) < size and frontier:
        i = int(rng.integers(len(frontier)))
        p = frontier.pop(i)
        if p in patch:
            continue
        patch.add(p)
        push(*p)
    return sorted(patch)


def plant(scene, seed: int, member: dict[str, np.ndarray], n_patches: int | None = None):
    """The planted later date (reflectance, before radiometry) and the truth: a label raster (0 none, k patch k)
    and one record per patch. Approved patches are chosen afterwards by choose_approvals."""
    rng = rng_for(scene.name, seed, "plant")
    h, w = scene.shape
    code, stable = strata(member)
    border = np.zeros((h, w), bool)
    border[3:-3, 3:-3] = True
    free = scene.target & scene.valid & stable & border
    after = scene.refl.copy()
    labels = np.zeros((h, w), np.int32)
    blocked = np.zeros((h, w), bool)
    empty = [p.source for p in scene.donors if len(p.spectra) == 0]
    if empty:
        raise RuntimeError(f"{scene.name}: no donor pixels in {', '.join(empty)} (the shared data is not at ../shared/data: "
                           "set LANDWATCH_SHARED_DATA to its folder)")
    used = {id(p): np.zeros(len(p.spectra), bool) for p in scene.donors}
    codes_present = [int(c) for c in np.unique(code[free])]
    rng.shuffle(codes_present)
    n = n_patches or scene.n_patches
    sizes = rng.integers(1, 21, n)
    patches = []
    kinds = [p.kind for p in scene.donors]
    attempts = 0
    while len(patches) < n and attempts < 20 * n and codes_present:
        stratum = codes_present[attempts % len(codes_present)]
        attempts += 1
        room = free & ~blocked & (code == stratum)
        rr, cc = np.nonzero(room)
        if len(rr) == 0:
            continue
        i = int(rng.integers(len(rr)))
        pixels = grow(rng, (int(rr[i]), int(cc[i])), int(sizes[len(patches)]), room)
        kind = "built" if "built" in kinds and ("bare" not in kinds or rng.random() < 0.6) else "bare"
        pool = next(p for p in scene.donors if p.kind == kind)
        far = np.ones(len(pool.spectra), bool)
        if pool.rows is not None:
            r0, c0 = pixels[0]
            far = np.hypot(pool.rows - r0, pool.cols - c0) >= scene.min_donor_distance
        fresh = np.nonzero(far & ~used[id(pool)])[0]
        reused = len(fresh) < len(pixels)
        choice_from = fresh if not reused else np.nonzero(far)[0]
        if len(choice_from) < len(pixels):
            continue
        donors = rng.choice(choice_from, size=len(pixels), replace=False)
        used[id(pool)][donors] = True
        k = len(patches) + 1
        pr = np.array([p[0] for p in pixels])
        pc = np.array([p[1] for p in pixels])
        before_spectra = scene.refl[:, pr, pc]
        after[:, pr, pc] = pool.spectra[donors].T
        labels[pr, pc] = k
        mask = labels == k
        blocked |= dilate(mask, scene.spacing)
        contrast = float(np.linalg.norm(pool.spectra[donors].mean(axis=0) - before_spectra.mean(axis=1)))
        bc = scene.target_class[pr, pc]
        patches.append({
            "id": k, "pixels": len(pixels), "kind": kind, "donor_source": pool.source, "donors_reused": bool(reused),
            "before_class": int(np.bincount(bc).argmax()),
            "redline": bool(member["redline"][pr[0], pc[0]]),
            "basic_farmland": bool(member["basic_farmland"][pr[0], pc[0]]),
            "urban_boundary": bool(member["urban_boundary"][pr[0], pc[0]]),
            "zoned_non_construction": bool(member["zoned_non_construction"][pr[0], pc[0]]),
            "approved": False, "contrast": round(contrast, 4),
            "bbox": [int(pr.min()), int(pc.min()), int(pr.max()) + 1, int(pc.max()) + 1],
        })
    return after, labels, patches


def choose_approvals(scene, seed: int, labels: np.ndarray, patches: list[dict], share: float = 0.15):
    """Approval rectangles around some planted patches of 4+ pixels (those become must-ignore), each 2 pixels
    larger than the patch and touching no other patch, plus one approval over unplanted land."""
    rng = rng_for(scene.name, seed, "approvals")
    h, w = labels.shape
    candidates = [p for p in patches if p["pixels"] >= 4]
    rng.shuffle(candidates)
    want = max(1, round(share * len(patches))) if candidates else 0
    boxes = []
    for p in candidates:
        if len(boxes) >= want:
            break
        r0, c0, r1, c1 = p["bbox"]
        r0, c0, r1, c1 = max(0, r0 - 2), max(0, c0 - 2), min(h, r1 + 2), min(w, c1 + 2)
        window = labels[max(0, r0 - 2):r1 + 2, max(0, c0 - 2):c1 + 2]
        if set(np.unique(window)) - {0, p["id"]}:
            continue
        p["approved"] = True
        boxes.append((f"PZ-{seed}-{p['id']:03d}", "农转用审批 construction", (r0, c0, r1, c1)))
    # One approval where nothing is planted (an approval over unchanged land must not matter).
    occupied = dilate(labels > 0, 4)
    for _ in range(200):
        r0, c0 = int(rng.integers(0, max(1, h - 6))), int(rng.integers(0, max(1, w - 6)))
        if not occupied[r0:r0 + 6, c0:c0 + 6].any():
            boxes.append((f"PZ-{seed}-EMPTY", "临时用地 temporary use", (r0, c0, r0 + 4, c0 + 4)))
            break
    return boxes


def shift_array(a: np.ndarray, dy: int, dx: int, fill_edge=True) -> np.ndarray:
    """out[r, c] = a[r - dy, c - dx]; the row/column uncovered at the edge repeats its neighbour (or is 0)."""
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return a.copy()
    spatial = ((pad, pad), (pad, pad))
    width = ((0, 0),) * (a.ndim - 2) + spatial
    p = np.pad(a, width, mode="edge") if fill_edge else np.pad(a, width)
    h, w = a.shape[-2:]
    return p[..., pad - dy:pad - dy + h, pad - dx:pad - dx + w]


def perturb(scene, after: np.ndarray, labels: np.ndarray, seed: int, settings: dict):
    """The later date as another acquisition sees it: gain, offset, noise per band, then a one-pixel shift."""
    rng = rng_for(scene.name, seed, "radiometry")
    nb = after.shape[0]
    g0, g1 = settings["gain"]
    o0, o1 = settings["offset"]
    gain = rng.uniform(g0, g1, nb)
    offset = rng.uniform(o0, o1, nb)
    out = after * gain[:, None, None] + offset[:, None, None] + rng.normal(0, settings["noise"], after.shape)
    s = int(settings["shift"])
    moves = [(dy, dx) for dy in (-s, 0, s) for dx in (-s, 0, s) if (dy, dx) != (0, 0)] if s else [(0, 0)]
    dy, dx = moves[int(rng.integers(len(moves)))]
    out = shift_array(out, dy, dx)
    labels = shift_array(labels, dy, dx, fill_edge=False)
    return out, labels, {"gain": [round(float(x), 4) for x in gain], "offset": [round(float(x), 4) for x in offset],
                         "noise": settings["noise"], "shift": [dy, dx]}
