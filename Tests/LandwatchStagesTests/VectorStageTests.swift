import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import Logging
import LandwatchTestSupport
import XCTest

/// `read.vector` on real polygons: reprojected and rasterised onto the run grid.
final class VectorStageTests: PipelineTestCase {
    static let testdata = TestPaths.repository.appendingPathComponent("testdata")
    func testLandUsePolygonsReproduceTheirReferenceRaster() throws {
        let dir = Self.testdata.appendingPathComponent("slovenia-sentinel2").path
        try run("""
            version: 1
            stages:
              - id: reference
                uses: read.scene
                with: {bands: {lulc: "\(dir)/LULC_reference.tif"}, resampling: nearest}
              - id: landuse
                uses: read.vector
                with: {path: "\(dir)/landuse_polygons.gpkg", field: LULC_ID}
              - id: out
                uses: write.raster
                inputs: [landuse]
                with: {path: landuse.tif}
            """)
        let rasterised = try readWhole(work.appendingPathComponent("out/landuse.tif").path)
        let reference = try readWhole("\(dir)/LULC_reference.tif")
        XCTAssertEqual(rasterised.count, 100 * 101)
        let compared = zip(rasterised, reference).filter { $0.1 != 0 }
        let agreeing = compared.filter { $0.0 == $0.1 }.count
        XCTAssertGreaterThan(Double(agreeing) / Double(compared.count), 0.95, "\(agreeing) of \(compared.count)")
        XCTAssertEqual(Set(rasterised).subtracting([0, 1, 2, 3, 4, 8]), [])
    }

    func testParkBoundaryIsReprojectedAndCoversItsArea() throws {
        let zion = Self.testdata.appendingPathComponent("zion-landsat8").path
        // The polygon is in a GRS 1980 UTM zone 12 CRS; the grid is WGS 84 / UTM 12N (EPSG:32612) at 30 m.
        try run("""
            version: 1
            grid:
              crs: EPSG:32612
              resolution: 30
              extent: [301905, 4111245, 335745, 4154085]
            stages:
              - id: park
                uses: read.vector
                with: {path: "\(zion)/zion.gpkg"}
              - id: out
                uses: write.raster
                inputs: [park]
                with: {path: park.tif, type: Byte, nodata: 255}
            """)
        let mask = try readWhole(work.appendingPathComponent("out/park.tif").path)
        let inside = mask.filter { $0 == 1 }.count
        // ogrinfo -dialect SQLite -sql "SELECT SUM(ST_Area(geom)) FROM zion" zion.gpkg gives 601,801,921 m2 = 668,669 pixels.
        XCTAssertEqual(Double(inside), 668_669, accuracy: 668_669 * 0.01)
        XCTAssertEqual(mask.count - inside, mask.filter { $0 == 0 }.count)
    }

    func testMissingFieldAndLayerAreNamed() throws {
        let path = Self.testdata.appendingPathComponent("slovenia-sentinel2/landuse_polygons.gpkg").path
        let text = """
            version: 1
            grid: {crs: EPSG:32633, resolution: 10, extent: [0, 0, 100, 100]}
            stages:
              - id: a
                uses: read.vector
                with: {path: "\(path)", field: CLASS}
              - id: b
                uses: read.vector
                with: {path: "\(path)", layer: zones}
            """
        let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: "v.yaml", directory: work)
        XCTAssertThrowsError(try RunPlan(pipeline: pipeline)) { error in
            XCTAssertEqual("\(error)", """
                v.yaml:6:\(path.count + 29): a: field 'CLASS' does not exist in layer 'LULC' of \(path) (its fields: index, RABA_ID, AREA, DATE, LULC_ID, LULC_NAME)
                v.yaml:9:\(path.count + 29): b: layer 'zones' does not exist in \(path) (its layers: LULC)
                """)
        }
    }
}
