/// A stage's role in the engine: the one role protocol its type adopts, with the instance as that protocol.
///
/// The role is resolved once, when the stage is declared (``StageDeclaration/role``), and checked once per type when
/// it is registered (a type with no role, two roles, or an `evaluation:` that says otherwise is refused); the engine
/// then switches over the role instead of casting the instance to each protocol in turn.
public enum StageRole: Sendable {
    case source(any SourceStage)
    case pixel(any PixelStage)
    case wholeRaster(any WholeRasterStage)
    case neighbourhood(any NeighbourhoodStage)
    case wholeSink(any WholeSinkStage)
    case sink(any SinkStage)
    case report(any ReportStage)

    /// The role protocols, by name, for messages.
    public enum Kind: String, Sendable, CaseIterable {
        case source = "SourceStage", pixel = "PixelStage", wholeRaster = "WholeRasterStage", neighbourhood = "NeighbourhoodStage"
        case wholeSink = "WholeSinkStage", sink = "SinkStage", report = "ReportStage"

        /// The `evaluation:` a type of this role declares.
        public var evaluation: Evaluation {
            switch self {
            case .source: return .source
            case .pixel: return .pixelwise
            case .wholeRaster, .neighbourhood, .wholeSink: return .wholeRaster
            case .sink: return .sink
            case .report: return .report
            }
        }
    }

    /// The role protocols a stage type adopts (exactly one for a type that may be registered).
    public static func kinds(of type: any StageType.Type) -> [Kind] {
        var kinds: [Kind] = []
        if type is any SourceStage.Type { kinds.append(.source) }
        if type is any PixelStage.Type { kinds.append(.pixel) }
        if type is any WholeRasterStage.Type { kinds.append(.wholeRaster) }
        if type is any NeighbourhoodStage.Type { kinds.append(.neighbourhood) }
        if type is any WholeSinkStage.Type { kinds.append(.wholeSink) }
        if type is any SinkStage.Type { kinds.append(.sink) }
        if type is any ReportStage.Type { kinds.append(.report) }
        return kinds
    }

    /// Why a stage type cannot be registered, or nil when it has one role that agrees with its `evaluation:`.
    public static func problem(with type: any StageType.Type) -> String? {
        let descriptor = type.descriptor
        let kinds = kinds(of: type)
        switch kinds.count {
        case 0:
            return "stage type \(descriptor.id) adopts none of the stage roles (" + Kind.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case 1:
            guard kinds[0].evaluation == descriptor.evaluation else {
                return "stage type \(descriptor.id) is a \(kinds[0].rawValue) but declares evaluation '\(descriptor.evaluation.rawValue)' "
                    + "(a \(kinds[0].rawValue) is '\(kinds[0].evaluation.rawValue)')"
            }
            return nil
        default:
            return "stage type \(descriptor.id) adopts \(kinds.count) stage roles (" + kinds.map(\.rawValue).joined(separator: ", ")
                + "); a stage has one"
        }
    }

    /// The role of a registered stage's instance. Instances of unregistered types with no role are a programmer error.
    public init(_ instance: any StageType) {
        switch instance {
        case let source as any SourceStage: self = .source(source)
        case let pixel as any PixelStage: self = .pixel(pixel)
        case let whole as any WholeRasterStage: self = .wholeRaster(whole)
        case let neighbourhood as any NeighbourhoodStage: self = .neighbourhood(neighbourhood)
        case let wholeSink as any WholeSinkStage: self = .wholeSink(wholeSink)
        case let sink as any SinkStage: self = .sink(sink)
        case let report as any ReportStage: self = .report(report)
        default: preconditionFailure(StageRole.problem(with: type(of: instance)) ?? "stage \(type(of: instance)) has no role")
        }
    }

    public var kind: Kind {
        switch self {
        case .source: return .source
        case .pixel: return .pixel
        case .wholeRaster: return .wholeRaster
        case .neighbourhood: return .neighbourhood
        case .wholeSink: return .wholeSink
        case .sink: return .sink
        case .report: return .report
        }
    }

    /// The files the stage writes under the output root, for the roles that write files (nil for the others).
    public var outputPaths: [String]? {
        switch self {
        case .sink(let sink): return sink.outputPaths
        case .wholeSink(let sink): return sink.outputPaths
        case .report(let report): return report.outputPaths
        case .source, .pixel, .wholeRaster, .neighbourhood: return nil
        }
    }

    /// True for a source: a stage that reads rasters from outside the run.
    public var isSource: Bool {
        if case .source = self { return true }
        return false
    }

    /// The stage as a report, when it is one.
    public var report: (any ReportStage)? {
        if case .report(let report) = self { return report }
        return nil
    }
}

extension StageDeclaration {
    /// The stage as a row-local stage (`landwatch run --shard`), when its type is one.
    public var rowLocal: (any RowLocalStage)? { instance as? any RowLocalStage }

    /// The stage as one that rebuilds what spans the grid after a merge, when its type is one.
    public var mergeFinishing: (any MergeFinishingStage)? { instance as? any MergeFinishingStage }
}
