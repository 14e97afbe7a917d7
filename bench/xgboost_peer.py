"""The notebook way: the same model applied by XGBoost's Python package to the same pixels, whole arrays in memory.
Usage: xgboost_peer.py INPUT MODEL META OUTPUT"""
import json
import sys

import numpy as np
import xgboost as xgb
from osgeo import gdal

source, model_path, meta_path, output = sys.argv[1:5]
meta = json.load(open(meta_path))
ds = gdal.Open(source)
bands = {}
for name, index in (("blue", 1), ("green", 2), ("red", 3), ("nir", 4)):
    dn = ds.GetRasterBand(index).ReadAsArray()
    values = dn.astype(np.float32) * np.float32(2.0e-5) - np.float32(0.1)
    values[dn == 65535] = np.nan
    bands[name] = values
with np.errstate(divide="ignore", invalid="ignore"):
    bands["ndvi"] = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
    bands["ndwi"] = (bands["green"] - bands["nir"]) / (bands["green"] + bands["nir"])
features = np.stack([bands[name].ravel() for name in meta["features"]], axis=1)
valid = np.isfinite(features).all(axis=1)
booster = xgb.Booster(model_file=model_path)
booster.set_param({"nthread": 2})
probabilities = booster.inplace_predict(features[valid])
classes = np.zeros(features.shape[0], dtype=np.uint8)
classes[valid] = np.asarray(meta["classes"], dtype=np.uint8)[probabilities.argmax(axis=1)]
driver = gdal.GetDriverByName("GTiff")
out = driver.Create(output, ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Byte,
                    ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"])
out.SetGeoTransform(ds.GetGeoTransform())
out.SetProjection(ds.GetProjection())
out.GetRasterBand(1).WriteArray(classes.reshape(ds.RasterYSize, ds.RasterXSize))
out.GetRasterBand(1).SetNoDataValue(0)
out = None
