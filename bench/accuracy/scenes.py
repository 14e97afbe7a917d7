"""The real scenes of the accuracy harness: the before date, where changes may be planted, and the donor pixels.

Every scene is read into top-of-atmosphere reflectance (0-1) for planting; it is written back in the units it came
in (Landsat digital numbers with the scale/offset the pipeline states, or Float32 reflectance). How targets and
donors are chosen per scene is described in each loader and in README.md; the choice is made once per scene,
never from landwatch's own classification.

Legend (landwatch's default): 1 cropland, 2 forest, 3 grassland, 4 water, 5 built-up, 6 bare, 0 unknown.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(ROOT, "testdata")
SHARED = os.environ.get("LANDWATCH_SHARED_DATA") or os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))

CROPLAND, FOREST, GRASSLAND, WATER, BUILT, BARE = 1, 2, 3, 4, 5, 6
ALL_BANDS = ["blue", "green", "red", "nir", "swir1", "swir2"]


def read_band(path: str, band: int = 1, window=None) -> np.ndarray:
    """One band as float64 (the dataset is kept open while reading: GDAL 3.6's bindings crash otherwise)."""
    ds = gdal.Open(path)
    b = ds.GetRasterBand(band)
    if window is None:
        a = b.ReadAsArray()
    else:
        r0, c0, h, w = window
        a = b.ReadAsArray(c0, r0, w, h)
    out = a.astype(np.float64)
    ds = None
    return out


def indices(refl: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """NDVI, NDWI and, where SWIR exists, NDBI, MNDWI and BSI (DOMAIN.md formulas)."""
    def nd(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a + b != 0, (a - b) / (a + b), 0.0)
    out = {"ndvi": nd(refl["nir"], refl["red"]), "ndwi": nd(refl["green"], refl["nir"])}
    if "swir1" in refl:
        out["ndbi"] = nd(refl["swir1"], refl["nir"])
        out["mndwi"] = nd(refl["green"], refl["swir1"])
        out["bsi"] = nd(refl["swir1"] + refl["red"], refl["nir"] + refl["blue"])
    return out


def mtl_values(path: str) -> dict[str, str]:
    text = open(path, "rb").read().decode("latin-1").replace("\x00", "")
    return {m.group(1): m.group(2).strip().strip('"') for m in re.finditer(r"^\s*(\w+) = (.*)$", text, re.M)}


@dataclass
class DonorPool:
    """Real pixels of one kind ('built' or 'bare') to paste: spectra (N, bands) in TOA reflectance."""
    kind: str
    spectra: np.ndarray
    rows: np.ndarray | None      # position in the target scene's pixel coordinates (None: another scene)
    cols: np.ndarray | None
    source: str


@dataclass
class Scene:
    name: str
    title: str
    gt: tuple
    wkt: str
    bands: list[str]
    refl: np.ndarray            # (bands, H, W) TOA reflectance of the before date
    stored: np.ndarray          # (bands, H, W) the before date's stored numbers, written unchanged
    dtype: int                  # gdal.GDT_UInt16 or gdal.GDT_Float32
    scale: float                # value = stored x scale + offset (what the pipeline's read.scene states)
    offset: float
    nodata: float | None
    valid: np.ndarray           # pixels usable for planting (no fill, no cloud)
    target: np.ndarray          # land on which a planted patch is a real change (vegetation, cropland, water)
    target_class: np.ndarray    # the target's class before (legend code), for the expected rules
    reference: np.ndarray | None  # legend codes for training the model (None: train on the rule classes)
    donors: list[DonorPool]
    min_donor_distance: int     # donors of the same scene come from at least this far (pixels) from the patch
    n_patches: int
    spacing: int                # empty pixels kept between planted patches
    date: str
    features: str               # classify.train features
    notes: list[str] = field(default_factory=list)
    # Stage options this scene's pipeline sets (a bureau's setting for its land, e.g. construction on bare land in
    # an arid region), applied after the config's overrides; expect.py is told the same.
    stage_with: dict = field(default_factory=dict)

    @property
    def construction_from_bare(self) -> bool:
        return bool(self.stage_with.get("changes", {}).get("construction_from_bare", False))

    @property
    def shape(self):
        return self.refl.shape[1], self.refl.shape[2]

    @property
    def pixel_area(self) -> float:
        return abs(self.gt[1] * self.gt[5])

    @property
    def area_km2(self) -> float:
        h, w = self.shape
        return h * w * self.pixel_area / 1e6

    def to_stored(self, refl: np.ndarray) -> np.ndarray:
        """Reflectance back to the scene's stored numbers (digital numbers are rounded and kept in range)."""
        if self.dtype == gdal.GDT_Float32:
            return refl.astype(np.float32)
        dn = np.round((refl - self.offset) / self.scale)
        return np.clip(dn, 1, 65534).astype(np.uint16)


def _srs_wkt(path: str) -> str:
    ds = gdal.Open(path)
    wkt = ds.GetProjection()
    ds = None
    return wkt


def _geotransform(path: str, window=None):
    ds = gdal.Open(path)
    gt = list(ds.GetGeoTransform())
    ds = None
    if window:
        r0, c0, _, _ = window
        gt[0] += c0 * gt[1] + r0 * gt[2]
        gt[3] += c0 * gt[4] + r0 * gt[5]
    return tuple(gt)


def _warp_nearest(src: str, like_gt, like_wkt, shape) -> np.ndarray:
    """A class raster on another grid, warped (nearest) onto the scene's grid."""
    h, w = shape
    mem = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Byte)
    mem.SetGeoTransform(like_gt)
    mem.SetProjection(like_wkt)
    mem.GetRasterBand(1).Fill(0)
    mem.GetRasterBand(1).SetNoDataValue(0)
    gdal.Warp(mem, src, resampleAlg="near", dstNodata=0)
    a = mem.GetRasterBand(1).ReadAsArray().astype(np.int64)
    mem = None
    return a


def _pool(kind: str, refl: np.ndarray, mask: np.ndarray, source: str, rows_offset=0, cols_offset=0,
          same_scene=True) -> DonorPool:
    r, c = np.nonzero(mask)
    spectra = refl[:, r, c].T.copy()
    if same_scene:
        return DonorPool(kind, spectra, r - rows_offset, c - cols_offset, source)
    return DonorPool(kind, spectra, None, None, source)


# --- Zion: Landsat 8 DN bands 2-5, NLCD 2011 as the reference -----------------------------------------------------

ZION_NLCD_TO_LEGEND = {1: WATER, 8: WATER, 2: BUILT, 3: BARE, 4: FOREST, 5: GRASSLAND, 6: GRASSLAND, 7: CROPLAND}


def zion(crop=(0, 0, 256, 256)) -> Scene:
    """Zion, cropped to the 256 x 256 north-west corner (forest, the town of Springdale's fringe, cultivated land)
    to keep the run short; donors come from the whole 1128 x 1428 scene, outside a 30-pixel radius of the patch."""
    d = os.path.join(TESTDATA, "zion-landsat8")
    files = [os.path.join(d, f"landsat_b{i}.tif") for i in (2, 3, 4, 5)]
    bands = ["blue", "green", "red", "nir"]
    full_dn = np.stack([read_band(f) for f in files])
    fill_full = (full_dn == 65535).any(axis=0)
    full_refl = full_dn * 2e-5 - 0.1
    full_gt = _geotransform(files[0])
    wkt = _srs_wkt(files[0])
    H, W = full_dn.shape[1:]
    nlcd_full = _warp_nearest(os.path.join(d, "nlcd.tif"), full_gt, wkt, (H, W))
    idx_full = indices(dict(zip(bands, full_refl)))
    r0, c0, h, w = crop
    sl = (slice(None), slice(r0, r0 + h), slice(c0, c0 + w))
    refl = full_refl[sl]
    stored = full_dn[sl].astype(np.uint16)
    nlcd = nlcd_full[r0:r0 + h, c0:c0 + w]
    ndvi = idx_full["ndvi"][r0:r0 + h, c0:c0 + w]
    ndwi = idx_full["ndwi"][r0:r0 + h, c0:c0 + w]
    valid = ~fill_full[r0:r0 + h, c0:c0 + w]
    legend = np.vectorize(lambda v: ZION_NLCD_TO_LEGEND.get(int(v), 0))(nlcd)
    veg = np.isin(nlcd, [4, 5, 6, 7]) & (ndvi >= 0.35)
    wat = np.isin(nlcd, [1, 8]) & (ndwi > 0)
    target = valid & (veg | wat)
    target_class = np.where(wat, WATER, legend)
    # Donors: NLCD developed (2) / barren (3) that are not green (NDVI < 0.2 leaves out lawns and parks of
    # "developed, open space"), anywhere in the whole scene.
    ok = ~fill_full
    built = ok & (nlcd_full == 2) & (idx_full["ndvi"] < 0.2)
    bare = ok & (nlcd_full == 3) & (idx_full["ndvi"] < 0.2)
    donors = [_pool("built", full_refl, built, "Zion NLCD 2 (developed), NDVI < 0.2", r0, c0),
              _pool("bare", full_refl, bare, "Zion NLCD 3 (barren), NDVI < 0.2", r0, c0)]
    return Scene(
        name="zion", title=f"Zion (Landsat 8 DN, bands 2-5, crop {crop[3]}x{crop[2]})", gt=_geotransform(files[0], crop), wkt=wkt,
        bands=bands, refl=refl, stored=stored, dtype=gdal.GDT_UInt16, scale=2e-5, offset=-0.1, nodata=65535,
        valid=valid, target=target, target_class=target_class, reference=np.where(valid, legend, 0),
        donors=donors, min_donor_distance=30, n_patches=25, spacing=3, date="2015-08-18",
        features="blue,green,red,nir,ndvi,ndwi",
        notes=[f"crop rows {r0}-{r0 + h - 1}, cols {c0}-{c0 + w - 1} of 1428 x 1128 (run time of the debug build); donors from the whole scene",
               "targets: NLCD forest/shrub/herbaceous/cultivated with NDVI >= 0.35, or NLCD water/wetland with NDWI > 0",
               "donors: NLCD 2 developed (built) and 3 barren (bare) with NDVI < 0.2, >= 30 px from the patch"])


# --- Landsat 8 through its MTL: Mobile (pre-collection) and Marburg (Collection 1) -------------------------------

def _landsat_toa(folder: str, prefix: str, mtl: str, band_numbers: list[int], window=None, ext=".TIF"):
    """Stored DNs and TOA reflectance (MTL constants, divided by sin(sun elevation)) of a Landsat product."""
    m = mtl_values(mtl)
    sin_e = math.sin(math.radians(float(m["SUN_ELEVATION"])))
    dn, refl = [], []
    for i in band_numbers:
        a = read_band(os.path.join(folder, f"{prefix}{i}{ext}"), window=window)
        mult = float(m[f"REFLECTANCE_MULT_BAND_{i}"])
        add = float(m[f"REFLECTANCE_ADD_BAND_{i}"])
        dn.append(a)
        refl.append((a * mult + add) / sin_e)
    return np.stack(dn), np.stack(refl), m, sin_e


def _oli_artificial(refl: np.ndarray, ok: np.ndarray):
    """Built-up and bare donors by spectral criteria where SWIR exists (no reference map): not vegetated
    (NDVI < 0.2, the usual upper bound of bare soil and sealed surfaces; 0.2-0.25 is sparse vegetation), not water (MNDWI < -0.1, NIR > 0.1), not cloud (blue < 0.2), SWIR above NIR or close to it
    (NDBI > -0.1); split into bare (BSI >= 0.05, soil-like) and built (BSI < 0.05)."""
    ix = indices(dict(zip(ALL_BANDS, refl)))
    art = ok & (ix["ndvi"] < 0.2) & (ix["mndwi"] < -0.1) & (refl[3] > 0.1) & (refl[0] < 0.2) & (ix["ndbi"] > -0.1)
    return art & (ix["bsi"] < 0.05), art & (ix["bsi"] >= 0.05)


def _vegetation_or_water(refl: np.ndarray, ok: np.ndarray, ndvi_min=0.4):
    ix = indices(dict(zip(ALL_BANDS, refl)))
    veg = ok & (ix["ndvi"] >= ndvi_min)
    wat = ok & (ix["mndwi"] > 0.2) & (refl[3] < 0.08)
    return veg, wat


def _mobile_raw():
    d = os.path.join(SHARED, "mobile-landsat8")
    dn, refl, m, sin_e = _landsat_toa(d, "l8_B", os.path.join(d, "l8_MTL.txt"), [2, 3, 4, 5, 6, 7], ext=".tif")
    qa = read_band(os.path.join(d, "l8_BQA.tif")).astype(np.int64)
    # Pre-collection BQA (DOMAIN.md): cloud bits 14-15, cirrus 12-13; medium confidence or more is left out.
    ok = ((qa & 1) == 0) & (((qa >> 14) & 3) < 2) & (((qa >> 12) & 3) < 2) & (dn > 0).all(axis=0)
    return d, dn, refl, sin_e, ok


def _other_scene_donors():
    """Mobile's spectral built-up and bare pixels (reflectance, as (bands, N) arrays), the donors of the scenes that
    have none of their own; empty pools when the shared data is not there (null runs need no donor; a planted run
    then stops with one line)."""
    if not os.path.isdir(os.path.join(SHARED, "mobile-landsat8")):
        empty = np.zeros((len(ALL_BANDS), 0), np.float32)
        return empty, empty
    _, _, mrefl, _, mok = _mobile_raw()
    built, bare = _oli_artificial(mrefl, mok)
    return mrefl[:, built], mrefl[:, bare]


def _spectra_pool(kind: str, spectra: np.ndarray, source: str) -> DonorPool:
    return DonorPool(kind, spectra.T.copy(), None, None, source)


def mobile(crop=(0, 0, 256, 256)) -> Scene:
    """Mobile, cropped to 256 x 256 (run time of the debug build); donors come from the whole 627 x 603 scene."""
    d, fdn, frefl, sin_e, fok = _mobile_raw()
    path = os.path.join(d, "l8_B2.tif")
    built, bare = _oli_artificial(frefl, fok)
    r0, c0, h, w = crop
    dn, refl, ok = fdn[:, r0:r0 + h, c0:c0 + w], frefl[:, r0:r0 + h, c0:c0 + w], fok[r0:r0 + h, c0:c0 + w]
    veg, wat = _vegetation_or_water(refl, ok)
    return Scene(
        name="mobile", title=f"Mobile (Landsat 8 pre-collection, crop {w}x{h} of 627x603)", gt=_geotransform(path, crop), wkt=_srs_wkt(path),
        bands=list(ALL_BANDS), refl=refl, stored=dn.astype(np.uint16), dtype=gdal.GDT_UInt16,
        scale=2e-5 / sin_e, offset=-0.1 / sin_e, nodata=0, valid=ok, target=veg | wat,
        target_class=np.where(wat, WATER, GRASSLAND), reference=None,
        donors=[_pool("built", frefl, built, "Mobile, spectral built-up (BSI < 0.05)", r0, c0),
                _pool("bare", frefl, bare, "Mobile, spectral bare (BSI >= 0.05)", r0, c0)],
        min_donor_distance=50, n_patches=25, spacing=3, date="2015-08-04",
        features="blue,green,red,nir,swir1,swir2,ndvi,ndwi,ndbi,mndwi,bsi",
        notes=[f"crop rows {r0}-{r0 + h - 1}, cols {c0}-{c0 + w - 1} of 603 x 627 (run time of the debug build); donors from the whole scene; pixels with BQA cloud or cirrus confidence >= medium (pre-collection layout) are neither targets nor donors",
               "targets: NDVI >= 0.4 (vegetation; class unknown, taken as not cropland) or MNDWI > 0.2 and NIR < 0.08 (water)",
               "donors: NDVI < 0.2, MNDWI < -0.1, NIR > 0.1, blue < 0.2, NDBI > -0.1; BSI < 0.05 built, >= 0.05 bare; >= 50 px from the patch"])


MARBURG = os.path.join(TESTDATA, "marburg-landsat")
MARBURG_LC08 = "LC08_L1TP_195025_20130707_20170503_01_T1"
MARBURG_LE07 = "LE07_L1TP_195025_20010730_20170204_01_T1"


def marburg() -> Scene:
    """Marburg LC08 2013 (41 x 41): too small to hold built-up land of its own, so the donors come from another
    scene of the same sensor (OLI): Mobile, by the same spectral criteria."""
    dn, refl, m, sin_e = _landsat_toa(MARBURG, f"{MARBURG_LC08}_B", os.path.join(MARBURG, f"{MARBURG_LC08}_MTL.txt"),
                                      [2, 3, 4, 5, 6, 7])
    qa = read_band(os.path.join(MARBURG, f"{MARBURG_LC08}_BQA.TIF")).astype(np.int64)
    ok = ((qa & 1) == 0) & (((qa >> 4) & 1) == 0) & (dn > 0).all(axis=0)   # Collection 1: bit 4 cloud
    veg, wat = _vegetation_or_water(refl, ok)
    mbuilt, mbare = _other_scene_donors()
    path = os.path.join(MARBURG, f"{MARBURG_LC08}_B2.TIF")
    return Scene(
        name="marburg", title="Marburg (Landsat 8 C1 2013, 41x41)", gt=_geotransform(path), wkt=_srs_wkt(path),
        bands=list(ALL_BANDS), refl=refl, stored=dn.astype(np.uint16), dtype=gdal.GDT_UInt16,
        scale=2e-5 / sin_e, offset=-0.1 / sin_e, nodata=0, valid=ok, target=veg | wat,
        target_class=np.where(wat, WATER, GRASSLAND), reference=None,
        donors=[_spectra_pool("built", mbuilt, "Mobile L8 (another OLI scene), spectral built-up"),
                _spectra_pool("bare", mbare, "Mobile L8 (another OLI scene), spectral bare")],
        min_donor_distance=0, n_patches=5, spacing=3, date="2013-07-07",
        features="blue,green,red,nir,swir1,swir2,ndvi,ndwi,ndbi,mndwi,bsi",
        notes=["targets: NDVI >= 0.4 or water (MNDWI > 0.2, NIR < 0.08), BQA cloud bit clear",
               "donors: Mobile's spectral built-up/bare pixels (another Landsat 8 scene), converted through reflectance"])


KENYA = os.path.join(MARBURG, "kenya-pair")
KENYA_LT05 = "LT05_L1TP_167055_20000309_20161214_01_T1"
KENYA_LT5 = "LT51670552010352MLK00"


def kenya() -> Scene:
    """Kenya LT05 2000-03-09 (101 x 101, dry savannah, NDVI 0.11-0.19): per-band MTL constants, so the stack is
    written as Float32 TOA reflectance. The scene has no vegetation or built-up land in the usual sense: it is bare
    soil by the product's classes (NDVI < 0.2). What the field would find here is construction on bare land, which a
    bureau of an arid region counts (compliance.diff construction_from_bare: true, set for this scene): targets are its
    bare soil (NDVI < 0.2, BSI >= 0.1), donors real built-up pixels of another Landsat scene (Mobile's OLI, through
    reflectance: TM bands 1-5, 7 and OLI 2-7 cover the same windows) and Kenya's own brightest bare soil, whose
    patches are bare on bare: no change, never to be reported."""
    folder = os.path.join(KENYA, "LT05")
    dn, refl, m, _ = _landsat_toa(folder, f"{KENYA_LT05}_B", os.path.join(folder, f"{KENYA_LT05}_MTL.txt"), [1, 2, 3, 4, 5, 7])
    ok = (dn > 0).all(axis=0)
    ix = indices(dict(zip(ALL_BANDS, refl)))
    albedo = refl.mean(axis=0)
    target = ok & (ix["ndvi"] < 0.2) & (ix["bsi"] >= 0.1)
    bare = ok & (ix["ndvi"] < 0.13) & (albedo >= np.percentile(albedo[ok], 90))
    mbuilt, _ = _other_scene_donors()
    path = os.path.join(folder, f"{KENYA_LT05}_B1.TIF")
    return Scene(
        name="kenya", title="Kenya (Landsat 5 C1 2000, 101x101, TOA Float32)", gt=_geotransform(path), wkt=_srs_wkt(path),
        bands=list(ALL_BANDS), refl=refl, stored=refl.astype(np.float32), dtype=gdal.GDT_Float32,
        scale=1.0, offset=0.0, nodata=None, valid=ok, target=target, target_class=np.full(ok.shape, BARE),
        reference=None, donors=[_spectra_pool("built", mbuilt, "Mobile L8 (another Landsat scene), spectral built-up"),
                                _pool("bare", refl, bare, "Kenya LT05, NDVI < 0.13 and albedo >= P90")],
        min_donor_distance=20, n_patches=10, spacing=3, date="2000-03-09",
        features="blue,green,red,nir,swir1,swir2,ndvi,ndwi,ndbi,mndwi,bsi",
        stage_with={"changes": {"construction_from_bare": True}},
        notes=["targets: bare soil, NDVI < 0.2 and BSI >= 0.1 (all but a few pixels of a dry-season savannah)",
               "donors: Mobile's spectral built-up (another Landsat scene, through reflectance) and Kenya's own bright bare soil (NDVI < 0.13, mean reflectance >= P90, >= 20 px from the patch: bare on bare, must be ignored)",
               "compliance.diff construction_from_bare: true for this scene (an arid region's setting), and the expectation follows it"])


# --- Slovenia: Sentinel-2 L1C reflectance, LULC reference -----------------------------------------------------

SLOVENIA = os.path.join(TESTDATA, "slovenia-sentinel2")
SLOVENIA_LULC_TO_LEGEND = {1: CROPLAND, 2: FOREST, 3: GRASSLAND, 4: GRASSLAND, 8: BUILT}


def slovenia() -> Scene:
    """Slovenia S2L1C 2015-07-11 (100 x 101 at 10 m), bands B02 B03 B04 B08 B11 B12. Artificial surface (LULC 8)
    here is villages with gardens (NDVI 0.44-0.72 at 10 m): donors are its less green half (NDVI < 0.6)."""
    path = os.path.join(SLOVENIA, "S2L1C_20150711_13band.tif")
    refl = np.stack([read_band(path, b) for b in (2, 3, 4, 8, 12, 13)])
    lulc = read_band(os.path.join(SLOVENIA, "LULC_reference.tif")).astype(np.int64)
    ok = np.isfinite(refl).all(axis=0) & (refl > 0).all(axis=0)
    ix = indices(dict(zip(ALL_BANDS, refl)))
    legend = np.vectorize(lambda v: SLOVENIA_LULC_TO_LEGEND.get(int(v), 0))(lulc)
    target = ok & np.isin(lulc, [1, 2, 3, 4]) & (ix["ndvi"] >= 0.5)
    # Artificial surface by its spectrum, not by the map: LULC 8 here is villages with gardens (NDVI 0.44-0.72).
    mbuilt, mbare = _other_scene_donors()
    return Scene(
        name="slovenia", title="Slovenia (Sentinel-2 L1C 2015-07-11, 100x101 at 10 m)", gt=_geotransform(path),
        wkt=_srs_wkt(path), bands=list(ALL_BANDS), refl=refl, stored=refl.astype(np.float32), dtype=gdal.GDT_Float32,
        scale=1.0, offset=0.0, nodata=None, valid=ok, target=target, target_class=legend,
        reference=np.where(ok, legend, 0),
        donors=[_spectra_pool("built", mbuilt, "Mobile L8 (another scene), spectral built-up"),
                _spectra_pool("bare", mbare, "Mobile L8 (another scene), spectral bare")],
        min_donor_distance=15, n_patches=10, spacing=3, date="2015-07-11",
        features="blue,green,red,nir,swir1,swir2,ndvi,ndwi,ndbi,mndwi,bsi",
        notes=["targets: LULC 1-4 (cultivated, forest, grassland, shrubland) with NDVI >= 0.5",
               "donors: spectral built-up and bare pixels (NDVI < 0.2, NDBI > -0.1, ...) of another scene (Mobile's OLI, through reflectance; S2 B02-B04, B08, B11, B12 and OLI 2-7 cover the same windows): the scene's own artificial surface (LULC 8) is villages with gardens, NDVI 0.44-0.72, which no classifier calls built-up"])


LOADERS = {"zion": zion, "mobile": mobile, "marburg": marburg, "kenya": kenya, "slovenia": slovenia}
