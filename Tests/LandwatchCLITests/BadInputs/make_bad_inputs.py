#!/usr/bin/python3
"""The bad inputs of the corpus, from the real Marburg Landsat 8 crop (testdata/nightly/before.tif: TOA reflectance
2013-07-07, bands blue, green, red, NIR, SWIR1, SWIR2). Each file is broken in one way a delivery can be.

Run: /usr/bin/python3 Tests/LandwatchCLITests/BadInputs/make_bad_inputs.py
"""
import json
import os
import shutil
import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "data")
root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
source = gdal.Open(os.path.join(root, "testdata/nightly/before.tif"))
os.makedirs(data, exist_ok=True)
opts = ["COMPRESS=DEFLATE"]


def out(name):
    return os.path.join(data, name)


def scene(name, transform=None, srs=True, dtype=gdal.GDT_Float32, fill=None, width=None, height=None):
    """Red and NIR of the crop (a window of it when width/height are smaller)."""
    w, h = width or source.RasterXSize, height or source.RasterYSize
    ds = gdal.GetDriverByName("GTiff").Create(out(name), w, h, 2, dtype, opts)
    ds.SetGeoTransform(transform or source.GetGeoTransform())
    if srs:
        ds.SetProjection(source.GetProjection())
    for i, b in enumerate((3, 4)):
        values = source.GetRasterBand(b).ReadAsArray()[:h, :w]
        if fill is not None:
            values = fill(values, i)
        ds.GetRasterBand(i + 1).WriteArray(values)
    ds = None
    if os.path.exists(out(name) + ".aux.xml"):
        os.remove(out(name) + ".aux.xml")


scene("scene.tif")
with open(out("scene.tif"), "rb") as f:
    good = f.read()
# Cut short: the header names tiles past the end of the file.
with open(out("truncated.tif"), "wb") as f:
    f.write(good[: len(good) // 2])
# Corrupt: the header is intact, the compressed pixel data is overwritten.
corrupt = bytearray(good)
for i in range(len(corrupt) // 2, len(corrupt) - 16):
    corrupt[i] = (corrupt[i] * 7 + 13) % 256
with open(out("corrupt.tif"), "wb") as f:
    f.write(bytes(corrupt))
open(out("empty.tif"), "wb").close()
# A JPEG photo renamed .tif (GDAL reads it by its content: no georeferencing).
rgb = gdal.Translate("/vsimem/rgb.tif", source, bandList=[3, 2, 1], outputType=gdal.GDT_Byte, scaleParams=[[0, 0.3, 0, 255]])
gdal.GetDriverByName("JPEG").CreateCopy(out("photo.tif"), rgb)
for extra in ("photo.tif.aux.xml",):
    if os.path.exists(out(extra)):
        os.remove(out(extra))
scene("no-crs.tif", srs=False)
t = source.GetGeoTransform()
scene("rotated.tif", transform=(t[0], t[1], 5.0, t[3], 5.0, t[5]))
scene("coarser.tif", transform=(t[0], t[1] * 2, 0, t[3], 0, t[5] * 2))
scene("shifted.tif", transform=(t[0] + 30 * t[1], t[1], 0, t[3], 0, t[5]))
scene("all-nan.tif", fill=lambda v, i: np.full_like(v, np.nan))
scene("infinity.tif", fill=lambda v, i: np.where((np.arange(v.size).reshape(v.shape) == 12 * v.shape[1] + 7) & (i == 1), np.inf, v))
scene("saturated.tif", dtype=gdal.GDT_UInt16, fill=lambda v, i: np.full(v.shape, 65535, dtype=np.uint16))
# A scene in another CRS (geographic), same place.
gdal.Warp(out("geographic.tif"), out("scene.tif"), dstSRS="EPSG:4326", creationOptions=opts)

# MTL files with a missing and a garbled constant, beside copies of the real Landsat 8 bands.
mtl_source = os.path.join(root, "testdata/marburg-landsat/LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt")
text = open(mtl_source).read()
for name, edit in (("missing", lambda s: "\n".join(l for l in s.split("\n") if "REFLECTANCE_MULT_BAND_4 " not in l)),
                   ("garbled", lambda s: s.replace("REFLECTANCE_MULT_BAND_5 = 2.0000E-05", "REFLECTANCE_MULT_BAND_5 = 2.0000E-O5")),
                   ("noequals", lambda s: s.replace("SUN_ELEVATION = ", "SUN_ELEVATION ")),
                   # A band file name that leaves the product's folder (to the real band, outside the corpus).
                   ("outside", lambda s: s.replace('FILE_NAME_BAND_4 = "LC08', 'FILE_NAME_BAND_4 = "../../../../../testdata/marburg-landsat/LC08'))):
    folder = os.path.join(data, "mtl-" + name)
    os.makedirs(folder, exist_ok=True)
    edited = edit(text)
    assert edited != text, name
    with open(os.path.join(folder, "LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt"), "w") as f:
        f.write(edited)
    for band in ("B4", "B5"):
        shutil.copy(mtl_source.replace("MTL.txt", band + ".TIF"), folder)

# A VRT whose source lies outside the folders a run may read (the corpus): the system's password file.
with open(out("outside.vrt"), "w") as f:
    f.write('<VRTDataset rasterXSize="41" rasterYSize="41">\n'
            '  <SRS>EPSG:32632</SRS><GeoTransform>%r, %r, 0, %r, 0, %r</GeoTransform>\n' % (t[0], t[1], t[3], t[5]) +
            '  <VRTRasterBand dataType="Float32" band="1"><SimpleSource>\n'
            '    <SourceFilename relativeToVRT="0">/etc/passwd</SourceFilename><SourceBand>1</SourceBand>\n'
            '  </SimpleSource></VRTRasterBand>\n</VRTDataset>\n')

# Vector layers: not JSON, a self-intersecting polygon, an empty polygon, an unknown CRS.
with open(out("not-json.geojson"), "w") as f:
    f.write("<html><body>404 Not Found</body></html>\n")
x0, y1 = t[0], t[3]
x1, y0 = t[0] + 41 * t[1], t[3] + 41 * t[5]
def layer(name, wkt, srs_wkt=None):
    features = [{"type": "Feature", "properties": {"name": name},
                 "geometry": json.loads(ogr.CreateGeometryFromWkt(wkt).ExportToJson()) if wkt else None}]
    doc = {"type": "FeatureCollection", "features": features}
    if srs_wkt:
        doc["crs"] = {"type": "name", "properties": {"name": srs_wkt}}
    else:
        doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32632"}}
    with open(out(name + ".geojson"), "w") as f:
        json.dump(doc, f)
xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
layer("bowtie", f"POLYGON (({x0} {y0}, {x1} {y1}, {x1} {y0}, {x0} {y1}, {x0} {y0}))")
layer("empty-polygon", "POLYGON EMPTY")
layer("unknown-crs", f"POLYGON (({x0} {y0}, {xm} {y0}, {xm} {ym}, {x0} {ym}, {x0} {y0}))", "urn:ogc:def:crs:EPSG::999999")
print("bad inputs written to", data)
