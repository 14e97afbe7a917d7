/// Replaces `${name}` in scalars with the pipeline's parameters (after `--set` overrides).
struct ParameterSubstitution {
    var params: [String: String]
    /// Parameters whose own values are wrong (reported where they are defined): a use of one stops its stage silently.
    var broken: Set<String> = []

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
            if broken.contains(name) {
                problems.addFollowOn()
                result += "${\(name)}"
            } else if let value = params[name] {
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

extension ParameterSubstitution {
    /// The deepest chain of parameters naming parameters that is expanded (a longer one is refused, not recursed into).
    static let maximumDepth = 64

    /// Parameters whose values use other parameters (`red: "${data}/b4.tif"`), expanded. A value that names a
    /// parameter that is not defined, or parameters that name each other in a circle, is reported where it stands
    /// (the parameter keeps its text as written, so that no follow-on is reported for it).
    static func expanding(_ params: [String: String], locations: [String: SourceLocation], fallback: SourceLocation,
                          _ problems: inout DiagnosticCollector) -> [String: String] {
        var done: [String: String] = [:]
        var failed = Set<String>()
        let defined = params.keys.sorted().joined(separator: ", ")
        func references(_ text: String) -> [String] {
            var names: [String] = [], rest = Substring(text)
            while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
                names.append(String(rest[start.upperBound..<end]))
                rest = rest[rest.index(after: end)...]
            }
            return names
        }
        func resolve(_ name: String, chain: [String]) -> String? {
            if let value = done[name] { return value }
            guard !failed.contains(name), let raw = params[name] else { return nil }
            guard raw.contains("${") else { done[name] = raw; return raw }
            let location = locations[name] ?? fallback
            guard chain.count < maximumDepth else {
                problems.add(location, stage: nil, "parameter '\(name)': parameters naming parameters nest more than \(maximumDepth) deep")
                failed.insert(name)
                return nil
            }
            var values: [String: String] = [:]
            for reference in references(raw) {
                if let start = chain.firstIndex(of: reference) {
                    let circle = (chain[start...] + [name, reference]).joined(separator: " -> ")
                    problems.add(locations[reference] ?? location, stage: nil,
                                 "parameters name each other in a circle (\(circle)); a parameter's value may use other parameters, not itself")
                    failed.formUnion(chain[start...])
                    failed.insert(name)
                    return nil
                }
                if reference == name {
                    problems.add(location, stage: nil, "parameter '\(name)' uses itself ('${\(name)}' in its own value)")
                    failed.insert(name)
                    return nil
                }
                guard params[reference] != nil else {
                    problems.add(location, stage: nil, "parameter '\(name)' uses '${\(reference)}', which is not defined in params (defined: \(defined))")
                    failed.insert(name)
                    return nil
                }
                guard let value = resolve(reference, chain: chain + [name]) else {
                    failed.insert(name)
                    return nil
                }
                values[reference] = value
            }
            var scratch = DiagnosticCollector()
            let expanded = ParameterSubstitution(params: values).substitute(raw, at: location, stage: nil, &scratch)
            guard scratch.isEmpty else {
                for diagnostic in scratch.diagnostics { problems.add(diagnostic.location, stage: nil, "parameter '\(name)': " + diagnostic.message) }
                failed.insert(name)
                return nil
            }
            done[name] = expanded
            return expanded
        }
        var result = params
        for name in params.keys.sorted() {
            if let value = resolve(name, chain: []) { result[name] = value }
        }
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
