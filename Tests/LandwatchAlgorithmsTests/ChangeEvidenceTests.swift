import LandwatchAlgorithms
import XCTest

/// Relative normalisation and change evidence as pure functions.
final class ChangeEvidenceTests: XCTestCase {
    /// A deterministic generator, so the tests do not depend on luck.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func gaussian() -> Float {
            let u = Float.random(in: 1e-7..<1, using: &self), v = Float.random(in: 0..<1, using: &self)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    func testTheFitFindsGainAndOffsetAndLeavesRealChangeOut() throws {
        var random = SplitMix(state: 7)
        let count = 20_000
        var reference: [[Float]] = [[], [], []], subject: [[Float]] = [[], [], []]
        let gains: [Float] = [0.9, 1.05, 1.1], offsets: [Float] = [0.01, -0.02, 0.005]
        for i in 0..<count {
            let base = Float.random(in: 0.02...0.5, using: &random)
            for b in 0..<3 {
                let r = base * Float(b + 1) / 3 + 0.003 * random.gaussian()
                reference[b].append(r)
                var s = (r - offsets[b]) / gains[b] + 0.003 * random.gaussian()
                if i % 5 == 0 { s = Float.random(in: 0...0.6, using: &random) }   // 20 % changed: unrelated values
                subject[b].append(s)
            }
        }
        let fit = try RelativeNormalization.fit(reference: reference, subject: subject, bandNames: ["a", "b", "c"])
        for b in 0..<3 {
            XCTAssertEqual(fit.bands[b].gain, Double(gains[b]), accuracy: 0.02, "band \(b)")
            XCTAssertEqual(fit.bands[b].offset, Double(offsets[b]), accuracy: 0.005, "band \(b)")
        }
        XCTAssertEqual(fit.invariantShare, 0.8, accuracy: 0.05, "the changed fifth is left out")
    }

    /// A band whose contrast is mostly noise (red over dark forest: σ 0.004 of land, 0.004 of noise on the later date)
    /// is shifted, never shrunk: a regression there gave gains of 0.06-0.43 for a true 1.0 on Slovenia, and planted
    /// roofs came out forest. A band with contrast keeps its fitted gain.
    func testANoisyLowContrastBandIsShiftedNotShrunk() throws {
        var random = SplitMix(state: 5)
        var reference: [[Float]] = [[], []], subject: [[Float]] = [[], []]
        for _ in 0..<20_000 {
            let dark = 0.03 + 0.004 * random.gaussian(), bright = Float.random(in: 0.1...0.4, using: &random)
            reference[0].append(dark)
            reference[1].append(bright)
            subject[0].append((dark - 0.01) / 1.05 + 0.004 * random.gaussian())
            subject[1].append((bright - 0.01) / 1.05 + 0.004 * random.gaussian())
        }
        let fit = try RelativeNormalization.fit(reference: reference, subject: subject, bandNames: ["red", "swir1"])
        XCTAssertFalse(fit.bands[0].regressed)
        XCTAssertLessThan(fit.bands[0].correlation, 0.8)
        XCTAssertEqual(fit.bands[0].gain, 1)
        // The medians: 0.03 before, (0.03 - 0.01) / 1.05 after.
        XCTAssertEqual(fit.bands[0].offset, 0.03 - 0.02 / 1.05, accuracy: 0.0005)
        XCTAssertTrue(fit.bands[1].regressed)
        XCTAssertEqual(fit.bands[1].gain, 1.05, accuracy: 0.02)
    }

    func testTooFewUnchangedPixelsIsAProblemNotASilentFit() {
        var random = SplitMix(state: 3)
        let reference = [(0..<1000).map { _ in Float.random(in: 0...1, using: &random) }]
        let subject = [(0..<1000).map { _ in Float.random(in: 0...1, using: &random) }]
        XCTAssertThrowsError(try RelativeNormalization.fit(reference: reference, subject: subject, bandNames: ["x"], minimumShare: 0.5)) { error in
            XCTAssertTrue("\(error)".contains("look unchanged") || "\(error)".contains("hardly agree"), "\(error)")
        }
    }

