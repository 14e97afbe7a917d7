/// The compliance diff's test of each pixel of a tile: is it a change, which rules does it break, and how strong is
/// its evidence. A pure function of the tile's values (no file, no thread), so that it can be tested on hand-made
/// tiles and run on any tiling.
///
/// A pixel is a change only where both dates have a class (clouds and nodata never change), both classifications
/// are confident enough, the index moved enough (when asked), the new class is absent from the `radius`
/// neighbourhood of the before map (a one-pixel misregistration does not outline every field), it breaks a rule,
/// and — with the images — its evidence reaches `minEvidence` (``ChangeEvidence``). With the images and
/// ``vegetation``, a pixel classified as vegetation whose NDVI on its date is under the threshold counts as bare.
public struct ChangeTest: Sendable {
    public var ruleSet: ChangeRuleSet
    /// Both classifications must be at least this confident (%).
    public var minConfidence: Float
    /// |after index − before index| must be at least this, when set.
    public var minIndexChange: Float?
    /// The evidence a change needs, with ``evidence``.
    public var minEvidence: Float
    /// The no-change spread of the images; nil: classes alone.
    public var evidence: ChangeEvidence?
    /// The neighbourhood of the before map searched for the new class (0: off).
    public var radius: Int
    /// Position of each plan layer in ``Tile/plan`` (nil: not connected).
    public var layers: Layers
    /// By zoning feature number (0: none): true where the zone allows no construction.
    public var nonConstruction: [Bool]
    /// Vegetation as the images tell it, on both dates (nil: the classes as given).
    public var vegetation: Vegetation?

    /// A pixel the classifier put in a vegetated class (cropland, forest, grassland) whose NDVI is under `threshold`
    /// counts as bare for the rules: under 0.2 is bare soil or a sealed surface (the rule classifier's bare
    /// condition), whatever a model trained on other land calls it. A model can put a new roof in grassland when its
    /// training labels have no bare land, or map sparse shrub and roofs alike; the roof then replaced forest by
    /// grassland and broke no rule.
    public struct Vegetation: Sendable, Equatable {
        /// Positions of the red and near-infrared bands among the compared image bands.
        public var red: Int, nir: Int
        public var threshold: Float
        /// Legend codes of the vegetated classes.
        public var classes: [Int]
        /// The code such a pixel takes.
        public var bare: Int

        public init(red: Int, nir: Int, threshold: Float, classes: [Int], bare: Int) {
            self.red = red
            self.nir = nir
            self.threshold = threshold
            self.classes = classes.filter { $0 > 0 }
            self.bare = bare
        }

        /// The class for the rules of a pixel classified `code` with these reflectances, and whether the image
        /// decided it: a vegetated or bare pixel under the threshold is bare, whatever the classifier's confidence.
        @inline(__always)
        public func rulesClass(_ code: Int, red: Float, nir: Float) -> (code: Int, decided: Bool) {
            guard bare > 0, code == bare || classes.contains(code), red.isFinite, nir.isFinite, nir + red != 0,
                  (nir - red) / (nir + red) < threshold else { return (code, false) }
            return (bare, true)
        }
    }

    public struct Layers: Sendable, Equatable {
        public var redline: Int?, basicFarmland: Int?, urbanBoundary: Int?, zoning: Int?, approvals: Int?

        public init(redline: Int? = nil, basicFarmland: Int? = nil, urbanBoundary: Int? = nil, zoning: Int? = nil, approvals: Int? = nil) {
            self.redline = redline
            self.basicFarmland = basicFarmland
            self.urbanBoundary = urbanBoundary
            self.zoning = zoning
            self.approvals = approvals
        }
    }

    public init(ruleSet: ChangeRuleSet, minConfidence: Float, minIndexChange: Float?, minEvidence: Float, evidence: ChangeEvidence?,
                radius: Int, layers: Layers, nonConstruction: [Bool], vegetation: Vegetation? = nil) {
        self.ruleSet = ruleSet
        self.minConfidence = minConfidence
        self.minIndexChange = minIndexChange
        self.minEvidence = minEvidence
        self.evidence = evidence
        self.radius = radius
        self.layers = layers
        self.nonConstruction = nonConstruction
        self.vegetation = vegetation
    }

    /// Pixels whose class changed, split by what became of them.
    public struct Counts: Sendable, Equatable {
        /// Reported: a rule broken, with enough evidence.
        public var changed = 0
        /// Left out for evidence under ``ChangeTest/minEvidence``.
        public var weak = 0
        /// Left out for lack of imagery on a date (no evidence).
        public var noImagery = 0

        public init(changed: Int = 0, weak: Int = 0, noImagery: Int = 0) {
            self.changed = changed
            self.weak = weak
            self.noImagery = noImagery
        }

