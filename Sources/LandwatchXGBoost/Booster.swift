import CXGBoost
import Foundation

/// A failure reported by XGBoost, with what was being done.
public struct XGBoostError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let message: String

    public var description: String { "\(operation) - caused by: \(message)" }
}

@inline(__always)
private func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(XGBoostError) {
    guard status == 0 else {
        let message = XGBGetLastError().map { String(cString: $0) } ?? "unknown XGBoost error"
        throw XGBoostError(operation: operation(), message: message)
    }
}

/// A dense matrix of features (rows are pixels, NaN is missing) handed to XGBoost.
final class DMatrix {
    let handle: DMatrixHandle

    init(values: [Float], rows: Int, columns: Int) throws(XGBoostError) {
        precondition(values.count == rows * columns, "a \(rows)x\(columns) matrix needs \(rows * columns) values")
        var out: DMatrixHandle? = nil
        let status = values.withUnsafeBufferPointer { XGDMatrixCreateFromMat($0.baseAddress, bst_ulong(rows), bst_ulong(columns), .nan, &out) }
        try check(status, "create a \(rows)x\(columns) feature matrix")
        handle = out!
    }

    func setLabels(_ labels: [Float]) throws(XGBoostError) {
        let status = labels.withUnsafeBufferPointer { XGDMatrixSetFloatInfo(handle, "label", $0.baseAddress, bst_ulong(labels.count)) }
        try check(status, "set \(labels.count) labels")
    }

    func setWeights(_ weights: [Float]) throws(XGBoostError) {
        let status = weights.withUnsafeBufferPointer { XGDMatrixSetFloatInfo(handle, "weight", $0.baseAddress, bst_ulong(weights.count)) }
        try check(status, "set \(weights.count) sample weights")
    }

    deinit { XGDMatrixFree(handle) }
}

/// A gradient-boosted tree model (XGBoost's C API). Not thread-safe: give each worker thread its own.
public final class Booster {
    let handle: BoosterHandle

    private init(handle: BoosterHandle) { self.handle = handle }

    deinit { XGBoosterFree(handle) }

    /// Trains a multi-class model (`multi:softprob`) on a dense row-major feature matrix.
    ///
    /// - Parameters:
    ///   - labels: class indices 0 ..< classCount, one per row.
    ///   - weights: per-row weights (class balancing), or nil.
    ///   - parameters: XGBoost parameters beyond objective and num_class (max_depth, eta, nthread, seed …).
    public static func train(features: [Float], rows: Int, columns: Int, labels: [Float], weights: [Float]?,
                             classCount: Int, rounds: Int, parameters: [String: String]) throws(XGBoostError) -> Booster {
        let matrix = try DMatrix(values: features, rows: rows, columns: columns)
        try matrix.setLabels(labels)
        if let weights { try matrix.setWeights(weights) }
        var out: BoosterHandle? = nil
        var handles: [DMatrixHandle?] = [matrix.handle]
        let status = handles.withUnsafeMutableBufferPointer { XGBoosterCreate($0.baseAddress, 1, &out) }
        try check(status, "create a booster")
        let booster = Booster(handle: out!)
        var all = parameters
        all["objective"] = "multi:softprob"
        all["num_class"] = String(classCount)
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            try check(XGBoosterSetParam(booster.handle, key, value), "set parameter \(key)=\(value)")
        }
        for round in 0..<rounds {
            try check(XGBoosterUpdateOneIter(booster.handle, Int32(round), matrix.handle), "training round \(round + 1) of \(rounds)")
        }
        return booster
    }

    /// Loads a model saved by ``save(to:)`` (XGBoost's JSON format).
    public static func load(from path: String, threads: Int = 1) throws(XGBoostError) -> Booster {
        var out: BoosterHandle? = nil
        try check(XGBoosterCreate(nil, 0, &out), "create a booster")
        let booster = Booster(handle: out!)
        try check(XGBoosterLoadModel(booster.handle, path), "load the model \(path)")
        try check(XGBoosterSetParam(booster.handle, "nthread", String(threads)), "set nthread")
        return booster
    }

    /// Saves the model; a `.json` name gives XGBoost's portable JSON format.
    public func save(to path: String) throws(XGBoostError) {
        try check(XGBoosterSaveModel(handle, path), "save the model to \(path)")
    }

    /// Class probabilities for each row: `rows × classCount` values, row-major.
    public func predictProbabilities(features: [Float], rows: Int, columns: Int) throws(XGBoostError) -> [Float] {
        guard rows > 0 else { return [] }
        let matrix = try DMatrix(values: features, rows: rows, columns: columns)
        var length: bst_ulong = 0
        var result: UnsafePointer<Float>? = nil
        try check(XGBoosterPredict(handle, matrix.handle, 0, 0, 0, &length, &result), "predict \(rows) pixels")
        return Array(UnsafeBufferPointer(start: result, count: Int(length)))
    }

    /// XGBoost's version, for run records.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        XGBoostVersion(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
