import Foundation

/// Why a saved tree model cannot be evaluated natively.
public struct TreeEnsembleError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The file is not a usable multi-class model at all (truncated, another objective, missing fields).
        case invalid
        /// A valid XGBoost model that uses something this evaluator does not implement (dart, categorical splits,
        /// vector leaves, very deep trees): XGBoost's own predictor can still run it.
        case unsupported
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A multi-class gradient-boosted tree model (XGBoost's `gbtree` booster, `multi:softprob`) held as flat arrays and
/// evaluated natively, many pixels at a time.
///
/// Each tree is laid out as a perfect binary tree of the ensemble's depth: internal node `i` has its children at
/// `2i+1` and `2i+2`; a leaf that XGBoost placed higher up is repeated over every leaf below it (the splits under it
/// never change its value). A pixel then takes exactly `depth` branch-free steps per tree. A chunk of 256 pixels
/// goes down one tree together, level by level, its features copied once into a small column-major tile: the top
/// three levels compare every pixel with each of their seven nodes in one contiguous (vectorised) pass that builds
/// each pixel's 7-bit code in a register (11-12 % faster on bench/trees' models than a pass per node, which loads
/// and stores the codes seven times), the levels below step each pixel through its own nodes, every step
/// independent of the other pixels'.
///
/// The result is the one XGBoost 1.7's CPU predictor computes: margins start at `base_score` and add the leaf values
/// in tree order in single precision; `value < threshold` goes left, a missing value (NaN) goes the node's default
/// way; the probabilities are XGBoost's softmax (single-precision `expf` of the margin less the largest, summed in
/// double precision).
public final class TreeEnsemble: Sendable {
    public let featureCount: Int
    public let classCount: Int
    public let treeCount: Int
    /// Levels of splits in the deepest tree (0 for trees that are a single leaf).
    public let depth: Int
    public let baseScore: Float

    /// An internal node: where its feature's values start in a chunk's tile (feature × ``chunk``) and its threshold.
    struct Node {
        var offset: Int32
        var threshold: Float
    }

    /// Per tree `(1 << depth) - 1` internal nodes, and for each whether a missing value goes right (1) or left (0).
    private let nodes: [Node]
    private let missingRight: [Int]
    /// Per tree `1 << depth` leaf values.
    private let leaves: [Float]
    /// The class each tree adds to.
    private let treeClass: [Int32]

    /// The deepest tree held in the perfect layout (a depth-12 tree has 4095 internal nodes, 48 KB).
    public static let maximumDepth = 12

    init(featureCount: Int, classCount: Int, depth: Int, baseScore: Float, features: [Int32], thresholds: [Float],
         missingRight: [UInt32], leaves: [Float], treeClass: [Int32]) {
        self.featureCount = featureCount
        self.classCount = classCount
        self.depth = depth
        self.baseScore = baseScore
        self.nodes = zip(features, thresholds).map { Node(offset: $0 * Int32(Self.chunk), threshold: $1) }
        self.missingRight = missingRight.map(Int.init)
        self.leaves = leaves
        self.treeClass = treeClass
        self.treeCount = treeClass.count
    }

    /// Pixels walked down a tree together: their features are copied into a column-major tile of `featureCount ×
    /// chunk` values (30 features: 30 KB, in L1/L2 while every tree runs over them).
    static let chunk = 256

    /// Levels evaluated for all their nodes at once (7 nodes: 7 vectorised comparisons per pixel instead of 3
    /// dependent lookups), and the position each code of their outcomes leads to, for 0 ... topLevels levels.
    static let topLevels = 3
    static let topBits = 7
    static let topTable: [Int16] = (0...topLevels).flatMap { levels in
        (0..<(1 << topBits)).map { code -> Int16 in
            var position = 0
            for _ in 0..<levels { position = 2 * position + 1 + ((code >> position) & 1) }
            return Int16(position)
        }
    }

    /// Class probabilities of `count` pixels whose features are `columns[f][0 ..< count]` (one pointer per model
    /// feature, in the model's order; NaN is missing). Writes `count × classCount` values, pixel-major, to
    /// `probabilities`. Thread-safe: the model is read only.
    public func predictProbabilities(columns: [UnsafePointer<Float>], count: Int, into probabilities: UnsafeMutablePointer<Float>) {
        precondition(columns.count == featureCount, "the model reads \(featureCount) features, \(columns.count) columns given")
        guard count > 0 else { return }
        let chunk = Self.chunk
        let internalCount = (1 << depth) - 1
        let leafCount = 1 << depth
        let margins = UnsafeMutablePointer<Float>.allocate(capacity: classCount * chunk)
        let positions = UnsafeMutablePointer<Int>.allocate(capacity: chunk)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: max(featureCount, 1) * chunk)
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: chunk)
        defer {
            codes.deallocate()
            margins.deallocate()
            positions.deallocate()
            tile.deallocate()
        }
        nodes.withUnsafeBufferPointer { nodes in
        missingRight.withUnsafeBufferPointer { missingRight in
        leaves.withUnsafeBufferPointer { leaves in
        treeClass.withUnsafeBufferPointer { treeClass in
            for start in stride(from: 0, to: count, by: chunk) {
                let n = min(chunk, count - start)
                var missing = false
                for f in 0..<featureCount {
                    let column = tile + f * chunk
                    column.update(from: columns[f] + start, count: n)
                    for p in 0..<n where column[p].isNaN { missing = true }
                }
                margins.initialize(repeating: baseScore, count: classCount * chunk)
                for tree in 0..<treeCount {
                    let treeNodes = nodes.baseAddress! + tree * internalCount
                    positions.initialize(repeating: 0, count: n)
                    if missing {
                        let treeMissing = missingRight.baseAddress! + tree * internalCount
                        for _ in 0..<depth {
                            for p in 0..<n {
                                let position = positions[p], node = treeNodes[position]
                                let x = tile[Int(node.offset) &+ p]
                                // A NaN fails both comparisons: it goes right only where missing values go right.
                                let right = x >= node.threshold ? 1 : (x.isNaN ? treeMissing[position] : 0)
                                positions[p] = 2 &* position &+ 1 &+ right
                            }
                        }
                    } else {
                        // The top levels compare every pixel with each of their nodes: contiguous loops the compiler
                        // vectorises. Bit j of a pixel's code says whether it goes right at node j; the table turns
                        // the code into its position below them.
                        let top = min(depth, Self.topLevels)
                        if top == 3 {
                            // The seven nodes in one pass: each pixel's code is built in a register.
                            let n0 = treeNodes[0], n1 = treeNodes[1], n2 = treeNodes[2], n3 = treeNodes[3]
                            let n4 = treeNodes[4], n5 = treeNodes[5], n6 = treeNodes[6]
                            let x0 = tile + Int(n0.offset), x1 = tile + Int(n1.offset), x2 = tile + Int(n2.offset)
                            let x3 = tile + Int(n3.offset), x4 = tile + Int(n4.offset), x5 = tile + Int(n5.offset)
                            let x6 = tile + Int(n6.offset)
                            for p in 0..<n {
                                var code: Int32 = x0[p] >= n0.threshold ? 1 : 0
                                code |= x1[p] >= n1.threshold ? 2 : 0
                                code |= x2[p] >= n2.threshold ? 4 : 0
                                code |= x3[p] >= n3.threshold ? 8 : 0
                                code |= x4[p] >= n4.threshold ? 16 : 0
                                code |= x5[p] >= n5.threshold ? 32 : 0
                                code |= x6[p] >= n6.threshold ? 64 : 0
                                codes[p] = code
                            }
                        } else {
                            codes.initialize(repeating: 0, count: n)
                            for j in 0..<((1 << top) - 1) {
                                let node = treeNodes[j], bit = Int32(1) << Int32(j), column = tile + Int(node.offset)
                                for p in 0..<n { codes[p] |= column[p] >= node.threshold ? bit : 0 }
                            }
                        }
                        let table = Self.topTable.withUnsafeBufferPointer { $0.baseAddress! } + (top << Self.topBits)
                        for p in 0..<n { positions[p] = Int(table[Int(codes[p])]) }
                        for _ in top..<depth {
                            for p in 0..<n {
                                let position = positions[p], node = treeNodes[position]
                                positions[p] = 2 &* position &+ 1 &+ (tile[Int(node.offset) &+ p] >= node.threshold ? 1 : 0)
                            }
                        }
                    }
                    let treeLeaves = leaves.baseAddress! + tree * leafCount - internalCount
                    let margin = margins + Int(treeClass[tree]) * chunk
                    for p in 0..<n { margin[p] += treeLeaves[positions[p]] }
                }
                for p in 0..<n {
                    let out = probabilities + (start + p) * classCount
                    var largest = margins[p]
                    for c in 1..<max(classCount, 1) { largest = fmaxf(margins[c * chunk + p], largest) }
                    var sum = 0.0
                    for c in 0..<classCount {
                        let e = expf(margins[c * chunk + p] - largest)
                        out[c] = e
                        sum += Double(e)
                    }
                    let total = Float(sum)
                    for c in 0..<classCount { out[c] /= total }
                }
            }
        }
        }
        }
        }
    }
}

