// libFuzzer entry point for `make fuzz` (built with -sanitize=fuzzer, never by `make test`): feeds arbitrary bytes to
// the pipeline-file loader or the MTL parser, chosen by LANDWATCH_FUZZ_TARGET (pipeline | mtl). Throwing is the
// expected answer to bad input; a crash, a hang or a sanitizer report is a finding, saved by libFuzzer as a file
// that Tests/LandwatchPipelineTests/FuzzRegressionTests replays.
import Foundation
import LandwatchAlgorithms
import LandwatchPipeline
import LandwatchStages
import LandwatchSensors

private let target = ProcessInfo.processInfo.environment["LANDWATCH_FUZZ_TARGET"] ?? "pipeline"
private let loader = PipelineLoader(registry: standardRegistry, readRoots: [])
private let folder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    switch target {
    case "mtl":
        if let mtl = try? MTLFile(text: text, file: "fuzz_MTL.txt"), let product = try? LandsatProduct(mtl: mtl) {
            _ = try? product.reflectanceScaling(band: "4", sunCorrected: true)
            _ = product.bandNumbers
        }
    default:
        _ = try? loader.load(text: text, path: "fuzz.yaml", directory: folder)
    }
    return 0
}

// SwiftPM links an executable's entry point under `<module>_main`; hand the command line to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("landwatch_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, fuzzOneInput)
}
