import Foundation
import LandwatchGDAL
import LandwatchPipeline

/// Whether a band holds reflectance: from what its source states or its header shows (integer data with no scaling),
/// and at run start from a reduced read of the file (an overview or a few small windows, never the whole scene).
enum RadiometryCheck {
    /// What a reduced read saw of one band, after scaling, nodata left out.
    struct Observation: Sendable, Equatable {
        var p1: Double
        var p99: Double
        var min: Double
        var max: Double
        var count: Int

        /// `99th percentile 187, range 0–255`
        var summary: String {
            "99th percentile \(format(p99)), range \(format(min))–\(format(max))"
        }
    }

    /// Reflectance, even with bright snow or cloud and a sun-angle correction, keeps its 99th percentile below this.
    static let reflectanceCeiling = 1.5

    /// At most this many pixels per band are looked at.
    static let sideLimit = 512

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [RadiometryProbe: Observation?] = [:]
    nonisolated(unsafe) private static var warned: Set<String> = []

    /// The band's values from a reduced read, cached per file, band and scaling; nil when it holds no valid pixel.
    static func observe(_ probe: RadiometryProbe) throws -> Observation? {
        if let cached = lock.withLock({ cache[probe] }) { return cached }
        let observation = try reducedRead(probe)
        lock.withLock { cache[probe] = observation }
        return observation
    }

    /// Reads at most about `sideLimit`² pixels: the whole band decimated (GDAL takes an overview when the file has
    /// one; JPEG 2000 decodes a reduced resolution level) for small rasters and JPEG 2000, else 64 windows of
    /// 64 x 64 pixels spread over the raster, so a large striped or tiled GeoTIFF is not decoded whole.
    static func reducedRead(_ probe: RadiometryProbe) throws -> Observation? {
        let dataset = try Dataset.open(probe.path)
        let band = try dataset.band(probe.band)
        let width = dataset.width, height = dataset.height
        var stored: [Float] = []
        if dataset.driverName.hasPrefix("JP2") || width * height <= 4 * sideLimit * sideLimit {
            stored = try band.readOverview(maxSide: sideLimit).values
        } else {
            let side = 64, steps = 8
            for i in 0..<steps {
                for j in 0..<steps {
                    let col = (width - side) * j / (steps - 1), row = (height - side) * i / (steps - 1)
                    stored += try band.read(Window(colOffset: col, rowOffset: row, width: side, height: side))
                }
            }
        }
        let noData = probe.noData ?? band.noDataValue
        var values: [Double] = []
        values.reserveCapacity(stored.count)
        for value in stored where value.isFinite && Double(value) != noData {
            values.append(Double(value) * probe.scale + probe.offset)
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        func quantile(_ q: Double) -> Double { values[min(values.count - 1, Int((Double(values.count - 1) * q).rounded()))] }
        return Observation(p1: quantile(0.01), p99: quantile(0.99), min: values[0], max: values[values.count - 1], count: values.count)
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e9 { return String(Int(value)) }
        let magnitude = abs(value)
        return String(format: magnitude >= 100 ? "%.0f" : (magnitude >= 1 ? "%.2f" : "%.3f"), value)
    }

    /// Why `radiometry` says a band is not reflectance from what the source states or its header shows, or nil.
    /// `observation` (when already read) adds the range seen.
    static func statedProblem(band: String, _ radiometry: BandRadiometry, observation: Observation?) -> String? {
        let seen = observation.map { ", \($0.summary)" } ?? ""
        let of = radiometry.stage.map { " of '\($0)'" } ?? ""
        let advice = "give read.scene a gain and offset (value = stored x gain + offset, for example gain: 2.0e-5, offset: -0.1 for Landsat 8 Level-1) or a sensor, or read Landsat through read.landsat"
        if radiometry.values == .dn {
            let why = radiometry.declared ? "values: dn" : (radiometry.unscaledIntegers ? "\(radiometry.dataType) with no gain or offset" : "as its product delivers them")
            return "band '\(band)'\(of) holds digital numbers (\(why)\(seen)), not reflectance: \(advice)"
        }
        if radiometry.values == nil, radiometry.unscaledIntegers {
            return "band '\(band)'\(of) holds digital numbers (\(radiometry.dataType) with no gain or offset\(seen)), not reflectance: \(advice), or state values: toa or sr"
        }
        return nil
    }

    /// Why the observed values of a band are not reflectance, or nil.
    static func observedProblem(band: String, _ radiometry: BandRadiometry, observation: Observation) -> String? {
        guard observation.p99 > reflectanceCeiling else { return nil }
        let of = radiometry.stage.map { " of '\($0)'" } ?? ""
        let stated = radiometry.declared ? " although the file states values: \(radiometry.values?.rawValue ?? "")" : ""
        return "band '\(band)'\(of) does not hold reflectance (\(observation.summary), reflectance stays below \(format(reflectanceCeiling)))\(stated): give read.scene the gain and offset that turn its numbers into reflectance"
    }

    /// The first problem with the bands a stage needs as reflectance: from the statement and headers (no pixels read)
    /// when `read` is false, else also from a reduced read of each band.
    static func reflectanceProblem(bands: [String], in product: ProductDescription, read: Bool) throws -> String? {
        for band in bands {
            guard let radiometry = product.radiometry[band] else { continue }
            if statedProblem(band: band, radiometry, observation: nil) != nil {
                let observation = radiometry.probe.flatMap { try? observe($0) }
                return statedProblem(band: band, radiometry, observation: observation ?? nil)
            }
            if read, let probe = radiometry.probe, let observation = try observe(probe),
               let problem = observedProblem(band: band, radiometry, observation: observation) {
                return problem
            }
        }
        return nil
    }

    /// The bands of a scene that `features` (bands and indices) read.
    static func bandsRead(by features: [String], scene: [String]) -> [String] {
        var out: [String] = []
        for feature in features {
            let needed = scene.contains(feature) ? [feature] : (Features.indexBands[feature] ?? [])
            for band in needed where !out.contains(band) { out.append(band) }
        }
        return out
    }

    /// A statement (`values:`) the data contradicts, from the header (integer counts stated as reflectance) or,
    /// when `observation` is given, from the values seen.
    static func contradiction(band: String, _ radiometry: BandRadiometry, observation: Observation?) -> String? {
        guard radiometry.declared, let values = radiometry.values else { return nil }
        if values.isReflectance, radiometry.unscaledIntegers {
            let seen = observation.map { ", \($0.summary)" } ?? ""
            return "values: \(values.rawValue) contradicts band '\(band)': it is \(radiometry.dataType) with no gain or offset\(seen), counts rather than reflectance; give the gain and offset that make it reflectance, or state values: dn"
        }
        guard let observation else { return nil }
        if values.isReflectance, observation.p99 > reflectanceCeiling {
            return "values: \(values.rawValue) contradicts band '\(band)': \(observation.summary), but reflectance stays below \(format(reflectanceCeiling)); give the gain and offset that make it reflectance, or state values: dn"
        }
        if values == .dn, observation.max <= 2, observation.p99 <= reflectanceCeiling {
            return "values: dn contradicts band '\(band)': \(observation.summary), which is reflectance, not digital numbers; state values: toa or sr"
        }
        return nil
    }

    /// Logs `message` once per run and key.
    static func warnOnce(_ message: String, key: String, context: RunContext) {
        let first = lock.withLock { warned.insert(context.workDirectory.path + "|" + key).inserted }
        if first {
            context.logger.warning("\(message)")
            context.findings?.note(message)
        }
    }
}
