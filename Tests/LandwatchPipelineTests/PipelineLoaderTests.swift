import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest
import LandwatchTestSupport

final class PipelineLoaderTests: XCTestCase {
    static let root = TestPaths.repository

    let text = """
        version: 1
        name: ndvi
        params:
          data: testdata/zion-landsat8
          red: landsat_b4.tif
        stages:
          - id: scene
            uses: read.scene
            with:
              bands: {red: "${data}/${red}", nir: "${data}/landsat_b5.tif"}
              scale: 2.0e-5
              offset: -0.1
          - id: ndvi
            uses: index.ndvi
            inputs: {scene: scene}
          - id: out
            uses: write.raster
            inputs: [ndvi]
            with: {path: maps/ndvi.tif}
        """

    func load(_ text: String, overrides: [String: String] = [:]) throws -> Pipeline {
        try PipelineLoader(registry: standardRegistry).load(text: text, path: "p.yaml", directory: Self.root, overrides: overrides)
    }

    func testParametersAreSubstitutedAndOverridable() throws {
        let pipeline = try load(text)
        XCTAssertEqual(pipeline.name, "ndvi")
        XCTAssertEqual(pipeline.topologicalOrder, ["scene", "ndvi", "out"])
        let bands = pipeline.stage("scene")?.options.bandMap("bands")
        XCTAssertEqual(bands?.first?.path, Self.root.appendingPathComponent("testdata/zion-landsat8/landsat_b4.tif").path)
        XCTAssertEqual(pipeline.stage("scene")?.options.number("scale"), 2.0e-5)

        let overridden = try load(text, overrides: ["red": "landsat_b3.tif"])
        XCTAssertEqual(overridden.stage("scene")?.options.bandMap("bands")?.first?.path,
                       Self.root.appendingPathComponent("testdata/zion-landsat8/landsat_b3.tif").path)
        XCTAssertEqual(overridden.params["red"], "landsat_b3.tif")
    }

    /// A parameter's value may use other parameters (issue 22 item 6); `--set` of the one used reaches the others.
    func testParametersNamingParametersAreExpandedAfterTheOverrides() throws {
        let nested = text.replacingOccurrences(of: "  red: landsat_b4.tif", with: "  red: \"${data}/landsat_b4.tif\"\n  nir: \"${data}/landsat_b5.tif\"")
            .replacingOccurrences(of: "bands: {red: \"${data}/${red}\", nir: \"${data}/landsat_b5.tif\"}", with: "bands: {red: \"${red}\", nir: \"${nir}\"}")
        XCTAssertTrue(nested.contains("nir: \"${nir}\""), nested)
        let pipeline = try load(nested)
        XCTAssertEqual(pipeline.params["red"], "testdata/zion-landsat8/landsat_b4.tif")
        XCTAssertEqual(pipeline.stage("scene")?.options.bandMap("bands")?.first { $0.name == "nir" }?.path,
                       Self.root.appendingPathComponent("testdata/zion-landsat8/landsat_b5.tif").path)
        XCTAssertThrowsError(try load(nested, overrides: ["data": "testdata/elsewhere"])) { error in
            XCTAssertTrue("\(error)".contains("testdata/elsewhere/landsat_b4.tif"), "\(error)")
        }
    }

    func testSettingAnUnknownParameterIsRefused() {
        XCTAssertThrowsError(try load(text, overrides: ["green": "x"])) { error in
            XCTAssertEqual("\(error)", "p.yaml:3:1: pipeline: --set green=x: the file has no parameter 'green' (its params: data, red)")
        }
    }

    func testPlanDescribesProductsAndTakesTheSceneGrid() throws {
        let plan = try RunPlan(pipeline: load(text))
        XCTAssertEqual(plan.products["scene"]?.bandNames, ["red", "nir"])
        XCTAssertEqual(plan.products["ndvi"]?.kind, .index)
        XCTAssertEqual(plan.grid.width, 1128)
        XCTAssertEqual(plan.grid.crsLabel, "EPSG:32612")
    }

    func testExplicitGridIsBuiltFromCRSResolutionAndExtent() throws {
        let withGrid = text.replacingOccurrences(of: "stages:", with: """
            grid:
              crs: EPSG:32612
              resolution: 60
              extent: [310000, 4120000, 320000, 4130020]
            stages:
            """)
        let plan = try RunPlan(pipeline: load(withGrid))
        XCTAssertEqual(plan.grid.width, 167)
        XCTAssertEqual(plan.grid.height, 167)
        XCTAssertEqual(plan.grid.geoTransform.originY, 4130020)
        XCTAssertEqual(plan.grid.geoTransform.pixelHeight, -60)
    }

