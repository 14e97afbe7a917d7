#!/usr/bin/python3
"""The peer of simulate.landuse's allocation in make bench: the same CA steps written with numpy on whole arrays.

Usage: numpy_allocation.py BEFORE.tif AFTER.tif [ITERATIONS]
Markov demand from the two maps (one step from AFTER, rounded by largest remainder), then per iteration and gaining
class: 3 x 3 neighbour counts (shifted sums), score = share of the class among the 8 neighbours x (1 - 0.3 r), a patch
seed r x 0.1 where there is none and r < 1 (no suitability model: landwatch's XGBoost suitability has no numpy
counterpart here), each cell to its best class, the best `remaining / iterations left` cells of each class taken
against the losing classes' quotas. Prints seconds for reading, demand and allocation, and checks the demand is met.
"""
import sys
import time

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
t0 = time.time()
before = gdal.Open(sys.argv[1]).ReadAsArray()
after = gdal.Open(sys.argv[2]).ReadAsArray()
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 20
t_read = time.time() - t0

t0 = time.time()
valid = (before > 0) & (after > 0)
pairs = np.bincount((before[valid].astype(np.int64) * 256 + after[valid]), minlength=65536).reshape(256, 256)
rows = pairs.sum(axis=1)
matrix = np.where(rows[:, None] > 0, pairs / np.maximum(rows[:, None], 1), np.eye(256))
start = np.bincount(after[after > 0], minlength=256).astype(np.float64)
expected = start @ matrix
demand = np.floor(expected).astype(np.int64)
left = int(start.sum()) - int(demand.sum())
order = sorted(range(1, 256), key=lambda c: (-(expected[c] - demand[c]), c))
for c in order[:left]:
    demand[c] += 1
counts = np.bincount(after[after > 0], minlength=256)
remaining = np.maximum(demand - counts, 0)
loss = np.maximum(counts - demand, 0)
gaining = [c for c in range(1, 256) if remaining[c] > 0]
t_demand = time.time() - t0

t0 = time.time()
state = after.copy()
rng = np.random.default_rng(1)
for iteration in range(iterations + 200):
    if remaining[gaining].sum() == 0:
        break
    left_iterations = max(1, iterations - iteration)
    open_cells = loss[state] > 0
    best = np.zeros(state.shape, dtype=np.float32)
    best_class = np.zeros(state.shape, dtype=np.uint8)
    for c in gaining:
        if remaining[c] == 0:
            continue
        mask = np.pad((state == c).astype(np.uint8), 1)
        neighbours = sum(mask[1 + dy:1 + dy + state.shape[0], 1 + dx:1 + dx + state.shape[1]]
                         for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
        r = rng.random(state.shape, dtype=np.float32)
        omega = np.where(neighbours > 0, neighbours.astype(np.float32) / 8, r * np.float32(0.1))
        score = omega * (1 - np.float32(0.3) * rng.random(state.shape, dtype=np.float32))
        score[~open_cells] = 0
        better = score > best
        best[better] = score[better]
        best_class[better] = c
    converted = 0
    for c in gaining:
        share = -(-int(remaining[c]) // left_iterations)
        if share == 0:
            continue
        candidates = np.flatnonzero((best_class == c).ravel())
        if candidates.size == 0:
            continue
        take = min(share, candidates.size)
        top = candidates[np.argpartition(-best.ravel()[candidates], take - 1)[:take]]
        top = top[np.argsort(-best.ravel()[top], kind="stable")]
        source = state.ravel()[top]
        keep = np.zeros(top.size, dtype=bool)
        for s in np.unique(source):
            where = np.flatnonzero(source == s)
            keep[where[:loss[s]]] = True
        top = top[keep][:remaining[c]]
        for s, n in zip(*np.unique(state.ravel()[top], return_counts=True)):
            loss[s] -= n
        state.ravel()[top] = c
        remaining[c] -= top.size
        converted += top.size
    if converted == 0:
        sys.exit("numpy peer: allocation stuck")
t_allocate = time.time() - t0
met = bool(np.all(np.bincount(state[state > 0], minlength=256)[1:] == demand[1:]))
print(f"numpy: read {t_read:.1f} s, demand {t_demand:.1f} s, allocation {t_allocate:.1f} s over {iteration} iterations; "
      f"demand met: {met}; converted {int((state != after).sum())} cells")
