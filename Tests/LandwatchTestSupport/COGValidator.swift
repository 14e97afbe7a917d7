import Foundation

/// GDAL's Cloud-Optimized GeoTIFF validator (Debian's python3-gdal, `validate_cloud_optimized_geotiff`), full check.
public enum COGValidator {
    /// The number of errors the validator finds in `path`, followed by the errors: "0" for a valid COG.
    public static func verdict(_ path: String) throws -> String {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        check.arguments = ["-c", """
            import sys
            from osgeo_utils.samples import validate_cloud_optimized_geotiff as v
            warnings, errors, _ = v.validate(sys.argv[1], full_check=True)
            print(len(errors), *errors)
            """, path]
        let output = Pipe()
        check.standardOutput = output
        try check.run()
        let verdict = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        return verdict.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
