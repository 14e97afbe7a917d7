#!/usr/bin/python3
"""Builds a Gaofen-2 PMS Level-1A-like delivery from real pixels, so that RPC orthorectification is tested:

- GF2_PMS1_W113.0_N37.2_20150818_L1A0000000001-MSS1.tiff: a 300 x 300 crop of the Zion Landsat 8 bands 2-5
  (../zion-landsat8, as blue, green, red, NIR digital numbers), resampled onto a latitude/longitude grid and stored
  WITHOUT a geotransform: only rational polynomial coefficients (RPC metadata, written by GDAL as the GeoTIFF RPC
  tag) place it on the Earth, as in a real Level-1A product. The RPCs are exact for this image: line and sample are
  linear in latitude and longitude.
- the same name with .xml: the product XML fields landwatch reads (SolarZenith, CenterTime).
- reference_geographic.tif: the same pixels with their geotransform, to compare the orthorectified result against.

Run with Debian's python3:  /usr/bin/python3 testdata/gaofen-rpc/make_rpc.py
"""
import os
from osgeo import gdal, osr

gdal.UseExceptions()
here = os.path.dirname(os.path.abspath(__file__))
zion = os.path.join(here, "..", "zion-landsat8")
name = "GF2_PMS1_W113.0_N37.2_20150818_L1A0000000001-MSS1"
size = 200

stack = gdal.BuildVRT("", [os.path.join(zion, f"landsat_b{b}.tif") for b in (2, 3, 4, 5)], separate=True)
crop = gdal.Translate("", stack, format="MEM", srcWin=[400, 500, size, size])
geographic = gdal.Warp(os.path.join(here, "reference_geographic.tif"), crop, dstSRS="EPSG:4326", width=size, height=size,
                       resampleAlg="near", srcNodata=65535, dstNodata=0, creationOptions=["COMPRESS=DEFLATE"])
gt = geographic.GetGeoTransform()
west, dlon, north, dlat = gt[0], gt[1], gt[3], -gt[5]
geographic = None

ref = gdal.Open(os.path.join(here, "reference_geographic.tif"))
l1a_path = os.path.join(here, name + ".tiff")
driver = gdal.GetDriverByName("GTiff")
l1a = driver.Create(l1a_path, size, size, 4, gdal.GDT_UInt16, options=["COMPRESS=DEFLATE"])
for b in range(1, 5):
    l1a.GetRasterBand(b).WriteArray(ref.GetRasterBand(b).ReadAsArray())
    l1a.GetRasterBand(b).SetNoDataValue(0)
coefficients = lambda values: " ".join(str(v) for v in values + [0] * (20 - len(values)))
l1a.SetMetadata({
    # RPC line and sample number pixel centres: the centre of the first pixel is (0, 0).
    "LINE_OFF": str(size / 2 - 0.5), "SAMP_OFF": str(size / 2 - 0.5),
    "LAT_OFF": str(north - size * dlat / 2), "LONG_OFF": str(west + size * dlon / 2), "HEIGHT_OFF": "0",
    "LINE_SCALE": str(size / 2), "SAMP_SCALE": str(size / 2),
    "LAT_SCALE": str(size * dlat / 2), "LONG_SCALE": str(size * dlon / 2), "HEIGHT_SCALE": "1",
    # Terms in the order 1, L, P, H, ...: line = -P (north at the top), sample = L.
    "LINE_NUM_COEFF": coefficients([0, 0, -1]), "LINE_DEN_COEFF": coefficients([1]),
    "SAMP_NUM_COEFF": coefficients([0, 1]), "SAMP_DEN_COEFF": coefficients([1]),
}, "RPC")
l1a = None
with open(os.path.join(here, name + ".xml"), "w") as f:
    f.write("""<?xml version="1.0" encoding="UTF-8"?>
<ProductMetaData>
  <SatelliteID>GF2</SatelliteID>
  <SensorID>PMS1</SensorID>
  <CenterTime>2015-08-18 17:55:12</CenterTime>
  <SolarZenith>30.5</SolarZenith>
  <ProductLevel>LEVEL1A</ProductLevel>
</ProductMetaData>
""")
for path in (l1a_path, os.path.join(here, "reference_geographic.tif")):
    aux = path + ".aux.xml"
    if os.path.exists(aux):
        os.remove(aux)
print(l1a_path)
