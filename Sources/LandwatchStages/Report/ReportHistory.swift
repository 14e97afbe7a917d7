import Foundation
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts

/// The report's "over time" (issue 24): each zone's green coverage, development intensity and SUHI over the dates
/// seen, and violations per month by status, when the run has a history — the registry's nights before this one
/// (nightly writes them into the scene's run folder as ``HistoryRows/fileName``) or earlier runs named with the
/// `history` option — with this run's own figures as the latest date.
extension ReportBuilder {
    mutating func overTime() throws -> [ReportDocument.Section] {
        var rows: HistoryRows?
        var intro: [String] = []
        var fromRegistry = false
        let registryFile = context.outputRoot.url.appendingPathComponent(HistoryRows.fileName)
        if let data = FileManager.default.contents(atPath: registryFile.path) {
            do { rows = try JSONDecoder().decode(HistoryRows.self, from: data) } catch {
                throw RunError(.internal, "report.html: cannot read \(registryFile.path), which nightly wrote (\(error)); this is a bug in landwatch",
                               stage: stage.path)
            }
            intro.append(String(format: t("history.registry"), rows!.source))
            fromRegistry = true
        }
        if let folder = stage.history {
            let earlier = try Self.earlierRuns(in: folder, readRoots: stage.readRoots, except: context.outputRoot.url) { warning in
                context.logger.warning("report.html: option 'history': \(warning)")
                context.findings?.note("history: \(warning)")
            }
            var named = rows ?? HistoryRows(source: folder)
            named.metrics += earlier.metrics
            named.events += earlier.events
            rows = named
            intro.append(String(format: t("history.runs"), earlier.runs, folder))
        }
        guard var rows else { return [] }
        // This run: its zone metrics and its list, on the later date it looked at.
        let date = listAfterDate ?? sceneDates.last ?? String(ISO8601DateFormatter().string(from: record.started).prefix(10))
        rows.metrics += try HistoryRows.zoneMetrics(stages: record.stages, date: date) { FileManager.default.contents(atPath: absolute($0)) }
            .map(\.metric)
        rows.events += violationEntries.map { .init(violation: $0.id, date: date, status: $0.status ?? "new") }
        let data = HistoryData(rows: rows, from: nil, to: nil)
        summary.historyDates = data.dates
        var sections = HistoryReport.trendSections(data, language: t)
        sections[0].title = t("history")
        sections[0].blocks.insert(.paragraph(intro.joined(separator: " ") + " " + String(format: t("history.this"), date)), at: 0)
        if fromRegistry {
            // In a nightly folder the registry's whole history is beside the scenes: out/history/ (scenes/ID/<report>).
            sections[0].blocks.append(.links([(t("history.whole"), link("../../history/index.html"))]))
        }
        return sections
    }

    /// The zone metrics and violation statuses of the finished runs in `folder` (a run's output folder, or a folder of
    /// them), each on the later date it looked at. Every file read must lie under the run's read roots (links
    /// followed); the run being written now (`except`) is left out.
    static func earlierRuns(in folder: String, readRoots: ReadRoots?, except current: URL, warn: (String) -> Void) throws
        -> (metrics: [HistoryRows.Metric], events: [HistoryRows.Event], runs: Int) {
        let manager = FileManager.default
        let top = URL(fileURLWithPath: folder)
        var candidates: [URL] = []
        if manager.fileExists(atPath: top.appendingPathComponent("run.json").path) {
            candidates = [top]
        } else {
            let names = (try? manager.contentsOfDirectory(atPath: top.path)) ?? []
            candidates = names.sorted().map { top.appendingPathComponent($0) }
                .filter { manager.fileExists(atPath: $0.appendingPathComponent("run.json").path) }
        }
        let here = current.standardizedFileURL.resolvingSymlinksInPath().path
        candidates = candidates.filter { $0.standardizedFileURL.resolvingSymlinksInPath().path != here }
        guard !candidates.isEmpty else {
            throw RunError(.input, "report.html: option 'history': \(folder) holds no finished run (no run.json in it or in its subfolders)")
        }
        func read(_ url: URL) throws -> Data {
            if let readRoots, !readRoots.allows(url.path) {
                throw RunError(.input, "report.html: option 'history': \(url.path) lies outside the folders this run may read "
                               + "(it is \(url.standardizedFileURL.resolvingSymlinksInPath().path); allowed: \(readRoots.list))")
            }
            do { return try Data(contentsOf: url) } catch {
                throw RunError(.input, "report.html: option 'history': cannot read \(url.path): \(error.localizedDescription)")
            }
        }
        var metrics: [HistoryRows.Metric] = [], events: [HistoryRows.Event] = []
        var runs = 0
        for run in candidates {
            let recordFile = run.appendingPathComponent("run.json")
            let record: RunRecord
            do { record = try RunRecord.decode(try read(recordFile)) } catch let error as RunError { throw error } catch {
                throw RunError(.input, "report.html: option 'history': \(recordFile.path) is not a landwatch run record: \(error)")
            }
            guard record.status == "succeeded" else {
                warn("\(run.path) left out: its run did not succeed (status \(record.status))")
                continue
            }
            var date: String?
            var listed: [ViolationList.Entry] = []
            if let listPath = record.outputs.first(where: { $0 == ViolationList.fileName || $0.hasSuffix("/" + ViolationList.fileName) }) {
                let list: ViolationList
                do { list = try JSONDecoder().decode(ViolationList.self, from: try read(run.appendingPathComponent(listPath))) } catch let error as RunError { throw error } catch {
                    throw RunError(.input, "report.html: option 'history': \(run.appendingPathComponent(listPath).path): \(error)")
                }
                date = list.after_date
                listed = list.violations
            }
            let day = date ?? String(ISO8601DateFormatter().string(from: record.started).prefix(10))
            if date == nil { warn("\(run.path) has no violation list with a later date: its figures are placed on the day it ran, \(day)") }
            do {
                metrics += try HistoryRows.zoneMetrics(stages: record.stages, date: day) { try read(run.appendingPathComponent($0)) }.map(\.metric)
            } catch let error as RunError { throw error } catch {
                throw RunError(.input, "report.html: option 'history': a metrics output of \(run.path) cannot be read: \(error)")
            }
            events += listed.map { .init(violation: $0.id, date: day, status: $0.status ?? "new") }
            runs += 1
        }
        return (metrics, events, runs)
    }
}
