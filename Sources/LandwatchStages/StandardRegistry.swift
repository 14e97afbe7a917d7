import LandwatchPipeline
import LandwatchSTAC
import LandwatchRenewal
import LandwatchScenarios

/// Every stage type landwatch ships, in one explicit list; `landwatch stages` prints it.
public let standardRegistry: StageRegistry = {
    var registry = StageRegistry()
    registry.register(ReadSceneStage.self)
    registry.register(ReadSTACStage.self)
    registry.register(ReadVectorStage.self)
    registry.register(ReadLandsatStage.self)
    registry.register(ReadPlanStage.self)
    registry.register(ReadSeriesStage.self)
    registry.register(CloudMaskStage.self)
    registry.register(ApplyMaskStage.self)
    for formula in spectralIndices { registry.register(index: formula) }
    registry.register(StackStage.self)
    registry.register(NormalizeStage.self)
    registry.register(FocalStage.self)
    registry.register(RuleClassifierStage.self)
    registry.register(TrainModelStage.self)
    registry.register(ApplyModelStage.self)
    registry.register(AccuracyStage.self)
    registry.register(ComplianceDiffStage.self)
    registry.register(ThermalLSTStage.self)
    registry.register(ZonalStatisticsStage.self)
    registry.register(GreenCoverageStage.self)
    registry.register(DevelopmentIntensityStage.self)
    registry.register(HeatIslandStage.self)
    registry.register(WriteRasterStage.self)
    registry.register(WriteViolationsStage.self)
    registry.register(HTMLReportStage.self)
    registry.register(WriteFieldPackStage.self)
    registry.register(SimulateLandUseStage.self)
    registry.register(AssessSimulationStage.self)
    registry.register(PlanEvaluateStage.self)
    registry.register(VacancyStage.self)
    registry.register(GreenAccessStage.self)
    registry.register(CandidatesStage.self)
    // Every run's stac/item.json (issue 25).
    registry.register(describer: STACItemWriter())
    return registry
}()

extension StageRegistry {
    /// Registers the `index.NAME` stage of a formula.
    mutating func register<Formula: IndexFormula>(index formula: Formula.Type) {
        register(SpectralIndexStage<Formula>.self)
    }
}
