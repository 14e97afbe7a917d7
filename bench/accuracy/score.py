"""Scoring a violation list at patch level against the planted truth."""
from __future__ import annotations

import json
import os

import numpy as np
from osgeo import gdal, ogr, osr

from plant import dilate

gdal.UseExceptions()
ogr.UseExceptions()


def load_reports(scene, geojson_path):
    """The reported patches (properties) and a raster of them on the scene grid (0 none, j+1 report j), each
    polygon burned by pixel centre after reprojection from WGS84 into the scene CRS."""
    h, w = scene.shape
    with open(geojson_path, encoding="utf-8") as f:
        fc = json.load(f)
    props = [feat.get("properties") or {} for feat in fc.get("features", [])]
    raster = np.zeros((h, w), np.int32)
    if not props:
        return props, raster
    src = osr.SpatialReference()
    src.ImportFromEPSG(4326)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference()
    dst.ImportFromWkt(scene.wkt)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(src, dst)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = mem.CreateLayer("r", dst, ogr.wkbMultiPolygon)
    layer.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    for j, feat in enumerate(fc["features"]):
        g = ogr.CreateGeometryFromJson(json.dumps(feat["geometry"]))
        g.Transform(transform)
        nf = ogr.Feature(layer.GetLayerDefn())
        nf.SetField("v", j + 1)
        nf.SetGeometry(g)
        layer.CreateFeature(nf)
    ds = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Int32)
    ds.SetGeoTransform(scene.gt)
    ds.SetProjection(scene.wkt)
    gdal.RasterizeLayer(ds, [1], layer, options=["ATTRIBUTE=v"])
    raster = ds.GetRasterBand(1).ReadAsArray()
    ds = None
    mem = None
    return props, raster


def tolerance_labels(labels: np.ndarray, tolerance: int = 1) -> np.ndarray:
    """Each patch's footprint grown by `tolerance` pixels (patches are planted further apart than that)."""
    out = np.zeros_like(labels)
    h, w = labels.shape
    for k in np.unique(labels):
        if k == 0:
            continue
        rr, cc = np.nonzero(labels == k)
        r0, r1 = max(0, rr.min() - tolerance - 1), min(h, rr.max() + tolerance + 2)
        c0, c1 = max(0, cc.min() - tolerance - 1), min(w, cc.max() + tolerance + 2)
        win = dilate(labels[r0:r1, c0:c1] == k, tolerance)
        sub = out[r0:r1, c0:c1]
        sub[win & (sub == 0)] = k
    return out


def codes_of(p) -> set[str]:
    return {c for c in str(p.get("rules", "")).split(";") if c}


CLASS_NAMES = {0: "none", 1: "cropland", 2: "forest", 3: "grassland", 4: "water", 5: "built-up", 6: "bare"}


def _class_at(path, mask):
    if not path or not os.path.exists(path):
        return None
    ds = gdal.Open(path)
    a = ds.GetRasterBand(1).ReadAsArray()
    ds = None
    v = a[mask]
    v = v[np.isfinite(v)].astype(np.int64) if v.dtype.kind == "f" else v.astype(np.int64)
    return int(np.bincount(v).argmax()) if len(v) else 0


def score(scene, labels, patches, geojson_path, before_classes=None, after_classes=None):
    """Patch-level scores of one run. labels: the truth (as shifted with the later date)."""
    props, rep = load_reports(scene, geojson_path)
    tol = tolerance_labels(labels)
    by_id = {p["id"]: p for p in patches}
    must = {p["id"] for p in patches if p["must_report"]}
    ignore = {p["id"] for p in patches if not p["must_report"]}
    touched_by_report = []
    for j in range(len(props)):
        px = rep == j + 1
        touched_by_report.append({int(k) for k in np.unique(tol[px]) if k})
    hit = set().union(*touched_by_report) if touched_by_report else set()
    tp_reports = sum(1 for t in touched_by_report if t & must)
    stray = sum(1 for t in touched_by_report if not t)
    codes_ok = 0
    for k in must & hit:
        got = set().union(*(codes_of(props[j]) for j, t in enumerate(touched_by_report) if k in t))
        by_id[k]["reported_codes"] = sorted(got)
        codes_ok += got == set(by_id[k]["expected_codes"])
    missed = []
    for k in sorted(must - hit):
        m = labels == k
        b, a = _class_at(before_classes, m), _class_at(after_classes, m)
        by_id[k]["seen_as"] = None if b is None else f"{CLASS_NAMES.get(b, b)}->{CLASS_NAMES.get(a, a)}"
        missed.append(by_id[k].get("seen_as"))
    for k in by_id:
        by_id[k]["reported"] = k in hit
    listed_km2 = sum(float(p.get("area_m2") or 0) for p in props) / 1e6
    return {
        "planted": len(patches), "must": len(must), "ignore": len(ignore),
        "hit": len(must & hit), "recall": (len(must & hit) / len(must)) if must else None,
        "reports": len(props), "tp_reports": tp_reports,
        "precision": (tp_reports / len(props)) if props else None,
        "ignored_reported": len(ignore & hit), "stray": stray, "stray_per_km2": stray / scene.area_km2,
        "codes_ok": codes_ok, "listed_km2": listed_km2, "per_100km2": len(props) / scene.area_km2 * 100,
        "missed_seen_as": missed,
        "report_rules": sorted({c for p in props for c in codes_of(p)}),
        "report_transitions": _transitions(props),
    }


def _transitions(props):
    out = {}
    for p in props:
        key = f"{p.get('before_class', '?')}->{p.get('after_class', '?')}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
