"""NDVI the notebook way: both bands read whole into numpy, computed, written with GDAL (the bench's numpy peer).

Usage: numpy_ndvi.py INPUT.tif OUTPUT.tif   (red = band 3, NIR = band 4, as the other NDVI cases)
"""
import sys
import numpy as np
from osgeo import gdal

gdal.UseExceptions()
source = gdal.Open(sys.argv[1])
red = source.GetRasterBand(3).ReadAsArray().astype(np.float32)
nir = source.GetRasterBand(4).ReadAsArray().astype(np.float32)
with np.errstate(divide="ignore", invalid="ignore"):
    ndvi = (nir - red) / (nir + red)
ndvi[(red == 65535) | (nir == 65535)] = np.nan
out = gdal.GetDriverByName("GTiff").Create(sys.argv[2], source.RasterXSize, source.RasterYSize, 1, gdal.GDT_Float32,
                                           ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"])
out.SetGeoTransform(source.GetGeoTransform())
out.SetProjection(source.GetProjection())
out.GetRasterBand(1).WriteArray(ndvi)
out.GetRasterBand(1).SetNoDataValue(float("nan"))
out = None
