import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest

/// `read.plan`: layers in the CRSs Chinese bureaus deliver land on the right pixels; bad layers get one clear line.
final class PlanLayerTests: PipelineTestCase {
    /// A 100 x 100 grid at 10 m in WGS 84 / UTM 50N over Shenzhen.
    let utm = "EPSG:32650"
    let origin = (x: 195_000.0, y: 2_496_000.0)

    func makeGrid() throws -> String {
        let path = work.appendingPathComponent("grid.tif").path
        let grid = RasterGrid(width: 100, height: 100,
                              geoTransform: GeoTransform(originX: origin.x, pixelWidth: 10, rowRotation: 0, originY: origin.y, colRotation: 0, pixelHeight: -10),
                              crsWKT: try SpatialReference(definition: utm).wkt, crsLabel: utm)
        try Dataset.createGeoTIFF(at: path, grid: grid, bandCount: 1, dataType: .uint8, options: GeoTIFFOptions()).close()
        return path
    }

    /// A rectangle of pixel rows and columns of the grid, densified, written in `crs` with `driver`.
    func writeRectangle(rows: Range<Int>, cols: Range<Int>, crs: String, driver: String, name: String,
                        wkt overrideWKT: String? = nil, fields: [String: String] = [:]) throws -> String {
        let path = work.appendingPathComponent(name).path
        let x0 = origin.x + 10 * Double(cols.lowerBound), x1 = origin.x + 10 * Double(cols.upperBound)
        let y0 = origin.y - 10 * Double(rows.upperBound), y1 = origin.y - 10 * Double(rows.lowerBound)
        var points: [(Double, Double)] = []
        for i in 0..<10 { points.append((x0 + (x1 - x0) * Double(i) / 10, y0)) }
        for i in 0..<10 { points.append((x1, y0 + (y1 - y0) * Double(i) / 10)) }
        for i in 0..<10 { points.append((x1 - (x1 - x0) * Double(i) / 10, y1)) }
        for i in 0..<10 { points.append((x0, y1 - (y1 - y0) * Double(i) / 10)) }
        let target = try SpatialReference(definition: crs)
        let transform = try CoordinateTransformation(from: SpatialReference(definition: utm), to: target)
        let ring = try points.map { try transform.transform(x: $0.0, y: $0.1) }
        let text = overrideWKT ?? "POLYGON ((" + (ring + [ring[0]]).map { "\($0.x) \($0.y)" }.joined(separator: ", ") + "))"
        let writer = try VectorWriter(path: path, driver: driver, layer: "layer", crs: target, geometry: .polygon,
                                      fields: fields.keys.sorted().map { ($0, .string) })
        try writer.add(Geometry(wkt: text), values: fields.mapValues { .string($0) })
        try writer.close()
        return path
    }

    func testCGCS2000AndGaussKrugerLayersLandOnTheRightPixels() throws {
        let grid = try makeGrid()
        // CGCS2000 geographic, a 3-degree Gauss-Krüger zone (CM 114E) and a 6-degree zone (zone 20, CM 117E).
        let geographic = try writeRectangle(rows: 20..<40, cols: 30..<60, crs: "EPSG:4490", driver: "GeoJSON", name: "redline.geojson")
        let threeDegree = try writeRectangle(rows: 50..<70, cols: 10..<25, crs: "EPSG:4547", driver: "GPKG", name: "farmland.gpkg")
        let sixDegree = try writeRectangle(rows: 75..<95, cols: 70..<98, crs: "EPSG:4498", driver: "GPKG", name: "zones.gpkg")
        try run("""
            version: 1
            stages:
              - {id: grid, uses: read.scene, with: {bands: {b: "\(grid)"}}}
              - {id: redline, uses: read.plan, with: {role: redline, path: "\(geographic)"}}
              - {id: farmland, uses: read.plan, with: {role: basic_farmland, path: "\(threeDegree)"}}
              - {id: zones, uses: read.plan, with: {role: zones, path: "\(sixDegree)"}}
              - {id: w1, uses: write.raster, inputs: [redline], with: {path: redline.tif, type: Byte}}
              - {id: w2, uses: write.raster, inputs: [farmland], with: {path: farmland.tif, type: Byte}}
              - {id: w3, uses: write.raster, inputs: [zones], with: {path: zones.tif, type: Byte}}
            """)
        for (file, rows, cols) in [("redline.tif", 20..<40, 30..<60), ("farmland.tif", 50..<70, 10..<25), ("zones.tif", 75..<95, 70..<98)] {
            let pixels = try readWhole(work.appendingPathComponent("out/\(file)").path)
            var wrong = 0
            for row in 0..<100 {
                for col in 0..<100 {
                    let expected: Float = rows.contains(row) && cols.contains(col) ? 1 : 0
                    if pixels[row * 100 + col] != expected { wrong += 1 }
                }
            }
            XCTAssertEqual(wrong, 0, "\(file): \(wrong) pixels off the rectangle")
        }
    }

