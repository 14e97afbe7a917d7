import Foundation

/// An ordered decision list: the first rule whose conditions all hold gives the pixel its class.
public struct RuleClassifier: Sendable, Equatable {
    /// `variable` within bounds: `> x`, `>= x`, `< x`, `<= x`, or `a..b` (a inclusive, b exclusive).
    public struct Condition: Sendable, Equatable, CustomStringConvertible {
        public var variable: String
        public var lower: Double?
        public var lowerInclusive: Bool
        public var upper: Double?
        public var upperInclusive: Bool

        public init(variable: String, lower: Double? = nil, lowerInclusive: Bool = false,
                    upper: Double? = nil, upperInclusive: Bool = false) {
            self.variable = variable
            self.lower = lower
            self.lowerInclusive = lowerInclusive
            self.upper = upper
            self.upperInclusive = upperInclusive
        }

        /// Parses `> 0.3`, `>= 0.3`, `< 0.3`, `<= 0.3` or `0.2..0.5`; nil when the text is none of these.
        public init?(variable: String, text: String) {
            self.variable = variable
            let t = text.trimmingCharacters(in: .whitespaces)
            lower = nil; upper = nil; lowerInclusive = false; upperInclusive = false
            for (prefix, isLower, inclusive) in [(">=", true, true), ("<=", false, true), (">", true, false), ("<", false, false)] {
                if t.hasPrefix(prefix) {
                    guard let value = Double(String(t.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
                    if isLower { lower = value; lowerInclusive = inclusive } else { upper = value; upperInclusive = inclusive }
                    return
                }
            }
            let parts = t.components(separatedBy: "..")
            guard parts.count == 2, let a = Double(parts[0].trimmingCharacters(in: .whitespaces)),
                  let b = Double(parts[1].trimmingCharacters(in: .whitespaces)), a < b else { return nil }
            lower = a; lowerInclusive = true; upper = b; upperInclusive = false
        }

        @inline(__always)
        public func holds(_ value: Float) -> Bool {
            // Compared at the pixels' own (Float32) precision, so that `0.2..0.35` excludes a pixel stored as 0.35.
            if let lower {
                let bound = Float(lower)
                if lowerInclusive ? value < bound : value <= bound { return false }
            }
            if let upper {
                let bound = Float(upper)
                if upperInclusive ? value > bound : value >= bound { return false }
            }
            return true
        }

        public var description: String {
            switch (lower, upper) {
            case let (l?, u?): return "\(variable) \(l)..\(u)"
            case let (l?, nil): return "\(variable) \(lowerInclusive ? ">=" : ">") \(l)"
            case let (nil, u?): return "\(variable) \(upperInclusive ? "<=" : "<") \(u)"
            default: return variable
            }
        }
    }

    public struct Rule: Sendable, Equatable {
        public var code: Int
        public var conditions: [Condition]
        public init(code: Int, conditions: [Condition]) {
            self.code = code
            self.conditions = conditions
        }
    }

    public var rules: [Rule]
    /// The class of a pixel no rule matches.
    public var fallback: Int

    public init(rules: [Rule], fallback: Int) {
        self.rules = rules
        self.fallback = fallback
    }

    /// Every variable the rules read, sorted.
    public var variables: [String] { Array(Set(rules.flatMap { $0.conditions.map(\.variable) })).sorted() }

    /// Classifies `count` pixels. `values` gives each variable's buffer (in the order of ``variables``); a pixel
    /// where any variable is NaN is nodata (NaN).
    /// - Complexity: O(count × conditions).
    public func classify(_ values: [UnsafeBufferPointer<Float>], count: Int, into output: UnsafeMutableBufferPointer<Float>) {
        // The rules flattened once per call into arrays of bounds (a missing bound is an infinity, which no finite
        // value passes by the same comparison as `holds`): the per-pixel loop touches no String, Optional or closure.
        // It was 31 % of the enforcement bench's instructions as the list of `Condition`s.
        let names = variables
        var variable: [Int] = [], lower: [Float] = [], lowerInclusive: [Bool] = [], upper: [Float] = [], upperInclusive: [Bool] = []
        var ruleEnd: [Int] = [], codes: [Float] = []
        for rule in rules {
            for condition in rule.conditions {
                variable.append(names.firstIndex(of: condition.variable)!)
                lower.append(condition.lower.map(Float.init) ?? -.infinity)
                lowerInclusive.append(condition.lower == nil || condition.lowerInclusive)
                upper.append(condition.upper.map(Float.init) ?? .infinity)
                upperInclusive.append(condition.upper == nil || condition.upperInclusive)
            }
            ruleEnd.append(variable.count)
            codes.append(Float(rule.code))
        }
        let fallback = Float(self.fallback)
        let bufferCount = values.count
        values.withUnsafeBufferPointer { buffers in
            pixels: for i in 0..<count {
                for b in 0..<bufferCount where buffers[b][i].isNaN {
                    output[i] = .nan
                    continue pixels
                }
                rules: for r in 0..<ruleEnd.count {
                    for c in (r == 0 ? 0 : ruleEnd[r - 1])..<ruleEnd[r] {
                        let value = buffers[variable[c]][i]
                        // As `Condition.holds`: a missing bound (an infinity, inclusive) never fails a finite value.
                        if lowerInclusive[c] ? value < lower[c] : value <= lower[c] { continue rules }
                        if upperInclusive[c] ? value > upper[c] : value >= upper[c] { continue rules }
                    }
                    output[i] = codes[r]
                    continue pixels
                }
                output[i] = fallback
            }
        }
    }
}
