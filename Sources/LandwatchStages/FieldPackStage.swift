import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchOutputs
import LandwatchProducts

/// `write.fieldpack`: the field package (``FieldPack``) of the run's violation list — fieldpack.pdf (GeoPDF),
/// fieldpack.kmz, fieldcheck.csv and .gpkg — in one folder published whole. It runs after the list is written and
/// reads it (violations.json, the chips and the overview beside it).
public struct WriteFieldPackStage: ReportStage {
    public static let path = Option<String>("path", default: "fieldpack", help: "folder of the field package, under the output directory")
    public static let list = Option<String>("list", default: "violations", help: "the folder write.violations writes (its path option)")
    public static let title = Option<String?>("title", help: "the title on page 1 (default: the pipeline's name)")
    public static let note = Option<String?>(
        "note", help: "a line printed on page 1, such as where the imagery comes from (a demonstration with planted changes says so)")

    public static let descriptor = StageDescriptor(
        id: "write.fieldpack",
        summary: "Field package of the violation list: GeoPDF (overview map, a page per patch with chips, QR codes, a form), KMZ, blank answer sheet",
        evaluation: .report,
        output: nil,
        keys: [path, list, title, note])

    public let path: String
    public let list: String
    public let title: String?
    public let note: String?

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        list = options[Self.list]
        title = options[Self.title]
        note = options[Self.note].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
    }

    public var outputPaths: [String] { [path] }

    public func run(record: RunRecord, plan: RunPlan, context: RunContext) throws -> [String] {
        let listFile = "\(list)/\(ViolationList.fileName)"
        guard record.stages.contains(where: { $0.outputs.contains(listFile) }) else {
            throw RunError(.input, "write.fieldpack: this run wrote no violation list at '\(list)/': add write.violations with path: \(list), or set list: to its path")
        }
        let located = URL(fileURLWithPath: StagedOutputs.located(context.outputRoot.url.appendingPathComponent(listFile).path))
        let violations: ViolationList
        do { violations = try ViolationList.read(located) } catch {
            throw RunError(.internal, "write.fieldpack: cannot read \(listFile) (\(error)); this is a bug in landwatch")
        }
        let listFolder = located.deletingLastPathComponent()
        // The zones of the run's plan (read.plan, role zones), for page 1.
        var zones: [(name: String, outline: Geometry)] = []
        for id in plan.pipeline.topologicalOrder {
            guard let layer = plan.pipeline.stage(id)?.instance as? ReadPlanStage, layer.role == .zones else { continue }
            do {
                zones += try FieldPack.zones(path: layer.path, layer: layer.layer, crs: layer.crs, encoding: layer.encoding,
                                             nameFields: [layer.nameField, layer.codeField, layer.idField].compactMap { $0 })
            } catch {
                throw RunError(.input, "write.fieldpack: cannot read the zones of stage '\(id)' (\(layer.path)): \(error)")
            }
        }
        let pack = FieldPack(title: title ?? plan.pipeline.name, notes: note.map { [$0] } ?? [],
                             overview: violations.overview.map { listFolder.appendingPathComponent($0).path },
                             overviewTransform: violations.overview_transform, overviewCRS: violations.crs_wkt,
                             sites: FieldPack.sites(of: violations, folder: listFolder), zones: zones)
        let folder = try AtomicDirectory(target: try context.outputRoot.resolve(path))
        do {
            let written = try pack.write(into: folder, scratch: URL(fileURLWithPath: context.scratchPath("fieldpack-\(UUID().uuidString.prefix(8))")))
            try folder.commit()
            context.logger.info("write.fieldpack: \(path)/\(FieldPack.pdfName) (\(pack.sites.count + 1) pages), \(FieldPack.kmzName), \(FieldPack.sheetName)")
            return written.map { "\(path)/\($0)" }
        } catch let error as RunError {
            folder.abort()
            throw error
        } catch {
            folder.abort()
            throw RunError(.io, "write.fieldpack: cannot write \(path)/: \(error)")
        }
    }
}
