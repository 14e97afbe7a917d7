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

    /// `violations stats`: per rule, per month of first detection: lists sent (violations), checked, confirmed (and
    /// the other field results), false alarms by reason, and the precision the field saw (confirmed, demolished,
    /// rectified and approved late count as real changes; false alarms as not).
    public static func statsCSV(_ violations: [ViolationRecord], checks: [String: StatusChange]) -> String {
        var header = ["group", "value", "sent", "checked", "confirmed", "approved_late", "demolished", "rectified", "false_alarm"]
        header += reasons.map { "false_alarm_\($0)" } + ["precision"]
        var lines = [header.joined(separator: ",")]
        func row(_ group: String, _ value: String, _ rows: [ViolationRecord]) -> String {
            let checked = rows.compactMap { checks[$0.id] }
            func count(_ status: ViolationStatus) -> Int { checked.filter { $0.status == status }.count }
            let real = count(.confirmed) + count(.approvedLate) + count(.demolished) + count(.rectified)
            let falseAlarms = count(.falseAlarm)
            var fields = [group, value, String(rows.count), String(checked.count), String(count(.confirmed)), String(count(.approvedLate)),
                          String(count(.demolished)), String(count(.rectified)), String(falseAlarms)]
            fields += reasons.map { reason in String(checked.filter { $0.status == .falseAlarm && $0.checkReason == reason }.count) }
            fields.append(real + falseAlarms == 0 ? "" : String(format: "%.3f", Double(real) / Double(real + falseAlarms)))
            return fields.joined(separator: ",")
        }
        lines.append(row("all", "", violations))
        let rules = Set(violations.flatMap { $0.rules.split(separator: ";").map(String.init) }).sorted()
        for rule in rules { lines.append(row("rule", rule, violations.filter { $0.rules.split(separator: ";").map(String.init).contains(rule) })) }
        let months = Set(violations.map { String($0.first_seen.prefix(7)) }).sorted()
        for month in months { lines.append(row("month", month, violations.filter { $0.first_seen.hasPrefix(month) })) }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }
}