        public static func + (a: Counts, b: Counts) -> Counts {
            Counts(changed: a.changed + b.changed, weak: a.weak + b.weak, noImagery: a.noImagery + b.noImagery)
        }
    }

    /// The values of one tile: `width` x `height` values per band, row-major, except the before map and the before
    /// image, which cover the tile with a halo (`haloWidth` x `haloHeight`, the tile's first pixel at `haloColumn`,
    /// `haloRow` of it). NaN is nodata.
    public struct Tile {
        public var width: Int, height: Int
        public var haloWidth: Int, haloHeight: Int
        public var haloColumn: Int, haloRow: Int
        public var beforeClasses: UnsafeBufferPointer<Float>
        public var afterClasses: UnsafeBufferPointer<Float>
        public var beforeConfidence: UnsafeBufferPointer<Float>?
        public var afterConfidence: UnsafeBufferPointer<Float>?
        /// The plan layers (feature numbers, 0 or NaN outside), in the order of the output's plan bands.
        public var plan: [UnsafeBufferPointer<Float>]
        public var beforeIndex: UnsafeBufferPointer<Float>?
        public var afterIndex: UnsafeBufferPointer<Float>?
        /// The compared bands of the earlier image, over the halo.
        public var beforeImage: [UnsafeBufferPointer<Float>]
        /// The same bands of the later image, over the tile.
        public var afterImage: [UnsafeBufferPointer<Float>]

        public init(width: Int, height: Int, haloWidth: Int, haloHeight: Int, haloColumn: Int, haloRow: Int,
                    beforeClasses: UnsafeBufferPointer<Float>, afterClasses: UnsafeBufferPointer<Float>,
                    beforeConfidence: UnsafeBufferPointer<Float>? = nil, afterConfidence: UnsafeBufferPointer<Float>? = nil,
                    plan: [UnsafeBufferPointer<Float>] = [], beforeIndex: UnsafeBufferPointer<Float>? = nil,
                    afterIndex: UnsafeBufferPointer<Float>? = nil, beforeImage: [UnsafeBufferPointer<Float>] = [],
                    afterImage: [UnsafeBufferPointer<Float>] = []) {
            self.width = width
            self.height = height
            self.haloWidth = haloWidth
            self.haloHeight = haloHeight
            self.haloColumn = haloColumn
            self.haloRow = haloRow
            self.beforeClasses = beforeClasses
            self.afterClasses = afterClasses
            self.beforeConfidence = beforeConfidence
            self.afterConfidence = afterConfidence
            self.plan = plan
            self.beforeIndex = beforeIndex
            self.afterIndex = afterIndex
            self.beforeImage = beforeImage
            self.afterImage = afterImage
        }
    }

    /// The bands of the change raster before its plan layers, as ``apply(_:into:)`` fills them.
    public static let leadingBands = ["rules", "before", "after", "confidence", "evidence"]

