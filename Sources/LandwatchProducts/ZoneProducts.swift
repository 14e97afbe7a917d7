import Foundation
import LandwatchAlgorithms
import LandwatchPipeline

/// A file a stage writes and another reads back (the report, a later run): `Codable`, with a version, snake_case keys.
public protocol StageProduct: Codable, Sendable {
    /// The version the stage writes now.
    static var currentVersion: Int { get }
}

extension StageProduct {
    /// Decodes the file's JSON (snake_case keys).
    public static func decode(_ data: Data) throws -> Self {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Self.self, from: data)
    }
}

/// What `metrics.green` writes as NAME.json, as its readers see it: the report and a later run's `baseline:`.
/// Files written before the version field read as version 1.
public struct GreenCoverageResult: StageProduct, Equatable {
    public static let currentVersion = 1

    public struct Zone: Codable, Sendable, Equatable {
        public var zone: String
        public var name: String?
        public var areaKm2: Double?
        public var coveredShare: Double?
        public var observedShare: Double?
        /// 0–1; nil where nothing of the zone was observed.
        public var greenCoverage: Double?
        public var baselineCoverage: Double?
        public var changePercentagePoints: Double?
    }

    public var version: Int?
    public var zones: [Zone]
    public var vegetated: String?
    public var greenCoverageAllZones: Double?
}

/// What `metrics.intensity` writes as NAME.json, as the report reads it. Files written before the version field read as
/// version 1.
public struct IntensityResult: StageProduct, Equatable {
    public static let currentVersion = 1
    /// Where a zone stands against its levels, as written into the CSV and JSON and read back by the report.
    public enum Level: String, Sendable, Codable, CaseIterable {
        case ok, warning, exceeded, unknown
        /// The zone has no red line, so its ecological-space occupation has no level.
        case noRedLine = "no red line"
    }

    public struct Zone: Codable, Sendable, Equatable {
        public var zone: String
        public var name: String?
        public var areaKm2: Double?
        public var coveredShare: Double?
        public var observedShare: Double?
        /// Built-up share of the observed zone, 0–1.
        public var intensity: Double?
        public var warning: Double?
        public var limit: Double?
        public var level: Level?
        /// Built-up share of the zone's red line, 0–1 (with a red-line input).
        public var ecoOccupation: Double?
        public var ecoLevel: Level?
    }

    public var version: Int?
    public var zones: [Zone]
    public var ecoOccupationAllZones: Double?
    public var ecoLevelAllZones: Level?
}

/// What `metrics.heat_island` writes as NAME.json, as the report reads it. Files written before the version field
/// read as version 1. Temperatures are °C; without a thermal band only the proxy (built-up share, 0–1) is set.
public struct HeatIslandResult: StageProduct, Equatable {
    public static let currentVersion = 1

    public struct Zone: Codable, Sendable, Equatable {
        public var zone: String
        public var name: String?
        public var observedKm2: Double?
        public var cloudOrNodataShare: Double?
        public var urbanKm2: Double?
        public var greenCoverage: Double?
        /// The proxy: built-up share of the observed zone (0–1), when there is no temperature.
        public var heatIslandProxy: Double?
        public var urbanMeanLstC: Double?
        public var ruralRingMeanLstC: Double?
        public var suhiC: Double?
        public var zoneMeanLstC: Double?
    }

    public var version: Int?
    public var kind: String?
    public var isProxy: Bool
    public var zones: [Zone]
    /// The whole scene as one zone.
    public var scene: Zone?
    public var hotspotThresholdC: Double?
    public var hotspotKm2: Double?
    public var greenLstCorrelation: Double?
}

/// What `assess.accuracy` writes as NAME.json, as the report reads it. Files written before the version field read
/// as version nil (1). Non-finite figures (a class never predicted) are null.
public struct AccuracyResult: StageProduct, Equatable {
    public static let currentVersion = 1

    public struct Class: Codable, Sendable, Equatable {
        public var code: Int
        public var name: String
        public var referencePixels: Int
        public var predictedPixels: Int
        public var producersAccuracy: Double?
        public var usersAccuracy: Double?
        public var f1: Double?
    }

    public var version: Int?
    public var pixels: Int
    public var overallAccuracy: Double?
    public var kappa: Double?
    public var classes: [Class]
}
