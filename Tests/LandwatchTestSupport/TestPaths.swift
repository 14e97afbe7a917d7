import Foundation

/// Where the tests find the repository, its real test data and the shared real scenes, and where they write.
public enum TestPaths {
    /// The checkout's root (this file is Tests/LandwatchTestSupport/TestPaths.swift).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The small real inputs in `testdata/`.
    public static let testdata = repository.appendingPathComponent("testdata")
    /// The shared real scenes: `LANDWATCH_SHARED_DATA`, or `../shared/data` beside the checkout.
    public static let sharedData = ProcessInfo.processInfo.environment["LANDWATCH_SHARED_DATA"].map { URL(fileURLWithPath: $0) }
        ?? repository.deletingLastPathComponent().appendingPathComponent("shared/data")
    /// The debug binary the CLI tests run.
    public static let binary = repository.appendingPathComponent(".build/debug/landwatch")

    /// A new, not yet created, folder path under the temporary directory: `PREFIX-UUID`.
    public static func temporaryFolder(_ prefix: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    }
}
