import LandwatchAlgorithms
import XCTest

/// The compliance diff's pixel test as a pure function, on hand-made tiles.
final class ChangeTestTests: XCTestCase {
    let classes = ComplianceClasses(cropland: 1, forest: 2, water: 4, builtUp: 5, bare: 6)

    func test(radius: Int = 1, minConfidence: Float = 50, evidence: ChangeEvidence? = nil, minEvidence: Float = 4,
              layers: ChangeTest.Layers = .init()) -> ChangeTest {
        ChangeTest(ruleSet: ChangeRuleSet(rules: ChangeRule.defaults, classes: classes), minConfidence: minConfidence, minIndexChange: nil,
                   minEvidence: minEvidence, evidence: evidence, radius: radius, layers: layers, nonConstruction: [false])
    }

    /// Runs `test` on a tile of `width` x `height` whose before map is `before` (same size: no halo), returns the
    /// output bands and the counts.
    func run(_ test: ChangeTest, width: Int, height: Int, before: [Float], after: [Float], afterConfidence: [Float]? = nil,
             plan: [[Float]] = [], beforeImage: [[Float]] = [], afterImage: [[Float]] = []) -> ([[Float]], ChangeTest.Counts) {
        let bandCount = ChangeTest.leadingBands.count + plan.count
        let outputs = (0..<bandCount).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: width * height) }
        defer { outputs.forEach { $0.deallocate() } }
        for band in outputs { band.update(repeating: 7) }  // left over from another tile: every pixel is set
        func views(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> ChangeTest.Counts) -> ChangeTest.Counts {
            func nest(_ index: Int, _ collected: [UnsafeBufferPointer<Float>]) -> ChangeTest.Counts {
                index == arrays.count ? body(collected) : arrays[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0]) }
            }
            return nest(0, [])
        }
        let counts = views([before, after] + plan + beforeImage + afterImage + (afterConfidence.map { [$0] } ?? [])) { v in
            let planViews = Array(v[2..<(2 + plan.count)])
            let beforeViews = Array(v[(2 + plan.count)..<(2 + plan.count + beforeImage.count)])
            let afterViews = Array(v[(2 + plan.count + beforeImage.count)..<(2 + plan.count + beforeImage.count + afterImage.count)])
            let tile = ChangeTest.Tile(width: width, height: height, haloWidth: width, haloHeight: height, haloColumn: 0, haloRow: 0,
                                       beforeClasses: v[0], afterClasses: v[1], afterConfidence: afterConfidence == nil ? nil : v.last,
                                       plan: planViews, beforeImage: beforeViews, afterImage: afterViews)
            return test.apply(tile, into: outputs)
        }
        return (outputs.map { Array($0) }, counts)
    }

    func testABuildingOnFarmlandIsReportedWithItsClassesAndPlanLayer() {
        // 3 x 3 cropland; the centre became built-up, inside basic farmland (feature 4).
        var after = [Float](repeating: 1, count: 9)
        after[4] = 5
        var farmland = [Float](repeating: 0, count: 9)
        farmland[4] = 4
        let (out, counts) = run(test(layers: .init(basicFarmland: 0)), width: 3, height: 3, before: Array(repeating: 1, count: 9),
                                after: after, plan: [farmland])
        XCTAssertEqual(counts, ChangeTest.Counts(changed: 1))
        let bits = UInt32(out[0][4])
        XCTAssertNotEqual(bits & ChangeRule.Kind.farmlandToBuiltUp.bit, 0)
        XCTAssertEqual([out[1][4], out[2][4], out[3][4], out[4][4], out[5][4]], [1, 5, 100, 0, 4])
        for band in out { for i in 0..<9 where i != 4 { XCTAssertEqual(band[i], 0, "only changed pixels carry values") } }
    }

    func testTheNewClassInTheBeforeNeighbourhoodIsNoChange() {
        // Built-up already next to the pixel on the before map: a misregistration, not a change (radius 1); with the
        // neighbourhood off (radius 0) it is one.
        let before: [Float] = [5, 1, 1, 1, 1, 1, 1, 1, 1]
        var after = before
        after[4] = 5
        XCTAssertEqual(run(test(radius: 1), width: 3, height: 3, before: before, after: after).1.changed, 0)
        XCTAssertEqual(run(test(radius: 0), width: 3, height: 3, before: before, after: after).1.changed, 1)
    }

    func testNodataAndLowConfidenceNeverChange() {
        let before: [Float] = [1, .nan, 1, 1]
        let after: [Float] = [.nan, 5, 5, 5]
        let (_, counts) = run(test(radius: 0, minConfidence: 60), width: 2, height: 2, before: before, after: after, afterConfidence: [100, 100, 59, 60])
        XCTAssertEqual(counts.changed, 1, "nodata after, nodata before, 59 % confidence are left out; 60 % counts")
    }

    func testWeakEvidenceAndMissingImageryAreCountedApart() {
        // One band, no-change spread 0.1: the changed pixel moved 0.5 (5 σ) in one tile, 0.2 (2 σ) in another.
        let evidence = ChangeEvidence(centre: [0], sigma: [0.1], radius: 0)
        let before: [Float] = [1, 1], after: [Float] = [5, 5]
        let strong = run(test(radius: 0, evidence: evidence), width: 2, height: 1, before: before, after: after,
                         beforeImage: [[0.1, 0.1]], afterImage: [[0.6, .nan]])
        XCTAssertEqual(strong.1, ChangeTest.Counts(changed: 1, weak: 0, noImagery: 1))
        XCTAssertEqual(strong.0[4][0], 5, accuracy: 1e-5)
        let weak = run(test(radius: 0, evidence: evidence), width: 2, height: 1, before: before, after: after,
                       beforeImage: [[0.1, 0.1]], afterImage: [[0.3, 0.3]])
        XCTAssertEqual(weak.1, ChangeTest.Counts(changed: 0, weak: 2, noImagery: 0))
    }

    func testAVegetatedClassUnderTheNDVIThresholdIsBareForTheRules() {
        // Two bands (red, nir), no-change spread 0.01. Forest before (NDVI 0.6); after, a roof (NDVI 0.1) that the
        // classifier called grassland (3): no rule without the images' vegetation, construction (forest -> bare) with it.
        let evidence = ChangeEvidence(centre: [0, 0], sigma: [0.01, 0.01], radius: 0)
        let vegetation = ChangeTest.Vegetation(red: 0, nir: 1, threshold: 0.2, classes: [1, 2, 3], bare: 6)
        var plain = test(radius: 0, evidence: evidence)
        let before: [Float] = [2, 3], after: [Float] = [3, 3]
        let beforeImage: [[Float]] = [[0.05, 0.18], [0.2, 0.22]]   // red, nir: NDVI 0.6, and 0.1 (sparse shrub)
        let afterImage: [[Float]] = [[0.18, 0.18], [0.22, 0.22]]    // NDVI 0.1 at both: the roof, the unchanged shrub
        XCTAssertEqual(run(plain, width: 2, height: 1, before: before, after: after, beforeImage: beforeImage, afterImage: afterImage).1.changed, 0)
        plain.vegetation = vegetation
        let (out, counts) = run(plain, width: 2, height: 1, before: before, after: after, beforeImage: beforeImage, afterImage: afterImage)
        XCTAssertEqual(counts.changed, 1, "the roof on forest; the shrub is bare on both dates, no change")
        XCTAssertNotEqual(UInt32(out[0][0]) & ChangeRule.Kind.unapprovedConstruction.bit, 0)
        XCTAssertEqual([out[1][0], out[2][0]], [2, 6], "forest -> bare")
        XCTAssertEqual(out[0][1], 0)
    }
}
