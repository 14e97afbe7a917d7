import Foundation
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts
import LandwatchRegistry

/// The history report's figures from the registry, and the zone metrics nightly records for it.
public enum History {
    /// Why a history report cannot be written: one line.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The zone metrics of a finished run, from the outputs of its metrics.green, metrics.intensity and
    /// metrics.heat_island stages (none when it ran none of them).
    public static func zoneMetrics(run: RunRecord, folder: URL, scene: String, date: String) throws -> [ZoneMetricRecord] {
        var rows: [String: ZoneMetricRecord] = [:]
        var order: [String] = []
        func row(_ zone: String, _ name: String?) -> ZoneMetricRecord {
            if rows[zone] == nil { order.append(zone) }
            var record = rows[zone] ?? ZoneMetricRecord(sceneID: scene, date: date, zone: zone)
            if record.name == nil { record.name = name }
            return record
        }
        func json(_ stage: StageTiming) throws -> Data? {
            guard let path = stage.outputs.first(where: { $0.hasSuffix(".json") }) else { return nil }
            return try Data(contentsOf: folder.appendingPathComponent(path))
        }
        for stage in run.stages {
            switch stage.uses {
            case "metrics.green":
                guard let data = try json(stage) else { continue }
                for zone in try GreenCoverageResult.decode(data).zones {
                    var r = row(zone.zone, zone.name); r.green_coverage = zone.greenCoverage; rows[zone.zone] = r
                }
            case "metrics.intensity":
                guard let data = try json(stage) else { continue }
                for zone in try IntensityResult.decode(data).zones {
                    var r = row(zone.zone, zone.name); r.intensity = zone.intensity; r.eco_occupation = zone.ecoOccupation; rows[zone.zone] = r
                }
            case "metrics.heat_island":
                guard let data = try json(stage) else { continue }
                for zone in try HeatIslandResult.decode(data).zones {
                    var r = row(zone.zone, zone.name); r.suhi_c = zone.suhiC; r.suhi_proxy = zone.heatIslandProxy; rows[zone.zone] = r
                }
            default: continue
            }
        }
        return order.map { rows[$0]! }
    }

    /// The figures for `zone` (an id or a name; all zones when nil) over the period, from the registry alone.
    /// - Throws: ``Problem`` for an unknown zone or a period the registry holds nothing for.
    package static func data(from registry: any RegistryStore, zone: String?, from: String?, to: String?) throws -> HistoryData {
        var metrics = try registry.zoneMetrics(from: from, to: to)
        var events = try registry.events(from: from, to: to)
        let period = from == nil && to == nil ? "" : " between \(from ?? "the first night") and \(to ?? "the last")"
        if let zone {
            let known = try registry.zoneMetrics(from: nil, to: nil)
            let ids = Set(known.filter { $0.zone == zone || $0.name == zone }.map(\.zone))
            guard !ids.isEmpty else {
                let names = Array(Set(known.map { $0.name ?? $0.zone })).sorted()
                throw Problem(description: "report: --zone '\(zone)': no zone of that id or name in the registry \(registry.location)"
                              + (names.isEmpty ? " (it holds no zone metrics)" : " (zones: \(names.prefix(10).joined(separator: ", "))\(names.count > 10 ? ", …" : ""))"))
            }
            metrics = metrics.filter { ids.contains($0.zone) }
            // Violations whose latest attributes name the zone.
            let inZone = Set(try registry.violations().filter { record in
                guard let text = record.attributes, let attributes = try? JSONDecoder().decode(ViolationAttributes.self, from: Data(text.utf8)) else { return false }
                return [attributes.zone_code, attributes.zone_name].contains { $0.map { ids.contains($0) || $0 == zone } ?? false }
            }.map(\.id))
            events = events.filter { inZone.contains($0.violation_id) }
        }
        if metrics.isEmpty && events.isEmpty {
            throw Problem(description: "report: the registry \(registry.location) holds no zone metrics and no violation events\(period)"
                          + (zone.map { " for zone '\($0)'" } ?? "") + ": nothing to report")
        }
        var zones: [String: HistoryData.Zone] = [:]
        var order: [String] = []
        var proxy = false
        for row in metrics {
            if zones[row.zone] == nil { order.append(row.zone); zones[row.zone] = .init(id: row.zone, name: row.name ?? row.zone) }
            if let v = row.green_coverage { zones[row.zone]!.series[.green, default: []].append((row.date, v * 100)) }
            if let v = row.intensity { zones[row.zone]!.series[.intensity, default: []].append((row.date, v * 100)) }
            if let v = row.suhi_c {
                zones[row.zone]!.series[.suhi, default: []].append((row.date, v))
            } else if let v = row.suhi_proxy {
                proxy = true
                zones[row.zone]!.series[.suhi, default: []].append((row.date, v * 100))
            }
        }
        let months = HistoryData.months(events: events.map { ($0.violation_id, $0.date, $0.status.rawValue) })
        var data = HistoryData(zones: order.map { zones[$0]! }, dates: Array(Set(metrics.map(\.date))).sorted(), months: months, from: from, to: to)
        data.suhiIsProxy = proxy
        data.violations = Set(events.map(\.violation_id)).count
        return data
    }

    /// Writes the history report (index.html, summary.json) into `folder`, whole or not at all.
    public static func writeReport(registry: any RegistryStore, zone: String?, from: String?, to: String?, language: String,
                                   folder: String) throws {
        guard let language = ReportLanguage(rawValue: language) else {
            throw Problem(description: "report: --language \(language): choose en or zh")
        }
        let data = try data(from: registry, zone: zone, from: from, to: to)
        try HistoryReport.write(data, language: language, source: registry.location, to: folder)
    }
}
