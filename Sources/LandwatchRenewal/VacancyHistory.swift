import Foundation

/// Calendar dates of a series (`YYYY-MM-DD`), as day numbers, and the months between them.
public struct SeriesDate: Sendable, Comparable, Hashable, CustomStringConvertible {
    /// Days since 1970-01-01 (UTC).
    public let day: Int
    public let text: String

    /// Parses `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD`, `YYYYMMDD`, `YYYY年M月D日`, or an ISO date-time (its date part);
    /// nil when the text is none of them or names a day that does not exist (2013-02-30).
    public init?(_ raw: String) {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if let t = text.firstIndex(where: { $0 == "T" || $0 == " " }), text.distance(from: text.startIndex, to: t) >= 8 {
            text = String(text[..<t])
        }
        var parts: [Int]
        if text.count == 8, text.allSatisfy(\.isNumber) {
            let digits = Array(text)
            parts = [Int(String(digits[0..<4]))!, Int(String(digits[4..<6]))!, Int(String(digits[6..<8]))!]
        } else {
            let cleaned = text.replacingOccurrences(of: "年", with: "-").replacingOccurrences(of: "月", with: "-")
                .replacingOccurrences(of: "日", with: "")
            let fields = cleaned.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." }).map(String.init)
            guard fields.count == 3, fields[0].count == 4, fields.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isNumber) }) else {
                return nil
            }
            parts = fields.map { Int($0)! }
        }
        let (y, m, d) = (parts[0], parts[1], parts[2])
        guard (1...12).contains(m), d >= 1, d <= Self.daysInMonth(y, m) else { return nil }
        day = Self.daysFromCivil(y, m, d)
        self.text = String(format: "%04d-%02d-%02d", y, m, d)
    }

    public init(day: Int) {
        self.day = day
        let (y, m, d) = Self.civil(fromDays: day)
        text = String(format: "%04d-%02d-%02d", y, m, d)
    }

    public var description: String { text }
    public static func < (a: SeriesDate, b: SeriesDate) -> Bool { a.day < b.day }

    /// Calendar months from `self` to `later`: the whole months (2011-01-07 to 2013-07-07 is 30, 2013-01-07 to
    /// 2013-07-07 is 6), then the days left over divided by 30.437 (an average month).
    public func months(until later: SeriesDate) -> Double {
        guard later.day >= day else { return -later.months(until: self) }
        let (y0, m0, _) = Self.civil(fromDays: day), (y1, m1, _) = Self.civil(fromDays: later.day)
        var whole = (y1 - y0) * 12 + (m1 - m0)
        while whole > 0 && adding(months: whole).day > later.day { whole -= 1 }
        return Double(whole) + Double(later.day - adding(months: whole).day) / (365.2425 / 12)
    }

    /// The same day `months` calendar months earlier (the last day of the month when it has fewer days).
    public func adding(months: Int) -> SeriesDate {
        let (y, m, d) = Self.civil(fromDays: day)
        let total = y * 12 + (m - 1) + months
        let year = total >= 0 ? total / 12 : (total - 11) / 12
        let month = total - year * 12 + 1
        return SeriesDate(day: Self.daysFromCivil(year, month, min(d, Self.daysInMonth(year, month))))
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

/// What one pixel's classes over a series of dates say about vacancy: the last unbroken run of unbuilt observations.
///
/// Only clear observations count (a class code above 0; cloud and nodata are missing). A pixel is *vacant* when its
/// latest clear observation is unbuilt and every clear observation since the start of that run is unbuilt too: from
/// the first date of the series (bare all along) or from the date it turned bare (a stalled site), for at least
/// `minMonths` between the run's first and last date and on at least `minObservations` clear dates. A pixel bare on
/// one date only (a harvest, a cloud classified as bare) never is.
public struct VacancyRun: Sendable, Equatable {
    /// Index (into the sorted dates) of the first and last clear unbuilt observation of the run.
    public var first: Int
    public var last: Int
    /// Clear unbuilt observations in the run.
    public var observations: Int
    /// Dates inside the run with no clear observation (cloud, nodata).
    public var missing: Int
    /// True when an earlier clear observation was not unbuilt (the land turned bare during the series).
    public var turnedBare: Bool

    public init(first: Int, last: Int, observations: Int, missing: Int, turnedBare: Bool) {
        self.first = first
        self.last = last
        self.observations = observations
        self.missing = missing
        self.turnedBare = turnedBare
    }

    /// The run of `classes` (one per date, in date order), or nil when the latest clear observation is not unbuilt.
    public static func of(_ classes: [Float], unbuilt: (Int) -> Bool) -> VacancyRun? {
        guard let last = classes.lastIndex(where: { $0.isFinite && $0 > 0 }), unbuilt(Int(classes[last])) else { return nil }
        var first = last, observations = 0, missing = 0, turned = false
        var index = last
        while index >= 0 {
            let value = classes[index]
            if value.isFinite && value > 0 {
                if unbuilt(Int(value)) {
                    first = index
                    observations += 1
                } else {
                    turned = true
                    break
                }
            }
            index -= 1
        }
        // Missing observations between the run's first and last date.
        for i in first...last where !(classes[i].isFinite && classes[i] > 0) { missing += 1 }
        return VacancyRun(first: first, last: last, observations: observations, missing: missing, turnedBare: turned)
    }
}
