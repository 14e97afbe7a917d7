import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// One pocket-park candidate before ranking.
struct Candidate {
    struct Gain: Codable, Sendable, Equatable {
        var level: String
        /// Residents (m² of residential area, or people) brought within the level's radius, in every zone.
        var newlyServed: Double
        /// The same, in the plot's zone.
        var newlyServedInZone: Double
        var coverageBefore: Double?
        var coverageAfter: Double?
        /// Coverage after minus before, in percentage points.
        var gainPoints: Double?
    }

    var geometry: Geometry
    var areaM2: Double
    var pixels: Int
    var sources: [String]
    var zone: Int
    var zoningCode: String
    var distance: Double
    var meanLST: Double?
    var planScore: Double
    var gains: [Gain]
    var components: [String: Double] = [:]
    var score: Double = 0

    /// Scores every candidate (docs/renewal.md) and sorts them best first; ties by area, then position.
    static func rank(_ candidates: [Candidate], weights: (residents: Double, heat: Double, distance: Double, plan: Double),
                     distanceScale: Double, hasLST: Bool) -> [Candidate] {
        let most = candidates.map { $0.gains.first?.newlyServed ?? 0 }.max() ?? 0
        let lsts = candidates.compactMap(\.meanLST)
        let low = lsts.min() ?? 0, high = lsts.max() ?? 0
        var scored = candidates.map { c -> Candidate in
            var c = c
            var parts: [(String, Double, Double)] = [
                ("residents", weights.residents, most > 0 ? (c.gains.first?.newlyServed ?? 0) / most : 0),
                ("distance", weights.distance, min(1, c.distance / max(distanceScale, 1e-9))),
                ("plan", weights.plan, c.planScore),
            ]
            if hasLST {
                parts.append(("heat", weights.heat, c.meanLST.map { high > low ? ($0 - low) / (high - low) : 0 } ?? 0))
            }
            let total = parts.reduce(0) { $0 + $1.1 }
            c.components = Dictionary(uniqueKeysWithValues: parts.map { ($0.0, rounded($0.2, 4)) })
            c.score = total > 0 ? rounded(100 * parts.reduce(0) { $0 + $1.1 * $1.2 } / total, 2) : 0
            return c
        }
        scored.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.areaM2 != b.areaM2 { return a.areaM2 > b.areaM2 }
            let pa = a.geometry.envelope, pb = b.geometry.envelope
            return (pa.maxY, -pa.minX) > (pb.maxY, -pb.minX)
        }
        return scored
    }
}

/// What `renewal.candidates` writes as `candidates.json`: the ranked plots with their score components and expected
/// gains, the weights and the coverage today.
public struct CandidatesResult: RenewalProduct, Equatable {
    public static let currentVersion = 1

    public struct Gain: Codable, Sendable, Equatable {
        public var level: String
        public var newlyServed: Double
        public var newlyServedInZone: Double
        public var coverageBefore: Double?
        public var coverageAfter: Double?
        public var gainPoints: Double?
    }

    public struct Plot: Codable, Sendable, Equatable {
        public var rank: Int
        public var id: String
        public var score: Double
        public var components: [String: Double]
        public var sources: [String]
        public var areaM2: Double
        public var areaMu: Double
        public var pixels: Int
        public var zoneCode: String
        public var zoneName: String
        public var zoningCode: String
        public var distanceToGreenM: Double
        public var meanLstC: Double?
        public var gains: [Gain]
        public var lon: Double?
        public var lat: Double?
        /// The outline in the grid's CRS as WKT, for maps.
        public var wkt: String
    }

    public var version: Int
    public var weights: [String: Double]
    public var heatIncluded: Bool
    public var levels: [ServiceLevel]
    public var excludedOnProtectedLand: Int
    public var plots: [Plot]
    public var coverage: GreenAccessResult

