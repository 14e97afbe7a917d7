/// Running statistics of one value raster (an index, a temperature) in one zone.
public struct ValueStatistics: Sendable, Equatable, Codable {
    public var count = 0
    public var sum = 0.0
    public var sumOfSquares = 0.0
    public var minimum = Double.infinity
    public var maximum = -Double.infinity

    public init() {}

    @inline(__always)
    public mutating func add(_ value: Double) {
        count += 1
        sum += value
        sumOfSquares += value * value
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    public mutating func merge(_ other: ValueStatistics) {
        count += other.count
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    public var mean: Double? { count > 0 ? sum / Double(count) : nil }
    /// Population standard deviation.
    public var standardDeviation: Double? {
        guard count > 0 else { return nil }
        let m = sum / Double(count)
        return max(sumOfSquares / Double(count) - m * m, 0).squareRoot()
    }
}

/// What one zone holds: pixel counts in all, per class, per named flag, and statistics per value raster.
public struct ZoneStatistics: Sendable, Equatable {
    /// Pixels of the zone on the grid.
    public var pixels = 0
    /// Pixels with a class (not cloud or nodata), when a class raster is given.
    public var classified = 0
    public var classCounts: [Int: Int] = [:]
    /// Counts of pixels meeting named conditions (vegetated, built-up inside the red line, …).
    public var flags: [String: Int] = [:]
    public var values: [ValueStatistics]

    public init(valueCount: Int) { values = Array(repeating: ValueStatistics(), count: valueCount) }

    public mutating func merge(_ other: ZoneStatistics) {
        pixels += other.pixels
        classified += other.classified
        for (code, count) in other.classCounts { classCounts[code, default: 0] += count }
        for (flag, count) in other.flags { flags[flag, default: 0] += count }
        for index in values.indices { values[index].merge(other.values[index]) }
    }
}

/// Per-zone statistics gathered block by block: each block is summed on its own and merged, so blocks can come in
/// any order from any thread and memory grows with the number of zones, not with the scene.
public struct ZonalTable: Sendable {
    public private(set) var zones: [Int: ZoneStatistics] = [:]
    public let valueCount: Int

    public init(valueCount: Int) { self.valueCount = valueCount }

    /// The statistics of a zone, created empty on first use.
    public subscript(zone: Int) -> ZoneStatistics {
        get { zones[zone] ?? ZoneStatistics(valueCount: valueCount) }
        set { zones[zone] = newValue }
    }

    /// Removes a zone's statistics from the table and returns them (empty if it had none), to be changed and put back.
    public mutating func take(_ zone: Int) -> ZoneStatistics {
        zones.removeValue(forKey: zone) ?? ZoneStatistics(valueCount: valueCount)
    }

    public mutating func merge(_ other: ZonalTable) {
        for (zone, statistics) in other.zones {
            if zones[zone] == nil { zones[zone] = statistics } else { zones[zone]!.merge(statistics) }
        }
    }

    /// Pearson's correlation of two per-zone quantities, over zones where both are known; nil under 3 zones.
    public static func correlation(_ pairs: [(Double, Double)]) -> Double? {
        guard pairs.count >= 3 else { return nil }
        let n = Double(pairs.count)
        let mx = pairs.reduce(0) { $0 + $1.0 } / n, my = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (x, y) in pairs {
            sxy += (x - mx) * (y - my)
            sxx += (x - mx) * (x - mx)
            syy += (y - my) * (y - my)
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }
}
