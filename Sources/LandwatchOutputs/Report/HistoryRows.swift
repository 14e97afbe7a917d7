import Foundation
import LandwatchPipeline
import LandwatchProducts

/// The raw figures a history is drawn from: each zone's metrics per date and the violations' status events, as the
/// registry holds them or as earlier run folders hold them. Written by nightly into a scene's run folder
/// (``fileName``) so that the scene's report shows the nights before it; read back by `report.html`.
package struct HistoryRows: Codable, Sendable, Equatable {
    /// The file nightly writes into a scene's run folder before the run: the registry's history so far.
    package static let fileName = "registry-history.json"

    /// One zone's metrics on one date. Shares are 0–1 (as the metrics stages write them), SUHI in °C.
    package struct Metric: Codable, Sendable, Equatable {
        package var date: String
        package var zone: String
        package var name: String?
        package var green: Double?
        package var intensity: Double?
        package var suhiC: Double?
        /// The heat-island proxy (built-up share, 0–1) when the run had no thermal band.
        package var suhiProxy: Double?

        package init(date: String, zone: String, name: String?, green: Double? = nil, intensity: Double? = nil,
                     suhiC: Double? = nil, suhiProxy: Double? = nil) {
            self.date = date
            self.zone = zone
            self.name = name
            self.green = green
            self.intensity = intensity
            self.suhiC = suhiC
            self.suhiProxy = suhiProxy
        }
    }

    /// A violation's status on a date.
    package struct Event: Codable, Sendable, Equatable {
        package var violation: String
        package var date: String
        package var status: String

        package init(violation: String, date: String, status: String) {
            self.violation = violation
            self.date = date
            self.status = status
        }
    }

    package var metrics: [Metric]
    package var events: [Event]
    /// Where the rows come from (a registry's location, or the run folders named), for the report's caption.
    package var source: String

    package init(metrics: [Metric] = [], events: [Event] = [], source: String) {
        self.metrics = metrics
        self.events = events
        self.source = source
    }

    /// The zone metrics of a run, from the JSON outputs of its metrics.green, metrics.intensity and
    /// metrics.heat_island stages (none when it ran none of them); `read` gives a file of the run by its path relative
    /// to the run folder. The eco-occupation share is returned beside each row (the registry keeps it too).
    package static func zoneMetrics(stages: [StageTiming], date: String, read: (String) throws -> Data?) throws
        -> [(metric: Metric, ecoOccupation: Double?)] {
        var rows: [String: (metric: Metric, ecoOccupation: Double?)] = [:]
        var order: [String] = []
        func update(_ zone: String, _ name: String?, _ change: (inout Metric, inout Double?) -> Void) {
            if rows[zone] == nil {
                order.append(zone)
                rows[zone] = (Metric(date: date, zone: zone, name: nil), nil)
            }
            var row = rows[zone]!
            if row.metric.name == nil, let name, !name.isEmpty { row.metric.name = name }
            change(&row.metric, &row.ecoOccupation)
            rows[zone] = row
        }
        func json(_ stage: StageTiming) throws -> Data? {
            guard let path = stage.outputs.first(where: { $0.hasSuffix(".json") }) else { return nil }
            return try read(path)
        }
        for stage in stages {
            switch stage.uses {
            case "metrics.green":
                guard let data = try json(stage) else { continue }
                for zone in try GreenCoverageResult.decode(data).zones {
                    update(zone.zone, zone.name) { metric, _ in metric.green = zone.greenCoverage }
                }
            case "metrics.intensity":
                guard let data = try json(stage) else { continue }
                for zone in try IntensityResult.decode(data).zones {
                    update(zone.zone, zone.name) { metric, eco in metric.intensity = zone.intensity; eco = zone.ecoOccupation }
                }
            case "metrics.heat_island":
                guard let data = try json(stage) else { continue }
                for zone in try HeatIslandResult.decode(data).zones {
                    update(zone.zone, zone.name) { metric, _ in metric.suhiC = zone.suhiC; metric.suhiProxy = zone.heatIslandProxy }
                }
            default: continue
            }
        }
        return order.map { rows[$0]! }
    }
}

extension HistoryData {
    /// The figures the charts draw, from raw rows: per zone and measure the values by date (shares in percent), the
    /// dates seen, and the violations per month by status.
    package init(rows: HistoryRows, from: String?, to: String?) {
        var zones: [String: Zone] = [:]
        var order: [String] = []
        var proxy = false
        for row in rows.metrics.sorted(by: { $0.date < $1.date }) {
            if zones[row.zone] == nil { order.append(row.zone); zones[row.zone] = .init(id: row.zone, name: row.name ?? row.zone) }
            if let v = row.green { zones[row.zone]!.series[.green, default: []].append((row.date, v * 100)) }
            if let v = row.intensity { zones[row.zone]!.series[.intensity, default: []].append((row.date, v * 100)) }
            if let v = row.suhiC {
                zones[row.zone]!.series[.suhi, default: []].append((row.date, v))
            } else if let v = row.suhiProxy {
                proxy = true
                zones[row.zone]!.series[.suhi, default: []].append((row.date, v * 100))
            }
        }
        let months = Self.months(events: rows.events.map { ($0.violation, $0.date, $0.status) })
        self.init(zones: order.map { zones[$0]! }, dates: Array(Set(rows.metrics.map(\.date))).sorted(), months: months, from: from, to: to)
        suhiIsProxy = proxy
        violations = Set(rows.events.map(\.violation)).count
    }
}
