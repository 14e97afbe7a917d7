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
        try HistoryRows.zoneMetrics(stages: run.stages, date: date) { try Data(contentsOf: folder.appendingPathComponent($0)) }.map {
            ZoneMetricRecord(sceneID: scene, date: date, zone: $0.metric.zone, name: $0.metric.name, greenCoverage: $0.metric.green,
                             intensity: $0.metric.intensity, ecoOccupation: $0.ecoOccupation, suhiC: $0.metric.suhiC, suhiProxy: $0.metric.suhiProxy)
        }
    }

    /// Everything the registry holds, as the rows a scene's report draws the nights before it from
    /// (``HistoryRows/fileName``, written into the scene's run folder by nightly).
    static func rows(from registry: any RegistryStore) throws -> HistoryRows {
        rows(metrics: try registry.zoneMetrics(from: nil, to: nil), events: try registry.events(from: nil, to: nil), source: registry.location)
    }

    static func rows(metrics: [ZoneMetricRecord], events: [ViolationEvent], source: String) -> HistoryRows {
        HistoryRows(metrics: metrics.map {
            .init(date: $0.date, zone: $0.zone, name: $0.name, green: $0.green_coverage, intensity: $0.intensity, suhiC: $0.suhi_c, suhiProxy: $0.suhi_proxy)
        }, events: events.map { .init(violation: $0.violation_id, date: $0.date, status: $0.status.rawValue) }, source: source)
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
        return HistoryData(rows: rows(metrics: metrics, events: events, source: registry.location), from: from, to: to)
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
