import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline

/// One patch of a violation list as `write.violations` builds it and every list, chip and package writes it.
package struct Violation {
    package var number: Int
    package var id: String
    package var patch: PatchLabeler.Patch
    package var rules: [ChangeRule]
    package var severity: Severity
    /// The change score, 0–100 (``ChangeEvidence/score(meanEvidence:threshold:meanConfidence:)``).
    package var score: Int
    package var geometry: Geometry
    package var wgs84: Geometry
    package var planGeometry: Geometry
    package var point: (lon: Double, lat: Double)
    package var gcj: (lon: Double, lat: Double)?
    package var planPoint: (x: Double, y: Double)
    package var areaM2: Double
    package var plan: [(role: String, features: [FeatureTable.Feature])]
    package var chips: (before: String, after: String)?
    /// The chips' geotransform (the run grid's CRS).
    package var chipTransform: [Double]?
    /// The zone holding most of the patch (code, name).
    package var zone: (code: String, name: String)?
    /// m² inside each plan layer's features, by role, from the patch's pixels.
    package var planAreas: [String: Double]
    /// m² outside the urban development boundary, when one is connected.
    package var outsideUrbanBoundary: Double?
    /// m² that was cropland before; nil when the run's legend has no class named cropland.
    package var croplandArea: Double?
    /// Numbers of the approvals touched.
    package var approvals: [String]

    package init(number: Int,
                 id: String,
                 patch: PatchLabeler.Patch,
                 rules: [ChangeRule],
                 severity: Severity,
                 score: Int,
                 geometry: Geometry,
                 wgs84: Geometry,
                 planGeometry: Geometry,
                 point: (lon: Double, lat: Double),
                 gcj: (lon: Double, lat: Double)? = nil,
                 planPoint: (x: Double, y: Double),
                 areaM2: Double,
                 plan: [(role: String, features: [FeatureTable.Feature])],
                 chips: (before: String, after: String)? = nil,
                 chipTransform: [Double]? = nil,
                 zone: (code: String, name: String)? = nil,
                 planAreas: [String: Double],
                 outsideUrbanBoundary: Double? = nil,
                 croplandArea: Double? = nil,
                 approvals: [String]) {
        self.number = number
        self.id = id
        self.patch = patch
        self.rules = rules
        self.severity = severity
        self.score = score
        self.geometry = geometry
        self.wgs84 = wgs84
        self.planGeometry = planGeometry
        self.point = point
        self.gcj = gcj
        self.planPoint = planPoint
        self.areaM2 = areaM2
        self.plan = plan
        self.chips = chips
        self.chipTransform = chipTransform
        self.zone = zone
        self.planAreas = planAreas
        self.outsideUrbanBoundary = outsideUrbanBoundary
        self.croplandArea = croplandArea
        self.approvals = approvals
    }
}
