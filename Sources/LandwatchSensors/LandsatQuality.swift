/// Where a Landsat quality band keeps each flag; which one a product uses depends on its processing, read from
/// the MTL (docs/qa-bits.md).
public enum LandsatQALayout: String, Sendable, CaseIterable {
    /// Pre-collection Landsat 8 BQA (`LC8…LGN00`): 2-bit confidences only, no shadow.
    case preCollection = "pre-collection"
    /// Collection 1 BQA (`…_01_T1`).
    case collection1
    /// Collection 2 QA_PIXEL (`…_02_T1`).
    case collection2
}

/// The conditions a quality band can flag.
public enum LandsatQAFlag: String, Sendable, CaseIterable {
    case cloud, shadow, snow, cirrus
}

/// A two-bit confidence: none, low, medium, high.
public enum QAConfidence: Int, Sendable, CaseIterable, Comparable {
    case none = 0, low = 1, medium = 2, high = 3

    public static func < (a: QAConfidence, b: QAConfidence) -> Bool { a.rawValue < b.rawValue }

    public init?(name: String) {
        guard let match = QAConfidence.allCases.first(where: { "\($0)" == name }) else { return nil }
        self = match
    }
}

/// Decides from a quality word whether a pixel is fill or flagged.
public struct LandsatQualityMask: Sendable {
    public let layout: LandsatQALayout
    public let flags: Set<LandsatQAFlag>
    /// A flag counts from this confidence up; a one-bit flag that is set counts as high.
    public let minimumConfidence: QAConfidence

    public init(layout: LandsatQALayout, flags: Set<LandsatQAFlag>, minimumConfidence: QAConfidence) {
        self.layout = layout
        self.flags = flags
        self.minimumConfidence = minimumConfidence
    }

    /// Flags the layout cannot express (pre-collection BQA has no cloud-shadow bits).
    public var unsupportedFlags: Set<LandsatQAFlag> {
        layout == .preCollection ? flags.intersection([.shadow]) : []
    }

    /// True where bit 0 (fill) is set, in every layout.
    @inline(__always)
    public func isFill(_ qa: UInt16) -> Bool { qa & 1 != 0 }

    /// The confidence of one flag in a quality word.
    public func confidence(of flag: LandsatQAFlag, in qa: UInt16) -> QAConfidence {
        func twoBits(_ low: UInt16) -> QAConfidence { QAConfidence(rawValue: Int((qa >> low) & 3))! }
        func bit(_ index: UInt16) -> Bool { (qa >> index) & 1 != 0 }
        switch (layout, flag) {
        case (.preCollection, .cloud): return twoBits(14)
        case (.preCollection, .cirrus): return twoBits(12)
        case (.preCollection, .snow): return twoBits(10)
        case (.preCollection, .shadow): return .none
        case (.collection1, .cloud): return bit(4) ? .high : twoBits(5)
        case (.collection1, .shadow): return twoBits(7)
        case (.collection1, .snow): return twoBits(9)
        case (.collection1, .cirrus): return twoBits(11)
        case (.collection2, .cloud): return bit(3) ? .high : twoBits(8)
        case (.collection2, .shadow): return bit(4) ? .high : twoBits(10)
        case (.collection2, .snow): return bit(5) ? .high : twoBits(12)
        case (.collection2, .cirrus): return bit(2) ? .high : twoBits(14)
        }
    }

    /// True when any selected flag reaches the minimum confidence.
    public func isMasked(_ qa: UInt16) -> Bool {
        flags.contains { confidence(of: $0, in: qa) >= minimumConfidence }
    }

    /// Per pixel: NaN for fill (and for NaN input), 1 where masked, 0 where clear. The quality words arrive as
    /// Float32 (exact for 16-bit values).
    /// - Complexity: O(n), with a 65536-entry table so each pixel costs one lookup.
    public func classify(_ qa: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>, table: [Float]) {
        for i in 0..<qa.count {
            let value = qa[i]
            output[i] = (value.isNaN || value < 0 || value > 65535) ? .nan : table[Int(value)]
        }
    }

    /// The lookup table `classify` uses: the answer for every possible 16-bit quality word.
    public func makeTable() -> [Float] {
        (0...65535).map { word -> Float in
            let qa = UInt16(word)
            if isFill(qa) { return .nan }
            return isMasked(qa) ? 1 : 0
        }
    }
}
