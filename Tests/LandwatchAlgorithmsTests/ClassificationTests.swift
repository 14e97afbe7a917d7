import LandwatchAlgorithms
import XCTest

final class ConfusionMatrixTests: XCTestCase {
    /// A worked example (Congalton & Green style): 2 classes, 100 pixels.
    func testAccuracyFigures() {
        var m = ConfusionMatrix()
        m.add(reference: 1, predicted: 1, count: 45)
        m.add(reference: 1, predicted: 2, count: 5)
        m.add(reference: 2, predicted: 1, count: 15)
        m.add(reference: 2, predicted: 2, count: 35)
        XCTAssertEqual(m.total, 100)
        XCTAssertEqual(m.overallAccuracy, 0.8, accuracy: 1e-12)
        // Chance agreement: (50·60 + 50·40) / 100² = 0.5, so kappa = (0.8 − 0.5) / 0.5.
        XCTAssertEqual(m.kappa, 0.6, accuracy: 1e-12)
        XCTAssertEqual(m.producersAccuracy(1), 0.9, accuracy: 1e-12)
        XCTAssertEqual(m.usersAccuracy(1), 0.75, accuracy: 1e-12)
        XCTAssertEqual(m.f1(1), 2 * 0.9 * 0.75 / 1.65, accuracy: 1e-12)
        XCTAssertEqual(m.f1(3), 0, "a class never seen has F1 0")
        XCTAssertTrue(m.usersAccuracy(3).isNaN)
    }
}

final class RuleClassifierTests: XCTestCase {
    func testConditionsParseAndHold() {
        let range = RuleClassifier.Condition(variable: "ndvi", text: "0.2..0.35")!
        XCTAssertTrue(range.holds(0.2))
        XCTAssertFalse(range.holds(0.35))
        XCTAssertTrue(RuleClassifier.Condition(variable: "x", text: ">= 1")!.holds(1))
        XCTAssertFalse(RuleClassifier.Condition(variable: "x", text: "> 1")!.holds(1))
        XCTAssertTrue(RuleClassifier.Condition(variable: "x", text: "<1")!.holds(0.5))
        XCTAssertNil(RuleClassifier.Condition(variable: "x", text: "about 3"))
        XCTAssertNil(RuleClassifier.Condition(variable: "x", text: "0.5..0.2"))
    }

    func testFirstMatchingRuleWinsAndNodataStaysNodata() {
        let classifier = RuleClassifier(rules: [
            .init(code: 4, conditions: [.init(variable: "ndwi", text: "> 0.1")!]),
            .init(code: 2, conditions: [.init(variable: "ndvi", text: ">= 0.35")!]),
        ], fallback: 6)
        XCTAssertEqual(classifier.variables, ["ndvi", "ndwi"])
        let ndvi: [Float] = [0.5, 0.5, 0.1, .nan], ndwi: [Float] = [0.3, -0.2, -0.2, 0.5]
        var out = [Float](repeating: -1, count: 4)
        ndvi.withUnsafeBufferPointer { a in ndwi.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { classifier.classify([a, b], count: 4, into: $0) } } }
        XCTAssertEqual(Array(out[0..<3]), [4, 2, 6])
        XCTAssertTrue(out[3].isNaN)
    }
}