extension TreeEnsemble {
    /// Loads a model saved by XGBoost in its JSON format (`XGBoosterSaveModel` to a `.json` name).
    ///
    /// - Throws: ``TreeEnsembleError`` of kind `.invalid` for a file that is no multi-class XGBoost model
    ///   (truncated, another objective, inconsistent arrays), `.unsupported` for one that uses a feature this
    ///   evaluator does not implement.
    public static func loadXGBoostJSON(_ bytes: [UInt8]) throws(TreeEnsembleError) -> TreeEnsemble {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch {
            throw TreeEnsembleError(.invalid, "it is not complete JSON (\(error.message))")
        }
        guard let learner = root["learner"] else {
            throw TreeEnsembleError(.invalid, "it has no 'learner': not an XGBoost JSON model")
        }
        let objective = learner["objective"]?["name"]?.string ?? "none"
        guard objective == "multi:softprob" || objective == "multi:softmax" else {
            throw TreeEnsembleError(.invalid, "its objective is \(objective), not a multi-class one (multi:softprob): classify.model needs class probabilities")
        }
        guard let parameters = learner["learner_model_param"],
              let classCount = parameters["num_class"]?.string.flatMap({ Int($0) }),
              let featureCount = parameters["num_feature"]?.string.flatMap({ Int($0) }),
              let baseScoreText = parameters["base_score"]?.string, let baseScore = Float(baseScoreText) else {
            throw TreeEnsembleError(.invalid, "its learner_model_param lacks num_class, num_feature or base_score")
        }
        guard classCount >= 2 else {
            throw TreeEnsembleError(.invalid, "it has \(classCount) classes: classify.model needs a multi-class model")
        }
        if let targets = parameters["num_target"]?.string.flatMap({ Int($0) }), targets > 1 {
            throw TreeEnsembleError(.unsupported, "it has \(targets) targets")
        }
        guard let booster = learner["gradient_booster"] else {
            throw TreeEnsembleError(.invalid, "it has no gradient_booster")
        }
        let boosterName = booster["name"]?.string ?? "none"
        guard boosterName == "gbtree" else {
            throw TreeEnsembleError(.unsupported, "its booster is \(boosterName), not gbtree")
        }
        guard let model = booster["model"], let trees = model["trees"]?.array, let info = model["tree_info"]?.array else {
            throw TreeEnsembleError(.invalid, "its gbtree has no trees or tree_info")
        }
        if let leafVector = model["gbtree_model_param"]?["size_leaf_vector"]?.string.flatMap({ Int($0) }), leafVector > 0 {
            throw TreeEnsembleError(.unsupported, "its trees have vector leaves (size_leaf_vector \(leafVector))")
        }
        guard info.count == trees.count else {
            throw TreeEnsembleError(.invalid, "it has \(trees.count) trees but \(info.count) tree_info entries")
        }
        var treeClass: [Int32] = []
        for (index, entry) in info.enumerated() {
            guard let value = entry.int, (0..<classCount).contains(value) else {
                throw TreeEnsembleError(.invalid, "tree_info[\(index)] is not a class in 0..<\(classCount)")
            }
            treeClass.append(Int32(value))
        }

        // Read every tree as XGBoost's node arrays and find the depth of the deepest.
        struct Nodes {
            var left: [Int], right: [Int], feature: [Int], condition: [Float], defaultLeft: [Bool]
        }
        var parsed: [Nodes] = []
        var depth = 0
        for (index, tree) in trees.enumerated() {
            func ints(_ key: String) throws(TreeEnsembleError) -> [Int] {
                guard let values = tree[key]?.array?.compactMap(\.int), values.count == tree[key]?.array?.count else {
                    throw TreeEnsembleError(.invalid, "tree \(index) has no integer array '\(key)'")
                }
                return values
            }
            let left = try ints("left_children"), right = try ints("right_children")
            let feature = try ints("split_indices"), defaultLeft = try ints("default_left")
            guard let conditionValues = tree["split_conditions"]?.array else {
                throw TreeEnsembleError(.invalid, "tree \(index) has no 'split_conditions'")
            }
            let condition = conditionValues.compactMap(\.float)
            let count = left.count
            guard count > 0, right.count == count, feature.count == count, defaultLeft.count == count, condition.count == count else {
                throw TreeEnsembleError(.invalid, "tree \(index) has node arrays of different lengths")
            }
            if let types = tree["split_type"]?.array, types.contains(where: { $0.int != 0 }) {
                throw TreeEnsembleError(.unsupported, "tree \(index) has categorical splits")
            }
            if let categories = tree["categories"]?.array, !categories.isEmpty {
                throw TreeEnsembleError(.unsupported, "tree \(index) has categorical splits")
            }
            // Walk from the root: every child in range, visited once, right child next to the left one (XGBoost's
            // predictor takes the right child as left + 1), features in range.
            var seen = [Bool](repeating: false, count: count)
            var stack = [(0, 0)]
            while let (node, level) = stack.popLast() {
                guard !seen[node] else { throw TreeEnsembleError(.invalid, "tree \(index) is not a tree (node \(node) is reached twice)") }
                seen[node] = true
                guard left[node] != -1 else { continue }
                guard (1..<count).contains(left[node]), right[node] == left[node] + 1, right[node] < count else {
                    throw TreeEnsembleError(.invalid, "tree \(index), node \(node): children \(left[node]) and \(right[node]) are not a pair of nodes of the tree")
                }
                guard (0..<featureCount).contains(feature[node]) else {
                    throw TreeEnsembleError(.invalid, "tree \(index), node \(node) splits on feature \(feature[node]) of \(featureCount)")
                }
                depth = max(depth, level + 1)
                stack.append((left[node], level + 1))
                stack.append((right[node], level + 1))
            }
            parsed.append(Nodes(left: left, right: right, feature: feature, condition: condition, defaultLeft: defaultLeft.map { $0 != 0 }))
        }
        guard depth <= maximumDepth else {
            throw TreeEnsembleError(.unsupported, "its trees are \(depth) levels deep (the native evaluator holds up to \(maximumDepth))")
        }

        // Lay every tree out as a perfect tree of `depth` levels.
        let internalCount = (1 << depth) - 1, leafCount = 1 << depth
        var features = [Int32](repeating: 0, count: trees.count * internalCount)
        var thresholds = [Float](repeating: .infinity, count: trees.count * internalCount)
        var missingRight = [UInt32](repeating: 0, count: trees.count * internalCount)
        var leaves = [Float](repeating: 0, count: trees.count * leafCount)
        for (tree, nodes) in parsed.enumerated() {
            var stack = [(node: 0, position: 0, level: 0)]
            while let (node, position, level) = stack.popLast() {
                if nodes.left[node] == -1 {
                    // A leaf at `level`: its value on every perfect leaf below `position`.
                    let span = 1 << (depth - level)
                    let first = (position + 1) << (depth - level) - 1 - internalCount
                    for leaf in first..<(first + span) { leaves[tree * leafCount + leaf] = nodes.condition[node] }
                    continue
                }
                let at = tree * internalCount + position
                features[at] = Int32(nodes.feature[node])
                thresholds[at] = nodes.condition[node]
                missingRight[at] = nodes.defaultLeft[node] ? 0 : 1
                stack.append((nodes.left[node], 2 * position + 1, level + 1))
                stack.append((nodes.right[node], 2 * position + 2, level + 1))
            }
        }
        return TreeEnsemble(featureCount: featureCount, classCount: classCount, depth: depth, baseScore: baseScore,
                            features: features, thresholds: thresholds, missingRight: missingRight, leaves: leaves,
                            treeClass: treeClass)
    }
}

