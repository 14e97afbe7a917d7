import LandwatchPipeline

/// Every stage type landwatch ships, in one explicit list; `landwatch stages` prints it.
public let standardRegistry: StageRegistry = {
    var registry = StageRegistry()
    registry.register(ReadSceneStage.self)
    registry.register(NDVIStage.self)
    registry.register(WriteRasterStage.self)
    return registry
}()
