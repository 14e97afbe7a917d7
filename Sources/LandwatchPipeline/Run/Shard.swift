/// Shard K of N (from 1): one worker's share of a night's inbox (`nightly --shard`), or one band of rows of a scene
/// (`run --shard`).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Parses `K/N` with 1 ≤ K ≤ N, or `auto/N`, where K is a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` + 1.
    public init(parsing text: String, environment: [String: String] = [:]) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var first = parts.first.map(String.init) ?? ""
        if first == "auto", parts.count == 2 {
            guard let completion = environment["JOB_COMPLETION_INDEX"], let zeroBased = Int(completion) else {
                throw ShardError("--shard \(text): JOB_COMPLETION_INDEX is not set to a number (auto is for the pods of a Kubernetes Indexed Job)")
            }
            first = String(zeroBased + 1)
        }
        guard parts.count == 2, let index = Int(first), let count = Int(parts[1]) else {
            throw ShardError("--shard \(text): write it as K/N, for example 2/4 (shard 2 of 4), or auto/N in a Kubernetes Indexed Job")
        }
        guard count >= 1 else { throw ShardError("--shard \(text): the number of shards N must be at least 1") }
        guard (1...count).contains(index) else {
            throw ShardError("--shard \(text): K must be between 1 and \(count) (shards are numbered from 1)")
        }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }
}

/// A `--shard` value that is not K/N with 1 ≤ K ≤ N.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
