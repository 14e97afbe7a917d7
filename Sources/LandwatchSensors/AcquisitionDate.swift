/// Acquisition dates as products and pipeline files write them.
public enum AcquisitionDate {
    /// True for `YYYY-MM-DD` with a plausible month and day.
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil else { return false }
        return (1...12).contains(month) && (1...31).contains(day)
    }
}
