import Foundation

/// Coordinates an inspector's phone can navigate to.
public enum Navigation {
    /// WGS84 to GCJ-02, the datum of Chinese map apps (Amap, Tencent; Baidu adds its own offset on top). Points
    /// outside mainland China's rough bounding box are returned unchanged, as those apps do.
    ///
    /// The published (reverse-engineered) GCJ-02 formula on the Krasovsky ellipsoid; agrees with the common
    /// implementations to better than 1e-9 degrees.
    public static func gcj02(longitude: Double, latitude: Double) -> (longitude: Double, latitude: Double) {
        guard isInsideChina(longitude: longitude, latitude: latitude) else { return (longitude, latitude) }
        let a = 6378245.0
        let ee = 0.00669342162296594323
        let x = longitude - 105.0, y = latitude - 35.0
        var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * abs(x).squareRoot()
        dLat += (20.0 * sin(6.0 * x * .pi) + 20.0 * sin(2.0 * x * .pi)) * 2.0 / 3.0
        dLat += (20.0 * sin(y * .pi) + 40.0 * sin(y / 3.0 * .pi)) * 2.0 / 3.0
        dLat += (160.0 * sin(y / 12.0 * .pi) + 320.0 * sin(y * .pi / 30.0)) * 2.0 / 3.0
        var dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * abs(x).squareRoot()
        dLon += (20.0 * sin(6.0 * x * .pi) + 20.0 * sin(2.0 * x * .pi)) * 2.0 / 3.0
        dLon += (20.0 * sin(x * .pi) + 40.0 * sin(x / 3.0 * .pi)) * 2.0 / 3.0
        dLon += (150.0 * sin(x / 12.0 * .pi) + 300.0 * sin(x / 30.0 * .pi)) * 2.0 / 3.0
        let radLat = latitude / 180.0 * .pi
        var magic = sin(radLat)
        magic = 1 - ee * magic * magic
        let sqrtMagic = magic.squareRoot()
        dLat = (dLat * 180.0) / ((a * (1 - ee)) / (magic * sqrtMagic) * .pi)
        dLon = (dLon * 180.0) / (a / sqrtMagic * cos(radLat) * .pi)
        return (longitude + dLon, latitude + dLat)
    }

    /// The box the GCJ-02 offset applies in (as the common implementations draw it).
    public static func isInsideChina(longitude: Double, latitude: Double) -> Bool {
        (72.004...137.8347).contains(longitude) && (0.8293...55.8271).contains(latitude)
    }

    private static let base32 = Array("0123456789bcdefghjkmnpqrstuvwxyz")

    /// The geohash of a point (`precision` characters; 9 is about 5 m x 5 m): the same place gives the same text.
    public static func geohash(longitude: Double, latitude: Double, precision: Int = 9) -> String {
        var lonRange = (-180.0, 180.0), latRange = (-90.0, 90.0)
        var result = "", bits = 0, value = 0, even = true
        while result.count < precision {
            if even {
                let mid = (lonRange.0 + lonRange.1) / 2
                if longitude >= mid { value = value << 1 | 1; lonRange.0 = mid } else { value <<= 1; lonRange.1 = mid }
            } else {
                let mid = (latRange.0 + latRange.1) / 2
                if latitude >= mid { value = value << 1 | 1; latRange.0 = mid } else { value <<= 1; latRange.1 = mid }
            }
            even.toggle()
            bits += 1
            if bits == 5 {
                result.append(base32[value])
                bits = 0
                value = 0
            }
        }
        return result
    }

    /// Square metres per mu (亩), the unit Chinese land administration counts in.
    public static let squareMetresPerMu = 10000.0 / 15.0
}
