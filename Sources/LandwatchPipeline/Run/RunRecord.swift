import Foundation
import LandwatchGDAL

/// What a run did, written to `run.json` in its output directory (for success and for failure).
public struct RunRecord: Codable, Sendable {
    public struct InputFile: Codable, Sendable {
        public var path: String
        public var bytes: Int
        public var modified: Date?
    }

    public struct GridRecord: Codable, Sendable {
        public var crs: String
        public var width: Int
        public var height: Int
        public var geoTransform: [Double]
    }

    /// The version of the record the run wrote now.
    public static let currentVersion = 1

    /// The record's version (records of before the field read as nil: version 1).
    public var version: Int? = RunRecord.currentVersion
    public var landwatchVersion: String
    public var gdalVersion: String
    public var pipeline: String
    public var pipelineName: String
    public var pipelineSHA256: String
    public var parameters: [String: String]
    public var inputs: [InputFile]
    public var grid: GridRecord?
    public var memoryBudgetBytes: Int
    public var threads: Int
    public var started: Date
    public var finished: Date?
    /// `running` (written when the run starts), `succeeded`, `failed` or `interrupted`.
    public var status: String
    public var error: String?
    public var stages: [StageTiming]
    /// Every output file, relative to the output directory.
    public var outputs: [String]
    /// For `run --shard`: the band of rows computed and what the merge needs.
    public var shard: ShardRecord? = nil
    /// For `merge`: the shards' output folders joined.
    public var mergedFrom: [String]? = nil
    /// Every file the run read (real paths; virtual paths as given): the inputs the pipeline names and what they lead
    /// to (a VRT's sources, the band files an MTL names, sidecars), each checked against the allowed folders.
    public var filesRead: [String]? = nil
    /// The process that wrote the record (a `running` record of a process that is gone is a killed run's).
    public var processID: Int? = nil

    /// Encodes as pretty, key-sorted JSON with ISO 8601 times.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Decodes a record; one of a version this landwatch does not know (a newer one's) is refused.
    public static func decode(_ data: Data) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let record = try decoder.decode(RunRecord.self, from: data)
        if let version = record.version, version > currentVersion {
            throw RunError(.input, "run.json of version \(version), written by a newer landwatch (\(record.landwatchVersion)); this one reads up to version \(currentVersion)")
        }
        return record
    }

    static func inputFiles(_ paths: [String]) -> [InputFile] {
        paths.map { path in
            if path.hasPrefix("/vsi") {
                let status = VirtualFiles.status(path)
                return InputFile(path: path, bytes: status?.size ?? 0,
                                 modified: status.map { Date(timeIntervalSince1970: TimeInterval($0.modified)) })
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            return InputFile(path: path, bytes: (attributes?[.size] as? NSNumber)?.intValue ?? 0,
                             modified: attributes?[.modificationDate] as? Date)
        }
    }
}
