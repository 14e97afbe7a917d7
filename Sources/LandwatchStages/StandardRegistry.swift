import LandwatchPipeline

/// Every stage type landwatch ships, in one explicit list; `landwatch stages` prints it.
public let standardRegistry: StageRegistry = {
    var registry = StageRegistry()
    registry.register(ReadSceneStage.self)
    registry.register(ReadVectorStage.self)
    registry.register(ReadLandsatStage.self)
    registry.register(ReadPlanStage.self)
    registry.register(CloudMaskStage.self)
    registry.register(ApplyMaskStage.self)
    registry.register(SpectralIndexStage<NDVI>.self)
    registry.register(SpectralIndexStage<NDWI>.self)
    registry.register(SpectralIndexStage<MNDWI>.self)
    registry.register(SpectralIndexStage<NDBI>.self)
    registry.register(SpectralIndexStage<BSI>.self)
    registry.register(SpectralIndexStage<SAVI>.self)
    registry.register(SpectralIndexStage<EVI>.self)
    registry.register(StackStage.self)
    registry.register(RuleClassifierStage.self)
    registry.register(TrainModelStage.self)
    registry.register(ApplyModelStage.self)
    registry.register(AccuracyStage.self)
    registry.register(ComplianceDiffStage.self)
    registry.register(WriteRasterStage.self)
    registry.register(WriteViolationsStage.self)
    return registry
}()
