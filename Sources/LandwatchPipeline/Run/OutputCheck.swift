import Foundation

/// The checks `validate` and `run` make on a pipeline's outputs against the output root, before anything is written:
/// no output is an input (or holds one), none lies inside another stage's output, none is one of the run's own records.
public struct OutputCheck: Sendable {
    /// Names in the output root that belong to landwatch's own bookkeeping.
    public static let reservedNames: Set<String> = ["run.json", StageManifest.fileName]
    /// The folder every run writes its STAC Item into at the end (LandwatchSTAC): no stage may write there.
    public static let catalogueFolder = "stac"

    /// One output path a stage declares.
    struct Declared {
        var path: String
        var stageID: String
        var location: SourceLocation
    }

    /// Every output path of the plan's stages with the stage and where the file names it.
    static func declared(_ plan: RunPlan) -> [Declared] {
        var result: [Declared] = []
        let handedOver = Set(ShardSplit(plan: plan).handedOver)
        for stage in plan.pipeline.stages {
            let paths = stage.role.outputPaths ?? []
            let option = stage.descriptor.options.first { $0.type == .outputPath }?.name
            let location = stage.location(of: option)
            for path in paths { result.append(Declared(path: OutputRoot.normalize(path) ?? path, stageID: stage.id, location: location)) }
            // Materialised products landwatch keeps in the root itself.
            if stage.keep { result.append(Declared(path: "work/\(stage.id).tif", stageID: stage.id, location: stage.location(of: nil))) }
            if handedOver.contains(stage.id) {
                result.append(Declared(path: ShardSplit.handoverPath(stage.id), stageID: stage.id, location: stage.location(of: nil)))
            }
        }
        return result
    }

    /// The problems of the plan's outputs under `outputDirectory`, one per output path; `protected` are further files
    /// no output may be (the nightly's registry). Linear in the number of outputs.
    public static func problems(_ plan: RunPlan, outputDirectory: String, protected: [String] = [],
                                readFiles: [String] = []) -> [Diagnostic] {
        let outputs = declared(plan)
        var diagnostics: [Diagnostic] = []
        let root = realPathAllowingMissing(URL(fileURLWithPath: outputDirectory).standardizedFileURL.path)
        // Whose path is each output, for "inside another output".
        var owner: [String: String] = [:]
        for output in outputs where owner[output.path] == nil { owner[output.path] = output.stageID }
        // The files the run reads, by real path, with what names them.
        var inputs: [String: String] = [:]
        for file in plan.pipeline.inputFiles + readFiles where !file.hasPrefix("/vsi") {
            inputs[realPathAllowingMissing(file)] = file
        }
        inputs[realPathAllowingMissing(URL(fileURLWithPath: plan.pipeline.path).standardizedFileURL.path)] = plan.pipeline.path
        var guarded: [String: String] = [:]
        for file in protected { guarded[realPathAllowingMissing(file)] = file }
        // Folders that hold an input (each ancestor of each input under the root), to catch an output folder that would
        // replace a folder of inputs.
        var inputFolders: [String: String] = [:]
        for (real, named) in inputs where real.hasPrefix(root + "/") {
            var folder = URL(fileURLWithPath: real).deletingLastPathComponent().path
            while folder.hasPrefix(root + "/") {
                if inputFolders[folder] == nil { inputFolders[folder] = named }
                folder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
            }
        }
        var reported = Set<String>()
        for output in outputs {
            guard reported.insert(output.stageID + "\u{0}" + output.path).inserted else { continue }
            let components = output.path.split(separator: "/").map(String.init)
            if let first = components.first, reservedNames.contains(first) || first == Self.catalogueFolder || first.hasPrefix(".landwatch") {
                let what = first == "run.json" ? "the run record" : first == StageManifest.fileName ? "the resume manifest"
                    : first == Self.catalogueFolder ? "the run's STAC catalogue folder (stac/item.json)" : "landwatch's own work folder"
                diagnostics.append(Diagnostic(output.location, stage: output.stageID,
                                              "output '\(output.path)' is \(what) in \(outputDirectory); choose another path"))
                continue
            }
            // Inside another stage's output (a folder it replaces as a whole), or holding one.
            var prefix = ""
            var inside: (String, String)?
            for component in components.dropLast() {
                prefix = prefix.isEmpty ? component : prefix + "/" + component
                if let other = owner[prefix], other != output.stageID { inside = (prefix, other); break }
            }
            if let (folder, other) = inside {
                diagnostics.append(Diagnostic(output.location, stage: output.stageID,
                                              "output '\(output.path)' lies inside '\(folder)', which stage '\(other)' writes (and replaces as a whole); choose another path"))
                continue
            }
            let absolute = root + "/" + output.path
            if let input = inputs[absolute] {
                diagnostics.append(Diagnostic(output.location, stage: output.stageID,
                                              "output '\(output.path)' in \(outputDirectory) is the input \(input); the run would replace it: choose another path or --out"))
                continue
            }
            if let input = inputFolders[absolute] {
                diagnostics.append(Diagnostic(output.location, stage: output.stageID,
                                              "output '\(output.path)' in \(outputDirectory) is the folder holding the input \(input); the run would replace it: choose another path or --out"))
                continue
            }
            if let file = guarded[absolute] {
                diagnostics.append(Diagnostic(output.location, stage: output.stageID,
                                              "output '\(output.path)' in \(outputDirectory) is \(file) (the registry); choose another path or --out"))
                continue
            }
        }
        return diagnostics
    }

    /// The real path of `path` (symlinks resolved) even when its last components do not exist yet.
    public static func realPathAllowingMissing(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while !existing.isEmpty, existing != "/" {
            if let resolved = realpath(existing, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            rest.append(URL(fileURLWithPath: existing).lastPathComponent)
            existing = URL(fileURLWithPath: existing).deletingLastPathComponent().path
        }
        return "/" + rest.reversed().joined(separator: "/")
    }
}

extension PipelineRunner {
    /// What ``OutputCheck`` finds in the plan's outputs under `outputDirectory`, thrown as a pipeline file error
    /// (one line per output path).
    public func checkOutputs(_ plan: RunPlan, outputDirectory: String, protected: [String] = []) throws(PipelineFileError) {
        let problems = OutputCheck.problems(plan, outputDirectory: outputDirectory, protected: protected,
                                            readFiles: StageManifest.indirectFiles(plan))
        if !problems.isEmpty { throw PipelineFileError(problems) }
    }
}
