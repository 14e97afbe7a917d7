import ArgumentParser
import Foundation
import LandwatchNightly
import LandwatchRegistry

/// `landwatch report --db REGISTRY`: the history report of a period from the registry alone.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the history report of a period from the registry: each zone's green coverage, development intensity and SUHI over the dates seen, and violations per month by status.",
        discussion: "Writes DIR/index.html and DIR/summary.json, whole or not at all (an earlier report in DIR is replaced only when the new one is complete).")

    @Option(name: .long, help: "Registry: a SQLite file or a postgres:// URL. (default: LANDWATCH_DB_URL)")
    var db: String?

    @Option(name: .long, help: "Only this zone (its id or its name in the zone layer).")
    var zone: String?

    @Option(name: .long, help: "First day of the period, YYYY-MM-DD. (default: the first night)")
    var from: String?

    @Option(name: .long, help: "Last day of the period, YYYY-MM-DD. (default: the last night)")
    var to: String?

    @Option(name: .long, help: "en or zh.")
    var language = "en"

    @Option(name: .long, help: "The report folder to write.")
    var out: String

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, value.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
                throw ValidationError("\(name) \(value): write the date as YYYY-MM-DD")
            }
        }
        if let from, let to, from > to { throw ValidationError("--from \(from) is after --to \(to)") }
        if language != "en" && language != "zh" { throw ValidationError("--language \(language): choose en or zh") }
    }

    func run() throws {
        let (location, fromEnvironment) = try registryLocation(db)
        let registry: any RegistryStore
        do { registry = try existingRegistry(location, fromEnvironment: fromEnvironment) } catch {
            throw registryFailure(error, path: location)
        }
        do {
            try History.writeReport(registry: registry, zone: zone, from: from, to: to, language: language, folder: out)
        } catch let problem as History.Problem {
            throw fail([problem.description], code: LandwatchExit.inputUnavailable)
        } catch where RegistryError.concerns(error) {
            throw registryFailure(error, path: location)
        } catch {
            throw fail(["report: \(out) could not be written: \(error.localizedDescription)"], code: LandwatchExit.outputNotWritable)
        }
        FileHandle.standardError.write(Data("landwatch: history report written to \(out)/index.html\n".utf8))
    }
}
