import ArgumentParser
import Foundation
import LandwatchPipeline
import LandwatchStages

/// `landwatch stages`: the registry, printed from the stage types' own declarations.
struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "List the stage types with their inputs, output and options."
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        print(json ? StageCatalog.json(standardRegistry) : StageCatalog.text(standardRegistry), terminator: "")
    }
}

/// Renders the stage registry for people (text) and programs (JSON).
public enum StageCatalog {
    public static func text(_ registry: StageRegistry) -> String {
        var out = ""
        for type in registry.all {
            let d = type.descriptor
            out += "\(d.id)  (\(d.evaluation.rawValue))\n    \(d.summary)\n"
            if !d.inputs.isEmpty {
                out += "    inputs: " + d.inputs.map { "\($0.name) (\($0.kinds.map(\.rawValue).joined(separator: "|")))" }
                    .joined(separator: ", ") + "\n"
            }
            out += "    output: \(d.output?.rawValue ?? "files only")\n"
            for option in d.options {
                var line = "    - \(option.name): \(option.type.name)"
                if let value = option.defaultValue { line += " = \(value.text)" } else if option.isRequired { line += " (required)" }
                out += line + "\n        \(option.help)\n"
            }
            out += "\n"
        }
        return out
    }

    public static func json(_ registry: StageRegistry) -> String {
        let entries: [[String: Any]] = registry.all.map { type in
            let d = type.descriptor
            return [
                "id": d.id, "summary": d.summary, "evaluation": d.evaluation.rawValue,
                "output": d.output?.rawValue ?? NSNull(),
                "inputs": d.inputs.map { ["name": $0.name, "kinds": $0.kinds.map(\.rawValue), "help": $0.help] },
                "options": d.options.map { option -> [String: Any] in
                    var entry: [String: Any] = ["name": option.name, "type": option.type.name, "required": option.isRequired,
                                                "help": option.help]
                    if let value = option.defaultValue { entry["default"] = value.text }
                    if case .choice(let words) = option.type { entry["choices"] = words }
                    return entry
                },
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
