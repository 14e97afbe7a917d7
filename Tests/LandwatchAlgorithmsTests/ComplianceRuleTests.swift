import LandwatchAlgorithms
import XCTest

final class ComplianceRuleTests: XCTestCase {
    let rules = ChangeRuleSet(rules: ChangeRule.defaults, classes: ComplianceClasses(cropland: 1, forest: 2, water: 4, builtUp: 5, bare: 6))
    typealias K = ChangeRule.Kind

    func kinds(_ bits: UInt32) -> Set<K> { Set(K.allCases.filter { bits & $0.bit != 0 }) }

    func testNewBuildingOnBasicFarmlandInsideTheRedLineBreaksThreeRules() {
        let bits = rules.bits(before: 1, after: 5, plan: PlanAtPixel(redline: true, basicFarmland: true, insideUrbanBoundary: true))
        XCTAssertEqual(kinds(bits), [.unapprovedConstructionProtected, .farmlandToBuiltUp, .redlineEncroachment])
    }

    func testConstructionInsideTheBoundaryOnConstructionZoningIsTheLesserRule() {
        XCTAssertEqual(kinds(rules.bits(before: 3, after: 5, plan: PlanAtPixel(insideUrbanBoundary: true))), [.unapprovedConstruction])
        XCTAssertEqual(kinds(rules.bits(before: 3, after: 5, plan: PlanAtPixel(insideUrbanBoundary: false))), [.unapprovedConstructionProtected])
        XCTAssertEqual(kinds(rules.bits(before: 3, after: 5, plan: PlanAtPixel(insideUrbanBoundary: true, zonedNonConstruction: true))),
                       [.unapprovedConstructionProtected])
        // Without a boundary layer, nothing says the pixel is outside it.
        XCTAssertEqual(kinds(rules.bits(before: 3, after: 5, plan: PlanAtPixel())), [.unapprovedConstruction])
    }

    func testFarmlandLossHasASubTypePerNewClass() {
        XCTAssertEqual(kinds(rules.bits(before: 1, after: 6, plan: PlanAtPixel())), [.farmlandToBare])
        XCTAssertEqual(kinds(rules.bits(before: 1, after: 4, plan: PlanAtPixel())), [.farmlandToWater])
        XCTAssertEqual(kinds(rules.bits(before: 1, after: 2, plan: PlanAtPixel())), [.farmlandToForest])
        // Any land inside basic farmland counts as farmland before.
        XCTAssertEqual(kinds(rules.bits(before: 3, after: 2, plan: PlanAtPixel(basicFarmland: true))), [.farmlandToForest])
        // Grassland becoming forest elsewhere breaks nothing.
        XCTAssertEqual(rules.bits(before: 3, after: 2, plan: PlanAtPixel()), 0)
    }

    func testNoChangeNodataAndApprovalsGiveNothing() {
        XCTAssertEqual(rules.bits(before: 5, after: 5, plan: PlanAtPixel(redline: true)), 0)
        XCTAssertEqual(rules.bits(before: 0, after: 5, plan: PlanAtPixel(redline: true)), 0, "cloud before")
        XCTAssertEqual(rules.bits(before: 1, after: 0, plan: PlanAtPixel(redline: true)), 0, "cloud after")
        XCTAssertEqual(rules.bits(before: 1, after: 5, plan: PlanAtPixel(basicFarmland: true, approved: true)), 0)
        var strict = ChangeRule.defaults
        strict[strict.firstIndex { $0.kind == .redlineEncroachment }!].exemptIfApproved = false
        let set = ChangeRuleSet(rules: strict, classes: rules.classes)
        XCTAssertEqual(kinds(set.bits(before: 2, after: 6, plan: PlanAtPixel(redline: true, approved: true))), [.redlineEncroachment])
    }

    func testDisabledRulesNeverFire() {
        let set = ChangeRuleSet(rules: ChangeRule.defaults.filter { $0.kind != .farmlandToForest }, classes: rules.classes)
        XCTAssertEqual(set.bits(before: 1, after: 2, plan: PlanAtPixel()), 0)
    }
}

final class PatchLabelerTests: XCTestCase {
    /// Labels a small picture of rule bits (digits), row by row.
    func patches(_ rows: [String], plan: [[Float]]? = nil) -> [PatchLabeler.Patch] {
        let width = rows[0].count
        let labeler = PatchLabeler(width: width, ruleCount: 2, classCodes: [1, 5], planLayerCount: plan == nil ? 0 : 1)
        for (y, row) in rows.enumerated() {
            let bits = row.map { UInt32(String($0))! }
            let before = [Float](repeating: 1, count: width), after = [Float](repeating: 5, count: width)
            let planRow = plan.map { [$0[y]] } ?? []
            _ = bits.withUnsafeBufferPointer { b in before.withUnsafeBufferPointer { bf in after.withUnsafeBufferPointer { af in
                planRow.map { $0 }.withUnsafeBufferPointerArray { p in
                    labeler.addRow(y, bits: b, before: bf, after: af, confidence: nil, plan: p)
                }
            } } }
        }
        return labeler.patches(classCodes: [1, 5])
    }

    func testDiagonalPixelsJoinAndAUShapeIsOnePatch() {
        let found = patches([
            "1000011",
            "0100001",
            "0010001",
            "0000111",
            "3000000",
        ])
        XCTAssertEqual(found.map(\.pixelCount).sorted(), [1, 3, 7])
        let u = found.first { $0.pixelCount == 7 }!
        XCTAssertEqual([u.minColumn, u.minRow, u.maxColumn, u.maxRow], [4, 0, 6, 3])
        let single = found.first { $0.pixelCount == 1 }!
        XCTAssertEqual(single.ruleCounts, [1, 1], "bits 1 and 2 both counted")
        XCTAssertEqual(single.before, [1: 1])
        XCTAssertEqual(single.majorityAfter, 5)
        XCTAssertEqual(single.meanConfidence, 100)
    }

