import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchOutputs
import LandwatchProducts
import LandwatchRenewal
import LandwatchScenarios

/// `report.html`: one self-contained report folder (index.html with inline CSS and images beside it, report.md with
/// the same content for email, summary.json), written after every other stage from the run record and the files the
/// run wrote. Each section appears when its stage ran, and says so when it did not.
public struct HTMLReportStage: ReportStage {
    public static let path = Option<String>("path", default: "report", help: "report folder, under the output directory")
    static let language = Option<ReportLanguage>("language", default: .en, help: "labels in English (en) or Chinese (zh)")
    public static let title = Option<String?>("title", help: "the report's title (default: the pipeline's name)")
    public static let topPatches = Option<Int>("top_patches", default: 10, range: 1...1000, help: "patches listed per rule")
    public static let history = Option<String?>(
        "history", .inputPath,
        help: "earlier runs of this pipeline: a run's output folder, or a folder of them (each with its run.json); the report charts each zone over their dates and this run's")
    public static let place = Option<String?>(
        "place", help: "the place named in the title (default: the zones' names when there are up to four, else the grid's centre)")

    // What the report reads when the run has it, each the stages of one type.
    static let rasters = ReportInput("rasters", of: WriteRasterStage.self, help: "rasters written: the maps of the classes shown")
    static let ruleClasses = ReportInput("rule_classes", of: RuleClassifierStage.self, help: "land cover by rules: class areas and maps")
    static let modelClasses = ReportInput("model_classes", of: ApplyModelStage.self, help: "land cover by a model: class areas and maps")
    static let changes = ReportInput("changes", of: ComplianceDiffStage.self, help: "change against the plan: the change matrix and thresholds")
    static let violations = ReportInput("violations", of: WriteViolationsStage.self, help: "the violation list: its patches, by rule")
    static let green = ReportInput("green", of: GreenCoverageStage.self, help: "green coverage per zone")
    static let intensity = ReportInput("intensity", of: DevelopmentIntensityStage.self, help: "development intensity per zone")
    static let heatIsland = ReportInput("heat_island", of: HeatIslandStage.self, help: "heat island per zone")
    static let accuracy = ReportInput("accuracy", of: AccuracyStage.self, help: "accuracy against reference data")
    static let vacancy = ReportInput("vacancy", of: VacancyStage.self, help: "vacant and idle land per zone")
    static let greenAccess = ReportInput("green_access", of: GreenAccessStage.self, help: "green-space access per zone")
    static let candidates = ReportInput("candidates", of: CandidatesStage.self, help: "pocket-park candidates, ranked")
    static let scenarios = ReportInput("scenarios", of: SimulateLandUseStage.self, help: "simulated scenarios compared")
    public static let optionalInputs = [rasters, ruleClasses, modelClasses, changes, violations, green, intensity, heatIsland, accuracy,
                                        vacancy, greenAccess, candidates, scenarios]

    public static let descriptor = StageDescriptor(
        id: "report.html",
        summary: "Write an HTML and Markdown report (maps, charts, tables) of everything the run produced",
        evaluation: .report,
        output: nil,
        keys: [path, language, title, topPatches, place, history])

    public let path: String
    let language: ReportLanguage
    public let title: String?
    public let topPatches: Int
    public let place: String?
    public let history: String?
    /// Where the run may read (the earlier runs' files are checked against it, links resolved); nil: anywhere.
    let readRoots: ReadRoots?

    public init(options: StageOptions) throws(StageProblem) {
        history = options[Self.history]
        readRoots = options.readRoots
        path = options[Self.path]
        language = options[Self.language]
        title = options[Self.title]
        topPatches = options[Self.topPatches]
        place = options[Self.place]
    }

    public var outputPaths: [String] { [path] }

    /// The zones a chart of `values` shows (see ``ReportBuilder/chartRows(values:flagged:limit:)``), for tests.
    public static func chartRows(values: [Double], flagged: Set<Int>) -> [Int] { ReportBuilder.chartRows(values: values, flagged: flagged) }

    /// The row class of a zone in the intensity table and chart, from the levels metrics.intensity wrote:
    /// `over` when either level is exceeded, `warning` when either is in warning, else none.
    public static func intensityHighlight(level: String?, eco: String?) -> String? {
        let levels = [level, eco].compactMap { $0.flatMap(DevelopmentIntensityStage.Level.init(rawValue:)) }
        if levels.contains(.exceeded) { return "over" }
        if levels.contains(.warning) { return "warning" }
        return nil
    }

    public func run(record: RunRecord, plan: RunPlan, context: RunContext) throws -> [String] {
        let folder = try AtomicDirectory(target: try context.outputRoot.resolve(path))
        do {
            var builder = ReportBuilder(stage: self, record: record, plan: plan, context: context, folder: folder)
            let document = try builder.build()
            try Data(document.html().utf8).write(to: URL(fileURLWithPath: try folder.path("index.html")))
            try Data(document.markdown().utf8).write(to: URL(fileURLWithPath: try folder.path("report.md")))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(builder.summary).write(to: URL(fileURLWithPath: try folder.path("summary.json")))
            try folder.commit()
            let written = ["index.html", "report.md", "summary.json"] + builder.files
            context.logger.info("report.html: \(path)/index.html (\(document.sections.count) sections)")
            return written.map { "\(path)/\($0)" }
        } catch {
            folder.abort()
            throw error
        }
    }
}




