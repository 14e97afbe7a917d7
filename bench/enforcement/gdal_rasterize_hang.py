"""The hang of issue 28, reproduced with GDAL alone (through its Python bindings, which release the GIL): four
threads each burn 200 polygons into a ZSTD-compressed tiled GeoTIFF of their own with GDAL's rasteriser working on
the file itself (what landwatch's Dataset.burn did before), GDAL_NUM_THREADS=2 and a block cache smaller than the
rasters. On GDAL 3.6.2 this hangs at 0 % CPU in most runs; with GDAL_NUM_THREADS=1 it never does.

gdb shows the cycle: each rasterising thread holds its dataset's lock inside RasterIO and waits on GDAL's global
thread pool (CPLJobQueue::WaitCompletion of a multi-threaded GeoTIFF read, or CPLWorkerThreadPool::WaitEvent for a
free compression slot), while the pool's workers run decompression jobs that need a block-cache slot, flush another
dataset's dirty block (GDALRasterBlock::Internalize -> Write) and wait for that dataset's lock
(GDALDataset::EnterReadWrite). Fixed upstream in GDAL 3.7.3/3.8 (OSGeo/gdal#8561); landwatch avoids the pattern
(see Dataset.burn in Sources/LandwatchGDAL/VectorFeatures.swift, tested by PlanRasterizeConcurrencyTests).

Usage: gdal_rasterize_hang.py SIZE GDAL_NUM_THREADS CACHE_MB   e.g. 3000 2 8 (hangs) or 3000 1 8 (finishes)
Exit status 1 when the four threads did not finish within 30 s."""
import os
import random
import sys
import tempfile
import threading
import time

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
size, threads, cache = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
gdal.SetCacheMax(cache << 20)
gdal.SetConfigOption("GDAL_NUM_THREADS", threads)
srs = osr.SpatialReference()
srs.ImportFromEPSG(32612)
work = tempfile.mkdtemp(prefix="rasterize-hang-")


def burn(i):
    ds = gdal.GetDriverByName("GTiff").Create(f"{work}/r{i}.tif", size, size, 1, gdal.GDT_UInt32,
                                              ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1"])
    ds.SetGeoTransform((0, 30, 0, size * 30, 0, -30))
    ds.SetProjection(srs.ExportToWkt())
    source = ogr.GetDriverByName("Memory").CreateDataSource("m")  # kept: the layer lives in it
    layer = source.CreateLayer("l", srs)
    rng = random.Random(i)
    for _ in range(200):
        x, y, w = rng.uniform(0, size * 30), rng.uniform(0, size * 30), rng.uniform(1000, 60000)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON(({x} {y},{x + w} {y},{x + w} {y + w * 0.7},{x} {y + w},{x} {y}))"))
        layer.CreateFeature(feature)
    gdal.RasterizeLayer(ds, [1], layer, burn_values=[i + 1], options=[f"CHUNKYSIZE={max(1, (16 << 20) // (size * 8))}"])
    ds = None


workers = [threading.Thread(target=burn, args=(i,), daemon=True) for i in range(4)]
start = time.time()
for worker in workers:
    worker.start()
for worker in workers:
    worker.join(timeout=max(0.1, 30 - (time.time() - start)))
stuck = sum(worker.is_alive() for worker in workers)
print(f"size {size}, GDAL_NUM_THREADS {threads}, cache {cache} MB: " + (f"HUNG ({stuck} of 4 stuck)" if stuck else "finished")
      + f" after {time.time() - start:.1f} s", flush=True)
os._exit(1 if stuck else 0)
