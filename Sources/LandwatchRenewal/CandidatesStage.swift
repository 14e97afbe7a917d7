import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// `renewal.candidates`: vacant, idle and leftover plots of pocket-park size, ranked by a documented score, each
/// with the expected gain in its zone's green-space service coverage (docs/renewal.md).
///
/// Plots are the 8-connected patches of candidate pixels inside the urban boundary that are not green space today:
/// vacant (``VacancyAnalysis``, with a series of dates), idle approved land still unbuilt (with approvals), and
/// leftover land (`leftover_classes` on the latest land cover). A plot touching the ecological red line or permanent
/// basic farmland is never a candidate (counted as excluded).
///
/// Score (0–100) = 100 × Σ wᵢ·cᵢ / Σ wᵢ over the components present:
/// - residents: the residents (residential m², or people) the plot brings within the first level's radius who are
///   outside it today, over the largest such number among the plots;
/// - heat: mean LST within the radius around the plot, scaled from the lowest (0) to the highest (1) plot mean
///   (only with an `lst` input; without it the weight is left out and the files say so);
/// - distance: distance from the plot to the nearest green space of the first level, over twice its radius (capped at 1);
/// - plan: 1 where zoning is a green-space code, 0.5 without zoning or on another non-construction use, 0.25 on
///   land zoned for construction.
public struct CandidatesStage: WholeSinkStage {
    public static let path = Option<String>(
        "path", .outputPath, default: "candidates", help: "output folder: candidates.{gpkg,geojson,csv}, candidates.json")
    public static let minSiteArea = Option<Double>(
        "min_site_area", default: 400, range: 0...1e9, help: "smallest plot in m² (pocket park window)")
    public static let maxSiteArea = Option<Double>(
        "max_site_area", default: 10_000, range: 0...1e9, help: "largest plot in m² (pocket park window)")
    public static let leftoverClasses = Option<OptionList>(
        "leftover_classes", default: OptionList(["bare"]), help: "classes of the latest land cover taken as leftover plots (边角地)")
    public static let weightResidents = Option<Double>("weight_residents", default: 0.4, range: 0...100, help: "score weight: residents newly served")
    public static let weightHeat = Option<Double>("weight_heat", default: 0.25, range: 0...100, help: "score weight: LST around the plot")
    public static let weightDistance = Option<Double>("weight_distance", default: 0.2, range: 0...100, help: "score weight: distance to green")
    public static let weightPlan = Option<Double>("weight_plan", default: 0.15, range: 0...100, help: "score weight: plan status")

    public static let descriptor = StageDescriptor(
        id: "renewal.candidates",
        summary: "Pocket-park candidates: vacant, idle and leftover plots of 400-10,000 m² ranked by a score, with the expected coverage gain",
        evaluation: .wholeRaster,
        inputs: [InputPort("classes", kinds: [.classes], help: "the latest land cover: residential, green and leftover classes")]
            + GreenAccessOptions.inputs + VacancyOptions.dateInputs + [
                InputPort("urban_boundary", kinds: [.plan, .mask], help: "urban development boundary (default: the whole scene)", optional: true),
                InputPort("approvals", kinds: [.plan], help: "approvals with a date field: idle approved land", optional: true),
                InputPort("redline", kinds: [.plan, .mask], help: "ecological red line: never a candidate", optional: true),
                InputPort("basic_farmland", kinds: [.plan, .mask], help: "permanent basic farmland: never a candidate", optional: true),
                InputPort("lst", kinds: [.index], help: "land surface temperature (°C, thermal.lst): the heat component", optional: true),
            ],
        output: nil,
        keys: [path, minSiteArea, maxSiteArea, leftoverClasses, weightResidents, weightHeat, weightDistance, weightPlan]
            + GreenAccessOptions.keys + VacancyOptions.keys.filter { $0.spec.name != "min_area" && $0.spec.name != "min_pixels" })

    public let path: String
    let minSite: Double
    let maxSite: Double
    let leftover: Set<Int>
    let weights: (residents: Double, heat: Double, distance: Double, plan: Double)
    let access: GreenAccessSettings
    let vacancy: VacancySettings
    let source: GreenAccessOptions.GreenSource
    let dateField: String?
    let approvalsLayer: String?

