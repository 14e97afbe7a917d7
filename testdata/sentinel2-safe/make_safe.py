#!/usr/bin/python3
"""Builds two small Sentinel-2 SAFE products from the real Slovenia 2015-07-31 L1C reflectance in
../slovenia-sentinel2, so that the SAFE reader is tested on real pixels in the delivered layout:

- S2A_MSIL1C_20150731T100006_N0400_..._.SAFE: Level-1C at processing baseline 04.00, so digital numbers are
  reflectance x 10000 + 1000 and the MTD gives RADIO_ADD_OFFSET -1000 (B02, B03, B04, B08 at 10 m; B11, B12 at 20 m).
- S2A_MSIL1C_..._.zip: the same Level-1C product zipped, as the hub delivers it.
- S2A_MSIL2A_20150731T100006_N0208_..._.SAFE: Level-2A layout at baseline 02.08 (no offset) with R10m/R20m folders and
  a 20 m scene classification (SCL): 9 (cloud, high probability) where blue reflectance exceeds 0.2, else 4.
  The reflectance is the L1C's (this is a layout fixture, not an atmospheric correction).

Band files are lossless JPEG 2000 (GDAL's JP2OpenJPEG), as in real products. Run with Debian's python3:
    /usr/bin/python3 testdata/sentinel2-safe/make_safe.py
"""
import os
import shutil
import numpy as np
from osgeo import gdal

gdal.UseExceptions()
here = os.path.dirname(os.path.abspath(__file__))
source = gdal.Open(os.path.join(here, "..", "slovenia-sentinel2", "S2L1C_20150731_13band.tif"))
reflectance = source.ReadAsArray().astype(np.float64)  # 13 bands B01 ... B12
band_index = {"B02": 1, "B03": 2, "B04": 3, "B08": 7, "B11": 11, "B12": 12}
gt = source.GetGeoTransform()
wkt = source.GetProjection()
width, height = source.RasterXSize, source.RasterYSize
tile, stamp = "T33TWM", "20150731T100006"


def write_jp2(path, array, transform):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mem = gdal.GetDriverByName("MEM").Create("", array.shape[1], array.shape[0], 1, gdal.GDT_UInt16)
    mem.SetGeoTransform(transform)
    mem.SetProjection(wkt)
    mem.GetRasterBand(1).WriteArray(array)
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(path, mem, options=["REVERSIBLE=YES", "QUALITY=100"])
    aux = path + ".aux.xml"
    if os.path.exists(aux):
        os.remove(aux)


