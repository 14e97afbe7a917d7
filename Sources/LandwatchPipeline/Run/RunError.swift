/// Why a run failed, with a category that maps to an exit code.
public struct RunError: Error, Sendable, CustomStringConvertible {
    public enum Category: String, Sendable {
        /// An input raster is missing, unreadable or not a raster.
        case input
        /// The output directory or an output path cannot be written.
        case outputNotWritable
        /// Reading or writing failed during the run.
        case io
        /// The memory budget cannot hold even one block per worker.
        case resources
        /// The run was interrupted.
        case cancelled
        /// A bug in landwatch.
        case `internal`
    }

    public var category: Category
    public var message: String
    /// The stage that failed, when known.
    public var stageID: String?

    public init(_ category: Category, _ message: String, stage stageID: String? = nil) {
        self.category = category
        self.message = message
        self.stageID = stageID
    }

    public var description: String {
        if let stageID { return "stage '\(stageID)': \(message)" }
        return message
    }
}
