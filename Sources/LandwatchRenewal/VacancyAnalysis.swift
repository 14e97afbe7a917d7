import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// The settings of the vacancy and idle-land analysis (the options of `renewal.vacancy`, shared by
/// `renewal.candidates`).
public struct VacancySettings: Sendable {
    public var unbuilt: Set<Int>
    public var built: Set<Int>
    public var minMonths: Double
    public var minObservations: Int
    public var minArea: Double
    public var minPixels: Int
    public var idleAfterMonths: Double
    public var unbuiltShare: Double
    public var stalledShare: Double
    public var unchangedTolerance: Double
    public var dateMeaning: String
}

/// One vacant patch: 8-connected vacant pixels inside the urban development boundary.
public struct VacantPatch: Sendable {
    public var geometry: Geometry
    public var pixels: Int
    public var areaM2: Double
    public var firstDate: String
    public var lastDate: String
    public var monthsBare: Double
    public var clearObservations: Int
    public var cloudMissing: Int
    public var turnedBare: Bool
    public var zone: Int
    /// Approval numbers (feature numbers of the approvals layer) the patch overlaps.
    public var approvals: [Int]
}

/// One approval checked for idleness.
public struct ApprovalCheck: Sendable {
    public enum Status: String, Sendable, Codable {
        /// Approved long enough ago and still unbuilt on at least the unbuilt share.
        case idleUnbuilt = "idle_unbuilt"
        /// Construction begun on less than the stalled share and unchanged for a year.
        case idleStalled = "idle_stalled"
        /// Too recent to be idle.
        case recent
        /// Built on (or construction under way).
        case inUse = "in_use"
        /// No clear pixel of it on the latest dates (cloud) or outside the image.
        case notObserved = "not_observed"
    }
    public var number: Int
    public var date: SeriesDate
    public var ageMonths: Double
    public var pixels: Int
    public var areaM2: Double
    public var unbuiltShare: Double?
    public var builtShare: Double?
    /// Built share on the latest clear observation at least 12 months before the latest date, when the series reaches back.
    public var builtShareYearBefore: Double?
    public var status: Status
    public var zone: Int
    public var isIdle: Bool { status == .idleUnbuilt || status == .idleStalled }
}

/// The vacancy and idle-land analysis over materialised inputs: two streamed passes in strips of rows.
///
/// Pass 1 reads every date, the boundary, approvals and zones, finds each pixel's ``VacancyRun``, writes the vacancy
/// mask and sums each approval's pixels. The mask's 8-connected patches come from GDAL's polygonize; their numbers
/// are burned back, and pass 2 sums each patch's runs.
struct VacancyAnalysis {
    struct Dated { var date: SeriesDate; var raster: MaterializedRaster }

    let settings: VacancySettings
    let dates: [Dated]
    let boundary: MaterializedRaster?
    let approvals: MaterializedRaster?
    let approvalDates: ApprovalDates?
    let zones: MaterializedRaster?
    /// The read.series the dates were classified from: a date's pixels the series masked as cloud (nodata in that
    /// date's first band), and every pixel of a date the series left out (over its max_cloud), are missing.
    var series: MaterializedRaster? = nil

    /// For each date, the band (1-based) of `series` that carries it (`NAME_YYYYMMDD`), nil when the series left the
    /// date out; nil without a series.
    func seriesBands() -> [Int?]? {
        guard let series else { return nil }
        return dates.map { dated in
            let suffix = "_" + dated.date.text.replacingOccurrences(of: "-", with: "")
            return series.description.bandNames.firstIndex { $0.hasSuffix(suffix) }.map { $0 + 1 }
        }
    }

    struct Result {
        var patches: [VacantPatch]
        var approvals: [ApprovalCheck]
        /// Vacant pixels before the size filter.
        var vacantPixels: Int
        var pixelArea: Double
        /// The patch numbers (1-based, into the patches before the size filter) in the work directory, when kept.
        var numbersPath: String?
        /// For each patch number, its index in `patches` (nil: below the minimum size).
        var patchIndex: [Int: Int]
    }

