import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// The approval date of every feature of an approvals layer, read from the field the pipeline names, in the order
/// `read.plan` numbers the features (feature 1 first).
public struct ApprovalDates: Sendable {
    public var dates: [SeriesDate]
    /// The layer's fields, for messages.
    public var fields: [String]

    /// Reads `field` of every feature of `layer` (nil: the first) in `path`.
    ///
    /// - Throws: a problem for option `date_field` naming the layer's fields when the field does not exist, and naming
    ///   the feature (its id from `table`) when a date is empty, cannot be read, or lies after `today`.
    public static func read(path: String, layer: String?, field: String, table: FeatureTable, today: SeriesDate) throws(StageProblem)
        -> ApprovalDates {
        let dataset: VectorDataset
        let info: VectorDataset.LayerInfo
        do {
            dataset = try VectorDataset.open(path)
            info = try dataset.layer(layer)
        } catch {
            throw StageProblem(option: "approvals_layer", "option 'approvals_layer': approvals layer of \(path): \(error.description)")
        }
        guard info.fieldNames.contains(field) else {
            throw StageProblem(option: "date_field", "option 'date_field': field '\(field)' does not exist in approvals layer '\(info.name)' of \(path) "
                               + "(its fields: \(info.fieldNames.isEmpty ? "none" : info.fieldNames.joined(separator: ", ")))")
        }
        let rows: [(fid: Int, values: [String: String])]
        do { rows = try dataset.attributes(layer: layer, fields: [field]) } catch {
            throw StageProblem(option: "date_field", "option 'date_field': approvals layer '\(info.name)' of \(path): \(error.description)")
        }
        guard rows.count == table.features.count else {
            throw StageProblem(option: "approvals_layer", "option 'approvals_layer': layer '\(info.name)' of \(path) has \(rows.count) features, but the approvals "
                               + "input has \(table.features.count): give approvals_layer the layer read.plan reads")
        }
        var dates: [SeriesDate] = []
        for (index, row) in rows.enumerated() {
            let number = table.feature(number: index + 1)?.id ?? String(row.fid)
            let text = row.values[field] ?? ""
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw StageProblem(option: "date_field", "option 'date_field': approval \(number) (feature \(row.fid) of \(path)) has no date in field '\(field)'")
            }
            guard let date = SeriesDate(text) else {
                throw StageProblem(option: "date_field", "option 'date_field': approval \(number) (feature \(row.fid) of \(path)): '\(text)' in field '\(field)' "
                                   + "is not a date (write YYYY-MM-DD)")
            }
            guard date <= today else {
                throw StageProblem(option: "date_field", "option 'date_field': approval \(number) (feature \(row.fid) of \(path)): date \(date) in field "
                                   + "'\(field)' is in the future (today is \(today))")
            }
            dates.append(date)
        }
        return ApprovalDates(dates: dates, fields: info.fieldNames)
    }

    /// Today's date (UTC).
    public static var today: SeriesDate { SeriesDate(day: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down))) }
}
