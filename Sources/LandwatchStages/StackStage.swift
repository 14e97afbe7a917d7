import LandwatchPipeline

/// `stack.bands`: one scene with the bands of two (imagery and elevation, say), for classifiers that take features
/// from one scene.
public struct StackStage: PixelStage {
    public static let descriptor = StageDescriptor(
        id: "stack.bands",
        summary: "Join the bands of two scenes (or an index) into one scene",
        evaluation: .pixelwise,
        inputs: [InputPort("first", kinds: [.scene, .index], help: "bands that come first"),
                 InputPort("second", kinds: [.scene, .index], help: "bands appended after them")],
        output: .scene,
        options: [])

    public init(options: StageOptions) throws(StageProblem) {}

    public func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
        let names = inputs[0].bandNames + inputs[1].bandNames
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw StageProblem("both inputs have a band named '\(duplicate)'; rename one in its read stage")
        }
        return ProductDescription(kind: .scene, bandNames: names)
    }

    public func apply(inputs: [PixelBlock], into output: inout PixelBlock) {
        var index = 0
        for input in inputs {
            for band in input.bands {
                output.bands[index] = band
                index += 1
            }
        }
    }
}
