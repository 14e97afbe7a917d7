/// The stage types a run may use, registered in one explicit list (see `LandwatchStages.standardRegistry`).
public struct StageRegistry: Sendable {
    private var types: [String: any StageType.Type] = [:]
    private var order: [String] = []

    public init() {}

    /// Adds a stage type. Registering the same id twice, or a type without exactly one role that agrees with its
    /// `evaluation:` (``StageRole/problem(with:)``), is a programmer error, found at start-up.
    public mutating func register(_ type: any StageType.Type) {
        let id = type.descriptor.id
        precondition(types[id] == nil, "stage type \(id) registered twice")
        if let problem = StageRole.problem(with: type) { preconditionFailure(problem) }
        types[id] = type
        order.append(id)
    }

    /// The type registered under `id`.
    public func type(for id: String) -> (any StageType.Type)? { types[id] }

    /// Every registered type, in registration order.
    public var all: [any StageType.Type] { order.compactMap { types[$0] } }

    /// Registered ids, sorted, for messages.
    public var ids: [String] { order.sorted() }

    /// What every run made with this registry writes about itself besides run.json (the STAC Item).
    public private(set) var describers: [any RunDescriber] = []

    /// Adds a writer of run descriptions (``RunDescriber``).
    public mutating func register(describer: any RunDescriber) { describers.append(describer) }
}
