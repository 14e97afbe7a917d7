#!/usr/bin/python3
"""1000 planning units over the benchmark scene (bench/work/input.tif) for the zonal-statistics benchmark:
a 40 x 25 grid of rectangles in CGCS2000 (EPSG:4490), written once to bench/work/zones.gpkg."""
import os
from osgeo import gdal, ogr, osr

WORK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "work"))
TARGET = os.path.join(WORK, "zones.gpkg")
if not os.path.exists(TARGET):
    src = gdal.Open(os.path.join(WORK, "input.tif"))
    gt = src.GetGeoTransform()
    utm = osr.SpatialReference(); utm.ImportFromWkt(src.GetProjection())
    cgcs = osr.SpatialReference(); cgcs.ImportFromEPSG(4490); cgcs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(utm, cgcs)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(TARGET + ".tmp.gpkg")
    layer = ds.CreateLayer("zones", cgcs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("code", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    columns, rows = 40, 25
    width, height = src.RasterXSize * gt[1], src.RasterYSize * gt[5]
    layer.StartTransaction()
    for r in range(rows):
        for c in range(columns):
            x0, x1 = gt[0] + width * c / columns, gt[0] + width * (c + 1) / columns
            y0, y1 = gt[3] + height * r / rows, gt[3] + height * (r + 1) / rows
            ring = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in [(x0, y1), (x1, y1), (x1, y0), (x0, y0), (x0, y1)]:
                ring.AddPoint_2D(x, y)
            polygon = ogr.Geometry(ogr.wkbPolygon); polygon.AddGeometry(ring)
            polygon.Segmentize(100)
            polygon.Transform(transform)
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("code", f"Z{r * columns + c + 1:04d}")
            feature.SetField("name", f"planning unit {r * columns + c + 1}")
            feature.SetGeometry(polygon)
            layer.CreateFeature(feature)
    layer.CommitTransaction()
    ds = None
    os.rename(TARGET + ".tmp.gpkg", TARGET)
    print("bench: wrote work/zones.gpkg (1000 zones)")
