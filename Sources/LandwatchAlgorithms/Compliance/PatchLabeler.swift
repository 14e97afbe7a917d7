/// Finds 8-connected patches of changed pixels row by row (two-pass connected-component labelling with
/// union-find) and sums what each patch needs for its entry in a violation list.
///
/// Only two rows of labels are held; statistics are kept per provisional label and folded into the patch's root
/// at the end, so memory grows with the number of changed regions, not with the scene.
public final class PatchLabeler {
    public let width: Int
    public let ruleCount: Int
    /// Class code → slot in the class histograms (codes the legend does not know go to slot 0).
    private let slots: [Int]
    public let slotCount: Int
    public let planLayerCount: Int
    /// Added to every column recorded (boxes, runs), when the rows given are a window of a wider grid.
    public let columnOffset: Int

    private var parent: [UInt32] = [0]
    private var counts: [Int32] = [0]
    private var ruleCounts: [Int32]
    private var boxes: [Int32] = [0, 0, 0, 0]
    private var confidenceSums: [Float] = [0]
    /// Per provisional label: the sum of the evidence of its pixels that have one, and how many have one.
    private var evidenceSums: [Float] = [0]
    private var evidenceCounts: [Int32] = [0]
    private var beforeHistogram: [Int32]
    private var afterHistogram: [Int32]
    /// Per plan layer, per provisional label: pixels under each feature number.
    private var planFeatures: [[UInt32: [Int32: Int32]]]
    private var previous: [UInt32]
    private var current: [UInt32]
    private var previousIsEmpty = true
    /// Runs of equal provisional labels, row by row: the patches' pixels, kept instead of a label raster.
    public private(set) var runs: [Run] = []

    /// Pixels `start..<end` of `row` carry provisional label `label`.
    public struct Run: Sendable, Equatable, Codable {
        public var row: Int32
        public var start: Int32
        public var end: Int32
        public var label: UInt32
    }

    /// `classCodes` are the legend's codes; `planLayerCount` the number of plan bands whose features are listed.
    public init(width: Int, ruleCount: Int, classCodes: [Int], planLayerCount: Int, columnOffset: Int = 0) {
        self.width = width
        self.columnOffset = columnOffset
        self.ruleCount = ruleCount
        var slots = [Int](repeating: 0, count: 256)
        for (index, code) in classCodes.enumerated() where (0..<256).contains(code) { slots[code] = index + 1 }
        self.slots = slots
        slotCount = classCodes.count + 1
        self.planLayerCount = planLayerCount
        ruleCounts = [Int32](repeating: 0, count: ruleCount)
        beforeHistogram = [Int32](repeating: 0, count: classCodes.count + 1)
        afterHistogram = beforeHistogram
        planFeatures = Array(repeating: [:], count: planLayerCount)
        previous = [UInt32](repeating: 0, count: width)
        current = previous
    }

    /// Provisional labels made so far (label 0 is the background).
    public var provisionalCount: Int { parent.count - 1 }

    private func newLabel(column: Int, row: Int) -> UInt32 {
        let label = UInt32(parent.count)
        parent.append(label)
        counts.append(0)
        ruleCounts.append(contentsOf: repeatElement(0, count: ruleCount))
        boxes.append(contentsOf: [Int32(column), Int32(row), Int32(column), Int32(row)])
        confidenceSums.append(0)
        evidenceSums.append(0)
        evidenceCounts.append(0)
        beforeHistogram.append(contentsOf: repeatElement(0, count: slotCount))
        afterHistogram.append(contentsOf: repeatElement(0, count: slotCount))
        return label
    }

    /// The root of a label's set, compressing the path.
    public func root(_ label: UInt32) -> UInt32 {
        var root = label
        while parent[Int(root)] != root { root = parent[Int(root)] }
        var node = label
        while parent[Int(node)] != root {
            let next = parent[Int(node)]
            parent[Int(node)] = root
            node = next
        }
        return root
    }

    private func union(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let ra = root(a), rb = root(b)
        if ra == rb { return ra }
        let (low, high) = ra < rb ? (ra, rb) : (rb, ra)
        parent[Int(high)] = low
        return low
    }

    /// A row without any change.
    public func addEmptyRow() {
        if !previousIsEmpty {
            previous.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            previousIsEmpty = true
        }
    }

