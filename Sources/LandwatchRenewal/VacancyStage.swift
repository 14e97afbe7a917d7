import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// The options and inputs of the vacancy analysis, declared once: `renewal.vacancy` and `renewal.candidates` both
/// take them.
public enum VacancyOptions {
    /// The classified dates: ports `date1` … `date8`, each a class raster with its acquisition date.
    public static let datePorts = (1...8).map { "date\($0)" }

    public enum DateMeaning: String, OptionChoice {
        case approval, start
    }

    public static let unbuiltClasses = Option<OptionList>(
        "unbuilt_classes", default: OptionList(["bare"]), help: "classes that count as bare / unbuilt land")
    public static let builtClasses = Option<OptionList>(
        "built_classes", default: OptionList(["built-up"]), help: "classes that count as built on (construction)")
    public static let minMonths = Option<Double>(
        "min_months", default: 12, range: 0...1200, help: "months a patch must have stayed unbuilt (first to last bare date)")
    public static let minObservations = Option<Int>(
        "min_observations", default: 2, range: 2...1000, help: "clear unbuilt observations a pixel needs (one bare date is never vacancy)")
    public static let minArea = Option<Double>(
        "min_area", default: 400, range: 0...1e9, help: "smallest vacant patch in m² (the larger of this and min_pixels applies)")
    public static let minPixels = Option<Int>("min_pixels", default: 4, range: 1...1_000_000, help: "smallest vacant patch in pixels")
    public static let dateField = Option<String?>(
        "date_field", help: "field of the approvals layer holding each approval's date (required with an approvals input)")
    public static let approvalsLayer = Option<String?>(
        "approvals_layer", help: "layer of the approvals file (default: the first, as read.plan)")
    public static let dateMeaning = Option<DateMeaning>(
        "date_meaning", default: .approval,
        help: "what date_field holds: the approval (批准) date, or the agreed start of construction (约定动工日期)")
    public static let idleAfterMonths = Option<Double?>(
        "idle_after_months", range: 0...1200,
        help: "months after the date before approved land can be idle; default 24 from an approval date (a year to the agreed "
            + "start, then the national rule's year), 12 from an agreed start")
    public static let unbuiltShare = Option<Double>(
        "unbuilt_share", default: 2.0 / 3.0, range: 0...1, help: "idle when at least this share of the approval is still unbuilt")
    public static let stalledShare = Option<Double>(
        "stalled_share", default: 1.0 / 3.0, range: 0...1,
        help: "also idle when construction covers less than this share and has not changed for a year")
    public static let unchangedTolerance = Option<Double>(
        "unchanged_tolerance", default: 0.05, range: 0...1,
        help: "largest change of the built share over a year still counted as unchanged")

    public static let keys: [any OptionKey] = [unbuiltClasses, builtClasses, minMonths, minObservations, minArea, minPixels,
                                               dateField, approvalsLayer, dateMeaning, idleAfterMonths, unbuiltShare, stalledShare,
                                               unchangedTolerance]

    public static var dateInputs: [InputPort] {
        datePorts.map { InputPort($0, kinds: [.classes], help: "a classified date (its date from read.scene's date)", optional: true) }
    }

    static func settings(_ options: StageOptions) throws(StageProblem) -> VacancySettings {
        let unbuilt = try classCodes(options[unbuiltClasses], option: unbuiltClasses.name, legend: options.legend, what: "unbuilt")
        let built = try classCodes(options[builtClasses], option: builtClasses.name, legend: options.legend, what: "built-up")
        if let both = unbuilt.intersection(built).first {
            throw StageProblem(option: unbuiltClasses, "class \(options.legend.name(of: both)) is both unbuilt and built")
        }
        let meaning = options[dateMeaning]
        return VacancySettings(
            unbuilt: unbuilt, built: built, minMonths: options[minMonths], minObservations: options[minObservations],
            minArea: options[minArea], minPixels: options[minPixels],
            idleAfterMonths: options[idleAfterMonths] ?? (meaning == .approval ? 24 : 12),
            unbuiltShare: options[unbuiltShare], stalledShare: options[stalledShare],
            unchangedTolerance: options[unchangedTolerance], dateMeaning: meaning.rawValue)
    }

    /// Checks the dates (two or more, each dated, none twice) and, with approvals, reads their dates.
    static func check(inputs: [ProductDescription], dateField: String?, approvalsLayer: String?, requireDates: Bool)
        throws(StageProblem) -> ApprovalDates? {
        let dated = inputs.filter { datePorts.contains($0.port ?? "") }
        if requireDates || !dated.isEmpty {
            guard dated.count >= 2 else {
                throw StageProblem("vacancy needs a series of two or more classified dates (inputs date1, date2, …); found "
                                   + (dated.isEmpty ? "none" : "one (\(dated[0].port!)\(dated[0].date.map { ", \($0)" } ?? ""))"))
            }
        }
        var seen: [String: String] = [:]
        for product in dated {
            guard let text = product.date, let date = SeriesDate(text) else {
                throw StageProblem("input \(product.port!) has no acquisition date\(product.date.map { " ('\($0)' is not a date)" } ?? ""): "
                                   + "give its read.scene a date: YYYY-MM-DD")
            }
            if let other = seen[date.text] {
                throw StageProblem("inputs \(other) and \(product.port!) are both dated \(date): each date once")
            }
            seen[date.text] = product.port!
        }
        guard let approvals = inputs.first(where: { $0.port == "approvals" }) else {
            if dateField != nil { throw StageProblem(option: "date_field", "date_field needs input 'approvals'") }
            return nil
        }
        guard let dateField else {
            throw StageProblem(option: "date_field", "an approvals input needs date_field: the field holding each approval's date")
        }
        guard let table = approvals.featureTables.values.first, !table.path.isEmpty else {
            throw StageProblem("input 'approvals' carries no feature table: connect a read.plan stage with role approvals")
        }
        return try ApprovalDates.read(path: table.path, layer: approvalsLayer, field: dateField, table: table, today: ApprovalDates.today)
    }