/// What summary.json holds: the figures of each section, for programs.
struct ReportSummary: Encodable {
    var pipeline: String
    /// The run's status when the report was written: the report runs last, after every other stage finished, and is
    /// published with the run or not at all, so a report that is read belongs to a run that `succeeded` (the run
    /// record says `running` at that moment only because the report itself is still being written).
    var status: String
    var title: String = ""
    /// enforcement, environment, both (or other).
    var kind: String = ""
    var dates: [String] = []
    var written: String = ""
    var language: String
    var sections: [String] = []
    var classAreasKm2: [String: [String: Double]] = [:]
    var violations: Int?
    var violationAreaM2: Double?
    var violationsBySeverity: [String: SeverityTotal] = [:]
    var zonesOverLimit: [String] = []
    var zonesAtWarning: [String] = []
    var greenCoverage: Double?
    var greenCoverageChangePoints: Double?
    var suhiC: Double?
    var heatIslandIsProxy: Bool?
    /// The true-colour map: `pair` (the two dates compared, side by side), `single`, or `none` (no imagery with red,
    /// green and blue was read).
    var trueColour: String?
    /// The dates the "over time" section charts (earlier runs or nights and this run), nil when the run has no history.
    var historyDates: [String]?
    var overallAccuracy: Double?
    var kappa: Double?
}

struct SeverityTotal: Encodable {
    var patches: Int
    var areaM2: Double
    var areaMu: Double
}

struct ReportBuilder {
    let stage: HTMLReportStage
    let record: RunRecord
    let plan: RunPlan
    var pipeline: Pipeline { plan.pipeline }
    let context: RunContext
    let folder: AtomicDirectory
    var files: [String] = []
    var summary: ReportSummary
    /// What the summary box says, gathered while the sections are built.
    var facts = ReportFacts()
    /// The maps, gathered from the sections into one part after the findings.
    var maps: [ReportDocument.Block] = []
    /// The violation list's patches, for the true-colour map.
    var violationEntries: [ViolationList.Entry] = []
    /// The later date of the violation list, the date this run adds to a history.
    var listAfterDate: String?
    /// The zones' names, for the title.
    var zoneNames: [String] = []
    var t: ReportLanguage { stage.language }

    init(stage: HTMLReportStage, record: RunRecord, plan: RunPlan, context: RunContext, folder: AtomicDirectory) {
        self.stage = stage
        self.record = record
        self.plan = plan
        self.context = context
        self.folder = folder
        summary = ReportSummary(pipeline: record.pipelineName, status: record.status == "running" ? "succeeded" : record.status,
                                language: stage.language.rawValue)
    }

    // MARK: Looking things up in the run

    /// The stages of one of the report's optional inputs that ran.
    func ran(_ input: ReportInput) -> [StageDeclaration] {
        precondition(HTMLReportStage.optionalInputs.contains(input), "report input \(input.name) is not declared in optionalInputs")
        return input.stages(in: plan, record: record)
    }

    func outputs(of id: String) -> [String] { record.stages.first { $0.id == id }?.outputs ?? [] }

    /// The typed product a stage wrote as its JSON output, nil when it wrote none; one it cannot decode is a bug.
    func product<Product: StageProduct>(_ type: Product.Type, of stage: StageDeclaration) throws -> Product? {
        guard let file = outputs(of: stage.id).first(where: { $0.hasSuffix(".json") }),
              let data = FileManager.default.contents(atPath: absolute(file)) else { return nil }
        do { return try Product.decode(data) } catch {
            throw RunError(.internal, "cannot read \(file), which \(stage.uses) wrote (\(error)); this is a bug in landwatch")
        }
    }

    /// The raster a write.raster stage wrote of stage `id`, relative to the output root.
    func writtenRaster(of id: String) -> String? {
        for writer in ran(HTMLReportStage.rasters) where writer.inputs.contains(where: { $0.stageID == id }) {
            if let file = outputs(of: writer.id).first(where: { $0.hasSuffix(".tif") }) { return file }
        }
        return nil
    }

    /// Where an output of the run is read: the staged copy until the run publishes (the report is part of the run).
    func absolute(_ relative: String) -> String { StagedOutputs.located(context.outputRoot.url.appendingPathComponent(relative).path) }

    /// A link from the report folder to an output of the run.
    func link(_ relative: String) -> String {
        String(repeating: "../", count: stage.path.split(separator: "/").count) + relative
    }

    static func fmt(_ value: Double?, _ digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(digits)f", value)
    }

    mutating func saveImage(_ quicklook: Quicklook, name: String) throws -> String {
        let relative = "images/\(name).png"
        try quicklook.writePNG(to: try folder.path(relative))
        files.append(relative)
        return relative
    }

