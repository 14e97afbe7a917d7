import Foundation

/// Writes files that describe a finished run for other software (the STAC Item of issue 25), beside its outputs.
///
/// Called by ``PipelineRunner`` after the last stage of a run or merge that succeeded and before its publish, with
/// the record as it will be published (outputs listed). What it writes goes through ``AtomicOutput`` under the
/// output root, so it is staged and published with the run, owned by landwatch like the outputs, and not listed among
/// them (like run.json).
public protocol RunDescriber: Sendable {
    /// Writes the description; returns the paths written, relative to the output root.
    func describe(record: RunRecord, plan: RunPlan, context: RunContext) throws -> [String]
}