    /// One row of the change raster. `bits` are the rule bits of each pixel (0: no change); `plan` holds, per plan
    /// layer, the feature number under each pixel. The row's pixels are recorded as runs of provisional labels.
    public func addRow(_ row: Int, bits: UnsafeBufferPointer<UInt32>, before: UnsafeBufferPointer<Float>,
                       after: UnsafeBufferPointer<Float>, confidence: UnsafeBufferPointer<Float>?,
                       evidence: UnsafeBufferPointer<Float>? = nil, plan: [UnsafeBufferPointer<Float>]) {
        precondition(bits.count >= width && plan.count == planLayerCount)
        // Work on local copies (moved out, so not copied): class properties would be checked for exclusive
        // access on every pixel.
        var current = self.current, previous = self.previous
        self.current = []
        self.previous = []
        defer {
            self.current = previous
            self.previous = current
        }
        var runStart = -1
        var runLabel: UInt32 = 0
        var any = false
        current.withUnsafeMutableBufferPointer { current in
        previous.withUnsafeMutableBufferPointer { previous in
        for x in 0..<width {
            let mask = bits[x]
            guard mask != 0 else {
                current[x] = 0
                if runStart >= 0 {
                    runs.append(Run(row: Int32(row), start: Int32(runStart + columnOffset), end: Int32(x + columnOffset), label: runLabel))
                    runStart = -1
                }
                continue
            }
            any = true
            var label: UInt32 = 0
            let west = x > 0 ? current[x - 1] : 0
            let northWest = x > 0 ? previous[x - 1] : 0
            let north = previous[x]
            let northEast = x + 1 < width ? previous[x + 1] : 0
            if west != 0 { label = root(west) }
            if northWest != 0 { label = label == 0 ? root(northWest) : union(label, northWest) }
            if north != 0 { label = label == 0 ? root(north) : union(label, north) }
            if northEast != 0 { label = label == 0 ? root(northEast) : union(label, northEast) }
            if label == 0 { label = newLabel(column: x + columnOffset, row: row) }
            current[x] = label
            if runStart >= 0 && runLabel != label {
                runs.append(Run(row: Int32(row), start: Int32(runStart + columnOffset), end: Int32(x + columnOffset), label: runLabel))
                runStart = -1
            }
            if runStart < 0 { runStart = x; runLabel = label }
            let index = Int(label)
            counts[index] += 1
            for rule in 0..<ruleCount where mask & (1 << UInt32(rule)) != 0 { ruleCounts[index * ruleCount + rule] += 1 }
            let box = index * 4
            let column = Int32(x + columnOffset)
            boxes[box] = min(boxes[box], column)
            boxes[box + 1] = min(boxes[box + 1], Int32(row))
            boxes[box + 2] = max(boxes[box + 2], column)
            boxes[box + 3] = max(boxes[box + 3], Int32(row))
            if let confidence, confidence[x].isFinite { confidenceSums[index] += confidence[x] } else { confidenceSums[index] += 100 }
            if let evidence, evidence[x].isFinite, evidence[x] > 0 { evidenceSums[index] += evidence[x]; evidenceCounts[index] += 1 }
            beforeHistogram[index * slotCount + slot(before[x])] += 1
            afterHistogram[index * slotCount + slot(after[x])] += 1
            for layer in 0..<planLayerCount {
                let number = plan[layer][x]
                // Feature numbers are 1...n (n < 2^24, exact in a Float); anything else is no feature.
                guard number.isFinite, number >= 1, number < 16_777_216 else { continue }
                planFeatures[layer][label, default: [:]][Int32(number), default: 0] += 1
            }
        }
        }
        }
        if runStart >= 0 {
            runs.append(Run(row: Int32(row), start: Int32(runStart + columnOffset), end: Int32(width + columnOffset), label: runLabel))
        }
        previousIsEmpty = !any
    }

    /// The runs of each patch, by root label.
    public func runsByRoot() -> [UInt32: [Run]] {
        var grouped: [UInt32: [Run]] = [:]
        for run in runs { grouped[root(run.label), default: []].append(run) }
        return grouped
    }

    @inline(__always)
    private func slot(_ value: Float) -> Int {
        guard value.isFinite, value >= 0, value < 256 else { return 0 }
        return slots[Int(value)]
    }

