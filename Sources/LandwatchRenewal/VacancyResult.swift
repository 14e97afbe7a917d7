import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// What `renewal.vacancy` writes as `vacancy.json`: the settings, every vacant patch and approval checked, and the
/// counts per zone. The report sections read it (``RenewalReport``).
public struct VacancyResult: RenewalProduct, Equatable {
    public static let currentVersion = 1

    public struct Patch: Codable, Sendable, Equatable {
        public var id: String
        public var areaM2: Double
        public var areaMu: Double
        public var pixels: Int
        public var firstDate: String
        public var lastDate: String
        public var monthsBare: Double
        public var clearObservations: Int
        public var cloudMissingObservations: Int
        public var turnedBare: Bool
        public var zoneCode: String
        public var zoneName: String
        public var approvals: [String]
        public var lon: Double?
        public var lat: Double?
    }

    public struct Approval: Codable, Sendable, Equatable {
        public var number: String
        public var name: String
        public var date: String
        public var ageMonths: Double
        public var areaM2: Double
        public var areaMu: Double
        public var unbuiltShare: Double?
        public var builtShare: Double?
        public var builtShareYearBefore: Double?
        public var status: String
        public var idle: Bool
        public var zoneCode: String
        public var zoneName: String
    }

    public struct Zone: Codable, Sendable, Equatable {
        public var code: String
        public var name: String
        public var vacantPatches: Int
        public var vacantM2: Double
        public var vacantMu: Double
        public var idleApprovals: Int
        public var idleM2: Double
        public var idleMu: Double
    }

    public var version: Int
    public var dates: [String]
    public var dateMeaning: String
    public var minMonths: Double
    public var idleAfterMonths: Double
    public var unbuiltShare: Double
    public var stalledShare: Double
    public var insideUrbanBoundary: Bool
    public var pixelAreaM2: Double
    public var patches: [Patch]
    public var approvals: [Approval]
    public var zones: [Zone]

    public var vacantPatches: Int { patches.count }
    public var idleApprovals: Int { approvals.filter(\.idle).count }

    init(result: VacancyAnalysis.Result, settings: VacancySettings, dates: [String], zones names: ZoneNames, hasZones: Bool,
         approvals table: FeatureTable?, boundary: Bool) {
        version = Self.currentVersion
        self.dates = dates
        dateMeaning = settings.dateMeaning
        minMonths = settings.minMonths
        idleAfterMonths = settings.idleAfterMonths
        unbuiltShare = settings.unbuiltShare
        stalledShare = settings.stalledShare
        insideUrbanBoundary = boundary
        pixelAreaM2 = result.pixelArea
        func approvalNumber(_ n: Int) -> String { table?.feature(number: n)?.id ?? String(n) }
        patches = result.patches.enumerated().map { index, p in
            Patch(id: String(format: "VC-%04d", index + 1), areaM2: rounded(p.areaM2, 1), areaMu: rounded(p.areaM2 / squareMetresPerMu, 2),
                  pixels: p.pixels, firstDate: p.firstDate, lastDate: p.lastDate, monthsBare: p.monthsBare,
                  clearObservations: p.clearObservations, cloudMissingObservations: p.cloudMissing, turnedBare: p.turnedBare,
                  zoneCode: hasZones ? names.id(p.zone) : "scene", zoneName: hasZones ? names.name(p.zone) : "whole scene",
                  approvals: p.approvals.map(approvalNumber), lon: nil, lat: nil)
        }
        approvals = result.approvals.map { a in
            Approval(number: approvalNumber(a.number), name: table?.feature(number: a.number)?.name ?? "", date: a.date.text,
                     ageMonths: a.ageMonths, areaM2: rounded(a.areaM2, 1), areaMu: rounded(a.areaM2 / squareMetresPerMu, 2),
                     unbuiltShare: a.unbuiltShare.map { rounded($0, 4) }, builtShare: a.builtShare.map { rounded($0, 4) },
                     builtShareYearBefore: a.builtShareYearBefore.map { rounded($0, 4) }, status: a.status.rawValue, idle: a.isIdle,
                     zoneCode: hasZones ? names.id(a.zone) : "scene", zoneName: hasZones ? names.name(a.zone) : "whole scene")
        }
        var byZone: [String: Zone] = [:]
        var order: [String] = []
        if hasZones, let zoneTable = names.table {
            for feature in zoneTable.features where byZone[feature.id] == nil {
                byZone[feature.id] = Zone(code: feature.id, name: feature.name, vacantPatches: 0, vacantM2: 0, vacantMu: 0,
                                          idleApprovals: 0, idleM2: 0, idleMu: 0)
                order.append(feature.id)
            }
        }
        func zone(_ code: String, _ name: String) -> Zone {
            if byZone[code] == nil { order.append(code) }
            return byZone[code] ?? Zone(code: code, name: name, vacantPatches: 0, vacantM2: 0, vacantMu: 0, idleApprovals: 0, idleM2: 0, idleMu: 0)
        }
        for p in patches {
            var z = zone(p.zoneCode, p.zoneName)
            z.vacantPatches += 1
            z.vacantM2 += p.areaM2
            byZone[p.zoneCode] = z
        }
        for a in approvals where a.idle {
            var z = zone(a.zoneCode, a.zoneName)
            z.idleApprovals += 1
            z.idleM2 += a.areaM2
            byZone[a.zoneCode] = z
        }
        if order.isEmpty { order = ["scene"]; byZone["scene"] = zone("scene", "whole scene") }
        self.zones = order.compactMap { byZone[$0] }.map { z in
            var z = z
            z.vacantM2 = rounded(z.vacantM2, 1)
            z.idleM2 = rounded(z.idleM2, 1)
            z.vacantMu = rounded(z.vacantM2 / squareMetresPerMu, 2)
            z.idleMu = rounded(z.idleM2 / squareMetresPerMu, 2)
            return z
        }
    }