    func testInvalidPolygonIsRepairedAndBurned() throws {
        let grid = try makeGrid()
        // A bow-tie: two triangles touching at (500, 500) from the grid's top-left, in grid coordinates.
        let x0 = origin.x, y0 = origin.y
        let bowtie = "POLYGON ((\(x0 + 100) \(y0 - 100), \(x0 + 900) \(y0 - 900), \(x0 + 900) \(y0 - 100), \(x0 + 100) \(y0 - 900), \(x0 + 100) \(y0 - 100)))"
        let path = try writeRectangle(rows: 0..<1, cols: 0..<1, crs: utm, driver: "GPKG", name: "bowtie.gpkg", wkt: bowtie)
        try run("""
            version: 1
            stages:
              - {id: grid, uses: read.scene, with: {bands: {b: "\(grid)"}}}
              - {id: redline, uses: read.plan, with: {role: redline, path: "\(path)", invalid_geometry: repair}}
              - {id: w, uses: write.raster, inputs: [redline], with: {path: redline.tif, type: Byte}}
            """)
        let pixels = try readWhole(work.appendingPathComponent("out/redline.tif").path)
        // Both triangles are burned: pixels near the left and the right edge of the bow-tie, at mid height.
        XCTAssertEqual(pixels[50 * 100 + 15], 1)
        XCTAssertEqual(pixels[50 * 100 + 85], 1)
        XCTAssertEqual(pixels[15 * 100 + 50], 0, "the top gap between the triangles stays outside")
    }

