import Foundation
import LandwatchPipeline
import LandwatchStages
import XCTest
import LandwatchTestSupport

/// The domain documents in docs/ are there, linked from the README, and name every spectral index the registry has.
final class DocumentationTests: XCTestCase {
    static let root = TestPaths.repository

    func testTheReadmeLinksEveryDomainDocumentAndEachExists() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for name in ["terms", "rules", "change-detection", "formulas", "qa-bits"] {
            XCTAssertTrue(readme.contains("(docs/\(name).md)"), "README does not link docs/\(name).md")
            XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("docs/\(name).md").path), name)
        }
    }

    /// A new index is one type added to `spectralIndices`; this test asks for its row in docs/formulas.md.
    func testEveryRegisteredIndexHasItsFormulaDocumented() throws {
        let formulas = try String(contentsOf: Self.root.appendingPathComponent("docs/formulas.md"), encoding: .utf8)
        for formula in spectralIndices {
            XCTAssertNotNil(standardRegistry.type(for: formula.id), "\(formula.id) is not registered")
            XCTAssertTrue(formulas.contains("| `\(formula.id)` |"), "docs/formulas.md has no row for \(formula.id)")
        }
        let registered = standardRegistry.ids.filter { $0.hasPrefix("index.") }
        XCTAssertEqual(Set(registered), Set(spectralIndices.map { $0.id }))
    }
}
