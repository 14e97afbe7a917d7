import ArgumentParser
import Foundation
import LandwatchGDAL
import LandwatchNightly
import LandwatchPipeline
import LandwatchRegistry
import LandwatchStages
import Logging
import LandwatchOutputs

/// `landwatch nightly`: the unattended run from cron (`nightly run`, the default), and `nightly status`.
struct NightlyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightly",
        abstract: "Process the new deliveries of an inbox against their baselines and record everything in the registry.",
        subcommands: [NightlyRun.self, NightlyStatus.self],
        defaultSubcommand: NightlyRun.self
    )
}

/// `landwatch nightly [run]`.
struct NightlyRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process the new deliveries of an inbox against their baselines and record everything in the registry (the default).",
        discussion: """
        Exit codes: 0 all new scenes done, 1 nothing new, 2 some scenes failed (the others were processed), \
        75 another nightly run holds the lock (nothing touched), 66 the inbox or pipeline cannot be read.
        The pipeline file may declare params before, after, before_date, after_date (set per scene), baseline_days \
        (default 365), season_window (default 45 days), baseline (scene, the default, or landuse: compare every \
        scene with the land-use survey the pipeline reads), retries (default 3: how many later nights a failed scene is \
        tried again) and site_classes (default landcover-after.tif: the class raster tracked sites are observed in).
        """
    )

    @Option(name: .long, help: "Folder where deliveries arrive: GeoTIFFs with a JSON sidecar of sensor and date, Landsat folders or tars, Sentinel-2 SAFE folders or zips, Gaofen images with their XML.")
    var inbox: String?

    @Option(name: .long, help: ArgumentHelp("Instead of --inbox: a STAC ItemCollection (file or URL) or a STAC API's /search URL (queried with the pipeline's stac_bbox, stac_datetime, stac_collections, stac_limit; next pages followed up to stac_max_pages, default 10); each Item is a delivery.", valueName: "FILE|URL"))
    var stac: String?

    @Option(name: .long, help: "The pipeline run for each new scene against its baseline.")
    var pipeline: String

    @Option(name: .long, help: "Output folder: scenes/<scene id>/, the lock and (by default) the registry.")
    var out: String

    @Option(name: .long, help: "Registry: a SQLite file, or postgres://USER@HOST:PORT/DATABASE shared by sharded workers (password from PGPASSWORD). (default: LANDWATCH_DB_URL, else <out>/registry.sqlite)")
    var db: String?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("A folder the pipeline may read inputs from, besides its own folder and the current one (repeatable; a GDAL prefix such as /vsis3/bucket for remote data).", valueName: "DIR"))
    var allowRead: [String] = []

    @Option(name: .long, help: "Memory budget, e.g. 512M.")
    var memory: String = "512M"

    @Option(name: .long, help: "Worker threads. (default: the number of cores)")
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Take shard K of N of the inbox (from 1), by where scenes lie: Landsat path/row, Sentinel-2 tile, or the 1° cell of the footprint; each shard has its own lock; auto/N takes K from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX.", valueName: "K/N"))
    var shard: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a param of the pipeline file for every scene (repeatable).", valueName: "name=value"))
    var settings: [String] = []

    @Flag(name: .long, help: "Redo every delivery in the inbox, already processed or not, rerunning its pipeline.")
    var force = false

    @Flag(name: .long, help: "Exit 0 also when nothing was new (1) or some scenes failed (2, each recorded with its reason): for schedulers such as Kubernetes that retry any non-zero exit.")
    var exitZero = false

    @Option(name: .long, help: "Log lines as text or json (one object per line, for log collectors).")
    var logFormat: LogFormat = .text

    func validate() throws {
        if (inbox == nil) == (stac == nil) { throw ValidationError("give the deliveries' source: --inbox DIR or --stac FILE|URL (one of the two)") }
        if let shard {
            do { _ = try Shard(parsing: shard, environment: ProcessInfo.processInfo.environment) } catch { throw ValidationError(error.description) }
        }
        _ = try parseOverrides(settings)
        if case .failure(let problem) = ByteCount.check(memory) { throw ValidationError("--memory '\(memory)' \(problem)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    /// A failure as the log should show it: one line, or one JSON object under `--log-format json`.
    func failure(_ lines: [String], code: Int32, event: String) -> ExitCode {
        guard logFormat == .json else { return fail(lines, code: code) }
        for line in lines {
            let object: [String: Any] = ["time": ISO8601DateFormatter().string(from: Date()), "level": "error", "source": "LandwatchCLI",
                                         "event": event, "message": line, "exit": Int(code)]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        }
        return ExitCode(code)
    }

    func run() throws {
        LogSetup.bootstrap(verbosity: 1, json: logFormat == .json)
        // SIGINT/SIGTERM as for `run`: the scene's partial files go, its record says interrupted, the lock is released
        // by the exit; the registry holds only scenes recorded whole (each in one transaction).
        SignalCleanup.install()
        let logger = Logger(label: "landwatch")
        let environment = ProcessInfo.processInfo.environment
        let fromEnvironment = db == nil && environment["LANDWATCH_DB_URL"] != nil
        var nightly = Nightly(inbox: inbox ?? "", pipelinePath: pipeline, out: out, database: db ?? environment["LANDWATCH_DB_URL"],
                              threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                              memoryBudget: ByteCount.parse(memory)!, registry: standardRegistry, logger: logger)
        nightly.force = force
        nightly.stac = stac
        nightly.overrides = try parseOverrides(settings)
        nightly.databaseFromEnvironment = fromEnvironment
        nightly.shard = try shard.map { text throws in try Shard(parsing: text, environment: ProcessInfo.processInfo.environment) }
        // The inbox and the output folder (tars unpacked there are later nights' baselines) are always readable.
        // A local ItemCollection's folder is readable as the inbox is (relative asset hrefs point there).
        let stacFolder = stac.flatMap { $0.hasPrefix("/vsi") || $0.contains("://") ? nil : URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        nightly.readRoots = [FileManager.default.currentDirectoryPath, out] + [inbox, stacFolder].compactMap { $0 } + allowRead
        let summary: NightlySummary
        do {
            summary = try nightly.run()
        } catch let locked as NightlyLocked {
            throw failure([locked.description], code: LandwatchExit.resources, event: "nightly.locked")
        } catch let error as PipelineFileError {
            if logFormat == .json {
                throw failure(error.diagnostics.map(\.description), code: LandwatchExit.invalidPipeline, event: "nightly.pipeline")
            }
            throw fail(error)
        } catch let error as RunError {
            throw failure([error.description], code: LandwatchExit.code(for: error.category), event: "nightly.failed")
        } catch where RegistryError.concerns(error) {
            // The registry: locked by another process (retry later), or unusable.
            let problem = RegistryError(error, registry: Registries.isDatabaseURL(nightly.database) ? PostgresRegistry.redacted(nightly.database) : nightly.database)
            throw failure([problem.description], code: problem.isLocked ? LandwatchExit.resources : LandwatchExit.inputUnavailable, event: "nightly.registry")
        } catch {
            throw failure(["nightly: \(error)"], code: LandwatchExit.ioError, event: "nightly.failed")
        }
        if logFormat == .json {
            // The night's summary: one JSON object with the counts as fields, the failed scenes and each scene's outputs.
            var object = (try? JSONSerialization.jsonObject(with: Data(summary.json.utf8))) as? [String: Any] ?? [:]
            object["time"] = ISO8601DateFormatter().string(from: Date())
            object["level"] = "notice"
            object["source"] = "LandwatchCLI"
            object["event"] = "nightly.summary"
            object["message"] = "\(shard.map { "shard \($0): " } ?? "")\(summary.line)"
            if let shard { object["shard"] = shard }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        } else {
            logger.notice("\(shard.map { "shard \($0): " } ?? "")\(summary.line)")
        }
        switch summary.result {
        case .allDone: return
        case .nothingToDo: if !exitZero { throw ExitCode(1) }
        case .someFailed: if !exitZero { throw ExitCode(2) }
        }
    }
}

enum LogFormat: String, ExpressibleByArgument { case text, json }

/// `landwatch nightly status`: the scenes of the registry, failed, retrying, given up, and the violations by status.
struct NightlyStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the registry's scenes that failed (to be retried), are retrying or were given up, and its violations by status.")

    @Option(name: .long, help: "The nightly output folder (its registry.sqlite), when --db is not given.")
    var out: String?

    @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL, else <out>/registry.sqlite)")
    var db: String?

    func run() throws {
        let location: String, fromEnvironment: Bool
        if db == nil, let out {
            (location, fromEnvironment) = (URL(fileURLWithPath: out).appendingPathComponent("registry.sqlite").path, false)
        } else {
            (location, fromEnvironment) = try registryLocation(db)
        }
        let scenes: [SceneRecord], violations: [ViolationRecord]
        do {
            let store = try existingRegistry(location, fromEnvironment: fromEnvironment)
            scenes = try store.scenes()
            violations = try store.violations()
        } catch {
            throw registryFailure(error, path: location)
        }
        print(NightlyReport.status(scenes: scenes, violations: violations), terminator: "")
    }
}

/// `landwatch violations export|dismiss`: what the enforcement team takes, and what a field check found legal.
struct ViolationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "violations",
        abstract: "Export tracked violations, make their field package, show one's history, record field checks or dismiss one.",
        subcommands: [Export.self, Fieldpack.self, Dismiss.self, Show.self, Import.self, Stats.self]
    )

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write tracked violations as CSV, GeoJSON, GeoPackage or KML (WGS84).",
            discussion: "CSV and GeoJSON go to standard output unless --output is given; GeoPackage and KML need --output. "
                + "A file is written under a temporary name and renamed when complete.")

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        @Option(name: .long, help: "open (new and persisting), or one status: \(ViolationStatus.allCases.map(\.rawValue).joined(separator: ", ")); repeatable (default: all).")
        var status: [String] = []

        @Option(name: .long, help: "Only those last seen on or after this date (YYYY-MM-DD).")
        var since: String?

        @Option(name: .long, help: "csv, geojson, gpkg, kml, or shp (Shapefile, with --profile wpzf).")
        var format: String = "csv"

        @Option(name: .long, help: "landwatch (the registry's fields) or wpzf (the fields of a 卫片执法 monitoring patch, in Chinese; docs/wpzf-export.md).")
        var profile: String = "landwatch"

        @Option(name: [.short, .long], help: "File to write (needed for gpkg, kml, shp and the wpzf profile).")
        var output: String?

        func validate() throws {
            guard let chosen = ViolationExport.Format(rawValue: format) else {
                throw ValidationError("--format \(format): choose csv, geojson, gpkg, kml or shp")
            }
            guard let profile = ViolationExport.Profile(rawValue: profile) else {
                throw ValidationError("--profile \(self.profile): choose landwatch or wpzf")
            }
            if chosen == .shp, profile != .wpzf {
                throw ValidationError("--format shp: the landwatch profile's field names are longer than a Shapefile allows; use gpkg, or --profile wpzf")
            }
            if chosen.needsFile, output == nil { throw ValidationError("--format \(format) writes a file: give it with --output PATH") }
            if profile == .wpzf, output == nil { throw ValidationError("--profile wpzf writes a file: give it with --output PATH") }
            for status in self.status where status != "open" && ViolationStatus(rawValue: status) == nil {
                throw ValidationError("--status \(status): choose open, \(ViolationStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let since, since.count != 10 || Int(since.prefix(4)) == nil {
                throw ValidationError("--since \(since): write the date as YYYY-MM-DD")
            }
        }

        func run() throws {
            let chosen = ViolationExport.Format(rawValue: format)!
            let rows: [ViolationRecord]
            let (location, fromEnvironment) = try registryLocation(db)
            let statuses: Set<ViolationStatus>? = status.isEmpty ? nil
                : Set(status.flatMap { $0 == "open" ? Array(ViolationStatus.open) : [ViolationStatus(rawValue: $0)!] })
            do { rows = try existingRegistry(location, fromEnvironment: fromEnvironment).violations(statuses: statuses, since: since) } catch {
                throw registryFailure(error, path: location)
            }
            if let output {
                do { try ViolationExport.write(rows, format: chosen, profile: ViolationExport.Profile(rawValue: profile)!, to: output) } catch {
                    throw fail([error.description], code: LandwatchExit.code(for: error.category))
                }
                FileHandle.standardError.write(Data("landwatch: \(rows.count) violations written to \(output)\n".utf8))
            } else if chosen == .csv {
                print(ViolationExport.csv(rows), terminator: "")
            } else {
                print(try ViolationExport.geoJSON(rows), terminator: "")
            }
        }
    }

    struct Dismiss: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that a field check found a violation legal.")

        @Argument(help: "The violation id (LW-...).")
        var id: String

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        @Option(name: .long, help: "Why: the field check's finding.")
        var reason: String

        @Option(name: .long, help: "Who checked it. (default: the user running the command)")
        var by: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

        @Option(name: .long, help: "The day of the check, YYYY-MM-DD. (default: today)")
        var date: String?

        func run() throws {
            let (location, fromEnvironment) = try registryLocation(db)
            do { try existingRegistry(location, fromEnvironment: fromEnvironment).setStatus(id: id, to: .dismissed, by: by, reason: reason, date: date) } catch {
                throw registryFailure(error, path: location)
            }
            print("landwatch: \(id) dismissed: \(reason)")
        }
    }
}