    func testBadPlanLayersGetOneClearLine() throws {
        let grid = try makeGrid()
        let empty = work.appendingPathComponent("empty.gpkg").path
        try VectorWriter(path: empty, driver: "GPKG", layer: "layer", crs: SpatialReference(definition: utm), geometry: .polygon, fields: []).close()
        let far = try writeRectangle(rows: 0..<10, cols: 0..<10, crs: "EPSG:4490", driver: "GeoJSON", name: "far.geojson")
        // The same rectangle, but its CGCS2000 coordinates moved 5 degrees east: nowhere near the image.
        let farText = try String(contentsOfFile: far, encoding: .utf8)
        let shifted = work.appendingPathComponent("shifted.geojson").path
        try farText.replacingOccurrences(of: "[ 114.", with: "[ 119.").write(toFile: shifted, atomically: true, encoding: .utf8)
        let landuse = try writeRectangle(rows: 0..<10, cols: 0..<10, crs: utm, driver: "GPKG", name: "landuse.gpkg", fields: ["DLBM": "2301"])
        let noCRS = try writeRectangle(rows: 0..<10, cols: 0..<10, crs: utm, driver: "ESRI Shapefile", name: "nocrs.shp")
        try FileManager.default.removeItem(atPath: work.appendingPathComponent("nocrs.prj").path)

        func problem(_ with: String) -> String {
            do {
                try run("""
                    version: 1
                    stages:
                      - {id: grid, uses: read.scene, with: {bands: {b: "\(grid)"}}}
                      - {id: plan, uses: read.plan, with: \(with)}
                      - {id: w, uses: write.raster, inputs: [plan], with: {path: plan.tif, type: Byte}}
                    """)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(problem("{role: redline, path: \"\(empty)\"}").contains("plan layer 'redline' (\(empty), layer 'layer') has no features"))
        XCTAssertTrue(problem("{role: redline, path: \"\(shifted)\"}").contains("plan layer 'redline' (\(shifted)) does not overlap the image"),
                      problem("{role: redline, path: \"\(shifted)\"}"))
        XCTAssertTrue(problem("{role: landuse, path: \"\(landuse)\", code_field: DLBM}")
            .contains("land-use code '2301' of feature 1 in \(landuse) maps to no class"))
        XCTAssertTrue(problem("{role: zoning, path: \"\(landuse)\"}").contains("a zoning layer needs 'code_field'"))
        XCTAssertTrue(problem("{role: zones, path: \"\(noCRS)\"}").contains("has no CRS (a Shapefile without its .prj?); give it with 'crs'"))
        // With its CRS given, the same layer is read.
        XCTAssertEqual(problem("{role: zones, path: \"\(noCRS)\", crs: \"\(utm)\"}"), "no error")
        XCTAssertTrue(problem("{role: zones, path: \"\(noCRS)\", crs: \"EPSG:99999\"}").contains("unknown CRS 'EPSG:99999'"))
    }
}

extension PlanLayerTests {
    func testRasterPlanLayerIsWarpedOntoTheGridWithNearestNeighbour() throws {
        let grid = try makeGrid()
        // A red line delivered as a raster at 20 m in CGCS2000 / 3-degree Gauss-Krüger (EPSG:4547).
        let vector = try writeRectangle(rows: 20..<60, cols: 20..<60, crs: "EPSG:4547", driver: "GPKG", name: "redline-source.gpkg")
        let raster = work.appendingPathComponent("redline.tif").path
        let extent = try VectorDataset.open(vector).spatialReference(layer: nil)
        XCTAssertNotNil(extent)
        let gk = try SpatialReference(definition: "EPSG:4547")
        let transform = try CoordinateTransformation(from: SpatialReference(definition: utm), to: gk)
        let corner = try transform.transform(x: origin.x, y: origin.y)
        let rasterGrid = RasterGrid(width: 60, height: 60,
                                    geoTransform: GeoTransform(originX: corner.x - 100, pixelWidth: 20, rowRotation: 0, originY: corner.y + 100, colRotation: 0, pixelHeight: -20),
                                    crsWKT: gk.wkt, crsLabel: "EPSG:4547")
        let dataset = try Dataset.createGeoTIFF(at: raster, grid: rasterGrid, bandCount: 1, dataType: .uint8, options: GeoTIFFOptions())
        try VectorDataset.open(vector).readAreas(layer: nil, sourceCRS: nil, target: gk).features.forEach { feature in
            try dataset.burn([feature.geometry], values: [1], allTouched: false)
        }
        try dataset.close()
        try run("""
            version: 1
            stages:
              - {id: grid, uses: read.scene, with: {bands: {b: "\(grid)"}}}
              - {id: redline, uses: read.plan, with: {role: redline, path: "\(raster)"}}
              - {id: w, uses: write.raster, inputs: [redline], with: {path: redline.tif, type: Byte}}
            """)
        let pixels = try readWhole(work.appendingPathComponent("out/redline.tif").path)
        // Inside and outside, away from the 20 m raster's stair-stepped edge.
        XCTAssertEqual(pixels[40 * 100 + 40], 1)
        XCTAssertEqual(pixels[22 * 100 + 22], 1)
        XCTAssertEqual(pixels[10 * 100 + 10], 0)
        XCTAssertEqual(pixels[80 * 100 + 80], 0)
        XCTAssertEqual(Set(pixels), [0, 1], "nearest neighbour: no fractions")
    }
}