    func testTheSampleDoesNotDependOnTheTiling() {
        // The same pixels are sampled whether the grid is read whole or in tiles: membership depends on the position only.
        let width = 300, height = 200
        var whole = Set<Int>()
        for row in 0..<height { for col in 0..<width where RelativeNormalization.isSampled(row: row, column: col, width: width, oneIn: 7) { whole.insert(row * width + col) } }
        var tiled = Set<Int>()
        for tileRow in stride(from: 0, to: height, by: 64) {
            for tileCol in stride(from: 0, to: width, by: 64) {
                for row in tileRow..<min(tileRow + 64, height) {
                    for col in tileCol..<min(tileCol + 64, width) where RelativeNormalization.isSampled(row: row, column: col, width: width, oneIn: 7) {
                        tiled.insert(row * width + col)
                    }
                }
            }
        }
        XCTAssertEqual(whole, tiled)
        XCTAssertEqual(Double(whole.count) / Double(width * height), 1 / 7, accuracy: 0.01)
    }

    func testALargeGridIsSampledInCellsThatTheTilesTouch() {
        // 10980² (a Sentinel-2 tile): 69 of 484 cells of 512², one in each 7 consecutive; every sampled pixel lies in
        // a tile the sample says it touches, whatever the tiling, and the sample is about the target.
        let sample = PositionSample(width: 10980, height: 10980, target: 250_000)
        XCTAssertEqual(sample.cellOneIn, 7)
        var cells = 0
        for cellRow in 0..<22 { for cellColumn in 0..<22 where sample.isSampled(cellRow: cellRow, cellColumn: cellColumn) { cells += 1 } }
        XCTAssertEqual(cells, 484 / 7 + (484 % 7 > 0 ? 1 : 0), accuracy: 1)
        var pixels = 0, outside = 0
        for tile in [300, 512, 1000] {
            var inTiles = 0
            for tileRow in stride(from: 0, to: 10980, by: tile) {
                for tileColumn in stride(from: 0, to: 10980, by: tile) {
                    let rows = tileRow..<min(tileRow + tile, 10980), columns = tileColumn..<min(tileColumn + tile, 10980)
                    let touched = sample.touches(rows: rows, columns: columns)
                    // Every 7th row of the tile is enough to see that no sampled pixel lies in an untouched tile.
                    for row in rows where row % 7 == 0 {
                        for column in columns where sample.isSampled(row: row, column: column) {
                            inTiles += 1
                            if !touched { outside += 1 }
                        }
                    }
                }
            }
            if pixels == 0 { pixels = inTiles } else { XCTAssertEqual(inTiles, pixels, "tiles of \(tile)") }
        }
        XCTAssertEqual(outside, 0)
        XCTAssertEqual(Double(pixels * 7), 250_000, accuracy: 25_000)
        // A grid under 128 cells is sampled everywhere, pixel by pixel as before.
        let small = PositionSample(width: 3000, height: 3000, target: 250_000)
        XCTAssertEqual(small.cellOneIn, 1)
        XCTAssertEqual(small.oneIn, 36)
        XCTAssertTrue(small.touches(rows: 0..<10, columns: 0..<10))
    }

    func testEvidenceIgnoresAOnePixelShiftAndSeesANewSurface() {
        // A 5 x 5 earlier image of two fields (a vertical edge), one band; the later pixel at the centre is the
        // left field's value (the edge moved by one pixel): no evidence; a roof's value: strong evidence.
        let before: [Float] = (0..<25).map { ($0 % 5) < 2 ? 0.1 : 0.4 }
        let evidence = ChangeEvidence(centre: [0], sigma: [0.01], radius: 1)
        before.withUnsafeBufferPointer { view in
            XCTAssertEqual(evidence.evidence(after: [0.1], before: [view], haloWidth: 5, haloHeight: 5, haloRow: 2, haloColumn: 2), 0, accuracy: 1e-6)
            XCTAssertEqual(evidence.evidence(after: [0.25], before: [view], haloWidth: 5, haloHeight: 5, haloRow: 2, haloColumn: 2), 15, accuracy: 1e-3)
            XCTAssertTrue(evidence.evidence(after: [.nan], before: [view], haloWidth: 5, haloHeight: 5, haloRow: 2, haloColumn: 2).isNaN)
        }
    }