    mutating func saveChart(_ svg: String, name: String) throws -> String {
        let relative = "charts/\(name).svg"
        try Data(svg.utf8).write(to: URL(fileURLWithPath: try folder.path(relative)))
        files.append(relative)
        return relative
    }

    var legend: Legend { pipeline.legend }

    /// The acquisition date of the imagery a stage derives from (the first reader upstream of it).
    func sceneDate(upstreamOf id: String) -> String? {
        var queue = [id], seen = Set<String>()
        while !queue.isEmpty {
            let current = queue.removeFirst()
            guard seen.insert(current).inserted, let declaration = pipeline.stage(current) else { continue }
            if ["read.scene", "read.landsat", "read.series"].contains(declaration.uses), let date = plan.products[current]?.date { return date }
            // A relative normalisation's reference is another date: its subject is the imagery of this one.
            queue += declaration.inputs.filter { $0.port != "reference" }.map(\.stageID)
        }
        return nil
    }

    func className(_ code: Int) -> String {
        guard let item = legend.class(code: code) else { return "\(code)" }
        return t == .zh ? "\(item.nameZH) (\(code))" : "\(item.name) (\(code))"
    }

    // MARK: Building

    /// The report in the order of a planner's questions: the summary box; the findings (violations, zones against
    /// their limits, green coverage, heat, land cover and its change, the renewal and scenario sections); the maps;
    /// the method (accuracy, thresholds and rules); the provenance (files, hashes, versions, timings) as an appendix.
    mutating func build() throws -> ReportDocument {
        var findings: [ReportDocument.Section] = []
        if let section = try violations() { findings.append(section) }
        if let section = try intensity() { findings.append(section) }
        if let section = try green() { findings.append(section) }
        if let section = try heatIsland() { findings.append(section) }
        if let section = try landCover() { findings.append(section) }
        if let section = try changeMatrix() { findings.append(section) }
        findings += try renewalAndScenarioSections()
        findings += try overTime()
        var method: [ReportDocument.Section] = []
        if let section = try accuracy() { method.append(section) }
        method.append(rulesSection())
        var sections = [summarySection()]
        if findings.isEmpty {
            sections.append(.init(id: "nothing", title: t("nothing"), blocks: [.paragraph(t("nothing.text"))]))
        }
        sections += findings
        maps = try trueColourMaps(patches: violationEntries) + maps
        maps.insert(try interactiveMap(patches: violationEntries), at: 0)
        sections.append(.init(id: "maps", title: t("maps"), blocks: maps))
        sections += method
        sections.append(runSection())
        let title = self.title(zoneNames: zoneNames)
        let formatter = ISO8601DateFormatter()
        var document = ReportDocument(language: t, title: title,
                                      subtitle: "\(record.pipelineName) · \(t("written")) \(formatter.string(from: Date())) · landwatch \(record.landwatchVersion)")
        document.sections = sections
        summary.sections = sections.map(\.id)
        summary.title = title
        summary.kind = reportKind
        summary.dates = sceneDates
        summary.written = formatter.string(from: Date())
        summary.violationsBySeverity = Dictionary(uniqueKeysWithValues: facts.bySeverity.map {
            ($0.severity, SeverityTotal(patches: $0.patches, areaM2: $0.areaM2, areaMu: $0.areaM2 / 666.67))
        })
        summary.zonesOverLimit = Array(Set(facts.zonesFlagged.filter { $0.level == .exceeded }.map(\.zone))).sorted()
        summary.zonesAtWarning = Array(Set(facts.zonesFlagged.filter { $0.level == .warning }.map(\.zone))).sorted()
        summary.greenCoverageChangePoints = facts.greenChangePoints
        summary.suhiC = facts.suhiC
        return document
    }

