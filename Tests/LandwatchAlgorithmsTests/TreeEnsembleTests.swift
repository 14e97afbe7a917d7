import Foundation
import XCTest

@testable import LandwatchAlgorithms

/// The native tree evaluator on hand-written XGBoost JSON: the layout, missing values, XGBoost's softmax, and the
/// models it refuses (its equivalence with XGBoost on trained models is in LandwatchStagesTests).
final class TreeEnsembleTests: XCTestCase {
    /// Two classes, two features. Tree 0 (class 0): x0 < 0.5 ? (x1 < 2 ? 1.0 : -1.0) : 0.25, missing x0 goes
    /// right, missing x1 goes left. Tree 1 (class 1): a single leaf 0.5.
    func model(objective: String = "multi:softprob", booster: String = "gbtree", splitType: String = "[0,0,0,0,0]",
               rightChildren: String = "[2,4,-1,-1,-1]", features: Int = 2) -> [UInt8] {
        Array("""
        {"learner":{"attributes":{},"feature_names":[],"feature_types":[],
         "gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"2","size_leaf_vector":"0"},
           "tree_info":[0,1],
           "trees":[
             {"base_weights":[0,0,0,0,0],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
              "default_left":[0,1,0,0,0],"id":0,"left_children":[1,3,-1,-1,-1],"loss_changes":[0,0,0,0,0],
              "parents":[2147483647,0,0,1,1],"right_children":\(rightChildren),"split_conditions":[5E-1,2E0,2.5E-1,1E0,-1E0],
              "split_indices":[0,1,0,0,0],"split_type":\(splitType),"sum_hessian":[1,1,1,1,1],
              "tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"5","size_leaf_vector":"0"}},
             {"base_weights":[0],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
              "default_left":[0],"id":1,"left_children":[-1],"loss_changes":[0],"parents":[2147483647],"right_children":[-1],
              "split_conditions":[5E-1],"split_indices":[0],"split_type":[0],"sum_hessian":[1],
              "tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"1","size_leaf_vector":"0"}}]},
          "name":"\(booster)"},
         "learner_model_param":{"base_score":"5E-1","boost_from_average":"1","num_class":"2","num_feature":"\(features)","num_target":"1"},
         "objective":{"name":"\(objective)","softmax_multiclass_param":{"num_class":"2"}}},
        "version":[1,7,4]}
        """.utf8)
    }

    func predict(_ ensemble: TreeEnsemble, _ x0: [Float], _ x1: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x0.count * 2)
        x0.withUnsafeBufferPointer { a in
            x1.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { ensemble.predictProbabilities(columns: [a.baseAddress!, b.baseAddress!], count: x0.count, into: $0.baseAddress!) }
            }
        }
        return out
    }

    /// XGBoost's softmax of two margins (base score 0.5 plus the leaves).
    func softmax(_ m0: Float, _ m1: Float) -> [Float] {
        let top = max(m0, m1)
        let e0 = expf(m0 - top), e1 = expf(m1 - top)
        let sum = Float(Double(e0) + Double(e1))
        return [e0 / sum, e1 / sum]
    }

    func testLeavesAtEveryDepthAndMissingValues() throws {
        let ensemble = try TreeEnsemble.loadXGBoostJSON(model())
        XCTAssertEqual(ensemble.depth, 2)
        XCTAssertEqual(ensemble.treeCount, 2)
        // x0 below 0.5 then x1 below 2; x0 at the threshold goes right (not below); NaN x0 goes right (default
        // right), NaN x1 goes left (default left); the shallow leaf 0.25 reached at depth 1.
        let x0: [Float] = [0.1, 0.1, 0.5, .nan, 0.9, 0.2]
        let x1: [Float] = [1.0, 3.0, 0.0, 0.0, .nan, .nan]
        let leaves: [Float] = [1.0, -1.0, 0.25, 0.25, 0.25, 1.0]
        let probabilities = predict(ensemble, x0, x1)
        for (i, leaf) in leaves.enumerated() {
            XCTAssertEqual(Array(probabilities[(2 * i)..<(2 * i + 2)]), softmax(0.5 + leaf, 0.5 + 0.5), "pixel \(i)")
        }
        // Many pixels at once (more than a chunk), the same as one at a time.
        let many0 = (0..<1000).map { Float($0 % 7) / 7 }, many1 = (0..<1000).map { Float($0 % 5) }
        let together = predict(ensemble, many0, many1)
        for i in Swift.stride(from: 0, to: 1000, by: 97) {
            XCTAssertEqual(Array(together[(2 * i)..<(2 * i + 2)]), predict(ensemble, [many0[i]], [many1[i]]))
        }
    }

    func testModelsItCannotRunAreRefusedWithTheReason() {
        func refusal(_ bytes: [UInt8]) -> TreeEnsembleError? {
            do { _ = try TreeEnsemble.loadXGBoostJSON(bytes); return nil } catch { return error }
        }
        let binary = refusal(model(objective: "binary:logistic"))
        XCTAssertEqual(binary?.kind, .invalid)
        XCTAssertEqual(binary?.message, "its objective is binary:logistic, not a multi-class one (multi:softprob): classify.model needs class probabilities")
        XCTAssertEqual(refusal(model(objective: "reg:squarederror"))?.kind, .invalid)
        let dart = refusal(model(booster: "dart"))
        XCTAssertEqual(dart?.kind, .unsupported)
        XCTAssertEqual(dart?.message, "its booster is dart, not gbtree")
        let categorical = refusal(model(splitType: "[1,0,0,0,0]"))
        XCTAssertEqual(categorical?.kind, .unsupported)
        XCTAssertEqual(categorical?.message, "tree 0 has categorical splits")
        XCTAssertEqual(refusal(model(rightChildren: "[2,5,-1,-1,-1]"))?.kind, .invalid)
        XCTAssertEqual(refusal(model(features: 1))?.message, "tree 0, node 1 splits on feature 1 of 1")
        let full = model()
        let truncated = refusal(Array(full.prefix(full.count / 2)))
        XCTAssertEqual(truncated?.kind, .invalid)
        XCTAssertTrue(truncated?.message.hasPrefix("it is not complete JSON (it ends at byte \(full.count / 2) in the middle of") ?? false,
                      truncated?.message ?? "accepted")
        XCTAssertEqual(refusal(Array("{\"version\": [1, 7, 4]}".utf8))?.message, "it has no 'learner': not an XGBoost JSON model")
    }
}
