import Foundation
import LandwatchGDAL
import LandwatchRegistry

/// The inspectors' answers (外业核查) coming back: one row per violation id with the result of the field check.
///
/// Columns (CSV, or the attributes of a GeoPackage or KML layer): `id`, `result`, `date` (YYYY-MM-DD), `inspector`,
/// `note`, `photos` (file names separated by `;`, beside the file or in `--photos DIR`), `reason` (for a false alarm).
/// Results: `confirmed` (确认违法), `approved_late` (补办), `false_alarm` (误报, with a reason: shadow, harvest, cloud,
/// misregistration, greenhouse, other), `demolished` (已拆除), `rectified` (已整改).
public enum FieldChecks {
    public static let reasons = ["shadow", "harvest", "cloud", "misregistration", "greenhouse", "other"]

    static let results: [String: ViolationStatus] = [
        "confirmed": .confirmed, "确认违法": .confirmed, "approved_late": .approvedLate, "补办": .approvedLate,
        "false_alarm": .falseAlarm, "误报": .falseAlarm, "demolished": .demolished, "已拆除": .demolished,
        "rectified": .rectified, "已整改": .rectified,
    ]

    /// One good row.
    public struct Check: Sendable, Equatable {
        public var row: Int
        public var id: String
        public var result: ViolationStatus
        public var reason: String?
        public var date: String
        public var inspector: String
        public var note: String
        /// Absolute paths of the photos.
        public var photos: [String]
    }