def at20m(array):
    """2 x 2 means; the odd last row is averaged with itself."""
    rows = array.shape[0] + array.shape[0] % 2
    padded = np.vstack([array, array[-1:]]) if rows != array.shape[0] else array
    return padded.reshape(rows // 2, 2, array.shape[1] // 2, 2).mean(axis=(1, 3))


def digital_numbers(values, offset):
    return np.clip(np.round(values * 10000 + offset), 1, 65535).astype(np.uint16)


def write_mtd(product, level, baseline, files, characteristics):
    """The product's MTD_MSIL1C.xml / MTD_MSIL2A.xml with the fields landwatch reads."""
    with open(os.path.join(product, f"MTD_MSIL{level}.xml"), "w") as f:
        f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-{level}_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-{level}.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>2015-07-31T10:00:06.027Z</PRODUCT_START_TIME>
      <PROCESSING_LEVEL>Level-{level}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI{level}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Product_Organisation>
        <Granule_List>
          <Granule granuleIdentifier="L{level}_{tile}_A000734_{stamp}" imageFormat="JPEG2000">
{chr(10).join(files)}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      {characteristics}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-{level}_User_Product>
""")


transform20 = (gt[0], 2 * gt[1], 0.0, gt[3], 0.0, 2 * gt[5])  # the 10 m grid is 9.995 m in this crop
offsets_xml = "\n".join(f'          <RADIO_ADD_OFFSET band_id="{i}">-1000</RADIO_ADD_OFFSET>' for i in range(13))

# Level-1C, baseline 04.00.
l1c = os.path.join(here, f"S2A_MSIL1C_{stamp}_N0400_R122_{tile}_20220101T000000.SAFE")
shutil.rmtree(l1c, ignore_errors=True)
granule = f"GRANULE/L1C_{tile}_A000734_{stamp}/IMG_DATA"
files = []
for name, index in band_index.items():
    relative = f"{granule}/{tile}_{stamp}_{name}"
    values = reflectance[index]
    if name in ("B11", "B12"):
        write_jp2(os.path.join(l1c, relative + ".jp2"), digital_numbers(at20m(values), 1000), transform20)
    else:
        write_jp2(os.path.join(l1c, relative + ".jp2"), digital_numbers(values, 1000), gt)
    files.append(f"            <IMAGE_FILE>{relative}</IMAGE_FILE>")
# Baseline 04.00 L1C cloud mask: QI_DATA/MSK_CLASSI_B00.jp2, band 1 opaque clouds, band 2 cirrus, band 3 snow
# (60 m in real products; 20 m here): opaque cloud where blue reflectance exceeds 0.2.
classi = np.zeros((3,) + at20m(reflectance[1]).shape, dtype=np.uint16)
classi[0] = (at20m((reflectance[1] > 0.2).astype(np.float64)) > 0).astype(np.uint16)
mask_path = os.path.join(l1c, f"GRANULE/L1C_{tile}_A000734_{stamp}/QI_DATA/MSK_CLASSI_B00.jp2")
os.makedirs(os.path.dirname(mask_path), exist_ok=True)
mem = gdal.GetDriverByName("MEM").Create("", classi.shape[2], classi.shape[1], 3, gdal.GDT_Byte)
mem.SetGeoTransform(transform20)
mem.SetProjection(wkt)
for b in range(3):
    mem.GetRasterBand(b + 1).WriteArray(classi[b])
gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(mask_path, mem, options=["REVERSIBLE=YES", "QUALITY=100"])

write_mtd(l1c, "1C", "04.00", files, f"""<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
      <Radiometric_Offset_List>
{offsets_xml}
      </Radiometric_Offset_List>""")

# Level-2A layout, baseline 02.08, with SCL.
l2a = os.path.join(here, f"S2A_MSIL2A_{stamp}_N0208_R122_{tile}_20180101T000000.SAFE")
shutil.rmtree(l2a, ignore_errors=True)
granule = f"GRANULE/L2A_{tile}_A000734_{stamp}/IMG_DATA"
files = []
for name, index in band_index.items():
    values = reflectance[index]
    if name in ("B11", "B12"):
        relative = f"{granule}/R20m/{tile}_{stamp}_{name}_20m"
        write_jp2(os.path.join(l2a, relative + ".jp2"), digital_numbers(at20m(values), 0), transform20)
    else:
        relative = f"{granule}/R10m/{tile}_{stamp}_{name}_10m"
        write_jp2(os.path.join(l2a, relative + ".jp2"), digital_numbers(values, 0), gt)
    files.append(f"            <IMAGE_FILE>{relative}</IMAGE_FILE>")
scl = np.where(at20m((reflectance[1] > 0.2).astype(np.float64)) > 0, 9, 4).astype(np.uint16)
relative = f"{granule}/R20m/{tile}_{stamp}_SCL_20m"
write_jp2(os.path.join(l2a, relative + ".jp2"), scl, transform20)
files.append(f"            <IMAGE_FILE>{relative}</IMAGE_FILE>")
write_mtd(l2a, "2A", "02.08", files, """<QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>""")

# The L1C product also as delivered by the Copernicus hub: one zip holding the SAFE folder.
import zipfile
zipped = l1c[:-5] + ".zip"
with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as archive:
    for folder, _, names in sorted(os.walk(l1c)):
        for name in sorted(names):
            full = os.path.join(folder, name)
            archive.write(full, os.path.relpath(full, here))
print(l1c)
print(l2a)
print(zipped)
