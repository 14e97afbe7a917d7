import Foundation
import LandwatchGDAL
import LandwatchPipeline
import LandwatchStages
import XCTest

/// A stage's role is the one role protocol its type adopts, checked once for every registered type.
final class StageRoleTests: XCTestCase {
    /// Adopts no role: only StageType.
    struct NoRole: StageType {
        static let descriptor = StageDescriptor(id: "test.none", summary: "no role", evaluation: .pixelwise, output: .index, options: [])
        init(options: StageOptions) throws(StageProblem) {}
    }

    /// Adopts two roles: a pixel stage that is also a sink.
    struct TwoRoles: PixelStage, SinkStage {
        static let descriptor = StageDescriptor(id: "test.two", summary: "two roles", evaluation: .pixelwise, output: .index, options: [])
        init(options: StageOptions) throws(StageProblem) {}
        func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
            ProductDescription(kind: .index, bandNames: ["x"])
        }
        func apply(inputs: [PixelBlock], into output: inout PixelBlock) {}
        func check(inputs: [ProductDescription]) throws(StageProblem) {}
        var outputPaths: [String] { [] }
        func makeSink(inputs: [ProductDescription], grid: RasterGrid, context: RunContext) throws -> any BlockSink {
            throw RunError(.internal, "not used")
        }
    }

    /// Says it is a sink but is a pixel stage.
    struct WrongEvaluation: PixelStage {
        static let descriptor = StageDescriptor(id: "test.wrong", summary: "wrong evaluation", evaluation: .sink, output: .index, options: [])
        init(options: StageOptions) throws(StageProblem) {}
        func describe(inputs: [ProductDescription]) throws(StageProblem) -> ProductDescription {
            ProductDescription(kind: .index, bandNames: ["x"])
        }
        func apply(inputs: [PixelBlock], into output: inout PixelBlock) {}
    }

    func testEveryRegisteredTypeHasOneRoleThatAgreesWithItsEvaluation() {
        XCTAssertGreaterThan(standardRegistry.all.count, 20)
        for type in standardRegistry.all {
            XCTAssertNil(StageRole.problem(with: type))
            XCTAssertEqual(StageRole.kinds(of: type).count, 1, type.descriptor.id)
        }
    }

    func testATypeWithNoRoleTwoRolesOrAnotherEvaluationIsRefused() {
        XCTAssertEqual(StageRole.problem(with: NoRole.self),
                       "stage type test.none adopts none of the stage roles (SourceStage, PixelStage, WholeRasterStage, NeighbourhoodStage, WholeSinkStage, SinkStage, ReportStage)")
        XCTAssertEqual(StageRole.problem(with: TwoRoles.self), "stage type test.two adopts 2 stage roles (PixelStage, SinkStage); a stage has one")
        XCTAssertEqual(StageRole.problem(with: WrongEvaluation.self),
                       "stage type test.wrong is a PixelStage but declares evaluation 'sink' (a PixelStage is 'pixelwise')")
    }
}
