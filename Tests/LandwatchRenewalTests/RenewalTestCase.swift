import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import LandwatchTestSupport
import Logging
import XCTest

/// A test case with a fresh work folder, pipelines run in it with the standard registry, and planting of real
/// pixels into copies of real scenes.
class RenewalTestCase: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("renewal-\(type(of: self))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    static let testdata = TestPaths.testdata.path
    static let marburg = TestPaths.testdata.appendingPathComponent("marburg-landsat").path
    static let plan = TestPaths.testdata.appendingPathComponent("plan").path
    static let slovenia = TestPaths.testdata.appendingPathComponent("slovenia-sentinel2").path
    static let l8MTL = "LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt"
    static let l7MTL = "LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt"

    /// Writes `text` as a pipeline file in the work folder, validates it and runs it into `work/out`.
    @discardableResult
    func run(_ text: String, memory: Int = 256 << 20, blockSize: Int = 512) throws -> RunRecord {
        let file = work.appendingPathComponent("pipeline.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: file.path)
        return try runner.run(plan, settings: .init(outputDirectory: work.appendingPathComponent("out").path,
                                                    memoryBudget: memory, threads: 2, blockSize: blockSize))
    }

    /// The one-line messages a pipeline's validation gives, or nil when it is valid.
    func problems(_ text: String) -> String? {
        let file = work.appendingPathComponent("pipeline.yaml")
        try? text.write(to: file, atomically: true, encoding: .utf8)
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        do {
            _ = try runner.validate(path: file.path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: work.appendingPathComponent(relative))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A copy of the folder `source` in the work folder.
    func copy(_ source: String, as name: String) throws -> String {
        let target = work.appendingPathComponent(name)
        try FileManager.default.copyItem(atPath: source, toPath: target.path)
        return target.path
    }

    /// Overwrites, in every band of every raster `files` of `folder` on a `width` × `height` grid, the pixels of
    /// rows × cols (half-open) with the values of the pixel at `source` in the same file: real pixels moved.
    func plant(folder: String, files: [String], rows: Range<Int>, cols: Range<Int>, from source: (row: Int, col: Int)) throws {
        for file in files {
            let dataset = try Dataset.openForUpdate(folder + "/" + file)
            for b in 1...dataset.bandCount {
                let band = try dataset.band(b)
                let value = try band.read(Window(colOffset: source.col, rowOffset: source.row, width: 1, height: 1))[0]
                let patch = [Float](repeating: value, count: rows.count * cols.count)
                try patch.withUnsafeBufferPointer {
                    try band.write(Window(colOffset: cols.lowerBound, rowOffset: rows.lowerBound, width: cols.count, height: rows.count), from: $0)
                }
            }
            try dataset.close()
        }
    }

    /// The band files of a Landsat product folder on the 41 × 41 Marburg grid (not the 15 m panchromatic, not the QA band).
    func marburgBands(in folder: String, prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            $0.hasPrefix(prefix) && $0.hasSuffix(".TIF") && !$0.contains("_B8.") && !$0.contains("BQA")
        }.sorted()
    }

    /// A GeoJSON polygon layer in UTM 32N over pixel rows and columns (half-open) of the Marburg grid.
    func marburgPolygons(_ features: [(rows: Range<Int>, cols: Range<Int>, properties: [String: String])], name: String) throws -> String {
        let (x0, y0, pixel) = (483285.0, 5628525.0, 30.0)
        let items = features.map { f -> String in
            let xa = x0 + pixel * Double(f.cols.lowerBound), xb = x0 + pixel * Double(f.cols.upperBound)
            let ya = y0 - pixel * Double(f.rows.upperBound), yb = y0 - pixel * Double(f.rows.lowerBound)
            let properties = f.properties.map { "\"\($0.key)\": \"\($0.value)\"" }.sorted().joined(separator: ", ")
            return "{\"type\": \"Feature\", \"properties\": {\(properties)}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
                + "[[[\(xa), \(ya)], [\(xb), \(ya)], [\(xb), \(yb)], [\(xa), \(yb)], [\(xa), \(ya)]]]}}"
        }
        let text = "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"urn:ogc:def:crs:EPSG::32632\"}}, "
            + "\"features\": [\(items.joined(separator: ", "))]}"
        let path = work.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
