/// Replaces `${name}` in scalars with the pipeline's parameters (after `--set` overrides).
struct ParameterSubstitution {
    var params: [String: String]

    /// The node with every `${name}` in its scalars replaced; undefined names are reported where they stand.
    func apply(_ node: ConfigNode, stage: String?, _ problems: inout DiagnosticCollector) -> ConfigNode {
        var copy = node
        switch node.value {
        case .scalar(let text, let quoted):
            copy.value = .scalar(substitute(text, at: node.location, stage: stage, &problems), quoted: quoted)
        case .mapping(let entries):
            copy.value = .mapping(entries.map { entry in
                var entry = entry
                entry.value = apply(entry.value, stage: stage, &problems)
                return entry
            })
        case .sequence(let items):
            copy.value = .sequence(items.map { apply($0, stage: stage, &problems) })
        case .null:
            break
        }
        return copy
    }

    func substitute(_ text: String, at location: SourceLocation, stage: String?, _ problems: inout DiagnosticCollector) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problems.add(location, stage: stage, "unterminated '${' in '\(text)'")
                return text
            }
            let name = String(rest[start.upperBound..<end])
            if let value = params[name] {
                result += value
            } else {
                let known = params.keys.sorted().joined(separator: ", ")
                problems.add(location, stage: stage,
                             "parameter '\(name)' is not defined in params (defined: \(known.isEmpty ? "none" : known))")
            }
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        return result
    }
}

extension Substring {
    fileprivate func range(of needle: String) -> Range<Substring.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) {
                return index..<self.index(index, offsetBy: needle.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
