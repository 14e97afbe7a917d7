import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchScenarios
import LandwatchStages
import LandwatchTestSupport
import Logging
import XCTest

/// simulate.landuse on the real Marburg pair (Landsat 7 2001 -> Landsat 8 2013, 41 x 41 at 30 m) and the example plan
/// of testdata/plan: the shipped pipelines, their constraints, determinism and bad input.
final class ScenarioPipelineTests: XCTestCase {
    static let root = TestPaths.repository
    static let pipelines = root.appendingPathComponent("pipelines")
    static let marburg = root.appendingPathComponent("testdata/marburg-landsat")
    var work: URL!

    override func setUpWithError() throws {
        work = TestPaths.temporaryFolder("landwatch-scenarios")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    @discardableResult
    func run(file: URL, out: String, overrides: [String: String] = [:], memory: Int = 256 << 20) throws -> RunRecord {
        let runner = PipelineRunner(registry: standardRegistry, logger: Logger(label: "test"))
        let plan = try runner.validate(path: file.path, overrides: overrides)
        return try runner.run(plan, settings: .init(outputDirectory: work.appendingPathComponent(out).path, memoryBudget: memory, threads: 2, blockSize: 512))
    }

    func pipeline(_ text: String, name: String = "pipeline.yaml") throws -> URL {
        let file = work.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func result(_ out: String, _ path: String) throws -> ScenarioSimulationResult {
        try ScenarioSimulationResult.decode(Data(contentsOf: work.appendingPathComponent(out).appendingPathComponent(path)))
    }

    func classes(_ path: URL) throws -> [UInt8] {
        let dataset = try Dataset.open(path.path)
        return try dataset.band(1).read(Window(width: dataset.width, height: dataset.height)).map { $0.isFinite ? UInt8($0) : 0 }
    }

    /// Calibrate on the west half, predict the east half, for both halves: demand met to one cell per class, the figures
    /// consistent with their definitions, the null and random models beside the model.
    func testCalibrateThenPredictOnTheMarburgPairWithSpatialHoldOut() throws {
        for half in ["east", "west"] {
            try run(file: Self.pipelines.appendingPathComponent("scenarios-validate.yaml"), out: half, overrides: ["half": half])
            let result = try result(half, "validation/scenarios.json")
            XCTAssertEqual(result.holdout, half)
            XCTAssertEqual(result.start, "before")
            let scenario = try XCTUnwrap(result.scenarios.first)
            for d in scenario.demand { XCTAssertLessThanOrEqual(abs(d.simulated - d.demand), 1, "\(half) \(d.name)") }
            let assessment = try XCTUnwrap(scenario.assessment)
            XCTAssertEqual(assessment.region, half)
            XCTAssertEqual(assessment.model.count, 30)
            XCTAssertEqual(assessment.random.count, 30)
            XCTAssertEqual(assessment.null.figureOfMerit, 0)
            XCTAssertEqual(assessment.null.simulatedChange, 0)
            XCTAssertGreaterThan(assessment.null.observedChange, 0, "the pair has change on the \(half) half")
            for a in assessment.model + assessment.random {
                XCTAssertEqual(a.cells, assessment.null.cells)
                XCTAssertEqual(a.quantityDisagreement + a.allocationDisagreement, 1 - a.overallAgreement, accuracy: 1e-9)
                XCTAssertEqual(a.hits + a.misses + a.wrongHits, a.observedChange)
                XCTAssertTrue(a.kappa.isFinite)
            }
            // Model and random place the same quantities: their quantity disagreement is the same.
            XCTAssertEqual(assessment.model[0].quantityDisagreement, assessment.random[0].quantityDisagreement, accuracy: 1e-9)
            let csv = try String(contentsOf: work.appendingPathComponent(half).appendingPathComponent("validation/assessment.csv"), encoding: .utf8)
            XCTAssertEqual(csv.split(separator: "\r\n").count, 1 + 30 + 1 + 30)
        }
    }

    /// The Kenya Landsat 5 pair (2000 -> 2010, 101 x 101, no DEM): on both halves the model's figure of merit is above the
    /// random allocation's (bench/ACCURACY.md: 0.07-0.08 against 0.02), and the null model's is 0.
    func testOnTheKenyaPairTheModelBeatsRandomAllocation() throws {
        let kenya = Self.marburg.appendingPathComponent("kenya-pair")
        for half in ["east", "west"] {
            try run(file: Self.root.appendingPathComponent("bench/scenarios/validate-nodem.yaml"), out: half, overrides: [
                "half": half, "before": kenya.appendingPathComponent("LT05/LT05_L1TP_167055_20000309_20161214_01_T1_MTL.txt").path,
                "after": kenya.appendingPathComponent("LT5/LT51670552010352MLK00_MTL.txt").path])
            let assessment = try XCTUnwrap(try result(half, "validation/scenarios.json").scenarios.first?.assessment)
            func mean(_ runs: [SimulationAgreement]) -> Double { runs.map(\.figureOfMerit).reduce(0, +) / Double(runs.count) }
            XCTAssertGreaterThan(mean(assessment.model), 2 * mean(assessment.random), half)
            XCTAssertEqual(assessment.null.figureOfMerit, 0)
        }
    }

    /// The four scenarios of the shipped pipeline, 30 runs each: no cell inside a closed line changes (checked against the
    /// plan layers rasterised by the same run and the 2013 map), demand is met, the maps carry the legend.
    func testScenariosHoldTheirConstraintsOver30Runs() throws {
        var text = try String(contentsOf: Self.pipelines.appendingPathComponent("scenarios-marburg.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "../testdata", with: Self.root.appendingPathComponent("testdata").path)
        text += """

          - id: write-redline
            uses: write.raster
            inputs: [redline]
            with: {path: redline.tif, type: Float32}
          - id: write-farmland
            uses: write.raster
            inputs: [basic-farmland]
            with: {path: basic-farmland.tif, type: Float32}
          - id: write-after
            uses: write.raster
            inputs: [after-classes]
            with: {path: after.tif, type: Byte, nodata: 0}

        """
        try run(file: try pipeline(text), out: "out")
        let out = work.appendingPathComponent("out")
        let result = try result("out", "scenarios/scenarios.json")
        XCTAssertEqual(result.scenarios.map(\.name), ["baseline", "ecological_protection", "farmland_protection", "fast_urbanisation"])
        XCTAssertEqual(result.runs, 30)
        let after = try classes(out.appendingPathComponent("after.tif"))
        let redline = try Dataset.open(out.appendingPathComponent("redline.tif").path)
        let red = try redline.band(1).read(Window(width: 41, height: 41))
        let farm = try Dataset.open(out.appendingPathComponent("basic-farmland.tif").path).band(1).read(Window(width: 41, height: 41))
        XCTAssertGreaterThan(red.filter { $0 > 0 }.count, 0)
        XCTAssertGreaterThan(farm.filter { $0 > 0 }.count, 0)
        for scenario in result.scenarios {
            XCTAssertEqual(scenario.closedCellsChanged, 0, scenario.name)
            let map = try classes(out.appendingPathComponent(scenario.map))
            for i in 0..<map.count {
                if scenario.closed.contains("redline") && red[i] > 0 { XCTAssertEqual(map[i], after[i], "\(scenario.name) cell \(i) in the red line") }
                if scenario.closed.contains("basic_farmland") && farm[i] > 0 { XCTAssertEqual(map[i], after[i], "\(scenario.name) cell \(i) on basic farmland") }
            }
            for d in scenario.demand {
                XCTAssertEqual(map.filter { Int($0) == d.code }.count, d.simulated)
                XCTAssertLessThanOrEqual(abs(d.simulated - d.demand), 1, "\(scenario.name) \(d.name)")
            }
            XCTAssertFalse(scenario.zones.isEmpty)
        }
        // Fast urbanisation has 60 cells more built-up than the baseline, ecological protection 40 more forest.
        func demand(_ name: String, _ className: String) -> Int { result.scenarios.first { $0.name == name }!.demand.first { $0.name == className }!.demand }
        XCTAssertEqual(demand("fast_urbanisation", "built-up"), demand("baseline", "built-up") + 60)
        XCTAssertEqual(demand("ecological_protection", "forest"), demand("baseline", "forest") + 40)
        let categories = try Dataset.open(out.appendingPathComponent("scenarios/baseline.tif").path).band(1).categories
        XCTAssertTrue(categories.contains { $0.value == 5 && $0.name.hasPrefix("built-up") })
    }

    func testSameSeedGivesTheSameBytes() throws {
        let file = Self.pipelines.appendingPathComponent("scenarios-validate.yaml")
        try run(file: file, out: "a")
        try run(file: file, out: "b")
        let a = try Data(contentsOf: work.appendingPathComponent("a/validation/trend.tif"))
        let b = try Data(contentsOf: work.appendingPathComponent("b/validation/trend.tif"))
        XCTAssertEqual(a, b)
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("a/validation/assessment.csv")),
                       try Data(contentsOf: work.appendingPathComponent("b/validation/assessment.csv")))
    }

    /// assess.simulation on three maps read from files gives the figures simulate.landuse computed for its run 1.
    func testAssessSimulationOnFilesAgreesWithTheSimulationsOwnAssessment() throws {
        var text = try String(contentsOf: Self.pipelines.appendingPathComponent("scenarios-validate.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "../testdata", with: Self.root.appendingPathComponent("testdata").path)
        text += """

          - {id: write-before, uses: write.raster, inputs: [before-classes], with: {path: before.tif, type: Byte, nodata: 0}}
          - {id: write-after, uses: write.raster, inputs: [after-classes], with: {path: after.tif, type: Byte, nodata: 0}}

        """
        try run(file: try pipeline(text), out: "sim")
        let sim = work.appendingPathComponent("sim")
        let assess = """
        version: 1
        name: assess
        grid: {like: initial}
        stages:
          - {id: initial, uses: read.scene, with: {bands: {class: "\(sim.path)/before.tif"}}}
          - {id: simulated, uses: read.scene, with: {bands: {class: "\(sim.path)/validation/trend.tif"}}}
          - {id: observed, uses: read.scene, with: {bands: {class: "\(sim.path)/after.tif"}}}
          - id: assess
            uses: assess.simulation
            inputs: {initial: initial, simulated: simulated, observed: observed}
            with: {path: assessment, region: east, random_runs: 5}
        """
        try run(file: try pipeline(assess, name: "assess.yaml"), out: "assess")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let standalone = try decoder.decode(SimulationAssessmentResult.self, from: Data(contentsOf: work.appendingPathComponent("assess/assessment.json")))
        let own = try XCTUnwrap(try result("sim", "validation/scenarios.json").scenarios.first?.assessment)
        XCTAssertEqual(standalone.model, own.model[0])
        XCTAssertEqual(standalone.null, own.null)
        XCTAssertEqual(standalone.random.count, 5)
        XCTAssertEqual(standalone.random[0].quantityDisagreement, own.model[0].quantityDisagreement, accuracy: 1e-12)
    }

    // MARK: - Bad input: one line each, before any simulation

    /// A pipeline of the two Marburg dates with the simulate stage's inputs and options given.
    func marburg(inputs: String = "{before: before-classes, after: after-classes}", with options: String, extra: String = "") -> String {
        let m = Self.marburg.path
        return """
        version: 1
        name: bad
        grid: {like: after-scene}
        stages:
          - id: before-scene
            uses: read.landsat
            with: {mtl: "\(m)/LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt", bands: "blue,green,red,nir,swir1,swir2"}
          - id: before-classes
            uses: classify.rules
            inputs: [before-scene]
          - id: after-scene
            uses: read.landsat
            with: {mtl: "\(m)/LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt", bands: "blue,green,red,nir,swir1,swir2"}
          - id: after-classes
            uses: classify.rules
            inputs: [after-scene]
        \(extra)
          - id: sim
            uses: simulate.landuse
            inputs: \(inputs)
            with:
        \(options)
        """
    }

    func loadProblems(_ text: String) throws -> [String] {
        let file = try pipeline(text)
        do {
            let pipeline = try PipelineLoader(registry: standardRegistry).load(text: text, path: "pipeline.yaml", directory: work)
            _ = try RunPlan(pipeline: pipeline)
        } catch {
            return error.diagnostics.map(\.description)
        }
        _ = file
        return []
    }

    func runProblem(_ text: String) throws -> String {
        do {
            try run(file: try pipeline(text), out: "bad")
        } catch {
            XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("bad/s/scenarios.json").path))
            return "\(error)"
        }
        XCTFail("the run succeeded")
        return ""
    }

    /// target_year sets the Markov steps from the class maps' dates (2001 and 2013): 2025 is one interval further,
    /// the same demand as `steps: 1`; 2019 is half of one: halfway between the start and that (the fraction of a step is interpolated).
    /// A year not after the second date, or with `start: before`, is refused in one line.
    func testTargetYearSetsTheStepsFromTheDates() throws {
        func demand(_ out: String, _ options: String) throws -> ScenarioSimulationResult {
            try run(file: try pipeline(marburg(with: """
                  path: s
                  start: after
                  runs: 1
            \(options)
                  scenarios:
                    trend: {}
            """), name: "\(out).yaml"), out: out)
            return try result(out, "s/scenarios.json")
        }
        let oneStep = try demand("steps1", "      steps: 1")
        let y2025 = try demand("y2025", "      target_year: 2025")
        let y2019 = try demand("y2019", "      target_year: 2019")
        XCTAssertEqual(oneStep.steps, 1)
        XCTAssertEqual(y2025.steps, 1)
        XCTAssertEqual(y2019.steps, 0.5)
        XCTAssertEqual(y2025.scenarios[0].demand, oneStep.scenarios[0].demand)
        var moved = 0
        for (half, whole) in zip(y2019.scenarios[0].demand, oneStep.scenarios[0].demand) {
            XCTAssertEqual(half.code, whole.code)
            XCTAssertEqual(Double(half.demand), Double(whole.start + whole.demand) / 2, accuracy: 1, "\(half.name): halfway from \(whole.start) to \(whole.demand)")
            if half.demand != half.start { moved += 1 }
        }
        XCTAssertGreaterThan(moved, 0, "half a step changes some class")
        let early = try runProblem(marburg(with: """
              path: s
              start: after
              target_year: 2010
              scenarios:
                trend: {}
        """))
        XCTAssertTrue(early.contains("target_year 2010 is not after the second date (2013)"), early)
        let problems = try loadProblems(marburg(with: """
              path: s
              start: before
              target_year: 2025
              scenarios:
                trend: {}
        """))
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems.first?.contains("target_year is for start: after") ?? false, "\(problems)")
    }

    func testATransitionMatrixWhoseRowsDoNotSumToOne() throws {
        let problems = try loadProblems(marburg(with: """
              scenarios:
                trend:
                  transition_matrix:
                    cropland: {cropland: 0.9, built-up: 0.2}
                    built-up: {built-up: 1}
        """))
        // Line 25 is the row of cropland.
        XCTAssertEqual(problems, ["pipeline.yaml:25:13: sim: scenario trend: transition matrix row cropland sums to 1.1, not 1"])
    }

    func testAScenarioNamingAnUnknownClassOrLayer() throws {
        let problems = try loadProblems(marburg(with: """
              scenarios:
                ecological_protection: {closed: [redline, wetland], demand: {urban: 1.5}}
        """))
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasSuffix("scenario ecological_protection: unknown layer 'wetland' in closed (layers: redline, basic_farmland)") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("scenario ecological_protection: unknown class 'urban' (legend: cropland, forest, grassland, water, built-up, bare)") }, "\(problems)")
        let unconnected = try loadProblems(marburg(with: """
              scenarios:
                farmland_protection: {closed: [basic_farmland]}
        """))
        XCTAssertEqual(unconnected.count, 1)
        XCTAssertTrue(unconnected[0].hasSuffix("scenario farmland_protection closes 'basic_farmland', but no input 'basic_farmland' is connected"), "\(unconnected)")
    }

    func testDemandLargerThanTheConvertibleLand() throws {
        let message = try runProblem(marburg(with: """
              path: s
              scenarios:
                boom: {demand: {built-up: 100}}
        """))
        XCTAssertTrue(message.contains("simulate.landuse: scenario boom: the demand"), message)
        XCTAssertTrue(message.contains("open to conversion"), message)
        XCTAssertEqual(message.split(separator: "\n").count, 1)
    }

    func testADriverWithNoValidPixel() throws {
        // The 2001 rule classes have no cropland near Marburg: its distance raster has no valid pixel.
        let message = try runProblem(marburg(with: """
              path: s
              distance_to: [built-up, cropland]
        """))
        XCTAssertTrue(message.hasSuffix("simulate.landuse: driver 'distance_to_cropland' has no valid pixel (computed from the class map (no cropland cell on it))"), message)
        // A DEM that misses the grid (Zion's, 8,000 km away) is refused by read.scene before: one line naming it.
        let srtm = Self.root.appendingPathComponent("testdata/zion-landsat8/srtm.tif").path
        let dem = try runProblem(marburg(inputs: "{before: before-classes, after: after-classes, dem: dem}", with: """
              path: s
        """, extra: """
          - id: dem
            uses: read.scene
            with: {bands: {elevation: "\(srtm)"}}
        """))
        XCTAssertTrue(dem.contains("stage 'dem': \(srtm): every pixel is nodata on the run grid"), dem)
        XCTAssertEqual(dem.split(separator: "\n").count, 1)
    }

    func testTwoDatesOnDifferentLegendsOrGrids() throws {
        // Slovenia's land use (codes 1-4 and 8) is not on the six-class legend: code 8 is refused, naming the input.
        let lulc = Self.root.appendingPathComponent("testdata/slovenia-sentinel2/LULC_reference.tif").path
        let nlcd = Self.root.appendingPathComponent("testdata/zion-landsat8/nlcd.tif").path
        func text(after: String) -> String {
            """
            version: 1
            name: bad
            grid: {like: before}
            stages:
              - id: before
                uses: read.scene
                with: {bands: {class: "\(lulc)"}}
              - id: after
                uses: read.scene
                with: {bands: {class: "\(after)"}}
              - id: sim
                uses: simulate.landuse
                inputs: {before: before, after: after}
                with: {path: s}
            """
        }
        let message = try runProblem(text(after: lulc))
        XCTAssertTrue(message.contains("simulate.landuse: input 'before' holds class code 8 at row "), message)
        XCTAssertTrue(message.hasSuffix("both dates must use the pipeline's legend"), message)
        let problems = try loadProblems(text(after: nlcd))
        XCTAssertEqual(problems.count, 1, "\(problems)")
        XCTAssertTrue(problems.first?.contains("sim: the two dates are on different grids") ?? false, "\(problems)")
    }
}
