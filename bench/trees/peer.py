"""Peers of landwatch's native tree evaluator in bench/trees/bench_trees.py.

  peer.py compile MODEL LIB CFLAGS       compile an XGBoost JSON model to C with tl2cgen (treelite frontend), to LIB
  peer.py xgboost FEATURES MODEL LIB OUT  XGBoost's Python predictor (inplace_predict, nthread 2)
  peer.py tl2cgen FEATURES MODEL LIB OUT  the tl2cgen-compiled model (its Predictor, nthread 2)

A predicting peer reads the feature raster whole (one band a feature, NaN missing), predicts every pixel whose
features are all finite (as classify.model does), takes the most probable class, writes it as a Byte GeoTIFF and
prints 'predict seconds: S' for the predict call alone."""
import json
import sys
import time

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
mode = sys.argv[1]
if mode == "compile":
    import tl2cgen
    import treelite
    model_path, lib, flags = sys.argv[2:5]
    model = treelite.frontend.load_xgboost_model(model_path)
    tl2cgen.export_lib(model, toolchain="gcc", libpath=lib, params={"parallel_comp": 2}, options=flags.split(), verbose=False)
    sys.exit(0)

features_path, model_path, lib, output = sys.argv[2:6]
meta = json.load(open(model_path + ".meta.json"))
ds = gdal.Open(features_path)
matrix = np.stack([ds.GetRasterBand(i + 1).ReadAsArray().ravel() for i in range(ds.RasterCount)], axis=1).astype(np.float32)
valid = np.isfinite(matrix).all(axis=1)
rows = np.ascontiguousarray(matrix[valid])
if mode == "xgboost":
    import xgboost as xgb
    booster = xgb.Booster(model_file=model_path)
    booster.set_param({"nthread": 2})
    start = time.perf_counter()
    probabilities = booster.inplace_predict(rows)
    elapsed = time.perf_counter() - start
elif mode == "tl2cgen":
    import tl2cgen
    predictor = tl2cgen.Predictor(lib, nthread=2)
    start = time.perf_counter()
    probabilities = predictor.predict(tl2cgen.DMatrix(rows, dtype="float32"))
    elapsed = time.perf_counter() - start
    probabilities = probabilities.reshape(rows.shape[0], -1)
else:
    sys.exit(f"peer.py: unknown mode {mode}")
print(f"predict seconds: {elapsed:.3f}")
classes = np.zeros(matrix.shape[0], dtype=np.uint8)
classes[valid] = np.asarray(meta["classes"], dtype=np.uint8)[probabilities.argmax(axis=1)]
out = gdal.GetDriverByName("GTiff").Create(output, ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Byte,
                                            ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1"])
out.SetGeoTransform(ds.GetGeoTransform())
out.SetProjection(ds.GetProjection())
out.GetRasterBand(1).WriteArray(classes.reshape(ds.RasterYSize, ds.RasterXSize))
out.GetRasterBand(1).SetNoDataValue(0)
out = None