    /// What one patch holds.
    public struct Patch: Sendable, Equatable, Codable {
        /// The root label (provisional labels map to it through ``PatchLabeler/root(_:)``).
        public var label: UInt32
        public var pixelCount: Int
        /// Pixels breaking each rule, by rule index.
        public var ruleCounts: [Int]
        /// Pixel bounding box: first and last column and row.
        public var minColumn: Int, minRow: Int, maxColumn: Int, maxRow: Int
        public var meanConfidence: Double
        /// The mean change evidence of the pixels that have one (no-change standard deviations, see
        /// ``ChangeEvidence``); nil when the change was found without imagery (classes only).
        public var meanEvidence: Double? = nil
        /// How many of its pixels have an evidence value.
        public var evidencePixels: Int? = nil
        /// Pixels per class code before and after.
        public var before: [Int: Int]
        public var after: [Int: Int]
        /// Per plan layer: the patch's pixels under each feature number it touches (a pixel under no feature of a
        /// layer counts for none of them).
        public var planFeaturePixels: [[Int: Int]]

        /// Feature numbers touched, per plan layer, in increasing order.
        public var planFeatures: [[Int]] { planFeaturePixels.map { $0.keys.sorted() } }
        /// Pixels inside some feature of each plan layer.
        public var planPixels: [Int] { planFeaturePixels.map { $0.values.reduce(0, +) } }
        /// The feature of a layer holding most of the patch's pixels (ties: the lower number); nil when it touches none.
        public func majorityFeature(layer: Int) -> Int? {
            planFeaturePixels[layer].max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        }

        /// The most frequent class before / after.
        public var majorityBefore: Int { before.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0 }
        public var majorityAfter: Int { after.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0 }
    }

    /// Folds every provisional label into its root and returns the patches, in order of their first pixel.
    /// `classCodes` must be the codes given at initialisation.
    public func patches(classCodes: [Int]) -> [Patch] {
        var byRoot: [UInt32: Int] = [:]
        var result: [Patch] = []
        for label in 1..<UInt32(parent.count) {
            let r = root(label)
            let index = Int(label)
            let position: Int
            if let existing = byRoot[r] { position = existing } else {
                position = result.count
                byRoot[r] = position
                result.append(Patch(label: r, pixelCount: 0, ruleCounts: Array(repeating: 0, count: ruleCount),
                                    minColumn: Int.max, minRow: Int.max, maxColumn: Int.min, maxRow: Int.min,
                                    meanConfidence: 0, before: [:], after: [:], planFeaturePixels: Array(repeating: [:], count: planLayerCount)))
            }
            result[position].pixelCount += Int(counts[index])
            for rule in 0..<ruleCount { result[position].ruleCounts[rule] += Int(ruleCounts[index * ruleCount + rule]) }
            result[position].minColumn = min(result[position].minColumn, Int(boxes[index * 4]))
            result[position].minRow = min(result[position].minRow, Int(boxes[index * 4 + 1]))
            result[position].maxColumn = max(result[position].maxColumn, Int(boxes[index * 4 + 2]))
            result[position].maxRow = max(result[position].maxRow, Int(boxes[index * 4 + 3]))
            result[position].meanConfidence += Double(confidenceSums[index])
            if evidenceCounts[index] > 0 {
                result[position].meanEvidence = (result[position].meanEvidence ?? 0) + Double(evidenceSums[index])
                result[position].evidencePixels = (result[position].evidencePixels ?? 0) + Int(evidenceCounts[index])
            }
            for slot in 0..<slotCount {
                let code = slot == 0 ? 0 : classCodes[slot - 1]
                let b = Int(beforeHistogram[index * slotCount + slot]), a = Int(afterHistogram[index * slotCount + slot])
                if b > 0 { result[position].before[code, default: 0] += b }
                if a > 0 { result[position].after[code, default: 0] += a }
            }
            for layer in 0..<planLayerCount {
                for (number, count) in planFeatures[layer][label] ?? [:] { result[position].planFeaturePixels[layer][Int(number), default: 0] += Int(count) }
            }
        }
        for index in result.indices {
            result[index].meanConfidence /= Double(max(result[index].pixelCount, 1))
            if let sum = result[index].meanEvidence, let n = result[index].evidencePixels { result[index].meanEvidence = sum / Double(max(n, 1)) }
        }
        return result
    }
}

