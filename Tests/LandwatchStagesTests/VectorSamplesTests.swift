import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import XCTest

/// Training samples and accuracy references as vectors: the real Slovenian land-use polygons (GeoPackage, UTM 33N)
/// and labelled points in another CRS.
final class VectorSamplesTests: PipelineTestCase {
    static let data = TestPaths.repository.appendingPathComponent("testdata/slovenia-sentinel2").path

    func pipeline(reference: String, accuracyReference: String = "reference") -> String {
        """
        version: 1
        grid: {like: scene}
        stages:
          - id: scene
            uses: read.scene
            with: {sensor: sentinel2-l1c, path: "\(Self.data)/S2L1C_20150711_13band.tif", band_names: "blue,green,red,nir,swir1"}
          - id: reference
            uses: read.vector
            with: \(reference)
          - id: train
            uses: classify.train
            inputs: {scene: scene, reference: reference}
            with: {features: "*,ndvi", reference_map: {2: 2, 3: 3, 4: 3}, holdout_block: 20, rounds: 10, min_samples: 20}
          - id: landcover
            uses: classify.model
            inputs: {scene: scene, model: train}
          - id: accuracy
            uses: assess.accuracy
            inputs: {classes: landcover, reference: \(accuracyReference)}
            with: {reference_map: {2: 2, 3: 3, 4: 3}}
        """
    }

    /// The land-use polygons, rasterised by their LULC_ID field, train the model as the reference raster does.
    func testPolygonsTrainLikeTheirRaster() throws {
        try run(pipeline(reference: "{path: \"\(Self.data)/landuse_polygons.gpkg\", field: LULC_ID}"), out: "polygons")
        let polygons = try accuracy("polygons")
        XCTAssertGreaterThan(polygons["pixels"] as! Int, 9000)
        XCTAssertGreaterThan(polygons["overall_accuracy"] as! Double, 0.85)
        let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("polygons/model.json.meta.json"))) as! [String: Any]
        XCTAssertEqual(Set(metadata["classes"] as! [Int]), [2, 3])
    }

    /// Labelled points in EPSG:4326 (GeoJSON) as the accuracy reference: each point is one pixel compared.
    func testLabelledPointsAreAnAccuracyReference() throws {
        // 120 points at pixel centres of the real reference raster, with its classes, written in longitude/latitude.
        let raster = try Dataset.open("\(Self.data)/LULC_reference.tif")
        let classes = try raster.band(1).read(Window(width: raster.width, height: raster.height))
        let transform = raster.geoTransform!
        let toDegrees = try CoordinateTransformation(from: SpatialReference(definition: "EPSG:32633"), to: SpatialReference(definition: "EPSG:4326"))
        var features: [String] = []
        var expected = 0
        for k in 0..<120 {
            let row = (k * 37) % raster.height, column = (k * 53) % raster.width
            let code = Int(classes[row * raster.width + column])
            guard [2, 3, 4].contains(code) else { continue }
            expected += 1
            let x = transform.originX + (Double(column) + 0.5) * transform.pixelWidth
            let y = transform.originY + (Double(row) + 0.5) * transform.pixelHeight
            let (a, b) = try toDegrees.transform(x: x, y: y)
            let (lon, lat) = a < 30 ? (a, b) : (b, a)  // Slovenia: longitude ~15.5, latitude ~46, whatever the axis order
            features.append("{\"type\":\"Feature\",\"properties\":{\"class\":\(code)},\"geometry\":{\"type\":\"Point\",\"coordinates\":[\(lon),\(lat)]}}")
        }
        let points = work.appendingPathComponent("points.geojson")
        try "{\"type\":\"FeatureCollection\",\"features\":[\(features.joined(separator: ","))]}".write(to: points, atomically: true, encoding: .utf8)
        let text = pipeline(reference: "{path: \"\(Self.data)/landuse_polygons.gpkg\", field: LULC_ID}", accuracyReference: "points")
            + """

              - id: points
                uses: read.vector
                with: {path: "\(points.path)", field: class}
            """
        try run(text)
        let result = try accuracy("out")
        XCTAssertEqual(result["pixels"] as? Int, expected)
        XCTAssertGreaterThan(expected, 60)
        XCTAssertGreaterThan(result["overall_accuracy"] as! Double, 0.8)
    }

    func testSamplesOutsideTheImageAreNamed() throws {
        let far = work.appendingPathComponent("far.geojson")
        try """
            {"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":2},"geometry":{"type":"Polygon","coordinates":[[[100,10],[100.1,10],[100.1,10.1],[100,10]]]}}]}
            """.write(to: far, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(pipeline(reference: "{path: \"\(far.path)\", field: class}"))) { error in
            XCTAssertTrue("\(error)".contains("classify.train: no reference sample falls on the image with valid features (\(far.path)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out/model.json").path))
        XCTAssertThrowsError(try run(pipeline(reference: "{path: \"\(far.path)\", field: LULC}"), out: "bad")) { error in
            XCTAssertTrue("\(error)".contains("LULC"), "\(error)")
        }
    }

    func accuracy(_ folder: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("\(folder)/accuracy.json"))) as! [String: Any]
    }
}
