#!/usr/bin/python3
"""An independent count of green-space access, for GreenAccessStageTests (Debian's python3 with GDAL's bindings).

Reads a class raster, the zones layer and, optionally, the zoning layer; finds the 8-connected green patches with
GDAL's polygonize and their areas with OGR; for each service level, buffers (OGR/GEOS) the centres of the pixels of
the patches at least min_area large (their edge pixels: the nearest point of a patch to anything outside it is an
edge pixel's centre) by the radius, and counts, per zone, the residential pixels whose centres fall
inside the buffer. No proximity raster is involved: the buffer is the set of points within the radius of a green pixel
centre, the straight-line distance landwatch takes from GDAL's proximity. The buffer is drawn 5 cm wider than the
radius with 90 segments a quarter circle (at most 1.2 cm inside the true circle at 300 m), so that a pixel centre at
exactly the radius counts as inside, as it does for landwatch.

Usage: green_access_check.py CLASSES.tif ZONES ZONE_ID_FIELD ZONING|- ZONING_CODE_FIELD RES_CODE_PREFIXES GREEN_CLASSES
       RESIDENTIAL_CLASSES RADIUS:MIN_AREA [RADIUS:MIN_AREA ...]
Prints JSON: {zone code: {"residential": pixels, "served": [pixels per level]}}.
"""
import json
import sys

from osgeo import gdal, ogr, osr

gdal.UseExceptions()


def rasterize(path, grid, values):
    """Burns the features of the first layer of `path` onto the grid as values(feature) (pixel-centre rule)."""
    source = ogr.Open(path)
    layer = source.GetLayer(0)
    target = gdal.GetDriverByName("MEM").Create("", grid.RasterXSize, grid.RasterYSize, 1, gdal.GDT_Int32)
    target.SetGeoTransform(grid.GetGeoTransform())
    target.SetProjection(grid.GetProjection())
    burn = ogr.GetDriverByName("Memory").CreateDataSource("burn")
    out = burn.CreateLayer("burn", layer.GetSpatialRef(), ogr.wkbPolygon)
    out.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    names = {}
    for index, feature in enumerate(layer):
        f = ogr.Feature(out.GetLayerDefn())
        f.SetGeometry(feature.GetGeometryRef().Clone())
        f.SetField("v", index + 1)
        out.CreateFeature(f)
        names[index + 1] = values(feature)
    gdal.RasterizeLayer(target, [1], out, options=["ATTRIBUTE=v"])
    return target.GetRasterBand(1).ReadAsArray(), names


def main(argv):
    classes_path, zones_path, zone_field, zoning_path, zoning_field, res_codes, green_classes, res_classes = argv[1:9]
    levels = [tuple(float(x) for x in level.split(":")) for level in argv[9:]]
    grid = gdal.Open(classes_path)
    classes = grid.GetRasterBand(1).ReadAsArray()
    t = grid.GetGeoTransform()
    width, height = grid.RasterXSize, grid.RasterYSize
    green_set = {int(c) for c in green_classes.split(",")}
    res_set = {int(c) for c in res_classes.split(",")}
    prefixes = res_codes.split(",")
    zones, zone_names = rasterize(zones_path, grid, lambda f: f.GetField(zone_field))
    residential_zoned = None
    if zoning_path != "-":
        zoning, codes = rasterize(zoning_path, grid, lambda f: f.GetField(zoning_field))

        def zoned(row, col):
            number = int(zoning[row][col])
            return number > 0 and any(str(codes[number]).startswith(p) for p in prefixes)
        residential_zoned = zoned

    # Green patches: polygonize the 0/1 green mask, 8-connected.
    mask = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
    mask.SetGeoTransform(t)
    mask.SetProjection(grid.GetProjection())
    green = [[1 if int(classes[r][c]) in green_set else 0 for c in range(width)] for r in range(height)]
    band = mask.GetRasterBand(1)
    import numpy
    band.WriteArray(numpy.array(green, dtype=numpy.uint8))
    srs = osr.SpatialReference(wkt=grid.GetProjection())
    polygons = ogr.GetDriverByName("Memory").CreateDataSource("p")
    polys = polygons.CreateLayer("p", srs, ogr.wkbPolygon)
    polys.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    gdal.Polygonize(band, band, polys, 0, ["8CONNECTED=8"])
    patches = [f.GetGeometryRef().Clone() for f in polys if f.GetField("v") == 1]

    served_by_level = []
    for radius, min_area in levels:
        # The pixels of the patches of at least min_area (GDAL's rasterize of their polygons, pixel-centre rule).
        chosen = ogr.GetDriverByName("Memory").CreateDataSource("c")
        layer = chosen.CreateLayer("c", srs, ogr.wkbPolygon)
        for p in patches:
            if p.GetArea() >= min_area - 1e-6:
                f = ogr.Feature(layer.GetLayerDefn())
                f.SetGeometry(p)
                layer.CreateFeature(f)
        qualifying = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
        qualifying.SetGeoTransform(t)
        qualifying.SetProjection(grid.GetProjection())
        gdal.RasterizeLayer(qualifying, [1], layer, burn_values=[1])
        q = qualifying.GetRasterBand(1).ReadAsArray()
        # Buffer the centres of their edge pixels (a pixel with a 4-neighbour outside the patches): the point of a
        # patch nearest to anything outside it is always an edge pixel's centre, so the buffer is the same.
        points = ogr.Geometry(ogr.wkbMultiPoint)
        for r in range(height):
            y = t[3] + (r + 0.5) * t[5]
            for c in range(width):
                if not q[r][c]:
                    continue
                if all(0 <= rr < height and 0 <= cc < width and q[rr][cc] for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))):
                    continue
                point = ogr.Geometry(ogr.wkbPoint)
                point.AddPoint_2D(t[0] + (c + 0.5) * t[1], y)
                points.AddGeometry(point)
        served_by_level.append(points.Buffer(radius + 0.05, 90) if points.GetGeometryCount() else None)

    result = {}
    for number, code in zone_names.items():
        result[str(code)] = {"residential": 0, "served": [0] * len(levels)}
    for r in range(height):
        y = t[3] + (r + 0.5) * t[5]
        for c in range(width):
            zone = int(zones[r][c])
            if zone == 0 or int(classes[r][c]) not in res_set:
                continue
            if residential_zoned is not None and not residential_zoned(r, c):
                continue
            entry = result[str(zone_names[zone])]
            entry["residential"] += 1
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(t[0] + (c + 0.5) * t[1], y)
            for index, buffer in enumerate(served_by_level):
                if buffer is not None and buffer.Intersects(point):
                    entry["served"][index] += 1
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