extension PatchLabeler.Patch {
    /// Adds another part of the same patch (labelled in another band of rows).
    public mutating func absorb(_ other: PatchLabeler.Patch) {
        let total = pixelCount + other.pixelCount
        meanConfidence = total > 0 ? (meanConfidence * Double(pixelCount) + other.meanConfidence * Double(other.pixelCount)) / Double(total) : 0
        let evidenceTotal = (evidencePixels ?? 0) + (other.evidencePixels ?? 0)
        if evidenceTotal > 0 {
            meanEvidence = ((meanEvidence ?? 0) * Double(evidencePixels ?? 0) + (other.meanEvidence ?? 0) * Double(other.evidencePixels ?? 0)) / Double(evidenceTotal)
            evidencePixels = evidenceTotal
        }
        pixelCount = total
        for index in ruleCounts.indices { ruleCounts[index] += other.ruleCounts[index] }
        minColumn = min(minColumn, other.minColumn)
        minRow = min(minRow, other.minRow)
        maxColumn = max(maxColumn, other.maxColumn)
        maxRow = max(maxRow, other.maxRow)
        for (code, count) in other.before { before[code, default: 0] += count }
        for (code, count) in other.after { after[code, default: 0] += count }
        for layer in planFeaturePixels.indices {
            for (number, count) in other.planFeaturePixels[layer] { planFeaturePixels[layer][number, default: 0] += count }
        }
    }
}

/// A patch with its pixels, as runs of rows.
public struct LabelledPatch: Sendable, Codable {
    public var patch: PatchLabeler.Patch
    public var runs: [PatchLabeler.Run]

    public init(patch: PatchLabeler.Patch, runs: [PatchLabeler.Run]) {
        self.patch = patch
        self.runs = runs
    }
}

/// Joins patches labelled separately, tile by tile, into whole patches.
public enum PatchMerger {}

extension PatchMerger {
    /// The patches a labeller found in one tile, with their runs (in grid columns).
    public static func pieces(of labeler: PatchLabeler, classCodes: [Int]) -> [LabelledPatch] {
        let runs = labeler.runsByRoot()
        return labeler.patches(classCodes: classCodes).map { LabelledPatch(patch: $0, runs: runs[$0.label] ?? []) }
    }

    /// Joins pieces labelled tile by tile (each tile on its own thread): pieces whose pixels touch across a tile
    /// border, 8-connected, become one patch. `tiles[i]` is the window (columns, rows) the i-th list was found in.
    public static func mergeTiles(_ tiles: [(columns: Range<Int>, rows: Range<Int>, pieces: [LabelledPatch])]) -> [LabelledPatch] {
        var pieces: [LabelledPatch] = []
        // Runs that touch their tile's border: only they can touch another tile's piece.
        var border: [Int: [(start: Int, end: Int, piece: Int)]] = [:]  // by row
        for tile in tiles {
            for piece in tile.pieces {
                let index = pieces.count
                pieces.append(piece)
                for run in piece.runs {
                    let row = Int(run.row)
                    if row == tile.rows.lowerBound || row == tile.rows.upperBound - 1
                        || Int(run.start) == tile.columns.lowerBound || Int(run.end) == tile.columns.upperBound {
                        border[row, default: []].append((Int(run.start), Int(run.end), index))
                    }
                }
            }
        }
        var parent = Array(pieces.indices)
        func find(_ x: Int) -> Int {
            var r = x
            while parent[r] != r { r = parent[r] }
            var n = x
            while parent[n] != r { let next = parent[n]; parent[n] = r; n = next }
            return r
        }
        func union(_ a: Int, _ b: Int) {
            let ra = find(a), rb = find(b)
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        var sorted: [Int: [(start: Int, end: Int, piece: Int)]] = [:]
        for (row, runs) in border { sorted[row] = runs.sorted { $0.start < $1.start } }
        for (row, runs) in sorted {
            // The same row: runs of different tiles that meet at a tile's left or right edge.
            for i in 1..<max(runs.count, 1) where runs[i - 1].end == runs[i].start { union(runs[i - 1].piece, runs[i].piece) }
            // The next row: runs that overlap or touch at a corner.
            guard let below = sorted[row + 1] else { continue }
            var first = 0
            for a in runs {
                while first < below.count && below[first].end < a.start { first += 1 }
                var j = first
                while j < below.count && below[j].start <= a.end {
                    union(a.piece, below[j].piece)
                    j += 1
                }
            }
        }
        var merged: [Int: LabelledPatch] = [:]
        for index in pieces.indices {
            let root = find(index)
            if var existing = merged[root] {
                existing.patch.absorb(pieces[index].patch)
                existing.runs += pieces[index].runs
                merged[root] = existing
            } else {
                var piece = pieces[index]
                piece.patch.label = UInt32(root)
                merged[root] = piece
            }
        }
        return merged.keys.sorted().map { merged[$0]! }
    }
}
