import Foundation

/// Pipeline texts more than one test module runs.
public enum TestPipelines {
    /// The real Zion Landsat 8 scene: the shared data set when it is beside the repository (CI), else the identical
    /// copy in testdata/.
    public static let zion: URL = {
        let shared = TestPaths.repository.deletingLastPathComponent().appendingPathComponent("shared/data/zion-landsat8")
        return FileManager.default.fileExists(atPath: shared.path) ? shared : TestPaths.testdata.appendingPathComponent("zion-landsat8")
    }()

    /// NDVI of the Zion scene written as ndvi.tif: read.scene, index.ndvi, write.raster.
    public static let zionNDVI = """
        version: 1
        name: ndvi
        params:
          data: \(zion.path)
        stages:
          - id: scene
            uses: read.scene
            with:
              bands: {red: "${data}/landsat_b4.tif", nir: "${data}/landsat_b5.tif"}
              scale: 2.0e-5
              offset: -0.1
              nodata: 65535
          - id: ndvi
            uses: index.ndvi
            inputs: [scene]
          - id: out
            uses: write.raster
            inputs: [ndvi]
            with: {path: ndvi.tif}
        """
}
