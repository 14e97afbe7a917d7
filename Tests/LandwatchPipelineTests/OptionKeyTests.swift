import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest
import LandwatchTestSupport

/// Typed option keys: one declaration gives `landwatch stages` its entry, the loader its check and the stage its value.
final class OptionKeyTests: XCTestCase {
    static let root = TestPaths.repository

    enum Shape: String, OptionChoice { case round, square }

    static let count = Option<Int>("count", default: 4, range: 1...10, help: "a count")
    static let shape = Option<Shape>("shape", default: .square, help: "a shape")
    static let words = Option<OptionList>("words", default: OptionList(["a", "b"]), help: "words")
    static let limit = Option<Double?>("limit", help: "a limit")
    static let output = Option<String>("output", .outputPath, help: "a file")

    func testKeysDeclareTheSpecsTheDescriptorLists() {
        XCTAssertEqual(Self.count.spec.defaultValue, .integer(4))
        XCTAssertEqual(Self.count.spec.range, 1...10)
        XCTAssertEqual(Self.shape.spec.type, .choice(["round", "square"]))
        XCTAssertEqual(Self.shape.spec.defaultValue, .string("square"))
        XCTAssertEqual(Self.words.spec.type, .list)
        XCTAssertEqual(Self.words.spec.defaultValue, .string("a,b"))
        XCTAssertTrue(Self.limit.spec.optional)
        XCTAssertFalse(Self.limit.spec.isRequired)
        XCTAssertTrue(Self.output.spec.isRequired)
        let descriptor = StageDescriptor(id: "test.keys", summary: "keys", evaluation: .pixelwise, output: .index,
                                         keys: [Self.count, Self.shape, Self.words, Self.limit, Self.output])
        XCTAssertEqual(descriptor.options.map(\.name), ["count", "shape", "words", "limit", "output"])
    }

    func testValuesReadAsTheirTypesWithTheKeysDefaults() {
        let empty = StageOptions(values: ["output": .path("x.tif")])
        XCTAssertEqual(empty[Self.count], 4)
        XCTAssertEqual(empty[Self.shape], .square)
        XCTAssertEqual(empty[Self.words].items, ["a", "b"])
        XCTAssertNil(empty[Self.limit])
        XCTAssertEqual(empty[Self.output], "x.tif")
        XCTAssertFalse(empty.isSet(Self.count))
        let location = SourceLocation(file: "p.yaml", line: 3, column: 9)
        let set = StageOptions(values: ["count": .integer(7), "shape": .string("round"), "words": .string(" x, ,y "), "limit": .number(0.5)],
                               locations: ["count": location])
        XCTAssertEqual(set[Self.count], 7)
        XCTAssertEqual(set[Self.shape], .round)
        XCTAssertEqual(set[Self.words].items, ["x", "y"])
        XCTAssertEqual(set[Self.limit], 0.5)
        XCTAssertTrue(set.isSet(Self.count))
        XCTAssertEqual(set.location(of: Self.count), location)
    }

    func load(_ with: String) throws -> Pipeline {
        let text = """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: testdata/zion-landsat8/landsat_b4.tif, nir: testdata/zion-landsat8/landsat_b5.tif}, gain: 2.0e-5}
              - id: texture
                uses: features.focal
                inputs: {scene: scene}
                with: \(with)
            """
        return try PipelineLoader(registry: standardRegistry).load(text: text, path: "p.yaml", directory: Self.root)
    }

    /// A list option takes comma-separated text or a YAML list, and reads the same either way.
    func testAListIsCommaSeparatedTextOrAYAMLList() throws {
        let text = try XCTUnwrap(load("{features: 'nir, ndvi', sizes: '5,15'}").stage("texture")?.instance as? FocalStage)
        let list = try XCTUnwrap(load("{features: [nir, ndvi], sizes: [5, 15]}").stage("texture")?.instance as? FocalStage)
        XCTAssertEqual(text.features, ["nir", "ndvi"])
        XCTAssertEqual(list.features, text.features)
        XCTAssertEqual(list.sizes, [5, 15])
        XCTAssertThrowsError(try load("{features: {nir: 1}}")) { error in
            XCTAssertEqual((error as? PipelineFileError)?.diagnostics.map(\.description),
                           ["p.yaml:9:22: texture: option 'features' must be a list, comma-separated or [a, b] (found a mapping)"])
        }
        XCTAssertThrowsError(try load("{features: [nir, [ndvi]]}")) { error in
            XCTAssertEqual((error as? PipelineFileError)?.diagnostics.map(\.description),
                           ["p.yaml:9:28: texture: option 'features' must be a list of words (found [ndvi] in it)"])
        }
    }

    /// A structured option decodes into its type; a problem deep inside names the line and column of the node.
    func testStructuredOptionsDecodeWithTheirPlaceInTheFile() throws {
        let text = """
            version: 1
            stages:
              - id: scene
                uses: read.scene
                with: {bands: {red: testdata/zion-landsat8/landsat_b4.tif, nir: testdata/zion-landsat8/landsat_b5.tif}, gain: 2.0e-5}
              - id: classes
                uses: classify.rules
                inputs: {scene: scene}
                with:
                  rules:
                    - {class: water, when: {ndvi: '< 0'}}
                    - {class: forest, when: {ndvi: 'much'}}
            """
        XCTAssertThrowsError(try PipelineLoader(registry: standardRegistry).load(text: text, path: "p.yaml", directory: Self.root)) { error in
            XCTAssertEqual((error as? PipelineFileError)?.diagnostics.map(\.description),
                           ["p.yaml:12:40: classes: condition on 'ndvi' must be '> x', '>= x', '< x', '<= x' or 'a..b' (found 'much')"])
        }
        let good = try PipelineLoader(registry: standardRegistry).load(
            text: text.replacingOccurrences(of: "'much'", with: "'>= 0.4'"), path: "p.yaml", directory: Self.root)
        let stage = try XCTUnwrap(good.stage("classes")?.instance as? RuleClassifierStage)
        XCTAssertFalse(stage.isDefault)
        XCTAssertEqual(stage.rules.map(\.code), ["water", "forest"].compactMap { Legend.standard.code(for: $0) })
    }

    /// Every registered stage declares each option once, and every default reads back as its declared type.
    func testEveryRegisteredStageDeclaresItsOptionsOnce() throws {
        for type in standardRegistry.all {
            let names = type.descriptor.options.map(\.name)
            XCTAssertEqual(Set(names).count, names.count, "\(type.descriptor.id): \(names)")
        }
    }
}