/// A parsed JSON value; numbers keep their text, so that a single-precision value is read from its digits
/// directly (XGBoost writes thresholds and leaf values as the shortest text of a Float).
enum JSONValue {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var int: Int? {
        switch self {
        case .number(let text): return Int(text)
        case .bool(let flag): return flag ? 1 : 0
        default: return nil
        }
    }

    var float: Float? {
        if case .number(let text) = self { return Float(text) }
        return nil
    }

    struct ParseError: Error {
        let message: String
    }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at == bytes.count else { throw ParseError(message: "unexpected text at byte \(parser.at)") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        func fail(_ what: String) -> ParseError {
            ParseError(message: at >= bytes.count ? "it ends at byte \(bytes.count) in the middle of \(what)" : "\(what) expected at byte \(at)")
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < 64 else { throw ParseError(message: "nested more than 64 levels at byte \(at)") }
            skipSpace()
            guard at < bytes.count else { throw fail("a value") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [String: JSONValue] = [:]
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("a member name") }
                    let key = try string()
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("':'") }
                    at += 1
                    members[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard at < bytes.count else { throw fail("an object") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                    throw fail("',' or '}'")
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [JSONValue] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard at < bytes.count else { throw fail("an array") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                    throw fail("',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                for (word, result) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)] {
                    let utf8 = Array(word.utf8)
                    if at + utf8.count <= bytes.count, Array(bytes[at..<(at + utf8.count)]) == utf8 {
                        at += utf8.count
                        return result
                    }
                }
                throw fail("a value")
            default:
                let start = at
                while at < bytes.count, let byte = Optional(bytes[at]),
                      (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2B || byte == 0x2E || byte == 0x65 || byte == 0x45 {
                    at += 1
                }
                guard at > start, let text = String(bytes: bytes[start..<at], encoding: .utf8), Double(text) != nil else {
                    throw fail("a value")
                }
                return .number(text)
            }
        }

        mutating func string() throws(ParseError) -> String {
            at += 1  // the opening quote
            var text: [UInt8] = []
            while at < bytes.count {
                let byte = bytes[at]
                at += 1
                if byte == UInt8(ascii: "\"") {
                    guard let result = String(bytes: text, encoding: .utf8) else { throw ParseError(message: "a string that is not UTF-8 before byte \(at)") }
                    return result
                }
                if byte == UInt8(ascii: "\\") {
                    guard at < bytes.count else { break }
                    let escaped = bytes[at]
                    at += 1
                    switch escaped {
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard at + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16) else {
                            throw fail("four hex digits")
                        }
                        at += 4
                        text.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "?").utf8))
                    default: text.append(escaped)
                    }
                    continue
                }
                text.append(byte)
            }
            throw fail("a string")
        }
    }
}