    public init(options: StageOptions) throws(StageProblem) {
        path = options[Self.path]
        minSite = options[Self.minSiteArea]
        maxSite = options[Self.maxSiteArea]
        guard maxSite >= minSite else {
            throw StageProblem(option: Self.maxSiteArea, "max_site_area (\(maxSite)) must be at least min_site_area (\(minSite))")
        }
        leftover = try classCodes(options[Self.leftoverClasses], option: Self.leftoverClasses.name, legend: options.legend, what: "leftover")
        weights = (options[Self.weightResidents], options[Self.weightHeat], options[Self.weightDistance], options[Self.weightPlan])
        guard weights.residents + weights.heat + weights.distance + weights.plan > 0 else {
            throw StageProblem(option: Self.weightResidents, "the score weights are all 0")
        }
        access = try GreenAccessOptions.settings(options)
        var vacancy = try VacancyOptions.settings(options)
        vacancy.minArea = 0
        vacancy.minPixels = 1
        self.vacancy = vacancy
        source = options[GreenAccessOptions.green]
        dateField = options[VacancyOptions.dateField]
        approvalsLayer = options[VacancyOptions.approvalsLayer]
    }

    public var outputPaths: [String] { [path] }

    public func check(inputs: [ProductDescription]) throws(StageProblem) {
        try GreenAccessOptions.check(inputs: inputs, source: source, stage: Self.descriptor.id)
        _ = try VacancyOptions.check(inputs: inputs, dateField: dateField, approvalsLayer: approvalsLayer, requireDates: false)
    }

    struct PlotSum {
        var pixels = 0, vacant = 0, idle = 0, leftover = 0, protected = 0
        var zones: [Int: Int] = [:], zoning: [Int: Int] = [:]
        var minRow = Int.max, minCol = Int.max, maxRow = -1, maxCol = -1
        var distance = Double.infinity
    }

