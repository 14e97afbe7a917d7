import Foundation
import XCTest
import LandwatchTestSupport

/// deploy/kubernetes and the Dockerfile: the manifests pass kubernetes-validate (PyPI, installed by make deps), the
/// Dockerfile builds with the README's steps, and the CronJob's arguments are ones `landwatch nightly` accepts.
final class DeploymentTests: XCTestCase {
    static let deploy = CLITests.root.appendingPathComponent("deploy/kubernetes")

    func testManifestsPassKubernetesValidate() throws {
        let manifests = try FileManager.default.contentsOfDirectory(atPath: Self.deploy.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(manifests, ["cronjob.yaml", "scene-merge.yaml", "scene-shards.yaml", "volume.yaml"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kubernetes-validate", "--strict"] + manifests.map { Self.deploy.appendingPathComponent($0).path }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "kubernetes-validate (make deps installs it): \(text)")
        XCTAssertEqual(text.components(separatedBy: " passed for resource ").count - 1, 4, text)
    }

    func testTheDockerfileBuildsWithTheReadmesSteps() throws {
        let dockerfile = try String(contentsOf: CLITests.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let readme = try String(contentsOf: CLITests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.components(separatedBy: "### Scaling out").dropFirst().first?.components(separatedBy: "\n### ").first)
        // The build stage: from FROM ... AS build to the next FROM.
        let build = try XCTUnwrap(dockerfile.components(separatedBy: "\nFROM ").first { $0.contains("AS build") })
        let steps = build.split(separator: "\n").filter { $0.hasPrefix("RUN ") }.map { String($0.dropFirst(4)) }
        XCTAssertEqual(steps.count, 3)
        XCTAssertTrue(dockerfile.contains("FROM swift:") && dockerfile.contains("-bookworm AS build"), "Debian 12 (bookworm)")
        for step in steps { XCTAssertTrue(section.contains("\n" + step + "\n"), "the README's Kubernetes section lacks: \(step)") }
    }

    /// The container arguments of a manifest (the `args:` list), with `/data` moved to `data` and `$(SHARD)` set.
    static func arguments(of manifest: String, data: URL, shard: Int? = nil) throws -> [String] {
        let text = try String(contentsOf: deploy.appendingPathComponent(manifest), encoding: .utf8)
        let block = try XCTUnwrap(text.components(separatedBy: "args:\n").dropFirst().first?.components(separatedBy: "resources:").first)
        return block.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("- ") else { return nil }
            return String(trimmed.dropFirst(2)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                .replacingOccurrences(of: "/data", with: data.path).replacingOccurrences(of: "$(SHARD)", with: shard.map(String.init) ?? "")
        }
    }

    /// The scene Jobs as Kubernetes would start them (pod i with JOB_COMPLETION_INDEX=i), on the sharding test's pair.
    func testTheSceneJobsShardAndMergeAScene() throws {
        let data = TestPaths.temporaryFolder("landwatch-scene")
        defer { try? FileManager.default.removeItem(at: data) }
        let pipelines = data.appendingPathComponent("pipelines")
        try FileManager.default.createDirectory(at: pipelines.appendingPathComponent("fixture"), withIntermediateDirectories: true)
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        make.arguments = [CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Sharding/make_pair.py").path, pipelines.appendingPathComponent("fixture").path]
        make.standardOutput = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        XCTAssertEqual(make.terminationStatus, 0)
        try FileManager.default.copyItem(at: CLITests.root.appendingPathComponent("Tests/LandwatchCLITests/Sharding/sharding.yaml"),
                                         to: pipelines.appendingPathComponent("scene.yaml"))
        for index in 0..<4 {
            let arguments = try Self.arguments(of: "scene-shards.yaml", data: data, shard: index)
            XCTAssertEqual(Array(arguments.prefix(4)), ["run", pipelines.appendingPathComponent("scene.yaml").path, "--shard", "auto/4"])
            let result = try CLITests.landwatch(arguments, environment: ["JOB_COMPLETION_INDEX": String(index)])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("shard \(index + 1)/4: rows"), result.stdout)
        }
        let merge = try CLITests.landwatch(try Self.arguments(of: "scene-merge.yaml", data: data))
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data.appendingPathComponent("scene/merged/violations/violations.gpkg").path))
    }

    func testTheCronJobsArgumentsAreAcceptedByNightly() throws {
        let cronjob = try String(contentsOf: Self.deploy.appendingPathComponent("cronjob.yaml"), encoding: .utf8)
        let block = try XCTUnwrap(cronjob.components(separatedBy: "args:\n").dropFirst().first?.components(separatedBy: "env:").first)
        let arguments = block.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("- ") else { return nil }
            return String(trimmed.dropFirst(2)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        XCTAssertEqual(arguments.first, "nightly")
        XCTAssertTrue(arguments.contains("auto/4"))
        // The same arguments with /data moved to a temporary folder: they parse, and the missing inbox is the only problem.
        let work = TestPaths.temporaryFolder("landwatch-deploy")
        defer { try? FileManager.default.removeItem(at: work) }
        let moved = arguments.map { $0.replacingOccurrences(of: "/data", with: work.path) }
        let result = try CLITests.landwatch(moved, environment: ["JOB_COMPLETION_INDEX": "2"])
        XCTAssertEqual(result.status, 66, result.stderr)
        XCTAssertTrue(result.stderr.contains("the inbox \(work.path)/inbox does not exist"), result.stderr)
    }
}