    func runSection() -> ReportDocument.Section {
        var section = ReportDocument.Section(id: "provenance", title: t("provenance"))
        let formatter = ISO8601DateFormatter()
        section.blocks.append(.table(.init(header: [t("option"), t("value")], rows: [
            [t("pipeline"), record.pipelineName], [t("file"), record.pipeline], [t("sha"), record.pipelineSHA256],
            [t("versions"), "landwatch \(record.landwatchVersion), GDAL \(record.gdalVersion)"],
            [t("grid"), record.grid.map { "\($0.crs), \($0.width) × \($0.height) px" } ?? "–"],
            [t("started"), formatter.string(from: record.started)],
            [t("finished"), formatter.string(from: record.finished ?? Date())],
        ])))
        if !record.inputs.isEmpty {
            section.blocks.append(.table(.init(header: [t("inputs"), t("bytes")], rows: record.inputs.map { [$0.path, String($0.bytes)] },
                                               numeric: [1])))
        }
        // The imagery: sensor, date, and the share of its pixels masked as cloud.
        var scenes: [[String]] = []
        for id in pipeline.topologicalOrder {
            guard let declaration = pipeline.stage(id), ["read.scene", "read.landsat", "read.series"].contains(declaration.uses),
                  let product = plan.products[id] else { continue }
            let sensor = (declaration.instance as? ReadSceneStage)?.sensor?.id
                ?? (declaration.instance as? ReadLandsatStage).map { URL(fileURLWithPath: $0.mtlPath).lastPathComponent.components(separatedBy: "_").prefix(1).joined() }
                ?? "–"
            var cloud = "–"
            for masking in pipeline.topologicalOrder.compactMap({ pipeline.stage($0) }) where masking.uses == "mask.apply"
                && masking.inputs.contains(where: { $0.port == "scene" && $0.stageID == id }) {
                if let counts = record.stages.first(where: { $0.id == masking.id })?.counts,
                   let masked = counts["masked"], let clear = counts["clear"], masked + clear > 0 {
                    cloud = Self.fmt(Double(masked) / Double(masked + clear) * 100) + " %"
                }
            }
            scenes.append([id, sensor, product.date ?? "–", product.bandNames.joined(separator: ", "), cloud, product.sourcePath ?? "–"])
        }
        if !scenes.isEmpty {
            section.blocks.append(.table(.init(header: [t("stage"), t("sensor"), t("date"), t("bands"), t("cloud"), t("file")], rows: scenes)))
        }
        let rows = record.stages.map { timing -> [String] in
            let counts = (timing.counts ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return [timing.id, timing.uses, Self.fmt(timing.finished.timeIntervalSince(timing.started), 2), counts]
        }
        section.blocks.append(.table(.init(header: [t("stage"), t("type"), t("seconds"), t("counts")], rows: rows, numeric: [2])))
        return section
    }

    mutating func landCover() throws -> ReportDocument.Section? {
        let classifiers = ran(HTMLReportStage.ruleClasses) + ran(HTMLReportStage.modelClasses)
        guard !classifiers.isEmpty else { return nil }
        var section = ReportDocument.Section(id: "landcover", title: t("landcover"))
        for classifier in classifiers {
            guard let raster = writtenRaster(of: classifier.id) else {
                section.blocks.append(.note("\(classifier.id): \(t("change.unavailable"))"))
                continue
            }
            var quicklook = try Quicklook.classes(path: absolute(raster), legend: legend)
            let planLegend = drawPlan(on: &quicklook, raster: raster)
            quicklook.drawNorthArrow()
            quicklook.drawScaleBar()
            let classLegend = legend.classes.map { (color: $0.color, label: className($0.code)) }
            quicklook.drawLegend(classLegend + planLegend, outlines: planLegend.count)
            let image = try saveImage(quicklook, name: "landcover-\(classifier.id)")
            let counts = try Self.classCounts(absolute(raster))
            let pixelArea = Self.pixelArea(absolute(raster))
            let total = counts.values.reduce(0, +)
            var rows: [[String]] = []
            var areas: [String: Double] = [:]
            for (code, count) in counts.sorted(by: { $0.key < $1.key }) {
                let km2 = Double(count) * pixelArea / 1e6
                areas[legend.name(of: code)] = km2
                rows.append([className(code), String(count), Self.fmt(km2, 3), Self.fmt(km2 * 1500, 0),
                             Self.fmt(Double(count) / Double(max(total, 1)) * 100, 1) + " %"])
            }
            summary.classAreasKm2[classifier.id] = areas
            let date = classifier.inputs.first.flatMap { sceneDate(upstreamOf: $0.stageID) }
            maps.append(.figure(.init(file: image, caption: "\(t("map.landcover"))" + (date.map { " \($0)" } ?? "") + " (\(classifier.id))",
                                                legend: classLegend + planLegend,
                                                width: quicklook.width, height: quicklook.height)))
            section.blocks.append(.paragraph("\(t("landcover"))" + (date.map { " \($0)" } ?? "") + " (\(classifier.id))"))
            section.blocks.append(.table(.init(header: [t("class"), t("pixels"), t("area.km2"), t("area.mu"), t("share")], rows: rows,
                                               numeric: [1, 2, 3, 4])))
        }
        return section
    }

    /// Pixels per class code over the whole raster, read by strips (bounded memory).
    static func classCounts(_ path: String) throws -> [Int: Int] {
        let dataset = try Dataset.open(path)
        let band = try dataset.band(1)
        var counts: [Int: Int] = [:]
        var row = 0
        while row < dataset.height {
            let rows = min(256, dataset.height - row)
            for v in try band.read(Window(colOffset: 0, rowOffset: row, width: dataset.width, height: rows)) where v.isFinite && v > 0 {
                counts[Int(v), default: 0] += 1
            }
            row += rows
        }
        return counts
    }

    static func pixelArea(_ path: String) -> Double {
        guard let dataset = try? Dataset.open(path), let g = dataset.geoTransform else { return 0 }
        return abs(g.pixelWidth * g.pixelHeight)
    }

    mutating func changeMatrix() throws -> ReportDocument.Section? {
        guard let diff = ran(HTMLReportStage.changes).first else { return nil }
        var section = ReportDocument.Section(id: "change", title: t("change"))
        guard let before = diff.inputs.first(where: { $0.port == "before" || $0.port == "landuse" }).flatMap({ writtenRaster(of: $0.stageID) }),
              let after = diff.inputs.first(where: { $0.port == "after" }).flatMap({ writtenRaster(of: $0.stageID) }) else {
            section.blocks.append(.note(t("change.unavailable")))
            return section
        }
        let a = try Dataset.open(absolute(before)), b = try Dataset.open(absolute(after))
        guard a.width == b.width, a.height == b.height else {
            section.blocks.append(.note(t("change.unavailable")))
            return section
        }
        var matrix: [Int: [Int: Int]] = [:]
        var row = 0
        while row < a.height {
            let rows = min(256, a.height - row)
            let window = Window(colOffset: 0, rowOffset: row, width: a.width, height: rows)
            let x = try a.band(1).read(window), y = try b.band(1).read(window)
            for i in x.indices where x[i].isFinite && y[i].isFinite && x[i] > 0 && y[i] > 0 {
                matrix[Int(x[i]), default: [:]][Int(y[i]), default: 0] += 1
            }
            row += rows
        }
        let codes = Set(matrix.keys).union(matrix.values.flatMap(\.keys)).sorted()
        let km2 = Self.pixelArea(absolute(after)) / 1e6
        let rows = codes.map { from in [className(from)] + codes.map { to in Self.fmt(Double(matrix[from]?[to] ?? 0) * km2, 3) } }
        section.blocks.append(.paragraph("\(t("before")): \(before) · \(t("after")): \(after) · \(t("area.km2"))"))
        section.blocks.append(.table(.init(header: [t("from.to")] + codes.map(className), rows: rows, numeric: Set(1...max(codes.count, 1)))))
        return section
    }

    mutating func violations() throws -> ReportDocument.Section? {
        guard let writer = ran(HTMLReportStage.violations).first else { return nil }
        var section = ReportDocument.Section(id: "violations", title: t("violations"))
        let files = outputs(of: writer.id)
        guard let summaryFile = files.first(where: { $0.hasSuffix("/" + ViolationSummary.fileName) }) else {
            section.blocks.append(.note(t("not.run")))
            return section
        }
        let violationSummary: ViolationSummary
        do { violationSummary = try ViolationSummary.read(URL(fileURLWithPath: absolute(summaryFile))) } catch {
            throw RunError(.internal, "cannot read \(summaryFile), which \(writer.uses) wrote (\(error)); this is a bug in landwatch")
        }
        let count = violationSummary.violations
        summary.violations = count
        summary.violationAreaM2 = violationSummary.area_m2
        section.blocks.append(.table(.init(
            header: [t("rule"), t("severity"), t("patches"), t("area.m2"), t("area.mu")],
            rows: violationSummary.rules.map { rule in
                [rule.code + " " + (t == .zh ? rule.name_zh : rule.name), t("severity.\(rule.severity)"), String(rule.patches),
                 Self.fmt(rule.area_m2, 0), Self.fmt(rule.area_mu, 2)]
            }, numeric: [2, 3, 4])))
        // The typed list write.violations always writes (whatever its formats), not one of the formats parsed back.
        var entries: [ViolationList.Entry] = []
        if let listFile = files.first(where: { $0.hasSuffix("/" + ViolationList.fileName) }) {
            do {
                let list = try ViolationList.read(URL(fileURLWithPath: absolute(listFile)))
                entries = list.violations
                listAfterDate = list.after_date
            } catch {
                throw RunError(.internal, "cannot read \(listFile), which \(writer.uses) wrote (\(error)); this is a bug in landwatch")
            }
        }
        violationEntries = entries
        facts.violations = count
        facts.violationAreaM2 = violationSummary.area_m2
        facts.bySeverity = Self.bySeverity(entries)
        if count == 0 || entries.isEmpty {
            section.blocks.append(.paragraph(t("none.found")))
        } else {
            // The largest patches of each rule.
            var rows: [[String]] = []
            for rule in violationSummary.rules {
                let code = rule.code
                let matching = entries.filter { $0.rules.split(separator: ";").contains(Substring(code)) }
                    .sorted { $0.area_m2 > $1.area_m2 }
                    .prefix(stage.topPatches)
                for p in matching {
                    let before = (t == .zh ? p.before_class_zh : p.before_class_name) ?? ""
                    let after = (t == .zh ? p.after_class_zh : p.after_class_name) ?? ""
                    rows.append([code, String(p.rank), p.id, Self.fmt(p.area_m2, 0), "\(Self.fmt(p.lat, 6)), \(Self.fmt(p.lon, 6))",
                                 "\(before) → \(after)"])
                }
            }
            section.blocks.append(.paragraph(t("top")))
            section.blocks.append(.table(.init(header: [t("rule"), t("rank"), t("id"), t("area.m2"), t("location"), t("classes.change")],
                                               rows: rows, numeric: [1, 3])))
        }
        // Map: patches outlined over the after classification.
        if let diff = ran(HTMLReportStage.changes).first,
           let after = diff.inputs.first(where: { $0.port == "after" }).flatMap({ writtenRaster(of: $0.stageID) }) {
            var quicklook = try Quicklook.classes(path: absolute(after), legend: legend)
            if !entries.isEmpty, let crs = try Dataset.open(absolute(after)).spatialReference() {
                outlinePatches(on: &quicklook, crs: crs, entries: entries, (0, 0, 0))
            }
            let planLegend = drawPlan(on: &quicklook, raster: after)
            numberPatches(on: &quicklook, raster: after, entries: entries)
            quicklook.drawNorthArrow()
            quicklook.drawScaleBar()
            let classLegend = legend.classes.map { (color: $0.color, label: className($0.code)) }
            let patchLegend = entries.isEmpty ? [] : [(color: "#000000", label: t("legend.patches"))]
            quicklook.drawLegend(classLegend + planLegend + patchLegend, outlines: planLegend.count + patchLegend.count)
            let image = try saveImage(quicklook, name: "violations")
            let date = diff.inputs.first(where: { $0.port == "after" }).flatMap { sceneDate(upstreamOf: $0.stageID) }
            maps.append(.figure(.init(file: image, caption: t("map.violations") + (date.map { " (\($0))" } ?? ""),
                                                legend: classLegend + planLegend + patchLegend,
                                                width: quicklook.width, height: quicklook.height)))
        }
        section.blocks.append(.paragraph(t("files")))
        // The list's files are copied into the report folder (the same paths under it), so that sharing the folder alone keeps
        // its links (docs/report.md, Layout); not the typed violations.json, which programs find the run's list by.
        let shared = files.filter { !$0.hasSuffix("/" + ViolationList.fileName) }
        let bundled = try shared.map { try bundle($0) }
        section.blocks.append(.links(zip(shared, bundled).filter { !$0.0.contains("/chips/") }.map { ($0.0, $0.1) }))
        return section
    }

    func zoneName(_ zone: [String: Any]) -> String { zoneName(code: zone["zone"] as? String ?? "", name: zone["name"] as? String ?? "") }

    func zoneName(code: String, name: String) -> String { name.isEmpty ? code : (code == "scene" ? t("scene") : name) }

    mutating func green() throws -> ReportDocument.Section? {
        guard let stage = ran(HTMLReportStage.green).first else { return nil }
        var section = ReportDocument.Section(id: "green", title: t("green"))
        guard let result = try product(GreenCoverageResult.self, of: stage) else { return section }
        let zones = result.zones
        summary.greenCoverage = result.greenCoverageAllZones
        facts.greenCoverage = result.greenCoverageAllZones
        let withBaseline = zones.filter { $0.changePercentagePoints != nil && ($0.areaKm2 ?? 0) > 0 }
        if !withBaseline.isEmpty {
            let area = withBaseline.reduce(0) { $0 + ($1.areaKm2 ?? 0) }
            facts.greenChangePoints = withBaseline.reduce(0) { $0 + ($1.changePercentagePoints ?? 0) * ($1.areaKm2 ?? 0) } / area
        }
        let names = zones.map { zoneName(code: $0.zone, name: $0.name ?? "") }
        if zoneNames.isEmpty { zoneNames = names }
        let values = zones.map { ($0.greenCoverage ?? .nan) * 100 }
        let shown = Self.chartRows(values: values, flagged: [])
        let chart = try saveChart(SVGChart.bars(title: t("chart.green"), labels: shown.map { names[$0] }, values: shown.map { values[$0] },
                                                unit: "%", axis: t("axis.green"), maximum: 100),
                                  name: "green")
        section.blocks.append(.figure(.init(file: chart, caption: t("chart.green"), width: 760, height: SVGChart.height(rows: shown.count))))
        if shown.count < zones.count { section.blocks.append(.note(String(format: t("chart.topn"), shown.count, zones.count))) }
        section.blocks.append(.table(.init(
            header: [t("zone"), t("coverage"), t("baseline"), t("change.pp"), t("area.km2")],
            rows: zip(zones, names).map { z, name in
                [name, Self.fmt((z.greenCoverage ?? .nan) * 100), Self.fmt(z.baselineCoverage.map { $0 * 100 }),
                 Self.fmt(z.changePercentagePoints), Self.fmt(z.areaKm2, 3)]
            }, numeric: [1, 2, 3, 4])))
        return section
    }

    mutating func intensity() throws -> ReportDocument.Section? {
        guard let stage = ran(HTMLReportStage.intensity).first else { return nil }
        var section = ReportDocument.Section(id: "intensity", title: t("intensity"))
        guard let result = try product(IntensityResult.self, of: stage) else { return section }
        let zones = result.zones
        let names = zones.map { zoneName(code: $0.zone, name: $0.name ?? "") }
        var highlights: [Int: String] = [:]
        var colours: [String] = []
        facts.intensityRan = true
        if zoneNames.isEmpty { zoneNames = names }
        for (zone, name) in zip(zones, names) {
            if let level = zone.level, level == .exceeded || level == .warning {
                facts.zonesFlagged.append((name, "intensity.measure", zone.intensity.map { $0 * 100 }, level))
            }
            if let level = zone.ecoLevel, level == .exceeded || level == .warning {
                facts.zonesFlagged.append((name, "eco.measure", zone.ecoOccupation.map { $0 * 100 }, level))
            }
        }
        facts.zonesFlagged.sort { ($0.level == .exceeded ? 0 : 1, -($0.value ?? 0)) < ($1.level == .exceeded ? 0 : 1, -($1.value ?? 0)) }
        for (index, zone) in zones.enumerated() {
            highlights[index] = HTMLReportStage.intensityHighlight(level: zone.level?.rawValue, eco: zone.ecoLevel?.rawValue)
        }
        func css(_ level: IntensityResult.Level?) -> String? { level == .exceeded ? "over" : level == .warning ? "warning" : nil }
        func colour(_ level: IntensityResult.Level?) -> String { level == .exceeded ? "#c0392b" : level == .warning ? "#e6a700" : "#5b7083" }
        func lines(warning: Double?, limit: Double?) -> [SVGChart.Reference] {
            (warning.map { [SVGChart.Reference(value: $0 * 100, label: "\(t("warning.line")) \(Self.fmt($0 * 100, 2)) %", color: "#b7791f")] } ?? [])
                + (limit.map { [SVGChart.Reference(value: $0 * 100, label: "\(t("limit.line")) \(Self.fmt($0 * 100, 2)) %", color: "#c0392b")] } ?? [])
        }
        // Development intensity: each zone's built-up share against its warning value and limit.
        let intensities = zones.map { ($0.intensity ?? .nan) * 100 }
        let shown = Self.chartRows(values: intensities, flagged: Set(zones.indices.filter { css(zones[$0].level) != nil }))
        let chart = try saveChart(SVGChart.bars(
            title: t("chart.intensity"), labels: shown.map { names[$0] }, values: shown.map { intensities[$0] }, unit: "%",
            axis: t("axis.intensity"), colors: shown.map { colour(zones[$0].level) },
            references: lines(warning: zones.compactMap(\.warning).first, limit: zones.compactMap(\.limit).first),
            highlights: Dictionary(uniqueKeysWithValues: shown.enumerated().compactMap { row, zone in css(zones[zone].level).map { (row, $0) } })),
            name: "intensity")
        section.blocks.append(.figure(.init(file: chart, caption: t("chart.intensity"), width: 760, height: SVGChart.height(rows: shown.count))))
        if shown.count < zones.count { section.blocks.append(.note(String(format: t("chart.topn"), shown.count, zones.count))) }
        // Red-line occupation: its own chart, against the eco warning value and limit of metrics.intensity.
        let occupations = zones.map { ($0.ecoOccupation ?? .nan) * 100 }
        if occupations.contains(where: \.isFinite) {
            let shownEco = Self.chartRows(values: occupations, flagged: Set(zones.indices.filter { css(zones[$0].ecoLevel) != nil }))
            let ecoChart = try saveChart(SVGChart.bars(
                title: t("chart.eco"), labels: shownEco.map { names[$0] }, values: shownEco.map { occupations[$0] }, unit: "%",
                axis: t("axis.eco"), colors: shownEco.map { colour(zones[$0].ecoLevel) },
                references: lines(warning: option(stage, "eco_warning"), limit: option(stage, "eco_limit")),
                highlights: Dictionary(uniqueKeysWithValues: shownEco.enumerated().compactMap { row, zone in css(zones[zone].ecoLevel).map { (row, $0) } })),
                name: "redline-occupation")
            section.blocks.append(.figure(.init(file: ecoChart, caption: t("chart.eco"), width: 760, height: SVGChart.height(rows: shownEco.count))))
        }
        section.blocks.append(.table(.init(
            header: [t("zone"), t("intensity.value"), t("warning"), t("limit"), t("level"), t("eco"), t("eco.level")],
            rows: zip(zones, names).map { z, name in
                [name, Self.fmt((z.intensity ?? .nan) * 100), Self.fmt(z.warning.map { $0 * 100 }),
                 Self.fmt(z.limit.map { $0 * 100 }), t("level.\(z.level?.rawValue ?? "unknown")"),
                 Self.fmt(z.ecoOccupation.map { $0 * 100 }, 2), t("level.\(z.ecoLevel?.rawValue ?? "unknown")")]
            }, highlights: highlights, numeric: [1, 2, 3, 5])))
        return section
    }

    /// A number option of a stage as the run used it (written or default).
    func option(_ stage: StageDeclaration, _ name: String) -> Double? {
        switch stage.options[name] {
        case .number(let value)?: return value
        case .integer(let value)?: return Double(value)
        default: return nil
        }
    }

    /// The rows a chart shows: all of them up to 25; beyond, the flagged zones and then the largest values, up to 25
    /// (the table below lists every zone), in the zones' order.
    static func chartRows(values: [Double], flagged: Set<Int>, limit: Int = 25) -> [Int] {
        guard values.count > limit else { return Array(values.indices) }
        let ranked = values.indices.sorted { a, b in
            (flagged.contains(a) ? 0 : 1, -(values[a].isFinite ? values[a] : -.infinity)) < (flagged.contains(b) ? 0 : 1, -(values[b].isFinite ? values[b] : -.infinity))
        }
        return ranked.prefix(limit).sorted()
    }

    mutating func heatIsland() throws -> ReportDocument.Section? {
        guard let stage = ran(HTMLReportStage.heatIsland).first else { return nil }
        var section = ReportDocument.Section(id: "heat", title: t("heat"))
        guard let result = try product(HeatIslandResult.self, of: stage) else { return section }
        let proxy = result.isProxy
        summary.heatIslandIsProxy = proxy
        facts.suhiProxy = proxy
        if !proxy {
            facts.suhiC = result.scene?.suhiC
            if let hottest = result.zones.filter({ $0.suhiC?.isFinite ?? false }).max(by: { $0.suhiC! < $1.suhiC! }) {
                facts.hottest = (zoneName(code: hottest.zone, name: hottest.name ?? ""), hottest.suhiC!)
            }
        }
        if proxy { section.blocks.append(.note(t("proxy"))) }
        if !proxy, let lstInput = stage.inputs.first(where: { $0.port == "lst" }), let raster = writtenRaster(of: lstInput.stageID) {
            var (quicklook, low, high, reduced) = try Quicklook.ramp(path: absolute(raster))
            // The hot spots (LST above the stage's threshold) outlined in cyan (they lie in the ramp's reds), under the
            // plan and the zones.
            var hotLegend: [(color: String, label: String)] = []
            if let threshold = result.hotspotThresholdC,
               quicklook.outlineAbove(Float(threshold), values: reduced.values, valueWidth: reduced.width, valueHeight: reduced.height,
                                      (0, 230, 230)) > 0 {
                hotLegend = [("#00e6e6", "\(t("hotspots")) > \(Self.fmt(threshold, 1)) °C")]
            }
            let planLegend = drawPlan(on: &quicklook, raster: raster)
            quicklook.drawNorthArrow()
            quicklook.drawScaleBar()
            let outlines = planLegend + hotLegend
            if !outlines.isEmpty { quicklook.drawLegend(outlines, outlines: outlines.count) }
            let image = try saveImage(quicklook, name: "lst")
            maps.append(.figure(.init(file: image, caption: "\(t("map.lst")) (°C), \(t("legend.ramp"))",
                                                legend: [0, 0.25, 0.5, 0.75, 1].map { f in
                                                    let c = Quicklook.rampColour(f)
                                                    return (String(format: "#%02x%02x%02x", c.0, c.1, c.2),
                                                            Self.fmt(Double(low) + f * Double(high - low)) + " °C")
                                                } + outlines, width: quicklook.width, height: quicklook.height)))
        }
        let zones = result.zones + (result.scene.map { [$0] } ?? [])
        // Without a temperature the first column is the proxy (built-up share, %), labelled so; the rest have no value.
        section.blocks.append(.table(.init(
            header: [t("zone"), proxy ? t("suhi") + " (proxy)" : t("urban.lst"), t("rural.lst"), t("suhi"), t("coverage")],
            rows: zones.map { z in
                [zoneName(code: z.zone, name: z.name ?? ""),
                 proxy ? Self.fmt(z.heatIslandProxy.map { $0 * 100 }, 2) : Self.fmt(z.urbanMeanLstC, 2),
                 Self.fmt(z.ruralRingMeanLstC, 2), Self.fmt(z.suhiC, 2), Self.fmt((z.greenCoverage ?? .nan) * 100)]
            }, numeric: [1, 2, 3, 4])))
        if let threshold = result.hotspotThresholdC, let area = result.hotspotKm2 {
            section.blocks.append(.paragraph("\(t("hotspots")): > \(Self.fmt(threshold, 2)) °C, \(Self.fmt(area, 4)) \(t("km2"))"))
        }
        return section
    }

    mutating func accuracy() throws -> ReportDocument.Section? {
        guard let stage = ran(HTMLReportStage.accuracy).first else { return nil }
        var section = ReportDocument.Section(id: "accuracy", title: t("accuracy"))
        guard let result = try product(AccuracyResult.self, of: stage) else { return section }
        summary.overallAccuracy = result.overallAccuracy
        summary.kappa = result.kappa
        section.blocks.append(.paragraph("\(t("overall")) \(Self.fmt((summary.overallAccuracy ?? .nan) * 100)) %, \(t("kappa")) \(Self.fmt(summary.kappa, 3)), \(t("pixels")) \(result.pixels)"))
        section.blocks.append(.table(.init(
            header: [t("class"), t("pixels"), t("producer"), t("user"), t("f1")],
            rows: result.classes.map { c in
                [className(c.code), String(c.referencePixels), Self.fmt(c.producersAccuracy.map { $0 * 100 }),
                 Self.fmt(c.usersAccuracy.map { $0 * 100 }), Self.fmt(c.f1, 3)]
            }, numeric: [1, 2, 3, 4])))
        return section
    }
}
