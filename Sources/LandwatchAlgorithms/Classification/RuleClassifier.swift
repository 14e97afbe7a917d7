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
        let names = variables
        let compiled = rules.map { rule in (Float(rule.code), rule.conditions.map { ($0, names.firstIndex(of: $0.variable)!) }) }
        pixels: for i in 0..<count {
            for buffer in values where buffer[i].isNaN {
                output[i] = .nan
                continue pixels
            }
            for (code, conditions) in compiled where conditions.allSatisfy({ $0.0.holds(values[$0.1][i]) }) {
                output[i] = code
                continue pixels
            }
            output[i] = Float(fallback)
        }
    }
}
