import LandwatchPipeline
import LandwatchRegistry

extension Shard {
    /// True when the scene whose place (or, lacking one, content hash) is `key` belongs to this shard: every scene of
    /// a place (and so its baseline) meets in the same worker, and N workers cover the inbox without talking to each other.
    public func owns(_ key: String) -> Bool { Int(StableHash.fnv1a(key) % UInt64(count)) == index - 1 }
}
