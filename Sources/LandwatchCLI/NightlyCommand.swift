import ArgumentParser
import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchPipeline
import LandwatchRegistry
import LandwatchStages
import Logging

/// `landwatch nightly`: the unattended run from cron.
struct NightlyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightly",
        abstract: "Process the new deliveries of an inbox against their baselines and record everything in the registry.",
        discussion: """
        Exit codes: 0 all new scenes done, 1 nothing new, 2 some scenes failed (the others were processed), \
        75 another nightly run holds the lock (nothing touched), 66 the inbox or pipeline cannot be read.
        The pipeline file may declare params before, after, before_date, after_date (set per scene), baseline_days \
        (default 365) and season_window (default 45 days).
        """
    )

    @Option(name: .long, help: "Folder where deliveries arrive (a GeoTIFF with a JSON sidecar of sensor and date).")
    var inbox: String

    @Option(name: .long, help: "The pipeline run for each new scene against its baseline.")
    var pipeline: String

    @Option(name: .long, help: "Output folder: scenes/<scene id>/, the lock and (by default) the registry.")
    var out: String

    @Option(name: .long, help: "Registry file (SQLite). (default: <out>/registry.sqlite)")
    var db: String?

    @Option(name: .long, help: "Memory budget, e.g. 512M.")
    var memory: String = "512M"

    @Option(name: .long, help: "Worker threads. (default: the number of cores)")
    var threads: Int?

    @Flag(name: .long, help: "Redo every delivery in the inbox, already processed or not, rerunning its pipeline.")
    var force = false

    @Option(name: .long, help: "Log lines as text or json (one object per line, for log collectors).")
    var logFormat: LogFormat = .text

    func run() throws {
        LogSetup.bootstrap(verbosity: 1, json: logFormat == .json)
        let logger = Logger(label: "landwatch")
        var nightly = Nightly(inbox: inbox, pipelinePath: pipeline, out: out, database: db,
                              threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                              memoryBudget: ByteCount.parse(memory) ?? 512 << 20, registry: standardRegistry, logger: logger)
        nightly.force = force
        let summary: NightlySummary
        do {
            summary = try nightly.run()
        } catch let locked as NightlyLocked {
            throw fail([locked.description], code: LandwatchExit.resources)
        } catch let error as PipelineFileError {
            throw fail(error)
        } catch let error as RunError {
            throw fail([error.description], code: LandwatchExit.code(for: error.category))
        }
        logger.notice("\(summary.line)")
        switch summary.result {
        case .allDone: return
        case .nothingToDo: throw ExitCode(1)
        case .someFailed: throw ExitCode(2)
        }
    }
}

enum LogFormat: String, ExpressibleByArgument { case text, json }

/// `landwatch violations export|dismiss`: what the enforcement team takes, and what a field check found legal.
struct ViolationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "violations",
        abstract: "Export tracked violations or dismiss one after a field check.",
        subcommands: [Export.self, Dismiss.self]
    )

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print violations as CSV or GeoJSON.")

        @Option(name: .long, help: "Registry file (SQLite).")
        var db: String

        @Option(name: .long, help: "new, persisting, resolved or dismissed (default: all).")
        var status: String?

        @Option(name: .long, help: "Only those last seen on or after this date (YYYY-MM-DD).")
        var since: String?

        @Option(name: .long, help: "csv or geojson.")
        var format: String = "csv"

        func run() throws {
            guard ["csv", "geojson"].contains(format) else {
                throw fail(["--format \(format): export writes csv or geojson; gpkg and kml are not built yet (write.violations writes both per run)"],
                           code: LandwatchExit.usage)
            }
            let rows: [ViolationRecord]
            do { rows = try Registry(path: db).violations(status: status, since: since) } catch {
                throw fail(["\(error)"], code: LandwatchExit.inputUnavailable)
            }
            if format == "csv" {
                var text = "\u{FEFF}id,status,rules,area_m2,first_seen,last_seen,west,south,east,north\n"
                for v in rows {
                    text += "\(v.id),\(v.status),\(v.rules),\(v.area_m2),\(v.first_seen),\(v.last_seen),\(v.min_lon),\(v.min_lat),\(v.max_lon),\(v.max_lat)\n"
                }
                print(text, terminator: "")
            } else {
                let features = try rows.map { v -> String in
                    let geometry = try Geometry(wkt: v.geometry_wkt).geoJSON
                    let properties = try JSONSerialization.data(withJSONObject: [
                        "id": v.id, "status": v.status, "rules": v.rules, "area_m2": v.area_m2,
                        "first_seen": v.first_seen, "last_seen": v.last_seen,
                    ] as [String: Any], options: [.sortedKeys])
                    return "{\"type\":\"Feature\",\"properties\":\(String(decoding: properties, as: UTF8.self)),\"geometry\":\(geometry)}"
                }
                print("{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "\n]}")
            }
        }
    }

    struct Dismiss: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that a field check found a violation legal.")

        @Argument(help: "The violation id (LW-...).")
        var id: String

        @Option(name: .long, help: "Registry file (SQLite).")
        var db: String

        @Option(name: .long, help: "Why: the field check's finding.")
        var reason: String

        @Option(name: .long, help: "Who checked it. (default: the user running the command)")
        var by: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

        func run() throws {
            do { try Registry(path: db).dismiss(id: id, by: by, reason: reason) } catch {
                throw fail(["\(error)"], code: LandwatchExit.inputUnavailable)
            }
            print("landwatch: \(id) dismissed: \(reason)")
        }
    }
}
