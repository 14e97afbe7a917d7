/// One class of a land-cover legend.
public struct LegendClass: Sendable, Equatable, Codable {
    public var code: Int
    public var name: String
    /// The Chinese name bureau staff read.
    public var nameZH: String
    /// `#RRGGBB`.
    public var color: String

    public init(code: Int, name: String, nameZH: String, color: String) {
        self.code = code
        self.name = name
        self.nameZH = nameZH
        self.color = color
    }
}

/// A class legend: codes, names and colours. 0 is always nodata / cloud.
public struct Legend: Sendable, Equatable, Codable {
    public var classes: [LegendClass]

    public init(classes: [LegendClass]) { self.classes = classes }

    /// The six classes 10–30 m optical imagery separates, after the top level of GB/T 21010-2017 (三调).
    public static let standard = Legend(classes: [
        LegendClass(code: 1, name: "cropland", nameZH: "耕地", color: "#f2d16b"),
        LegendClass(code: 2, name: "forest", nameZH: "林地", color: "#2d7f3b"),
        LegendClass(code: 3, name: "grassland", nameZH: "草地", color: "#9cd66b"),
        LegendClass(code: 4, name: "water", nameZH: "水域", color: "#3a7bd5"),
        LegendClass(code: 5, name: "built-up", nameZH: "建设用地", color: "#d64541"),
        LegendClass(code: 6, name: "bare", nameZH: "未利用地", color: "#c8b59a"),
    ])

    /// The class with a code.
    public func `class`(code: Int) -> LegendClass? { classes.first { $0.code == code } }

    /// The code of a class name (English or Chinese), or of a number written as text.
    public func code(for name: String) -> Int? {
        if let code = Int(name) { return code }
        return classes.first { $0.name == name || $0.nameZH == name }?.code
    }

    /// The English name of a code, or `class N`.
    public func name(of code: Int) -> String { self.class(code: code)?.name ?? "class \(code)" }
}