    func zoneRows() -> [[String]] {
        [["zone", "name", "vacant_patches", "vacant_m2", "vacant_mu", "idle_approvals", "idle_m2", "idle_mu"]]
            + zones.map { [$0.code, $0.name, String($0.vacantPatches), fixed($0.vacantM2, 1), fixed($0.vacantMu, 2),
                           String($0.idleApprovals), fixed($0.idleM2, 1), fixed($0.idleMu, 2)] }
    }
}

/// The vacancy list and the idle-land list as plot tables.
enum VacancyTables {
    static func patches(_ patches: [VacantPatch], report: VacancyResult, crs: SpatialReference) -> PlotTable {
        let columns: [(String, VectorWriter.FieldType)] = [
            ("id", .string), ("area_m2", .real), ("area_mu", .real), ("pixels", .integer), ("first_bare_date", .string),
            ("last_bare_date", .string), ("months_bare", .real), ("clear_observations", .integer),
            ("cloud_missing_observations", .integer), ("turned_bare", .integer), ("zone_code", .string), ("zone_name", .string),
            ("approvals", .string), ("lon", .real), ("lat", .real),
        ]
        var rows: [(geometry: Geometry, values: [String: VectorWriter.Value])] = []
        for (p, r) in zip(patches, report.patches) {
            let point = navigationPoint(p.geometry, crs: crs)
            rows.append((p.geometry, [
                "id": .string(r.id), "area_m2": .real(r.areaM2), "area_mu": .real(r.areaMu), "pixels": .integer(r.pixels),
                "first_bare_date": .string(r.firstDate), "last_bare_date": .string(r.lastDate), "months_bare": .real(r.monthsBare),
                "clear_observations": .integer(r.clearObservations), "cloud_missing_observations": .integer(r.cloudMissingObservations),
                "turned_bare": .integer(r.turnedBare ? 1 : 0), "zone_code": .string(r.zoneCode), "zone_name": .string(r.zoneName),
                "approvals": .string(r.approvals.joined(separator: ";")),
                "lon": point.map { .real(rounded($0.lon, 7)) } ?? .null, "lat": point.map { .real(rounded($0.lat, 7)) } ?? .null,
            ]))
        }
        return PlotTable(layer: "vacancy", columns: columns, rows: rows)
    }

    static func approvals(_ checks: [ApprovalCheck], report: VacancyResult, shapes: [Geometry?], crs: SpatialReference) -> PlotTable {
        let columns: [(String, VectorWriter.FieldType)] = [
            ("number", .string), ("name", .string), ("date", .string), ("date_meaning", .string), ("age_months", .real),
            ("area_m2", .real), ("area_mu", .real), ("unbuilt_share", .real), ("built_share", .real),
            ("built_share_year_before", .real), ("status", .string), ("idle", .integer), ("zone_code", .string), ("zone_name", .string),
        ]
        var rows: [(geometry: Geometry, values: [String: VectorWriter.Value])] = []
        for (index, a) in report.approvals.enumerated() {
            guard index < shapes.count, let shape = shapes[index] else { continue }
            func real(_ v: Double?) -> VectorWriter.Value { v.map { .real($0) } ?? .null }
            rows.append((shape, [
                "number": .string(a.number), "name": .string(a.name), "date": .string(a.date), "date_meaning": .string(report.dateMeaning),
                "age_months": .real(a.ageMonths), "area_m2": .real(a.areaM2), "area_mu": .real(a.areaMu),
                "unbuilt_share": real(a.unbuiltShare), "built_share": real(a.builtShare), "built_share_year_before": real(a.builtShareYearBefore),
                "status": .string(a.status), "idle": .integer(a.idle ? 1 : 0), "zone_code": .string(a.zoneCode), "zone_name": .string(a.zoneName),
            ]))
        }
        _ = checks
        return PlotTable(layer: "idle", columns: columns, rows: rows)
    }

    /// The approvals' polygons in `crs`, by feature number (1 first), in read.plan's order.
    static func approvalShapes(path: String, layer: String?, crs: SpatialReference, count: Int) throws -> [Geometry?] {
        let dataset = try VectorDataset.open(path)
        let order = try dataset.attributes(layer: layer, fields: []).map(\.fid)
        let features = try dataset.readAreas(layer: layer, sourceCRS: nil, target: crs).features
        let byFID = Dictionary(features.map { ($0.fid, $0.geometry) }, uniquingKeysWith: { first, _ in first })
        return order.prefix(count).map { byFID[$0] }
    }
}
