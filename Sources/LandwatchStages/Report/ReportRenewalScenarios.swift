import Foundation
import LandwatchOutputs
import LandwatchPipeline
import LandwatchRenewal
import LandwatchScenarios

/// The report's sections of the urban-renewal and scenario stages: each module renders its own section from its
/// typed result (``RenewalReport``, ``scenarioReportSection(_:maps:language:)``); the report reads the result the
/// stage wrote and places the section.
extension ReportBuilder {
    /// The sections of the renewal stages and of simulate.landuse that ran, in that order.
    mutating func renewalAndScenarioSections() throws -> [ReportDocument.Section] {
        let language: RenewalReport.Language = t == .zh ? .zh : .en
        var sections: [ReportDocument.Section] = []
        for stage in ran(HTMLReportStage.vacancy) {
            guard let result = try renewalResult(VacancyResult.self, file: "vacancy.json", of: stage) else { continue }
            sections.append(Self.section(id: "renewal-vacancy-\(stage.id)", RenewalReport.vacancySection(result, language: language)))
        }
        for stage in ran(HTMLReportStage.greenAccess) {
            guard let result = try renewalResult(GreenAccessResult.self, file: "access.json", of: stage) else { continue }
            sections.append(Self.section(id: "renewal-access-\(stage.id)", RenewalReport.greenAccessSection(result, language: language)))
        }
        for stage in ran(HTMLReportStage.candidates) {
            guard let result = try renewalResult(CandidatesResult.self, file: "candidates.json", of: stage) else { continue }
            sections.append(Self.section(id: "renewal-candidates-\(stage.id)",
                                         RenewalReport.candidatesSection(result, top: self.stage.topPatches, language: language)))
        }
        for stage in ran(HTMLReportStage.scenarios) {
            guard let file = outputs(of: stage.id).first(where: { $0.hasSuffix("/scenarios.json") }),
                  let data = FileManager.default.contents(atPath: absolute(file)) else { continue }
            let result: ScenarioSimulationResult
            do { result = try ScenarioSimulationResult.decode(data) } catch {
                throw RunError(.internal, "cannot read \(file), which \(stage.uses) wrote (\(error)); this is a bug in landwatch")
            }
            // The fragment links each scenario's map by its path in the output root; the report is a folder below.
            var fragment = scenarioReportSection(result, language: t.rawValue)
            for scenario in result.scenarios {
                fragment = fragment.replacingOccurrences(of: "href=\"\(ReportDocument.escape(scenario.map))\"",
                                                         with: "href=\"\(ReportDocument.escape(link(scenario.map)))\"")
            }
            sections.append(Self.section(id: "scenarios-\(stage.id)", fragment))
        }
        return sections
    }

    private func renewalResult<Result: RenewalProduct>(_ type: Result.Type, file name: String, of stage: StageDeclaration) throws -> Result? {
        guard let file = outputs(of: stage.id).first(where: { $0.hasSuffix("/" + name) }),
              let data = FileManager.default.contents(atPath: absolute(file)) else { return nil }
        do { return try Result.decode(data) } catch {
            throw RunError(.internal, "cannot read \(file), which \(stage.uses) wrote (\(error)); this is a bug in landwatch")
        }
    }

    /// A report section from a module's `<section><h2>title</h2>…</section>` fragment: its title, its body as HTML,
    /// and the body's text for report.md.
    static func section(id: String, _ fragment: String) -> ReportDocument.Section {
        var title = id
        var body = fragment
        if let open = fragment.range(of: "<h2>"), let close = fragment.range(of: "</h2>", range: open.upperBound..<fragment.endIndex) {
            title = Self.text(String(fragment[open.upperBound..<close.lowerBound]))
            body = String(fragment[close.upperBound...])
            if let end = body.range(of: "</section>", options: .backwards) { body = String(body[..<end.lowerBound]) }
        }
        return ReportDocument.Section(id: id, title: title, blocks: [.html(body, markdown: Self.text(body))])
    }

    /// The text of an HTML fragment: tags dropped (a row or paragraph end becomes a line end), entities decoded.
    static func text(_ html: String) -> String {
        var text = html.replacingOccurrences(of: "</tr>", with: "\n").replacingOccurrences(of: "</p>", with: "\n")
            .replacingOccurrences(of: "</td>", with: " | ").replacingOccurrences(of: "</th>", with: " | ")
            .replacingOccurrences(of: "</h3>", with: "\n")
        // Inline SVG charts carry no text worth mailing.
        while let start = text.range(of: "<svg"), let end = text.range(of: "</svg>", range: start.upperBound..<text.endIndex) {
            text.removeSubrange(start.lowerBound..<end.upperBound)
        }
        text = text.replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression)
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "\n\n")
    }
}