extension ViolationsCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a violation's whole history: every night that saw it (or could not), area, score, status changes, who and why.")

        @Argument(help: "The violation id (LW-..., as on the scene's list, chips and exports).")
        var id: String

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        func run() throws {
            let (location, fromEnvironment) = try registryLocation(db)
            let record: ViolationRecord
            let history: [ViolationEvent]
            do {
                let store = try existingRegistry(location, fromEnvironment: fromEnvironment)
                guard let found = try store.violation(id: id) else {
                    throw RegistryError("no violation \(id) in \(store.location)")
                }
                record = found
                history = try store.history(id: id)
            } catch {
                throw registryFailure(error, path: location)
            }
            print(ViolationHistory.text(record, history), terminator: "")
        }
    }
}

extension ViolationsCommand {
    struct Fieldpack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fieldpack",
            abstract: "Write the field package of tracked violations: fieldpack.pdf (GeoPDF), fieldpack.kmz, fieldcheck.csv/.gpkg (docs/fieldpack.md).",
            discussion: "The folder is built beside --output and moved in when complete. The answer sheet fieldcheck.csv, filled in, "
                + "goes back with `landwatch violations import`.")

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        @Option(name: .long, help: "open (new and persisting), or one status: \(ViolationStatus.allCases.map(\.rawValue).joined(separator: ", ")); repeatable (default: open).")
        var status: [String] = []

        @Option(name: .long, help: "Only the violations in this zone: its code or name, as the scene list recorded the zone holding most of each patch.")
        var zone: String?

        @Option(name: .long, help: "Only those last seen on or after this date (YYYY-MM-DD).")
        var since: String?

        @Option(name: .long, help: "Title on page 1. (default: 'open violations' and the zone)")
        var title: String?

        @Option(name: [.short, .long], help: "Folder to write the field package into.")
        var output: String

        func validate() throws {
            for status in self.status where status != "open" && ViolationStatus(rawValue: status) == nil {
                throw ValidationError("--status \(status): choose open, \(ViolationStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let since, since.count != 10 || Int(since.prefix(4)) == nil {
                throw ValidationError("--since \(since): write the date as YYYY-MM-DD")
            }
        }

        func run() throws {
            let (location, fromEnvironment) = try registryLocation(db)
            let chosen = status.isEmpty ? ["open"] : status
            let statuses = Set(chosen.flatMap { $0 == "open" ? Array(ViolationStatus.open) : [ViolationStatus(rawValue: $0)!] })
            var rows: [ViolationRecord]
            do { rows = try existingRegistry(location, fromEnvironment: fromEnvironment).violations(statuses: statuses, since: since) } catch {
                throw registryFailure(error, path: location)
            }
            if let zone {
                let all = rows.count
                rows = rows.filter { FieldPackExport.isIn(zone: zone, $0) }
                if rows.isEmpty && all > 0 {
                    FileHandle.standardError.write(Data("landwatch: none of the \(all) violations lies in zone '\(zone)': the field package says so\n".utf8))
                }
            }
            let heading = title ?? (chosen.joined(separator: ", ") + " violations" + (zone.map { " in \($0)" } ?? ""))
            do { try FieldPackExport.write(rows, title: heading, to: output) } catch {
                throw fail([error.description], code: LandwatchExit.code(for: error.category))
            }
            let folder = URL(fileURLWithPath: output).path
            print("landwatch: field package of \(rows.count) violation\(rows.count == 1 ? "" : "s"): \(folder)/ (\(FieldPack.files.joined(separator: ", ")))")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Record the inspectors' field checks (外业核查) from a CSV (UTF-8), GeoPackage or KML: one row per violation id.",
            discussion: """
            Columns: id, result (confirmed/确认违法, approved_late/补办, false_alarm/误报, demolished/已拆除, rectified/已整改), \
            date (YYYY-MM-DD), inspector, note, photos (file names separated by ';', beside the file or in --photos), \
            reason (for false_alarm: shadow, harvest, cloud, misregistration, greenhouse, other). Every bad row is one line \
            naming it; then nothing is applied (exit 65), or with --apply-good the good rows are (exit 2). The rows are \
            applied in one transaction; photos are copied into the registry's folder, photos/ID/.
            """)

        @Argument(help: "The field-check file.")
        var file: String

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        @Option(name: .long, help: "Folder of the photos (default: the file's folder).")
        var photos: String?

        @Option(name: .customLong("photo-store"), help: "Where photos are kept (default: photos/ beside a SQLite registry; needed with PostgreSQL).")
        var photoStore: String?

        @Flag(name: .customLong("apply-good"), help: "Apply the good rows even when some are bad.")
        var applyGood = false

        func run() throws {
            let (location, fromEnvironment) = try registryLocation(db)
            let checks: [FieldChecks.Check], problems: [String], store: any RegistryStore
            do {
                store = try existingRegistry(location, fromEnvironment: fromEnvironment)
                (checks, problems) = try FieldChecks.read(file, photos: photos, registry: store)
            } catch {
                throw registryFailure(error, path: location)
            }
            for problem in problems { FileHandle.standardError.write(Data("landwatch: \(problem)\n".utf8)) }
            if !problems.isEmpty && !applyGood {
                throw fail(["\(problems.count) bad row\(problems.count == 1 ? "" : "s") in \(file): nothing applied (--apply-good applies the \(checks.count) good ones)"],
                           code: LandwatchExit.invalidPipeline)
            }
            let folder: String
            if let photoStore { folder = photoStore } else if !Registries.isDatabaseURL(location) {
                folder = URL(fileURLWithPath: location).deletingLastPathComponent().appendingPathComponent("photos").path
            } else if checks.allSatisfy({ $0.photos.isEmpty }) {
                folder = FileManager.default.temporaryDirectory.path
            } else {
                throw fail(["the registry is a database: give --photo-store DIR for the photos"], code: LandwatchExit.usage)
            }
            do { try FieldChecks.apply(checks, to: store, photoStore: folder) } catch {
                throw registryFailure(error, path: location)
            }
            let photoCount = checks.reduce(0) { $0 + $1.photos.count }
            FileHandle.standardError.write(Data("landwatch: \(checks.count) field checks applied from \(file) (\(photoCount) photos into \(folder))\(problems.isEmpty ? "" : "; \(problems.count) bad rows not applied")\n".utf8))
            if !problems.isEmpty { throw ExitCode(2) }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Field-check results per rule, per zone and per month of detection: sent, checked, confirmed, false alarms by reason, precision.",
            discussion: "CSV (Excel) by default; --format html writes the same figures as a report section, in English or Chinese (--language zh).")

        @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
        var db: String?

        @Option(name: .long, help: "csv or html.")
        var format: String = "csv"

        @Option(name: .long, help: "en or zh (for --format html).")
        var language: String = "en"

        func validate() throws {
            guard ["csv", "html"].contains(format) else { throw ValidationError("--format \(format): choose csv or html") }
            guard ["en", "zh"].contains(language) else { throw ValidationError("--language \(language): choose en or zh") }
            if language != "en", format == "csv" { throw ValidationError("--language applies to --format html only (the CSV's columns are fixed)") }
        }

        func run() throws {
            let (location, fromEnvironment) = try registryLocation(db)
            let violations: [ViolationRecord]
            var checks: [String: StatusChange] = [:]
            do {
                let store = try existingRegistry(location, fromEnvironment: fromEnvironment)
                violations = try store.violations()
                let results: Set<ViolationStatus> = [.confirmed, .approvedLate, .falseAlarm, .demolished, .rectified]
                for v in violations {
                    if let last = try store.history(id: v.id).last(where: { $0.event == .status && results.contains($0.status) }) {
                        checks[v.id] = StatusChange(id: v.id, status: last.status, by: last.changed_by ?? "", reason: last.reason ?? "",
                                                    date: last.date, checkReason: last.reason_code)
                    }
                }
            } catch {
                throw registryFailure(error, path: location)
            }
            if format == "html" {
                print(FieldChecks.statsHTML(violations, checks: checks, chinese: language == "zh"), terminator: "")
            } else {
                print(FieldChecks.statsCSV(violations, checks: checks), terminator: "")
            }
        }
    }
}

