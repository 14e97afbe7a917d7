/// Receives progress while a run executes; the CLI draws it, tests record it.
public protocol RunObserver: Sendable {
    /// A streaming pass over `blocks` blocks starts, evaluating `stages` fused together.
    func passStarted(_ pass: Int, stages: [String], blocks: Int)
    /// `done` of `total` blocks of a pass are finished.
    func passProgress(_ pass: Int, done: Int, total: Int)
    /// A pass or whole-raster stage finished.
    func passFinished(_ pass: Int, stages: [String], seconds: Double)
}