    /// Tests every pixel of `tile` and writes, at changed pixels only, the rule bits, the classes, the confidence,
    /// the evidence and the plan layers into `outputs` (``leadingBands`` then one band per plan layer, `width` x
    /// `height` each); every other pixel is 0.
    public func apply(_ tile: Tile, into outputs: [UnsafeMutableBufferPointer<Float>]) -> Counts {
        precondition(outputs.count == Self.leadingBands.count + tile.plan.count, "one output band per leading band and plan layer")
        let count = tile.width * tile.height
        for band in outputs { UnsafeMutableBufferPointer(rebasing: band[0..<count]).update(repeating: 0) }
        var counts = Counts()
        var afterPixel = [Float](repeating: 0, count: tile.afterImage.count)
        let beforeHalo = tile.beforeClasses, after = tile.afterClasses, plan = tile.plan
        let haloWidth = tile.haloWidth, haloHeight = tile.haloHeight
        let vegetation = tile.beforeImage.isEmpty || tile.afterImage.isEmpty ? nil : self.vegetation
        // Vegetation.rulesClass per pixel, with its class test tabulated and the bands taken out of the arrays once
        // (the per-pixel array search and indexing were most of compliance.diff's own time): the same decisions.
        let vegetationTable: [Bool] = vegetation.map { v in
            guard v.bare > 0 else { return [] }
            let top = max(v.bare, v.classes.max() ?? 0)
            return (0...top).map { $0 == v.bare || v.classes.contains($0) }
        } ?? []
        let bare = vegetation?.bare ?? 0, threshold = vegetation?.threshold ?? 0
        let beforeRed = vegetation.map { tile.beforeImage[$0.red] }, beforeNIR = vegetation.map { tile.beforeImage[$0.nir] }
        let afterRed = vegetation.map { tile.afterImage[$0.red] }, afterNIR = vegetation.map { tile.afterImage[$0.nir] }
        @inline(__always) func rulesClass(_ code: Int, red: Float, nir: Float) -> (code: Int, decided: Bool) {
            guard code >= 0, code < vegetationTable.count, vegetationTable[code], red.isFinite, nir.isFinite, nir + red != 0,
                  (nir - red) / (nir + red) < threshold else { return (code, false) }
            return (bare, true)
        }
        let beforeConfidence = tile.beforeConfidence, afterConfidence = tile.afterConfidence
        /// The before class at a position of the halo, for the rules.
        func beforeClass(_ index: Int) -> Int {
            let value = beforeHalo[index]
            let code = value.isFinite ? Int(value) : 0
            guard let beforeRed, let beforeNIR else { return code }
            return rulesClass(code, red: beforeRed[index], nir: beforeNIR[index]).code
        }
        for row in 0..<tile.height {
            let haloRow = row + tile.haloRow
            for col in 0..<tile.width {
                let i = row * tile.width + col
                let haloCol = col + tile.haloColumn
                let afterValue = after[i], beforeValue = beforeHalo[haloRow * haloWidth + haloCol]
                var b = beforeValue.isFinite ? Int(beforeValue) : 0
                var a = afterValue.isFinite ? Int(afterValue) : 0
                // Unclassified stays unclassified (the vegetation test never gives or takes class 0).
                guard b > 0, a > 0 else { continue }
                // A class the image decided (not vegetation: NDVI under the threshold) is as sure as a rule class: the
                // classifier's confidence in bare against grassland, or in the grassland it gave, says nothing about it.
                var beforeDecided = false, afterDecided = false
                if let beforeRed, let beforeNIR, let afterRed, let afterNIR {
                    let h = haloRow * haloWidth + haloCol
                    (b, beforeDecided) = rulesClass(b, red: beforeRed[h], nir: beforeNIR[h])
                    (a, afterDecided) = rulesClass(a, red: afterRed[i], nir: afterNIR[i])
                }
                guard a != b else { continue }
                let confidence = min(beforeDecided ? 100 : beforeConfidence.map { $0[i].isFinite ? $0[i] : 0 } ?? 100,
                                     afterDecided ? 100 : afterConfidence.map { $0[i].isFinite ? $0[i] : 0 } ?? 100)
                guard b > 0, a > 0, a != b, confidence >= minConfidence else { continue }
                if let minIndexChange, let indexBefore = tile.beforeIndex, let indexAfter = tile.afterIndex {
                    let change = abs(indexAfter[i] - indexBefore[i])
                    guard change.isFinite, change >= minIndexChange else { continue }
                }
                if radius > 0 {
                    var seen = false
                    let r0 = max(haloRow - radius, 0), r1 = min(haloRow + radius, haloHeight - 1)
                    let c0 = max(haloCol - radius, 0), c1 = min(haloCol + radius, haloWidth - 1)
                    search: for r in r0...r1 {
                        for c in c0...c1 where beforeClass(r * haloWidth + c) == a {
                            seen = true
                            break search
                        }
                    }
                    if seen { continue }
                }
                func inside(_ band: Int?) -> Bool { band.map { plan[$0][i].isFinite && plan[$0][i] > 0 } ?? false }
                var pixelPlan = PlanAtPixel(redline: inside(layers.redline), basicFarmland: inside(layers.basicFarmland),
                                            insideUrbanBoundary: layers.urbanBoundary.map { _ in inside(layers.urbanBoundary) },
                                            approved: inside(layers.approvals))
                if let zoning = layers.zoning {
                    let number = plan[zoning][i]
                    if number.isFinite, number >= 1, Int(number) < nonConstruction.count {
                        pixelPlan.zonedNonConstruction = nonConstruction[Int(number)]
                    }
                }
                let bits = ruleSet.bits(before: b, after: a, plan: pixelPlan)
                guard bits != 0 else { continue }
                var strength: Float = 0
                if let evidence {
                    for band in afterPixel.indices { afterPixel[band] = tile.afterImage[band][i] }
                    strength = evidence.evidence(after: afterPixel, before: tile.beforeImage, haloWidth: haloWidth,
                                                 haloHeight: haloHeight, haloRow: haloRow, haloColumn: haloCol)
                    // A pixel without imagery on a date has no evidence: it is not reported on classes alone.
                    guard strength.isFinite else { counts.noImagery += 1; continue }
                    guard strength >= minEvidence else { counts.weak += 1; continue }
                }
                counts.changed += 1
                // Only changed pixels carry values: the raster stays sparse, small and quick to read.
                outputs[0][i] = Float(bits)
                outputs[1][i] = Float(b)
                outputs[2][i] = Float(a)
                outputs[3][i] = confidence
                outputs[4][i] = strength
                for layer in plan.indices {
                    let value = plan[layer][i]
                    outputs[5 + layer][i] = value.isFinite ? value : 0
                }
            }
        }
        return counts
    }
}