    func testTheNoChangeSpreadIsRobustToChange() {
        var random = SplitMix(state: 11)
        var differences: [Float] = (0..<10_000).map { _ in 0.02 + 0.01 * random.gaussian() }
        for i in stride(from: 0, to: differences.count, by: 10) { differences[i] = 0.5 }   // a tenth changed
        let measured = ChangeEvidence.noChange(differences: [differences], radius: 1)
        XCTAssertEqual(Double(measured.centre[0]), 0.02, accuracy: 0.002)
        XCTAssertEqual(Double(measured.sigma[0]), 0.01, accuracy: 0.0015)
    }

    func testScoreIsHalfAtTheThresholdAndGrowsWithEvidence() {
        XCTAssertEqual(ChangeEvidence.score(meanEvidence: 4, threshold: 4, meanConfidence: 100), 50)
        XCTAssertEqual(ChangeEvidence.score(meanEvidence: 8, threshold: 4, meanConfidence: 100), 75)
        XCTAssertEqual(ChangeEvidence.score(meanEvidence: 8, threshold: 4, meanConfidence: 60), 45)
        XCTAssertGreaterThan(ChangeEvidence.score(meanEvidence: 40, threshold: 4, meanConfidence: 100), 99)
        XCTAssertEqual(ChangeEvidence.score(meanEvidence: nil, threshold: 4, meanConfidence: 100), 50, "classes alone: confidence only")
    }

    func testQuantiles() {
        XCTAssertEqual(RelativeNormalization.normalQuantile(0.975), 1.959964, accuracy: 1e-5)
        XCTAssertEqual(RelativeNormalization.chiSquareQuantile(probability: 0.99, degreesOfFreedom: 6), 16.81, accuracy: 0.2)
        XCTAssertEqual(RelativeNormalization.chiSquareQuantile(probability: 0.99, degreesOfFreedom: 4), 13.28, accuracy: 0.2)
    }

    func testConstructionAsTheFieldSeesIt() {
        let classes = ComplianceClasses(cropland: 1, forest: 2, water: 4, builtUp: 5, bare: 6)
        let rules = ChangeRuleSet(rules: ChangeRule.defaults, classes: classes)
        // Vegetation or water to built-up or bare (earthworks) is construction.
        for (before, after) in [(2, 5), (3, 5), (4, 5), (2, 6), (3, 6), (4, 6), (1, 5)] {
            XCTAssertTrue(rules.isConstruction(before: before, after: after), "\(before) -> \(after)")
        }
        // Harvest (cropland -> bare), built-up -> bare, and bare -> built-up (by default) are not.
        for (before, after) in [(1, 6), (5, 6), (6, 5), (2, 3)] {
            XCTAssertFalse(rules.isConstruction(before: before, after: after), "\(before) -> \(after)")
        }
        XCTAssertTrue(ChangeRuleSet(rules: ChangeRule.defaults, classes: classes, constructionFromBare: true).isConstruction(before: 6, after: 5))
        // Out of season, cropland -> bare is harvest: FL-S does not fire.
        let seasonal = ChangeRuleSet(rules: ChangeRule.defaults, classes: classes, bareFarmlandIsSeasonal: true)
        XCTAssertEqual(seasonal.bits(before: 1, after: 6, plan: PlanAtPixel()), 0)
        XCTAssertEqual(rules.bits(before: 1, after: 6, plan: PlanAtPixel()), ChangeRule.Kind.farmlandToBare.bit)
    }
}