/// The registry `--db` names, else `LANDWATCH_DB_URL`; a usage error when there is neither.
func registryLocation(_ db: String?) throws -> (location: String, fromEnvironment: Bool) {
    if let db { return (db, false) }
    if let url = ProcessInfo.processInfo.environment["LANDWATCH_DB_URL"] { return (url, true) }
    throw fail(["no registry: give --db FILE (or a postgres:// URL), or set LANDWATCH_DB_URL"], code: LandwatchExit.usage)
}

/// The registry at `location`; a file must exist: exporting from or dismissing in a mistyped path must not create one.
func existingRegistry(_ location: String, fromEnvironment: Bool) throws -> any RegistryStore {
    if !Registries.isDatabaseURL(location), !FileManager.default.fileExists(atPath: location) {
        throw RegistryError("there is no registry at \(location) (landwatch nightly creates it, by default as <out>/registry.sqlite)")
    }
    return try Registries.open(location, fromEnvironment: fromEnvironment)
}

/// One line for a registry that cannot be used: exit 75 when another process holds it (try again later), 66 otherwise.
func registryFailure(_ error: Error, path: String) -> ExitCode {
    let problem = RegistryError(error, registry: Registries.isDatabaseURL(path) ? PostgresRegistry.redacted(path) : path)
    return fail([problem.description], code: problem.isLocked ? LandwatchExit.resources : LandwatchExit.inputUnavailable)
}