    public func run(inputs: [MaterializedRaster], grid: RasterGrid, context: RunContext) throws -> [String] {
        let stage = Self.descriptor.id
        let descriptions = inputs.map(\.description)
        let approvalDates: ApprovalDates?
        do {
            approvalDates = try VacancyOptions.check(inputs: descriptions, dateField: dateField, approvalsLayer: approvalsLayer, requireDates: false)
        } catch {
            throw RunError(.input, (error.option.map { "option '\($0)': " } ?? "") + error.message)
        }
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        let pw = abs(grid.geoTransform.pixelWidth), ph = abs(grid.geoTransform.pixelHeight)

        // 1. Green access today, with its rasters (weights, distances per level).
        let accessAnalysis = GreenAccessOptions.analysis(settings: access, inputs: inputs)
        let today = try accessAnalysis.run(grid: grid, context: context, stage: stage)
        let zoneNames = ZoneNames(table: input(inputs, "zones")?.description.featureTables.values.first)
        let coverage = GreenAccessResult(result: today, settings: access, names: zoneNames, population: accessAnalysis.population != nil,
                                         pixelArea: pixelArea)

        // 2. Vacancy and idle land, when there is a series.
        let hasSeries = VacancyOptions.datePorts.contains { input(inputs, $0) != nil }
        var vacancyResult: VacancyAnalysis.Result?
        if hasSeries {
            let analysis = VacancyOptions.analysis(settings: vacancy, inputs: inputs, approvalDates: approvalDates)
            vacancyResult = try analysis.run(grid: grid, context: context, stage: stage, keepNumbers: true)
        }
        let idleNumbers = Set((vacancyResult?.approvals ?? []).filter(\.isIdle).map(\.number))

        // 3. Candidate pixels, their plots (polygonize), plot numbers burned back.
        let strips = try Strips(grid: grid, bytesPerPixel: 4 * 12, context: context, stage: stage)
        let classSet = try Dataset.open(input(inputs, "classes")!.path)
        func open(_ port: String) throws -> Dataset? { try input(inputs, port).map { try Dataset.open($0.path) } }
        let boundarySet = try open("urban_boundary"), approvalSet = try open("approvals"), zoneSet = try open("zones")
        let zoningSet = try open("zoning"), redlineSet = try open("redline"), farmlandSet = try open("basic_farmland")
        let lstSet = try open("lst")
        let greenSet = try Dataset.open(today.rasters.green)
        let vacancyNumbers = try vacancyResult?.numbersPath.map { try Dataset.open($0) }
        let keptPatches = Set(vacancyResult?.patchIndex.keys.map { $0 } ?? [])
        let tag = UUID().uuidString.prefix(8)
        let maskPath = context.scratchPath("candidates-\(tag).tif")
        let built = vacancy.built
        let mask = try writeMask(maskPath, grid: grid, context: context, strips: strips) { window in
            let c = try classSet.band(1).read(window), g = try greenSet.band(1).read(window)
            let b = try boundarySet?.band(1).read(window), a = try approvalSet?.band(1).read(window)
            let v = try vacancyNumbers?.band(1).read(window)
            var flags = [Float](repeating: 0, count: window.pixelCount)
            for i in 0..<window.pixelCount where g[i] == 0 {
                if let b, !(b[i].isFinite && b[i] > 0) { continue }
                let code = c[i].isFinite ? Int(c[i]) : 0
                let isVacant = v.map { $0[i] >= 1 && keptPatches.contains(Int($0[i])) } ?? false
                let isIdle = a.map { $0[i].isFinite && idleNumbers.contains(Int($0[i])) && !built.contains(code) } ?? false
                if isVacant || isIdle || leftover.contains(code) { flags[i] = 1 }
            }
            return flags
        }
        let plots = try maskPatches(mask).filter { $0.area >= minSite - 1e-6 && $0.area <= maxSite + 1e-6 }
        try mask.close()
        let numbersPath = context.scratchPath("candidates-plots-\(tag).tif")
        let numbers = try burnNumbers(plots, at: numbersPath, grid: grid, context: context)

        // 4. Per plot: pixels, sources, zone, zoning, protected land, distance to green, bounding box.
        let distanceSets = try today.rasters.distances.map { try Dataset.open($0) }
        var sums = [PlotSum](repeating: PlotSum(), count: plots.count)
        let maxDistance = today.rasters.maxDistance
        for window in strips.windows {
            let n = try numbers.band(1).read(window)
            guard n.contains(where: { $0 >= 1 }) else { continue }
            let c = try classSet.band(1).read(window), a = try approvalSet?.band(1).read(window)
            let v = try vacancyNumbers?.band(1).read(window), z = try zoneSet?.band(1).read(window)
            let zo = try zoningSet?.band(1).read(window), r = try redlineSet?.band(1).read(window)
            let f = try farmlandSet?.band(1).read(window), d = try distanceSets[0].band(1).read(window)
            for i in 0..<window.pixelCount where n[i] >= 1 {
                let k = Int(n[i]) - 1
                let row = window.rowOffset + i / window.width, col = i % window.width
                var s = sums[k]
                s.pixels += 1
                let code = c[i].isFinite ? Int(c[i]) : 0
                if v.map({ $0[i] >= 1 && keptPatches.contains(Int($0[i])) }) ?? false { s.vacant += 1 }
                if a.map({ $0[i].isFinite && idleNumbers.contains(Int($0[i])) && !built.contains(code) }) ?? false { s.idle += 1 }
                if leftover.contains(code) { s.leftover += 1 }
                if (r.map { $0[i].isFinite && $0[i] > 0 } ?? false) || (f.map { $0[i].isFinite && $0[i] > 0 } ?? false) { s.protected += 1 }
                s.zones[z.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0, default: 0] += 1
                s.zoning[zo.map { $0[i].isFinite && $0[i] >= 1 ? Int($0[i]) : 0 } ?? 0, default: 0] += 1
                s.minRow = min(s.minRow, row); s.maxRow = max(s.maxRow, row)
                s.minCol = min(s.minCol, col); s.maxCol = max(s.maxCol, col)
                s.distance = min(s.distance, d[i] >= 0 ? Double(d[i]) : maxDistance)
                sums[k] = s
            }
        }

        // 5. Per plot: residents newly served per level (the plot, and small green patches it joins, become green space),
        //    in its zone and in all; mean LST within the radius.
        let greenPatchPath = context.scratchPath("green-patches-\(tag).tif")
        let greenNumbers = try burnNumbers(today.rasters.greenPatches, at: greenPatchPath, grid: grid, context: context)
        let greenAreas = today.rasters.greenPatches.map(\.area)
        let weightSet = try Dataset.open(today.rasters.weights)
        let zoningTable = input(inputs, "zoning")?.description.featureTables.values.first
        let greenZoning = GreenAccessAnalysis.zoningFlags(zoningTable, codes: access.greenCodes)
        var candidates: [Candidate] = []
        var excluded = 0
        for (k, plot) in plots.enumerated() {
            let s = sums[k]
            guard s.pixels > 0 else { continue }
            if s.protected > 0 { excluded += 1; continue }
            let zone = s.zones.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
            let plan = s.zoning.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
            // Green patches touching the plot (8-neighbours).
            let near = Window(colOffset: max(0, s.minCol - 1), rowOffset: max(0, s.minRow - 1),
                              width: min(grid.width, s.maxCol + 2) - max(0, s.minCol - 1),
                              height: min(grid.height, s.maxRow + 2) - max(0, s.minRow - 1))
            let nearPlot = try numbers.band(1).read(near), nearGreen = try greenNumbers.band(1).read(near)
            var touching = Set<Int>()
            for y in 0..<near.height {
                for x in 0..<near.width where nearPlot[y * near.width + x] == Float(k + 1) {
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let yy = y + dy, xx = x + dx
                            guard yy >= 0, yy < near.height, xx >= 0, xx < near.width else { continue }
                            let label = Int(nearGreen[yy * near.width + xx])
                            if label >= 1 { touching.insert(label) }
                        }
                    }
                }
            }
            let area = Double(s.pixels) * pixelArea
            var newServed = [Double](repeating: 0, count: access.levels.count)
            var newServedZone = [Double](repeating: 0, count: access.levels.count)
            var lstSum = 0.0, lstCount = 0
            for (levelIndex, level) in access.levels.enumerated() {
                let merged = area + touching.reduce(0) { $0 + greenAreas[$1 - 1] }
                guard merged >= level.minArea - 1e-6 else { continue }
                let joined = touching.filter { greenAreas[$0 - 1] < level.minArea - 1e-6 }
                // The window: the plot and the patches it joins, widened by the radius.
                var minRow = s.minRow, maxRow = s.maxRow, minCol = s.minCol, maxCol = s.maxCol
                for label in joined {
                    let box = today.rasters.greenPatches[label - 1].envelope
                    let g = grid.geoTransform
                    let c0 = Int(((box.minX - g.originX) / g.pixelWidth).rounded(.down)), c1 = Int(((box.maxX - g.originX) / g.pixelWidth).rounded(.up)) - 1
                    let r0 = Int(((box.maxY - g.originY) / g.pixelHeight).rounded(.down)), r1 = Int(((box.minY - g.originY) / g.pixelHeight).rounded(.up)) - 1
                    minRow = min(minRow, r0); maxRow = max(maxRow, r1); minCol = min(minCol, c0); maxCol = max(maxCol, c1)
                }
                let reachCols = Int((level.radius / pw).rounded(.up)) + 1, reachRows = Int((level.radius / ph).rounded(.up)) + 1
                let c0 = max(0, minCol - reachCols), c1 = min(grid.width - 1, maxCol + reachCols)
                let r0 = max(0, minRow - reachRows), r1 = min(grid.height - 1, maxRow + reachRows)
                let window = Window(colOffset: c0, rowOffset: r0, width: c1 - c0 + 1, height: r1 - r0 + 1)
                let p = try numbers.band(1).read(window), gn = try greenNumbers.band(1).read(window)
                let w = try weightSet.band(1).read(window), d = try distanceSets[levelIndex].band(1).read(window)
                let z = try zoneSet?.band(1).read(window)
                let t = levelIndex == 0 ? try lstSet?.band(1).read(window) : nil
                // New green sources: the plot's and the joined patches' pixels that have a neighbour outside them.
                func isSource(_ j: Int) -> Bool { p[j] == Float(k + 1) || (gn[j] >= 1 && joined.contains(Int(gn[j]))) }
                var sources: [(Double, Double)] = []
                for y in 0..<window.height {
                    for x in 0..<window.width where isSource(y * window.width + x) {
                        var edge = false
                        for (dy, dx) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                            let yy = y + dy, xx = x + dx
                            if yy < 0 || yy >= window.height || xx < 0 || xx >= window.width || !isSource(yy * window.width + xx) { edge = true; break }
                        }
                        if edge { sources.append((Double(x) * pw, Double(y) * ph)) }
                    }
                }
                let r2 = level.radius * level.radius + 1e-6
                for y in 0..<window.height {
                    for x in 0..<window.width {
                        let j = y * window.width + x
                        let px = Double(x) * pw, py = Double(y) * ph
                        let wantsLST = t != nil && t![j].isFinite
                        let unserved = w[j] > 0 && !(d[j] >= 0 && Double(d[j]) <= level.radius)
                        guard unserved || wantsLST else { continue }
                        let within = isSource(j) || sources.contains { ($0.0 - px) * ($0.0 - px) + ($0.1 - py) * ($0.1 - py) <= r2 }
                        guard within else { continue }
                        if unserved {
                            let pixelZone = z.map { $0[j].isFinite && $0[j] >= 1 ? Int($0[j]) : 0 } ?? 0
                            if z == nil || pixelZone > 0 {
                                let value = accessAnalysis.population == nil ? pixelArea : Double(w[j])
                                newServed[levelIndex] += value
                                if pixelZone == zone { newServedZone[levelIndex] += value }
                            }
                        }
                        if wantsLST { lstSum += Double(t![j]); lstCount += 1 }
                    }
                }
            }
            let zoneCoverage = coverage.zones.first { $0.code == zoneNames.id(zone) } ?? coverage.zones.first!
            let gains = access.levels.indices.map { index -> Candidate.Gain in
                let before = zoneCoverage.levels[index].coverage
                let residents = zoneCoverage.residents
                let after = residents > 0 ? (zoneCoverage.levels[index].served + newServedZone[index]) / residents : nil
                return Candidate.Gain(level: access.levels[index].name, newlyServed: rounded(newServed[index], 2),
                                      newlyServedInZone: rounded(newServedZone[index], 2), coverageBefore: before,
                                      coverageAfter: after.map { rounded($0, 6) },
                                      gainPoints: before.flatMap { b in after.map { rounded(($0 - b) * 100, 4) } })
            }
            let planScore: Double
            if zoningSet == nil || plan == 0 {
                planScore = 0.5
            } else if plan < greenZoning.count, greenZoning[plan] {
                planScore = 1
            } else if zoningTable?.feature(number: plan)?.allowsConstruction ?? false {
                planScore = 0.25
            } else {
                planScore = 0.5
            }
            let kinds = [("vacant", s.vacant), ("idle", s.idle), ("leftover", s.leftover)].filter { $0.1 > 0 }.map(\.0)
            candidates.append(Candidate(
                geometry: plot, areaM2: area, pixels: s.pixels, sources: kinds, zone: zone, zoningCode: zoningTable?.feature(number: plan)?.code ?? "",
                distance: s.distance, meanLST: lstCount > 0 ? lstSum / Double(lstCount) : nil, planScore: planScore, gains: gains))
        }
        try numbers.close()
        try greenNumbers.close()

        // 6. Score and rank.
        let ranked = Candidate.rank(candidates, weights: weights, distanceScale: 2 * access.levels[0].radius, hasLST: lstSet != nil)
        let crs = try SpatialReference(definition: grid.crsWKT)
        let result = CandidatesResult(ranked: ranked, excluded: excluded, names: zoneNames, crs: crs, weights: weights,
                                      hasLST: lstSet != nil, levels: access.levels, coverage: coverage)
        let folder = try AtomicDirectory(target: context.outputRoot.resolve(path))
        do {
            var written = try CandidatesResult.table(ranked, result: result).write(into: folder, name: "candidates", crs: crs)
            try encodeJSON(result).write(to: URL(fileURLWithPath: try folder.path("candidates.json")))
            written.append("candidates.json")
            try folder.commit()
            context.findings?.set("candidates", Double(ranked.count))
            context.findings?.set("excluded_protected", Double(excluded))
            if lstSet == nil { context.findings?.note("no lst input: the heat component is left out of the score") }
            context.logger.info("\(ranked.count) candidates written to \(path)/ (\(excluded) on protected land left out)")
            return written.map { "\(path)/\($0)" }
        } catch {
            folder.abort()
            throw error
        }
    }
}