    func testAVShapeMergedLateKeepsEveryPixelAndPlanFeature() {
        let found = patches([
            "1001",
            "1001",
            "0110",
        ], plan: [[7, 0, 0, 9], [7, 0, 0, 0], [0, 0, 0, 0]])
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found[0].pixelCount, 6)
        XCTAssertEqual(found[0].planFeatures, [[7, 9]])
        // Pixels per feature, from the pixels: feature 7 under two of the patch's pixels, 9 under one; three under none.
        XCTAssertEqual(found[0].planFeaturePixels, [[7: 2, 9: 1]])
        XCTAssertEqual(found[0].planPixels, [3])
        XCTAssertEqual(found[0].majorityFeature(layer: 0), 7)
    }
}

private extension Array where Element == [Float] {
    /// Buffer pointers to every inner array, valid inside `body`.
    func withUnsafeBufferPointerArray<R>(_ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
        var pointers: [UnsafeBufferPointer<Float>] = []
        var storage: [UnsafeMutableBufferPointer<Float>] = []
        for inner in self {
            let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: inner.count)
            _ = copy.initialize(from: inner)
            storage.append(copy)
            pointers.append(UnsafeBufferPointer(copy))
        }
        defer { storage.forEach { $0.deallocate() } }
        return body(pointers)
    }
}

final class NavigationTests: XCTestCase {
    func testGCJ02MatchesPublishedReferenceValues() {
        // wandergis/coordtransform and eviltransform test vectors.
        let beijing = Navigation.gcj02(longitude: 116.404, latitude: 39.915)
        XCTAssertEqual(beijing.longitude, 116.41024449916938, accuracy: 1e-9)
        XCTAssertEqual(beijing.latitude, 39.91640428150164, accuracy: 1e-9)
        let shanghai = Navigation.gcj02(longitude: 121.5272106, latitude: 31.1774276)
        XCTAssertEqual(shanghai.longitude, 121.531541859215, accuracy: 1e-9)
        XCTAssertEqual(shanghai.latitude, 31.17530398364597, accuracy: 1e-9)
        // No offset outside China.
        let marburg = Navigation.gcj02(longitude: 8.77, latitude: 50.8)
        XCTAssertEqual(marburg.longitude, 8.77)
        XCTAssertEqual(marburg.latitude, 50.8)
    }

    func testGeohashOfKnownPoints() {
        XCTAssertEqual(Navigation.geohash(longitude: -5.6, latitude: 42.6, precision: 5), "ezs42")
        XCTAssertEqual(Navigation.geohash(longitude: 10.40744, latitude: 57.64911, precision: 11), "u4pruydqqvj")
    }
}

final class PatchMergerTests: XCTestCase {
    /// Labels a picture of 0/1 in tiles of `tile` x `tile` pixels, each tile on its own, then joins the pieces.
    func merged(_ rows: [String], tile: Int) -> [LabelledPatch] {
        let width = rows[0].count, height = rows.count
        let pixels = rows.map { $0.map { UInt32(String($0))! } }
        var tiles: [(columns: Range<Int>, rows: Range<Int>, pieces: [LabelledPatch])] = []
        for y0 in stride(from: 0, to: height, by: tile) {
            for x0 in stride(from: 0, to: width, by: tile) {
                let w = min(tile, width - x0), h = min(tile, height - y0)
                let labeler = PatchLabeler(width: w, ruleCount: 1, classCodes: [1, 5], planLayerCount: 0, columnOffset: x0)
                for y in y0..<(y0 + h) {
                    let bits = Array(pixels[y][x0..<(x0 + w)])
                    let before = [Float](repeating: 1, count: w), after = [Float](repeating: 5, count: w)
                    bits.withUnsafeBufferPointer { b in before.withUnsafeBufferPointer { bf in after.withUnsafeBufferPointer { af in
                        labeler.addRow(y, bits: b, before: bf, after: af, confidence: nil, plan: [])
                    } } }
                }
                tiles.append((x0..<(x0 + w), y0..<(y0 + h), PatchMerger.pieces(of: labeler, classCodes: [1, 5])))
            }
        }
        return PatchMerger.mergeTiles(tiles)
    }

    func testPiecesJoinAcrossTileEdgesAndCorners() {
        let picture = [
            "100001",
            "110011",
            "011110",  // a V crossing the tile edge at column 3 and the row edge at row 3
            "000100",
            "001000",  // touches row 3's pixel only at a corner, across the 3 x 3 tile corner
            "000000",
        ]
        let patches = merged(picture, tile: 3)
        XCTAssertEqual(patches.count, 1, "\(patches.map(\.patch.pixelCount))")
        XCTAssertEqual(patches.first?.patch.pixelCount, 12)
        XCTAssertEqual(patches.first.map { [$0.patch.minColumn, $0.patch.minRow, $0.patch.maxColumn, $0.patch.maxRow] }, [0, 0, 5, 4])
        XCTAssertEqual(patches.first?.runs.reduce(0) { $0 + Int($1.end - $1.start) }, 12)
        // The same picture labelled whole gives the same patch.
        XCTAssertEqual(merged(picture, tile: 6).first?.patch.pixelCount, 12)
    }

    func testSeparatePatchesStaySeparate() {
        let patches = merged(["110011", "000000", "011000"], tile: 2)
        XCTAssertEqual(patches.map(\.patch.pixelCount).sorted(), [2, 2, 2])
    }
}