    /// The rows of the file, each a good check or one line naming the row and what is wrong.
    public static func read(_ path: String, photos photoFolder: String?, registry: any RegistryStore) throws -> (checks: [Check], problems: [String]) {
        let rows = try Self.rows(path)
        let folder = photoFolder ?? URL(fileURLWithPath: path).deletingLastPathComponent().path
        var checks: [Check] = [], problems: [String] = []
        var seen: [String: Int] = [:]
        for (number, row) in rows {
            func problem(_ text: String) { problems.append("\(path) row \(number): \(text)") }
            if let bad = row["_encoding"] {
                problem(bad)
                continue
            }
            let id = (row["id"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty else { problem("no id"); continue }
            if let first = seen[id] { problem("\(id) again (first on row \(first)): one row per violation"); continue }
            seen[id] = number
            guard let violation = try registry.violation(id: id) else { problem("unknown id \(id): no such violation in \(registry.location)"); continue }
            let resultText = (row["result"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            guard let result = results[resultText] else {
                problem("result '\(row["result"] ?? "")' for \(id) is not one of confirmed, approved_late (补办), false_alarm (误报), demolished (已拆除), rectified (已整改)")
                continue
            }
            let reason = row["reason"].map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
            if result == .falseAlarm {
                guard let reason, reasons.contains(reason) else {
                    problem("false_alarm for \(id) needs a reason: one of \(reasons.joined(separator: ", ")) (found '\(reason ?? "")')")
                    continue
                }
            }
            let date = (row["date"] ?? "").trimmingCharacters(in: .whitespaces)
            guard isDate(date) else { problem("date '\(date)' for \(id) is not a date written YYYY-MM-DD"); continue }
            guard date >= violation.first_seen else {
                problem("date \(date) for \(id) is before its detection on \(violation.first_seen)")
                continue
            }
            let inspector = (row["inspector"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !inspector.isEmpty else { problem("no inspector for \(id)"); continue }
            let names = (row["photos"] ?? "").split(whereSeparator: { $0 == ";" || $0 == "；" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let photos = names.map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: folder).appendingPathComponent($0).path }
            if let missing = photos.first(where: { !FileManager.default.fileExists(atPath: $0) }) {
                problem("photo \(missing) for \(id) does not exist")
                continue
            }
            checks.append(Check(row: number, id: id, result: result, reason: result == .falseAlarm ? reason : nil, date: date,
                                inspector: inspector, note: row["note"] ?? "", photos: photos))
        }
        return (checks, problems)
    }

    /// Applies the checks in one transaction: each a status change with who, when and why; the photos copied into
    /// `photoStore/ID/` (made in a temporary folder, moved in after the registry committed).
    public static func apply(_ checks: [Check], to registry: any RegistryStore, photoStore: String) throws {
        let staging = URL(fileURLWithPath: photoStore).appendingPathComponent(".import-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: staging) }
        var changes: [StatusChange] = []
        for check in checks {
            var stored: [String] = []
            for photo in check.photos {
                let name = URL(fileURLWithPath: photo).lastPathComponent
                let folder = staging.appendingPathComponent(check.id)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: photo, toPath: folder.appendingPathComponent(name).path)
                stored.append("\(check.id)/\(name)")
            }
            let reason = ["field check: \(check.result.rawValue)", check.reason.map { "reason \($0)" }, check.note.isEmpty ? nil : check.note,
                          stored.isEmpty ? nil : "photos " + stored.joined(separator: ", ")].compactMap { $0 }.joined(separator: "; ")
            changes.append(StatusChange(id: check.id, status: check.result, by: check.inspector, reason: reason, date: check.date,
                                        checkReason: check.reason))
        }
        try registry.setStatuses(changes)
        for check in checks where !check.photos.isEmpty {
            let target = URL(fileURLWithPath: photoStore).appendingPathComponent(check.id)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: staging.appendingPathComponent(check.id).path) {
                let destination = target.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.moveItem(at: staging.appendingPathComponent(check.id).appendingPathComponent(name), to: destination)
            }
        }
    }

    static func isDate(_ text: String) -> Bool {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.isLenient = false
        return text.count == 10 && formatter.date(from: text) != nil
    }

    /// The rows of a CSV (UTF-8, a BOM allowed; a row that is not UTF-8 is marked) or of a GeoPackage/KML layer, by
    /// row number (the CSV's line after its header is row 2, as a spreadsheet numbers it; a layer's first feature is row 1).
    static func rows(_ path: String) throws -> [(Int, [String: String])] {
        guard FileManager.default.fileExists(atPath: path) else { throw RegistryError("\(path): no such file") }
        if path.lowercased().hasSuffix(".csv") {
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
            let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> Data in
                line.last == 0x0D ? Data(line.dropLast()) : Data(line)
            }
            guard let headerLine = lines.first, let header = strictUTF8(headerLine) else {
                throw RegistryError("\(path): the header is not UTF-8 (a GBK file? save it as CSV UTF-8)")
            }
            let names = csvFields(header).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard names.contains("id"), names.contains("result") else {
                throw RegistryError("\(path): the header must name the columns id and result (found \(names.joined(separator: ", ")))")
            }
            var rows: [(Int, [String: String])] = []
            for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty {
                guard let text = strictUTF8(line) else {
                    rows.append((index + 1, ["_encoding": "not UTF-8 (a GBK file read as UTF-8? save it as CSV UTF-8)"]))
                    continue
                }
                let fields = csvFields(text)
                rows.append((index + 1, Dictionary(zip(names, fields + Array(repeating: "", count: max(0, names.count - fields.count))),
                                                   uniquingKeysWith: { first, _ in first })))
            }
            return rows
        }
        do {
            let vector = try VectorDataset.open(path)
            let info = try vector.layer(nil)
            let wanted = ["id", "result", "date", "inspector", "note", "photos", "reason"]
            let fields = info.fieldNames.filter { wanted.contains($0.lowercased()) }
            guard fields.contains(where: { $0.lowercased() == "id" }), fields.contains(where: { $0.lowercased() == "result" }) else {
                throw RegistryError("\(path): the layer must have the fields id and result (found \(info.fieldNames.joined(separator: ", ")))")
            }
            return try vector.attributes(layer: nil, fields: fields).enumerated().map { index, feature in
                (index + 1, Dictionary(uniqueKeysWithValues: feature.values.map { ($0.key.lowercased(), $0.value) }))
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError("\(path): cannot be read as CSV, GeoPackage or KML: \(error)")
        }
    }

    /// The text when the bytes are valid UTF-8 (Foundation on Linux replaces bad bytes instead of failing).
    static func strictUTF8(_ data: Data) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        return Data(text.utf8) == data ? text : nil
    }

    /// RFC 4180 fields of one line.
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        var characters = Array(line)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { current.append("\""); characters = characters.dropFirst() } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" { quoted = true } else if c == "," { fields.append(current); current = "" } else { current.append(c) }
        }
        fields.append(current)
        return fields
    }

    /// One line of `violations stats`: a group of violations (all, one rule, one zone, one month of first detection)
    /// and what the field checks found.
    public struct StatsRow: Sendable, Equatable {
        /// `all`, `rule`, `zone` or `month`.
        public var group: String
        public var value: String
        public var sent: Int
        public var checked: Int
        public var confirmed: Int
        public var approvedLate: Int
        public var demolished: Int
        public var rectified: Int
        public var falseAlarms: Int
        /// False alarms by reason, in the order of ``FieldChecks/reasons``.
        public var falseAlarmsByReason: [Int]
        /// Real changes (confirmed, approved late, demolished, rectified) over everything checked with a result
        /// that says real or not; nil when nothing is checked.
        public var precision: Double?
    }

    /// `violations stats`: per rule, per zone (the zone holding most of each patch; `(no zone)` when its list had none)
    /// and per month of first detection: lists sent (violations), checked, confirmed (and the other field results),
    /// false alarms by reason, and the precision the field saw (confirmed, demolished, rectified and approved late
    /// count as real changes; false alarms as not).
    public static func stats(_ violations: [ViolationRecord], checks: [String: StatusChange]) -> [StatsRow] {
        func row(_ group: String, _ value: String, _ rows: [ViolationRecord]) -> StatsRow {
            let checked = rows.compactMap { checks[$0.id] }
            func count(_ status: ViolationStatus) -> Int { checked.filter { $0.status == status }.count }
            let real = count(.confirmed) + count(.approvedLate) + count(.demolished) + count(.rectified)
            let falseAlarms = count(.falseAlarm)
            return StatsRow(group: group, value: value, sent: rows.count, checked: checked.count, confirmed: count(.confirmed),
                            approvedLate: count(.approvedLate), demolished: count(.demolished), rectified: count(.rectified),
                            falseAlarms: falseAlarms,
                            falseAlarmsByReason: reasons.map { reason in checked.filter { $0.status == .falseAlarm && $0.checkReason == reason }.count },
                            precision: real + falseAlarms == 0 ? nil : Double(real) / Double(real + falseAlarms))
        }
        var result = [row("all", "", violations)]
        let rules = Set(violations.flatMap { $0.rules.split(separator: ";").map(String.init) }).sorted()
        for rule in rules { result.append(row("rule", rule, violations.filter { $0.rules.split(separator: ";").map(String.init).contains(rule) })) }
        func zone(_ v: ViolationRecord) -> String {
            guard let a = v.planAttributes, a.zone_code != nil || a.zone_name != nil else { return "(no zone)" }
            return [a.zone_code, a.zone_name].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        }
        let zones = Dictionary(grouping: violations, by: zone)
        for name in zones.keys.sorted() { result.append(row("zone", name, zones[name]!)) }
        let months = Set(violations.map { String($0.first_seen.prefix(7)) }).sorted()
        for month in months { result.append(row("month", month, violations.filter { $0.first_seen.hasPrefix(month) })) }
        return result
    }

    /// ``stats(_:checks:)`` as CSV (UTF-8 with BOM, CRLF: Excel).
    public static func statsCSV(_ violations: [ViolationRecord], checks: [String: StatusChange]) -> String {
        var header = ["group", "value", "sent", "checked", "confirmed", "approved_late", "demolished", "rectified", "false_alarm"]
        header += reasons.map { "false_alarm_\($0)" } + ["precision"]
        var lines = [header.joined(separator: ",")]
        for r in stats(violations, checks: checks) {
            let value = r.value.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + r.value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : r.value
            var fields = [r.group, value] + [r.sent, r.checked, r.confirmed, r.approvedLate, r.demolished, r.rectified, r.falseAlarms].map(String.init)
            fields += r.falseAlarmsByReason.map(String.init)
            fields.append(r.precision.map { String(format: "%.3f", $0) } ?? "")
            lines.append(fields.joined(separator: ","))
        }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    /// ``stats(_:checks:)`` as a section of an HTML report (`violations stats --format html`), in English or Chinese:
    /// one table per group, precision as a bar, groups whose precision is under one half marked.
    public static func statsHTML(_ violations: [ViolationRecord], checks: [String: StatusChange], chinese: Bool) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let reasonNames = chinese ? ["阴影", "收割", "云", "配准误差", "大棚", "其他"] : reasons
        let groupNames: [String: String] = chinese ? ["all": "全部", "rule": "按规则", "zone": "按行政区", "month": "按发现月份"]
            : ["all": "All", "rule": "By rule", "zone": "By zone", "month": "By month of first detection"]
        let columns = chinese ? ["分组", "下发", "已核查", "确认违法", "补办", "已拆除", "已整改", "误报"] + reasonNames.map { "误报：\($0)" } + ["实地精度"]
            : ["Group", "Sent", "Checked", "Confirmed", "Approved late", "Demolished", "Rectified", "False alarms"] + reasonNames.map { "False: \($0)" } + ["Field precision"]
        let rows = stats(violations, checks: checks)
        var html = ["<section class=\"field-checks\">",
                    "<h2>\(chinese ? "外业核查结果" : "Field-check results")</h2>",
                    "<p>\(chinese ? "实地精度 = 确认为真实变化的图斑（确认违法、补办、已拆除、已整改）÷（这些图斑 + 误报）。精度低于 50% 的分组以红色标出。" : "Field precision = patches found to be real changes (confirmed, approved late, demolished, rectified) ÷ (those + false alarms). Groups under 50 % are marked red.")</p>",
                    "<style>.field-checks table{border-collapse:collapse;margin:0 0 1em}.field-checks td,.field-checks th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
                        + ".field-checks td:first-child{text-align:left}.field-checks tr.low{background:#fde2e2}.field-checks .bar{display:inline-block;height:.8em;background:#2d7f3b;vertical-align:middle;margin-right:4px}</style>"]
        for group in ["all", "rule", "zone", "month"] {
            let members = rows.filter { $0.group == group }
            guard !members.isEmpty else { continue }
            html.append("<h3>\(groupNames[group]!)</h3><table><tr>" + columns.map { "<th>\(esc($0))</th>" }.joined() + "</tr>")
            for r in members {
                let low = (r.precision ?? 1) < 0.5
                let precision = r.precision.map { String(format: "<span class=\"bar\" style=\"width:%.0fpx\"></span>%.1f %%", $0 * 60, $0 * 100) } ?? "–"
                let label = group == "all" ? (chinese ? "全部" : "all") : r.value
                let cells = [esc(label)] + ([r.sent, r.checked, r.confirmed, r.approvedLate, r.demolished, r.rectified, r.falseAlarms] + r.falseAlarmsByReason).map(String.init) + [precision]
                html.append("<tr\(low ? " class=\"low\"" : "")>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>")
            }
            html.append("</table>")
        }
        html.append("</section>")
        return html.joined(separator: "\n") + "\n"
    }
}