    init(ranked: [Candidate], excluded: Int, names: ZoneNames, crs: SpatialReference,
         weights: (residents: Double, heat: Double, distance: Double, plan: Double), hasLST: Bool, levels: [ServiceLevel],
         coverage: GreenAccessResult) {
        version = Self.currentVersion
        self.weights = ["residents": weights.residents, "heat": hasLST ? weights.heat : 0, "distance": weights.distance, "plan": weights.plan]
        heatIncluded = hasLST
        self.levels = levels
        excludedOnProtectedLand = excluded
        self.coverage = coverage
        plots = ranked.enumerated().map { index, c in
            let point = navigationPoint(c.geometry, crs: crs)
            return Plot(rank: index + 1, id: String(format: "PP-%04d", index + 1), score: c.score, components: c.components, sources: c.sources,
                        areaM2: rounded(c.areaM2, 1), areaMu: rounded(c.areaM2 / squareMetresPerMu, 2), pixels: c.pixels,
                        zoneCode: names.id(c.zone), zoneName: names.name(c.zone), zoningCode: c.zoningCode,
                        distanceToGreenM: rounded(c.distance, 1), meanLstC: c.meanLST.map { rounded($0, 2) },
                        gains: c.gains.map { Gain(level: $0.level, newlyServed: $0.newlyServed, newlyServedInZone: $0.newlyServedInZone,
                                                  coverageBefore: $0.coverageBefore, coverageAfter: $0.coverageAfter, gainPoints: $0.gainPoints) },
                        lon: point.map { rounded($0.lon, 7) }, lat: point.map { rounded($0.lat, 7) }, wkt: c.geometry.wkt)
        }
    }

    static func table(_ ranked: [Candidate], result: CandidatesResult) -> PlotTable {
        var columns: [(String, VectorWriter.FieldType)] = [
            ("rank", .integer), ("id", .string), ("score", .real), ("sources", .string), ("area_m2", .real), ("area_mu", .real),
            ("pixels", .integer), ("zone_code", .string), ("zone_name", .string), ("zoning_code", .string),
            ("distance_to_green_m", .real), ("mean_lst_c", .real),
            ("c_residents", .real), ("c_heat", .real), ("c_distance", .real), ("c_plan", .real),
        ]
        for level in result.levels {
            columns += [("\(level.name)_newly_served", .real), ("\(level.name)_coverage_before_pct", .real),
                        ("\(level.name)_coverage_after_pct", .real), ("\(level.name)_gain_points", .real)]
        }
        columns += [("lon", .real), ("lat", .real)]
        var rows: [(geometry: Geometry, values: [String: VectorWriter.Value])] = []
        for (c, p) in zip(ranked, result.plots) {
            func real(_ v: Double?) -> VectorWriter.Value { v.map { .real($0) } ?? .null }
            var values: [String: VectorWriter.Value] = [
                "rank": .integer(p.rank), "id": .string(p.id), "score": .real(p.score), "sources": .string(p.sources.joined(separator: ";")),
                "area_m2": .real(p.areaM2), "area_mu": .real(p.areaMu), "pixels": .integer(p.pixels), "zone_code": .string(p.zoneCode),
                "zone_name": .string(p.zoneName), "zoning_code": .string(p.zoningCode), "distance_to_green_m": .real(p.distanceToGreenM),
                "mean_lst_c": real(p.meanLstC), "c_residents": real(p.components["residents"]), "c_heat": real(p.components["heat"]),
                "c_distance": real(p.components["distance"]), "c_plan": real(p.components["plan"]),
                "lon": real(p.lon), "lat": real(p.lat),
            ]
            for g in p.gains {
                values["\(g.level)_newly_served"] = .real(g.newlyServed)
                values["\(g.level)_coverage_before_pct"] = real(g.coverageBefore.map { rounded($0 * 100, 4) })
                values["\(g.level)_coverage_after_pct"] = real(g.coverageAfter.map { rounded($0 * 100, 4) })
                values["\(g.level)_gain_points"] = real(g.gainPoints)
            }
            rows.append((c.geometry, values))
        }
        return PlotTable(layer: "candidates", columns: columns, rows: rows)
    }
}