    func run(grid: RasterGrid, context: RunContext, stage: String, keepNumbers: Bool = false) throws -> Result {
        let t = dates.count
        let strips = try Strips(grid: grid, bytesPerPixel: 4 * (t + 5), context: context, stage: stage)
        let classSets = try dates.map { try Dataset.open($0.raster.path) }
        let boundarySet = try boundary.map { try Dataset.open($0.path) }
        let approvalSet = try approvals.map { try Dataset.open($0.path) }
        let zoneSet = try zones.map { try Dataset.open($0.path) }
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let latest = dates.last!.date
        // For "unchanged for a year": the latest date at least 12 months before the latest date.
        let yearBefore = latest.adding(months: -12)
        let referenceIndex = dates.lastIndex { $0.date <= yearBefore }

        struct ApprovalSum { var pixels = 0, clear = 0, unbuilt = 0, built = 0, clearThen = 0, builtThen = 0; var zones: [Int: Int] = [:] }
        var approvalSums: [Int: ApprovalSum] = [:]
        var vacantPixels = 0
        let maskPath = context.scratchPath("vacancy-\(UUID().uuidString.prefix(8)).tif")
        defer { try? FileManager.default.removeItem(atPath: maskPath) }

        let seriesSet = try series.map { try Dataset.open($0.path) }
        let cloudBands = seriesBands()
        func readStrip(_ window: Window) throws -> (classes: [[Float]], boundary: [Float]?, approval: [Float]?, zone: [Float]?) {
            var classes = try classSets.map { try $0.band(1).read(window) }
            if let seriesSet, let cloudBands {
                for (k, band) in cloudBands.enumerated() {
                    guard let band else {
                        classes[k] = [Float](repeating: .nan, count: window.pixelCount)
                        continue
                    }
                    let values = try seriesSet.band(band).read(window)
                    for i in 0..<window.pixelCount where !values[i].isFinite { classes[k][i] = .nan }
                }
            }
            return (classes, try boundarySet?.band(1).read(window), try approvalSet?.band(1).read(window), try zoneSet?.band(1).read(window))
        }
        let unbuilt = settings.unbuilt
        func history(_ classes: [[Float]], _ i: Int) -> [Float] { (0..<t).map { classes[$0][i] } }

        let mask = try writeMask(maskPath, grid: grid, context: context, strips: strips) { window in
            let strip = try readStrip(window)
            var flags = [Float](repeating: 0, count: window.pixelCount)
            for i in 0..<window.pixelCount {
                let series = history(strip.classes, i)
                if let a = strip.approval?[i], a.isFinite, a >= 1 {
                    var sum = approvalSums[Int(a)] ?? ApprovalSum()
                    sum.pixels += 1
                    if let last = series.lastIndex(where: { $0.isFinite && $0 > 0 }) {
                        sum.clear += 1
                        // Approved land is unbuilt while no building stands on it, whatever covers it.
                        if settings.built.contains(Int(series[last])) { sum.built += 1 } else { sum.unbuilt += 1 }
                    }
                    if let referenceIndex, let then = series[0...referenceIndex].lastIndex(where: { $0.isFinite && $0 > 0 }) {
                        sum.clearThen += 1
                        if settings.built.contains(Int(series[then])) { sum.builtThen += 1 }
                    }
                    let zone = strip.zone.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0
                    sum.zones[zone, default: 0] += 1
                    approvalSums[Int(a)] = sum
                }
                if let b = strip.boundary, !(b[i].isFinite && b[i] > 0) { continue }
                guard let run = VacancyRun.of(series, unbuilt: { unbuilt.contains($0) }),
                      run.observations >= settings.minObservations,
                      dates[run.first].date.months(until: dates[run.last].date) >= settings.minMonths - 1e-9 else { continue }
                flags[i] = 1
                vacantPixels += 1
            }
            return flags
        }

        // Patches of the mask, their numbers burned back, and pass 2: each patch's runs.
        var patches: [VacantPatch] = []
        var keptNumbers: String?
        var labelOf: [Int] = []
        if vacantPixels > 0 {
            let geometries = try maskPatches(mask)
            let numbersPath = context.scratchPath("vacancy-patches-\(UUID().uuidString.prefix(8)).tif")
            defer { if !keepNumbers { try? FileManager.default.removeItem(atPath: numbersPath) } }
            if keepNumbers { keptNumbers = numbersPath }
            let numbers = try burnNumbers(geometries, at: numbersPath, grid: grid, context: context)
            struct PatchSum {
                var pixels = 0, turned = 0
                var first: [Int], last: [Int], missing: [Int]
                var zones: [Int: Int] = [:], approvals: [Int: Int] = [:]
                init(_ t: Int) { first = Array(repeating: 0, count: t); last = first; missing = first }
            }
            var sums: [Int: PatchSum] = [:]
            for window in strips.windows {
                let strip = try readStrip(window)
                let labels = try numbers.band(1).read(window)
                for i in 0..<window.pixelCount where labels[i] >= 1 {
                    let series = history(strip.classes, i)
                    guard let run = VacancyRun.of(series, unbuilt: { unbuilt.contains($0) }) else { continue }
                    var sum = sums[Int(labels[i])] ?? PatchSum(t)
                    sum.pixels += 1
                    sum.first[run.first] += 1
                    sum.last[run.last] += 1
                    for d in run.first...run.last where !(series[d].isFinite && series[d] > 0) { sum.missing[d] += 1 }
                    if run.turnedBare { sum.turned += 1 }
                    let zone = strip.zone.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0
                    sum.zones[zone, default: 0] += 1
                    if let a = strip.approval?[i], a.isFinite, a >= 1 { sum.approvals[Int(a), default: 0] += 1 }
                    sums[Int(labels[i])] = sum
                }
            }
            try numbers.close()
            for (label, sum) in sums.sorted(by: { $0.key < $1.key }) {
                let area = Double(sum.pixels) * pixelArea
                guard sum.pixels >= settings.minPixels, area >= settings.minArea - 1e-9 else { continue }
                // The patch's run: the first and last date most of its pixels share.
                let first = sum.first.indices.max { sum.first[$0] < sum.first[$1] || (sum.first[$0] == sum.first[$1] && $0 > $1) }!
                let last = sum.last.indices.max { sum.last[$0] < sum.last[$1] }!
                let missing = (first...max(first, last)).filter { sum.missing[$0] * 2 > sum.pixels }.count
                labelOf.append(label)
                patches.append(VacantPatch(
                    geometry: geometries[label - 1], pixels: sum.pixels, areaM2: area, firstDate: dates[first].date.text,
                    lastDate: dates[last].date.text, monthsBare: rounded(dates[first].date.months(until: dates[last].date), 1),
                    clearObservations: (max(first, last) - first + 1) - missing, cloudMissing: missing, turnedBare: sum.turned * 2 > sum.pixels,
                    zone: sum.zones.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0,
                    approvals: sum.approvals.keys.sorted()))
            }
        }
        try mask.close()
        let order = patches.indices.sorted { a, b in
            patches[a].areaM2 > patches[b].areaM2 || (patches[a].areaM2 == patches[b].areaM2 && labelOf[a] < labelOf[b])
        }
        patches = order.map { patches[$0] }
        var patchIndex: [Int: Int] = [:]
        for (index, original) in order.enumerated() { patchIndex[labelOf[original]] = index }

        // Approvals: age at the latest date, unbuilt and built shares.
        var checks: [ApprovalCheck] = []
        if let approvalDates {
            for (index, date) in approvalDates.dates.enumerated() {
                let number = index + 1
                let sum = approvalSums[number] ?? ApprovalSum()
                let age = rounded(date.months(until: latest), 1)
                let unbuiltShare = sum.clear > 0 ? Double(sum.unbuilt) / Double(sum.clear) : nil
                let builtShare = sum.clear > 0 ? Double(sum.built) / Double(sum.clear) : nil
                let builtThen = sum.clearThen > 0 ? Double(sum.builtThen) / Double(sum.clearThen) : nil
                let status: ApprovalCheck.Status
                if sum.clear == 0 || sum.clear * 2 < sum.pixels {
                    status = .notObserved
                } else if age < settings.idleAfterMonths - 1e-9 {
                    status = .recent
                } else if let unbuiltShare, unbuiltShare >= settings.unbuiltShare - 1e-9 {
                    status = .idleUnbuilt
                } else if let builtShare, builtShare < settings.stalledShare, let builtThen,
                          abs(builtShare - builtThen) <= settings.unchangedTolerance {
                    status = .idleStalled
                } else {
                    status = .inUse
                }
                checks.append(ApprovalCheck(
                    number: number, date: date, ageMonths: age, pixels: sum.pixels, areaM2: Double(sum.pixels) * pixelArea,
                    unbuiltShare: unbuiltShare, builtShare: builtShare, builtShareYearBefore: builtThen, status: status,
                    zone: sum.zones.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0))
            }
        }
        return Result(patches: patches, approvals: checks, vacantPixels: vacantPixels, pixelArea: pixelArea, numbersPath: keptNumbers,
                      patchIndex: patchIndex)
    }
}
