import Foundation
import LandwatchTestSupport
import XCTest

/// The README's Layout table names every module of `Package.swift` once, with exactly the modules and products it
/// depends on: the table cannot drift from the manifest.
final class LayoutTests: XCTestCase {
    struct Target: Equatable {
        var name: String
        var dependencies: Set<String>
    }

    /// The non-test targets of the manifest and their dependencies (target names and product names), read from its
    /// text: every `.target(`, `.executableTarget(` and `.systemLibrary(` call, with its `name:` and `dependencies: [...]`.
    static func manifestTargets(_ text: String) -> [Target] {
        var targets: [Target] = []
        let characters = Array(text)
        var index = 0
        func call(at start: Int) -> String {
            var depth = 0, end = start
            while end < characters.count {
                if characters[end] == "(" { depth += 1 }
                if characters[end] == ")" { depth -= 1; if depth == 0 { break } }
                end += 1
            }
            return String(characters[start...min(end, characters.count - 1)])
        }
        let pattern = try! NSRegularExpression(pattern: #"\.(target|executableTarget|systemLibrary)\("#)
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let open = text.distance(from: text.startIndex, to: Range(match.range, in: text)!.upperBound) - 1
            guard open >= index else { continue }
            let body = call(at: open)
            index = open + 1
            guard let name = Self.firstCapture(#"name:\s*"([^"]+)""#, in: body) else { continue }
            var dependencies: Set<String> = []
            if let range = body.range(of: "dependencies:") {
                let rest = body[range.upperBound...]
                if let open = rest.firstIndex(of: "["), let close = rest[open...].firstIndex(of: "]") {
                    // `.product(name: "Logging", package: "swift-log")`: the product's name, not its package.
                    let list = String(rest[open...close]).replacingOccurrences(
                        of: #"package:\s*"[^"]*""#, with: "", options: .regularExpression)
                    let strings = try! NSRegularExpression(pattern: #""([^"]+)""#)
                    for m in strings.matches(in: list, range: NSRange(list.startIndex..., in: list)) {
                        dependencies.insert(String(list[Range(m.range(at: 1), in: list)!]))
                    }
                }
            }
            targets.append(Target(name: name, dependencies: dependencies))
        }
        return targets
    }

    static func firstCapture(_ pattern: String, in text: String) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }

    /// The rows of the README's Layout table: the modules of the first column, the names in backticks of the last.
    static func readmeRows(_ readme: String) -> [(modules: [String], imports: Set<String>)] {
        guard let start = readme.range(of: "## Layout\n") else { return [] }
        let section = readme[start.upperBound...].prefix { _ in true }
        var rows: [(modules: [String], imports: Set<String>)] = []
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") { break }
            guard line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            func ticked(_ cell: String) -> [String] {
                cell.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            }
            rows.append((ticked(cells[1]), Set(ticked(cells[cells.count - 2]))))
        }
        return rows
    }

    func testTheReadmeLayoutTableMatchesThePackageManifest() throws {
        let manifest = try String(contentsOf: TestPaths.repository.appendingPathComponent("Package.swift"), encoding: .utf8)
        let readme = try String(contentsOf: TestPaths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let targets = Self.manifestTargets(manifest)
        XCTAssertGreaterThan(targets.count, 15, "the manifest's targets were not found")
        let rows = Self.readmeRows(readme)
        var documented: [String: Set<String>] = [:]
        for row in rows {
            for module in row.modules {
                XCTAssertNil(documented[module], "README's Layout table lists \(module) twice")
                documented[module] = row.imports
            }
        }
        for target in targets {
            guard let imports = documented[target.name] else {
                XCTFail("README's Layout table has no row for the module \(target.name) of Package.swift")
                continue
            }
            // A row shared by several modules (the C libraries) lists no imports.
            XCTAssertEqual(imports, target.dependencies,
                           "README's Layout table: \(target.name) imports \(imports.sorted()), Package.swift says \(target.dependencies.sorted())")
        }
        let manifestNames = Set(targets.map(\.name))
        for module in documented.keys where !manifestNames.contains(module) {
            XCTFail("README's Layout table lists \(module), which Package.swift does not have")
        }
    }

    func testTheManifestReaderFindsProductsAndTargets() {
        let text = """
            .target(name: "A", dependencies: ["B", .product(name: "Logging", package: "swift-log")]),
            .systemLibrary(name: "C", pkgConfig: "c"),
            .executableTarget(name: "d", dependencies: ["A"]),
            """
        XCTAssertEqual(Self.manifestTargets(text), [
            Target(name: "A", dependencies: ["B", "Logging"]), Target(name: "C", dependencies: []),
            Target(name: "d", dependencies: ["A"]),
        ])
    }
}
