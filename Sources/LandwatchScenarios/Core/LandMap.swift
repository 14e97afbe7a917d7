/// A class map held whole: one byte per cell, row by row, 0 for no data (cloud, outside the image).
///
/// - Complexity: `width × height` bytes.
public struct LandMap: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var cells: [UInt8]

    public init(width: Int, height: Int, cells: [UInt8]) {
        precondition(cells.count == width * height, "a \(width)x\(height) map needs \(width * height) cells, not \(cells.count)")
        self.width = width
        self.height = height
        self.cells = cells
    }

    public init(width: Int, height: Int, filledWith code: UInt8 = 0) {
        self.init(width: width, height: height, cells: [UInt8](repeating: code, count: width * height))
    }

    public var count: Int { cells.count }

    /// Cells per class code (index = code, 0 = no data), counting only cells where `region` is true (every cell
    /// without a region).
    public func classCounts(in region: Region? = nil) -> [Int] {
        var counts = [Int](repeating: 0, count: 256)
        cells.withUnsafeBufferPointer { c in
            if let region {
                for i in 0..<c.count where region.contains(i, width: width, height: height) { counts[Int(c[i])] += 1 }
            } else {
                for value in c { counts[Int(value)] += 1 }
            }
        }
        return counts
    }
}

/// A part of the grid: a half of it for spatial hold-out, or all of it.
public enum Region: String, Sendable, CaseIterable, Codable {
    case all, west, east, north, south

    /// The other half (`all` stays `all`).
    public var complement: Region {
        switch self {
        case .all: return .all
        case .west: return .east
        case .east: return .west
        case .north: return .south
        case .south: return .north
        }
    }

    @inline(__always)
    public func contains(_ index: Int, width: Int, height: Int) -> Bool {
        switch self {
        case .all: return true
        case .west: return index % width < width / 2
        case .east: return index % width >= width / 2
        case .north: return index / width < height / 2
        case .south: return index / width >= height / 2
        }
    }

    /// Whether row `row` can hold a cell of the region.
    public func containsRow(_ row: Int, height: Int) -> Bool {
        switch self {
        case .north: return row < height / 2
        case .south: return row >= height / 2
        default: return true
        }
    }
}

/// A deterministic pseudo-random number per (seed, stream, index): splitmix64 of their mix. The same inputs give the
/// same number on every machine and in every thread order.
@inline(__always)
public func scenarioHash(_ seed: UInt64, _ stream: UInt64, _ index: Int) -> UInt64 {
    var z = seed &* 0x9E37_79B9_7F4A_7C15 &+ stream &* 0xD1B5_4A32_D192_ED03 &+ UInt64(truncatingIfNeeded: index)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A uniform number in [0, 1) from ``scenarioHash(_:_:_:)``.
@inline(__always)
public func scenarioUniform(_ seed: UInt64, _ stream: UInt64, _ index: Int) -> Float {
    Float(scenarioHash(seed, stream, index) >> 40) * (1.0 / 16_777_216.0)
}