    func testOutputPathsAreNormalisedInsideTheRoot() {
        XCTAssertEqual(OutputRoot.normalize("maps/./ndvi.tif"), "maps/ndvi.tif")
        XCTAssertEqual(OutputRoot.normalize("a/../b.tif"), "b.tif")
        XCTAssertNil(OutputRoot.normalize("../b.tif"))
        XCTAssertNil(OutputRoot.normalize("a/../../b.tif"))
        XCTAssertNil(OutputRoot.normalize("/etc/passwd"))
        XCTAssertNil(OutputRoot.normalize("~/x.tif"))
    }

    func testOutputRootRefusesSymlinksThatLeaveIt() throws {
        let base = TestPaths.temporaryFolder("landwatch-root")
        defer { try? FileManager.default.removeItem(at: base) }
        let root = try OutputRoot(path: base.appendingPathComponent("out").path)
        try FileManager.default.createSymbolicLink(at: base.appendingPathComponent("out/escape"), withDestinationURL: URL(fileURLWithPath: "/tmp"))
        XCTAssertThrowsError(try root.resolve("escape/x.tif")) { error in
            XCTAssertTrue("\(error)".contains("leaves the output root"), "\(error)")
            XCTAssertTrue("\(error)".contains("through a symlink"), "\(error)")
        }
        XCTAssertEqual(try root.resolve("maps/x.tif").path, root.url.appendingPathComponent("maps/x.tif").path)
    }

    func testOutputDirectoryThatCannotBeCreated() throws {
        let file = NSTemporaryDirectory() + "landwatch-file-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try OutputRoot(path: file + "/out")) { error in
            XCTAssertEqual("\(error)", "output directory \(file)/out cannot be created: Not a directory")
        }
        XCTAssertThrowsError(try OutputRoot(path: file)) { error in
            XCTAssertEqual("\(error)", "output directory \(file) is a file, not a folder")
        }
    }

    func testByteCounts() {
        XCTAssertEqual(ByteCount.parse("256M"), 256 << 20)
        XCTAssertEqual(ByteCount.parse("2G"), 2 << 30)
        XCTAssertEqual(ByteCount.parse("512mb"), 512 << 20)
        XCTAssertEqual(ByteCount.parse("1048576"), 1 << 20)
        XCTAssertNil(ByteCount.parse("lots"))
        XCTAssertNil(ByteCount.parse("-5M"))
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// Every pipeline users copy from pipelines/ must load and plan (its inputs exist, its options are right).
final class ShippedPipelinesTests: XCTestCase {
    func testEveryShippedPipelineValidates() throws {
        let folder = PipelineLoaderTests.root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 3)
        for file in files {
            XCTAssertNoThrow(try RunPlan(pipeline: PipelineLoader(registry: standardRegistry).load(path: folder.appendingPathComponent(file).path)), file)
        }
    }
}

final class LegendTests: XCTestCase {
    let stages = """
        stages:
          - id: scene
            uses: read.scene
            with: {bands: {red: testdata/zion-landsat8/landsat_b4.tif, nir: testdata/zion-landsat8/landsat_b5.tif}}
          - id: lc
            uses: classify.rules
            inputs: [scene]
            with:
              rules: [{class: 绿地, when: {ndvi: "> 0.3"}}, {class: other, when: {ndvi: "<= 0.3"}}]
        """

    func testACustomLegendNamesTheClassesRulesUse() throws {
        let text = """
            version: 1
            legend:
              - {code: 1, name: green, name_zh: 绿地, color: "#00aa00"}
              - {code: 9, name: other, color: "#888888"}

            """ + stages
        let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: "l.yaml", directory: PipelineLoaderTests.root)
        XCTAssertEqual(pipeline.legend.classes.map(\.code), [1, 9])
        XCTAssertEqual(pipeline.legend.class(code: 9)?.nameZH, "other")
        XCTAssertEqual(pipeline.stage("lc")?.options.legend, pipeline.legend)
    }

    func testBadLegendsAreRefusedWithTheirPlace() {
        let text = """
            version: 1
            legend:
              - {code: 0, name: nothing}
              - {code: 3, name: a, color: green}
              - {code: 3, name: a}

            """ + stages
        XCTAssertThrowsError(try PipelineLoader(registry: standardRegistry).load(text: text, path: "l.yaml", directory: PipelineLoaderTests.root)) { error in
            XCTAssertEqual("\(error)", """
                l.yaml:3:12: pipeline: a legend class needs a code from 1 to 255 (0 is nodata) (found '0')
                l.yaml:4:31: pipeline: legend colour must be #RRGGBB (found 'green')
                l.yaml:5:12: pipeline: legend code 3 is used twice
                l.yaml:5:21: pipeline: legend name 'a' is used twice
                l.yaml:14:23: lc: unknown class '绿地' (legend: cropland, forest, grassland, water, built-up, bare, or a code)
                l.yaml:14:59: lc: unknown class 'other' (legend: cropland, forest, grassland, water, built-up, bare, or a code)
                """)
        }
    }
}