    static func analysis(settings: VacancySettings, inputs: [MaterializedRaster], approvalDates: ApprovalDates?) -> VacancyAnalysis {
        let dated = datePorts.compactMap { port in input(inputs, port) }.map {
            VacancyAnalysis.Dated(date: SeriesDate($0.description.date!)!, raster: $0)
        }.sorted { $0.date < $1.date }
        return VacancyAnalysis(settings: settings, dates: dated, boundary: input(inputs, "urban_boundary"),
                               approvals: approvalDates == nil ? nil : input(inputs, "approvals"), approvalDates: approvalDates,
                               zones: input(inputs, "zones"), series: input(inputs, "series"))
    }
}

/// `renewal.vacancy`: bare / unbuilt patches persisting across a series of classified dates inside the urban
/// development boundary, and idle approved land (闲置土地, 批而未用) from an approvals layer with approval dates.
public struct VacancyStage: WholeSinkStage {
    public static let path = Option<String>(
        "path", .outputPath, default: "vacancy",
        help: "output folder: vacancy.{gpkg,geojson,csv}, idle.{gpkg,geojson,csv}, zones.csv, vacancy.json")

    public static let descriptor = StageDescriptor(
        id: "renewal.vacancy",
        summary: "Vacant land (bare across every clear date for min_months) inside the urban boundary, and idle approved land",
        evaluation: .wholeRaster,
        inputs: VacancyOptions.dateInputs + [
            InputPort("urban_boundary", kinds: [.plan, .mask], help: "urban development boundary (default: the whole scene)", optional: true),
            InputPort("approvals", kinds: [.plan], help: "approvals (read.plan role approvals) with a date field", optional: true),
            InputPort("zones", kinds: [.plan], help: "districts or planning units for the counts per zone", optional: true),
            InputPort("series", kinds: [.scene],
                      help: "the read.series the dates were classified from: pixels it masked as cloud on a date, and dates it left "
                          + "out, are missing for cloud (never observations)", optional: true),
        ],
        output: nil,
        keys: [path] + VacancyOptions.keys)

    public let path: String
    public let settings: VacancySettings
    public let dateField: String?
    public let approvalsLayer: String?
    let legend: Legend

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        settings = try VacancyOptions.settings(options)
        dateField = options[VacancyOptions.dateField]
        approvalsLayer = options[VacancyOptions.approvalsLayer]
        legend = options.legend
    }

    public var outputPaths: [String] { [path] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        _ = try VacancyOptions.check(inputs: inputs, dateField: dateField, approvalsLayer: approvalsLayer, requireDates: true)
    }

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        let descriptions = inputs.map(\.description)
        let approvalDates: ApprovalDates?
        do {
            approvalDates = try VacancyOptions.check(inputs: descriptions, dateField: dateField, approvalsLayer: approvalsLayer, requireDates: true)
        } catch {
            throw RunError(.input, (error.option.map { "option '\($0)': " } ?? "") + error.message)
        }
        let analysis = VacancyOptions.analysis(settings: settings, inputs: inputs, approvalDates: approvalDates)
        if let bands = analysis.seriesBands() {
            for (dated, band) in zip(analysis.dates, bands) where band == nil {
                context.logger.warning("renewal.vacancy: \(dated.date) is not in the series (left out for cloud): every pixel of it is missing")
            }
        }
        let result = try analysis.run(grid: grid, context: context, stage: Self.descriptor.id)
        let zoneTable = input(inputs, "zones")?.description.featureTables.values.first
        let approvalTable = input(inputs, "approvals")?.description.featureTables.values.first
        var report = VacancyResult(result: result, settings: settings, dates: analysis.dates.map(\.date.text),
                                   zones: ZoneNames(table: zoneTable), hasZones: zoneTable != nil, approvals: approvalTable,
                                   boundary: analysis.boundary != nil)
        let crs = try SpatialReference(definition: grid.crsWKT)
        for (index, patch) in result.patches.enumerated() {
            if let point = navigationPoint(patch.geometry, crs: crs) {
                report.patches[index].lon = rounded(point.lon, 7)
                report.patches[index].lat = rounded(point.lat, 7)
            }
        }
        let folder = try AtomicDirectory(target: context.outputRoot.resolve(path))
        do {
            var written = try VacancyTables.patches(result.patches, report: report, crs: crs).write(into: folder, name: "vacancy", crs: crs)
            if let approvalTable, let approvalsPath = input(inputs, "approvals")?.description.featureTables.values.first?.path {
                let shapes = try VacancyTables.approvalShapes(path: approvalsPath, layer: approvalsLayer, crs: crs, count: approvalTable.features.count)
                written += try VacancyTables.approvals(result.approvals, report: report, shapes: shapes, crs: crs)
                    .write(into: folder, name: "idle", crs: crs)
            }
            try csvData(report.zoneRows()).write(to: URL(fileURLWithPath: try folder.path("zones.csv")))
            try encodeJSON(report).write(to: URL(fileURLWithPath: try folder.path("vacancy.json")))
            written += ["zones.csv", "vacancy.json"]
            try folder.commit()
            context.findings?.set("vacant_patches", Double(report.vacantPatches))
            context.findings?.set("idle_approvals", Double(report.idleApprovals))
            context.logger.info("\(report.vacantPatches) vacant patches, \(report.idleApprovals) idle approvals written to \(path)/")
            return written.map { "\(path)/\($0)" }
        } catch {
            folder.abort()
            throw error
        }
    }
}
