// swift-tools-version:6.0
import Foundation
import PackageDescription

let package = Package(
    name: "landwatch",
    products: [
        .executable(name: "landwatch", targets: ["landwatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The C API of Debian's GDAL. Only LandwatchGDAL imports it.
        .systemLibrary(
            name: "CGDAL",
            pkgConfig: "gdal",
            providers: [.apt(["libgdal-dev"])]
        ),
        // XGBoost's C API (Debian's libxgboost-dev). Only LandwatchXGBoost imports it.
        .systemLibrary(
            name: "CXGBoost",
            pkgConfig: "xgboost",
            providers: [.apt(["libxgboost-dev"])]
        ),
        // libqrencode (Debian's libqrencode-dev) and FreeType (libfreetype-dev). Only LandwatchRender imports them.
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .systemLibrary(
            name: "CFreeType",
            pkgConfig: "freetype2",
            providers: [.apt(["libfreetype-dev"])]
        ),
        // Pure drawing for people: an RGB canvas, text (FreeType, Noto Sans CJK), QR codes. No GDAL.
        .target(name: "LandwatchRender", dependencies: ["CQRencode", "CFreeType"]),
        // Gradient-boosted trees for land-cover classification: train, save, load, predict.
        .target(name: "LandwatchXGBoost", dependencies: ["CXGBoost"]),
        // Safe Swift over GDAL: datasets, bands, windows, errors, creation, warping.
        .target(
            name: "LandwatchGDAL",
            dependencies: ["CGDAL", .product(name: "Logging", package: "swift-log")]
        ),
        // Pure Swift, no GDAL, no files: indices, classification (rules, calibration, a native tree evaluator),
        // relative normalisation and change evidence, compliance rules and patch labelling, focal, zonal and thermal
        // computations on pixel buffers.
        // Optimised in debug builds too: the tests run the real scenes through these loops, which are 30-100 times
        // slower unoptimised.
        .target(name: "LandwatchAlgorithms", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Pipeline files, stage protocol, registry, scheduler, run records.
        .target(
            name: "LandwatchPipeline",
            dependencies: [
                "LandwatchGDAL", "LandwatchAlgorithms",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Plan scenarios (issue 27): Markov demand, XGBoost suitability, CA allocation and simulation assessment in Core/
        // (no GDAL), the simulate.landuse and assess.simulation stages in Stages/. Optimised in debug builds too: the
        // tests run real crops through the CA.
        .target(
            name: "LandwatchScenarios",
            dependencies: ["LandwatchPipeline", "LandwatchAlgorithms", "LandwatchGDAL", "LandwatchXGBoost",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // Urban renewal (issue 26): vacant and idle land over a series of dates, green-space access per zone (GDAL
        // proximity), pocket-park candidates ranked with their expected gain, and their report sections.
        .target(
            name: "LandwatchRenewal",
            dependencies: ["LandwatchPipeline", "LandwatchAlgorithms", "LandwatchGDAL", .product(name: "Logging", package: "swift-log")],
            // Optimised in debug builds too: the tests run real scenes through its per-pixel loops.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // What landwatch knows of the products sensors deliver: the Landsat MTL parser, QA bit layouts and thermal
        // constants, the sensor presets (band order, wavelengths, scaling), Sentinel-2 SAFE and Gaofen metadata.
        .target(name: "LandwatchSensors", dependencies: ["LandwatchPipeline", "LandwatchGDAL", "LandwatchAlgorithms"]),
        // The products stages hand each other and the nightly loop: violation lists, change patches, zone metrics,
        // heat island, accuracy; Codable, each with a version.
        .target(name: "LandwatchProducts", dependencies: ["LandwatchPipeline", "LandwatchAlgorithms", "LandwatchGDAL"]),
        // What people read: the violation lists and tables (CSV, GeoJSON, KML, GeoPackage), image chips, the field
        // package (PDF, KMZ), the HTML report with its charts and maps; the stages that write them.
        .target(
            name: "LandwatchOutputs",
            dependencies: ["LandwatchProducts", "LandwatchPipeline", "LandwatchAlgorithms", "LandwatchGDAL", "LandwatchRender",
                           "LandwatchSensors", .product(name: "Logging", package: "swift-log")]
        ),
        // STAC (issue 25): the Item every run writes (stac/item.json: outputs as assets, proj:, processing:,
        // classification:, label:).
        .target(name: "LandwatchSTAC", dependencies: ["LandwatchPipeline", "LandwatchGDAL"]),
        // Stage types (an algorithm and its typed option keys each), the sensor-product readers (Landsat, Sentinel-2
        // SAFE, Gaofen, presets) and the outputs (violation lists, tables, charts, the report).
        .target(
            name: "LandwatchStages",
            dependencies: ["LandwatchPipeline", "LandwatchAlgorithms", "LandwatchGDAL", "LandwatchXGBoost", "LandwatchRender", "LandwatchSensors", "LandwatchProducts", "LandwatchOutputs",
                           "LandwatchScenarios", "LandwatchRenewal", "LandwatchSTAC"]
        ),
        // The registry of scenes, runs and violations (SQLite through GRDB), and tracking violations across nights.
        .target(
            name: "LandwatchRegistry",
            dependencies: ["LandwatchGDAL", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        // Nightly operations: the inbox, baselines, runs per scene, the registry updated per scene.
        .target(
            name: "LandwatchNightly",
            dependencies: ["LandwatchPipeline", "LandwatchSensors", "LandwatchProducts", "LandwatchOutputs", "LandwatchRegistry",
                           "LandwatchGDAL", "LandwatchAlgorithms", "LandwatchSTAC",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // Argument parsing, logging bootstrap, progress display, exit codes.
        .target(
            name: "LandwatchCLI",
            dependencies: [
                "LandwatchStages", "LandwatchOutputs", "LandwatchPipeline", "LandwatchGDAL", "LandwatchNightly", "LandwatchRegistry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "landwatch", dependencies: ["LandwatchCLI"]),
        // What the tests share: the repository root, testdata/, the shared real scenes, temporary folders, and the test
        // case that runs pipeline text.
        .target(name: "LandwatchTestSupport",
                dependencies: ["LandwatchPipeline", "LandwatchStages", "LandwatchGDAL", .product(name: "Logging", package: "swift-log")],
                path: "Tests/LandwatchTestSupport"),
        .testTarget(name: "LandwatchGDALTests", dependencies: ["LandwatchTestSupport", "LandwatchGDAL"]),
        .testTarget(name: "LandwatchAlgorithmsTests", dependencies: ["LandwatchTestSupport", "LandwatchAlgorithms"]),
        .testTarget(name: "LandwatchSensorsTests", dependencies: ["LandwatchTestSupport", "LandwatchSensors", "LandwatchAlgorithms"]),
        .testTarget(name: "LandwatchRenderTests", dependencies: ["LandwatchTestSupport", "LandwatchRender"]),
        .testTarget(
            name: "LandwatchPipelineTests",
            dependencies: ["LandwatchTestSupport", "LandwatchPipeline", "LandwatchStages", "LandwatchSensors", "LandwatchGDAL", "LandwatchAlgorithms",
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["BadPipelines", "FuzzRegressions", "fuzz.sh"]
        ),
        .testTarget(
            name: "LandwatchStagesTests",
            dependencies: ["LandwatchTestSupport", "LandwatchStages", "LandwatchSensors", "LandwatchProducts", "LandwatchOutputs", "LandwatchPipeline", "LandwatchGDAL", "LandwatchAlgorithms", "LandwatchXGBoost"]
        ),
        .testTarget(
            name: "LandwatchScenariosTests",
            dependencies: ["LandwatchTestSupport", "LandwatchScenarios", "LandwatchStages", "LandwatchPipeline", "LandwatchGDAL", "LandwatchAlgorithms"],
            exclude: ["plan_evaluate_check.py"]
        ),
        .testTarget(
            name: "LandwatchRenewalTests",
            dependencies: ["LandwatchTestSupport", "LandwatchRenewal", "LandwatchStages", "LandwatchPipeline", "LandwatchGDAL", "LandwatchAlgorithms"],
            exclude: ["green_access_check.py"]
        ),
        .testTarget(name: "LandwatchRegistryTests", dependencies: ["LandwatchTestSupport", "LandwatchRegistry", "LandwatchGDAL"]),
        .testTarget(
            name: "LandwatchCLITests",
            dependencies: ["LandwatchTestSupport", "LandwatchCLI", "LandwatchStages", "LandwatchProducts", "LandwatchOutputs", "LandwatchGDAL", "LandwatchRegistry", "LandwatchPipeline", "LandwatchNightly"],
            exclude: ["BadInputs"]
        ),
    ]
)

// libFuzzer harness for `make fuzz` only (LANDWATCH_FUZZ=1 with -sanitize=fuzzer, which links libFuzzer's driver):
// left out of every other build.
if ProcessInfo.processInfo.environment["LANDWATCH_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "landwatch-fuzz",
        dependencies: ["LandwatchPipeline", "LandwatchStages", "LandwatchSensors", "LandwatchAlgorithms"],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    ))
    package.products.append(.executable(name: "landwatch-fuzz", targets: ["landwatch-fuzz"]))
}
