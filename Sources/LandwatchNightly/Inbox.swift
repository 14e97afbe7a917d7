import Foundation
import LandwatchAlgorithms
import LandwatchGDAL
import LandwatchPipeline
import LandwatchSensors

/// One delivery found in the inbox.
public struct Delivery: Sendable {
    public var id: String
    /// The raster the pipeline reads.
    public var path: String
    public var sensor: String
    public var date: String
    public var contentHash: String
    /// Footprint in WGS84 (longitude, latitude), as WKT.
    public var footprintWKT: String?
    /// Why it cannot be processed, when it cannot (corrupt file, bad sidecar).
    public var problem: String?
    /// Where the scene lies, for sharding: `landsat-PPPRRR` (WRS-2 path/row), `s2-TTTTT` (MGRS tile), or
    /// `cell-E8N50` (the 1° cell of the footprint's centre) for other products; nil when the footprint is unknown.
    public var place: String?
    /// A Landsat tar read in place while scanning: nightly unpacks it (under `out/unpacked/`) before running it,
    /// and the unpacked MTL becomes `path`, so that later nights can read it as their baseline.
    public var archive: String?
    /// The STAC Item id, for a delivery from `nightly --stac`.
    public var stacItem: String?
}

/// Finds deliveries in the inbox: a GeoTIFF with a small JSON sidecar of the same name giving sensor and date
/// (`{"sensor": "landsat8-c2-l2", "date": "2024-07-17"}`); a Landsat product folder (its MTL, text or JSON, gives
/// sensor and date; the pipeline gets the MTL's path); a Sentinel-2 SAFE folder or zip (the pipeline gets the product);
/// a Landsat tar as USGS delivers it (`.tar`, `.tar.gz`, `.tgz`; read in place through GDAL's /vsitar/); a Gaofen
/// image with its product XML beside it (date from the XML, sensor from the file name).
public enum Inbox {
    /// - Parameter settleSeconds: a delivery with a file modified less than this long ago is still being copied: it
    ///   is recorded as failed (and retried on a later night), not read half-written. A delivery whose files change
    ///   size or time while the scan reads them is treated the same, whatever the setting.
    public static func scan(_ folder: String, settleSeconds: Double = 0) throws(RunError) -> (deliveries: [Delivery], skipped: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError(.input, "the inbox \(folder) does not exist or is not a folder")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        let before = Dictionary(uniqueKeysWithValues: names.map { ($0, state(of: URL(fileURLWithPath: folder).appendingPathComponent($0).path)) })
        var (deliveries, skipped) = read(folder, names: names)
        // Still being written: changed during the scan, or younger than the settle time.
        let now = Date().timeIntervalSince1970
        for index in deliveries.indices where deliveries[index].problem == nil {
            let delivery = deliveries[index]
            let entry = topLevelName(of: delivery, in: folder)
            guard let entry, let earlier = before[entry] else { continue }
            let later = state(of: URL(fileURLWithPath: folder).appendingPathComponent(entry).path)
            if later.signature != earlier.signature {
                deliveries[index].problem = "\(delivery.archive ?? delivery.path): still being written (its size or time changed while the inbox was read); tried again on a later night"
            } else if settleSeconds > 0, now - later.newest < settleSeconds {
                deliveries[index].problem = "\(delivery.archive ?? delivery.path): still being written (modified \(Int(now - later.newest)) s ago, less than the settle time of \(Int(settleSeconds)) s); tried again on a later night"
            }
        }
        // The same bytes delivered twice (another name, another sidecar date): the first is the scene, the others
        // are duplicates of it, not scenes of their own.
        var first: [String: String] = [:]
        deliveries = deliveries.filter { delivery in
            guard !delivery.contentHash.hasPrefix("unreadable-") else { return true }
            if let earlier = first[delivery.contentHash] {
                skipped.append("\(delivery.archive ?? delivery.path): the same bytes as \(earlier) (a duplicate delivery; \(earlier) is the scene)")
                return false
            }
            first[delivery.contentHash] = delivery.archive ?? delivery.path
            return true
        }
        return (deliveries, skipped)
    }

    /// The inbox entry (file or folder) a delivery came from.
    static func topLevelName(of delivery: Delivery, in folder: String) -> String? {
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path + "/"
        let path = URL(fileURLWithPath: delivery.archive ?? delivery.path).standardizedFileURL.path
        guard path.hasPrefix(root) else { return nil }
        return path.dropFirst(root.count).split(separator: "/").first.map(String.init)
    }

    /// Sizes and times of an inbox entry (every file in a folder, and a GeoTIFF's sidecars), to tell a delivery that
    /// is still being copied.
    static func state(of path: String) -> (signature: String, newest: Double) {
        var files = [path]
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            files += ((FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []).sorted().map { path + "/" + $0 }
        } else {
            let base = URL(fileURLWithPath: path).deletingPathExtension().path
            files += ["json", "xml"].map { base + "." + $0 }
        }
        var signature = "", newest = 0.0
        for file in files {
            var info = stat()
            guard lstat(file, &info) == 0 else { continue }
            let time = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            newest = max(newest, time)
            signature += "\(file) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\n"
        }
        return (signature, newest)
    }

    /// What a path is when it exists but is not a regular file or folder (a FIFO would block a read forever), or
    /// nil; a symlink is judged by its target, a dangling or looping link says so.
    static func notARegularFile(_ path: String) -> String? {
        var link = stat()
        guard lstat(path, &link) == 0 else { return nil }
        var info = stat()
        if stat(path, &info) != 0 {
            return errno == ELOOP ? "a symlink loop" : "a symlink to nothing (\(String(cString: strerror(errno))))"
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "a device"
        }
    }

    static func read(_ folder: String, names: [String]) -> (deliveries: [Delivery], skipped: [String]) {
        var deliveries: [Delivery] = [], skipped: [String] = []
        for name in names where !name.hasPrefix(".") {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            if let kind = notARegularFile(path), kind != "a folder" {
                skipped.append("\(path): \(kind), not a delivery")
                continue
            }
            let lower = name.lowercased()
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
                if lower.hasSuffix(".safe") {
                    deliveries.append(sentinel2(path))
                } else if let choice = Self.mtlChoice(files) {
                    var delivery = landsatFolder(path, mtl: URL(fileURLWithPath: path).appendingPathComponent(choice.mtl).path, files: files)
                    if let problem = choice.problem { delivery.problem = "\(path): \(problem)" }
                    deliveries.append(delivery)
                } else {
                    skipped.append("\(path): a folder without a Landsat MTL file (nor a .SAFE name of a Sentinel-2 product)")
                }
            } else if lower.hasSuffix(".tar") || lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") {
                deliveries.append(landsatArchive(path))
            } else if lower.hasSuffix(".zip") && lower.contains("_msil") {
                deliveries.append(sentinel2(path))
            } else if lower.hasSuffix(".tif") || lower.hasSuffix(".tiff") {
                let base = URL(fileURLWithPath: path).deletingPathExtension()
                let hasSidecar = FileManager.default.fileExists(atPath: base.appendingPathExtension("json").path)
                if !hasSidecar, name.uppercased().hasPrefix("GF"), FileManager.default.fileExists(atPath: base.appendingPathExtension("xml").path) {
                    deliveries.append(gaofen(path))
                } else {
                    deliveries.append(geoTIFF(path))
                }
            } else if lower.hasSuffix(".xml"), name.uppercased().hasPrefix("GF") {
                continue  // a Gaofen product's XML, read with its image
            } else if lower.hasSuffix(".json") {
                let base = String(path.dropLast(5))
                if !FileManager.default.fileExists(atPath: base + ".tif") && !FileManager.default.fileExists(atPath: base + ".tiff") {
                    skipped.append("\(path): a sidecar without its GeoTIFF")
                }
            } else {
                skipped.append("\(path): not a delivery landwatch's inbox reads (a GeoTIFF with a JSON sidecar, a Landsat folder or tar, "
                               + "a Sentinel-2 SAFE folder or zip, a Gaofen image with its XML)")
            }
        }
        for index in deliveries.indices where deliveries[index].place == nil {
            deliveries[index].place = deliveries[index].footprintWKT.flatMap(cell(ofFootprint:))
        }
        return (deliveries, skipped)
    }

    /// Reads the last row of every band: a truncated GeoTIFF opens (its header is complete) but fails there.
    static func checkComplete(_ dataset: Dataset) throws {
        guard dataset.height > 0, dataset.width > 0 else { return }
        for index in 1...dataset.bandCount {
            _ = try dataset.band(index).read(Window(colOffset: 0, rowOffset: dataset.height - 1, width: dataset.width, height: 1))
        }
    }

    /// A GeoTIFF and its sidecar; problems are kept on the delivery, so that the scene is recorded as failed.
    static func geoTIFF(_ path: String) -> Delivery {
        let hash = contentHash(path)
        var delivery = Delivery(id: "", path: path, sensor: "unknown", date: "unknown", contentHash: hash)
        let sidecar = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json").path
        func finish(_ problem: String?) -> Delivery {
            delivery.problem = problem
            delivery.id = "\(delivery.sensor)-\(delivery.date)-\(hash.prefix(8))"
            return delivery
        }
        if let kind = notARegularFile(sidecar) { return finish("\(sidecar): the sidecar is \(kind), not a JSON file") }
        guard let data = FileManager.default.contents(atPath: sidecar) else {
            return finish("\(path): no sidecar \(sidecar) giving sensor and date")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return finish("\(sidecar): not a JSON object")
        }
        guard let sensor = object["sensor"] as? String, !sensor.isEmpty else { return finish("\(sidecar): no \"sensor\"") }
        delivery.sensor = sensor
        guard let date = object["date"] as? String else { return finish("\(sidecar): no \"date\"") }
        guard isDate(date) else { return finish("\(sidecar): date '\(date)' is not a date written YYYY-MM-DD") }
        delivery.date = date
        do {
            let dataset = try Dataset.open(path)
            delivery.footprintWKT = try footprint(dataset)
            do { try checkComplete(dataset) } catch {
                return finish("\(path): incomplete (truncated, or still being copied?): \(error)")
            }
        } catch {
            return finish("\(path): \(error)")
        }
        return finish(nil)
    }

    /// The MTL of a product folder or tar (the text one when the product has both, as Collection 2 delivers them),
    /// and a problem when the files are the MTLs of two products: which one is the delivery is not guessed.
    static func mtlChoice(_ names: [String]) -> (mtl: String, problem: String?)? {
        let mtls = names.filter { $0.hasSuffix("_MTL.txt") || $0.hasSuffix("_MTL.json") }.sorted()
        guard let mtl = mtls.first(where: { $0.hasSuffix("_MTL.txt") }) ?? mtls.first else { return nil }
        func product(_ name: String) -> String {
            let base = URL(fileURLWithPath: name).lastPathComponent
            return String(base[..<(base.range(of: "_MTL.", options: .backwards)?.lowerBound ?? base.endIndex)])
        }
        let products = Array(Set(mtls.map(product))).sorted()
        guard products.count > 1 else { return (mtl, nil) }
        return (mtl, "holds the MTL files of \(products.count) products (\(mtls.joined(separator: ", "))): one product per delivery; which one is meant is not guessed")
    }

    /// A Landsat product folder: sensor, collection, level and date from its MTL; the content hash covers every file.
    static func landsatFolder(_ folder: String, mtl: String, files: [String]) -> Delivery {
        var hasher = SHA256()
        for name in files {
            hasher.update(Array(name.utf8))
            hasher.update(Array(contentHash(URL(fileURLWithPath: folder).appendingPathComponent(name).path).utf8))
        }
        let hash = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        var delivery = Delivery(id: "", path: mtl, sensor: "landsat", date: "unknown", contentHash: hash)
        do {
            let product = try LandsatProduct(mtl: MTLFile(path: mtl))
            let number = product.spacecraft.filter(\.isNumber)
            delivery.sensor = "landsat\(number)-c\(product.collection.map(String.init) ?? "pre")-\(product.isLevel2 ? "l2" : "l1")"
            delivery.date = product.acquisitionDate
            let red = try product.file(band: product.bandNumbers["red"] ?? "4", directory: URL(fileURLWithPath: folder))
            delivery.footprintWKT = try footprint(Dataset.open(red))
            delivery.place = landsatPlace(product)
            let missing = missingBands(product) { name in files.contains(name) ? name : nil }
            if !missing.isEmpty { delivery.problem = "\(folder): incomplete product: no file for band \(missing.joined(separator: ", ")) the MTL lists (still arriving, or a broken download?)" }
        } catch {
            delivery.problem = "\(error)"
        }
        delivery.id = "\(delivery.sensor)-\(delivery.date)-\(hash.prefix(8))"
        return delivery
    }

    /// A Landsat tar: sensor and date from the MTL inside, footprint from its red band, both read in place.
    static func landsatArchive(_ path: String) -> Delivery {
        let hash = contentHash(path)
        var delivery = Delivery(id: "", path: path, sensor: "landsat", date: "unknown", contentHash: hash, archive: path)
        let root = VirtualFiles.tarRoot(path)
        let members = VirtualFiles.listRecursively(root)
        if members.isEmpty {
            delivery.problem = "\(path): not a readable tar archive (or an empty one)"
        } else if let choice = Self.mtlChoice(members) {
            let mtl = choice.mtl
            defer { if let problem = choice.problem { delivery.problem = "\(path): \(problem)" } }
            do {
                let data = try VirtualFiles.read(root + "/" + mtl)
                let name = URL(fileURLWithPath: mtl).lastPathComponent
                let product = try LandsatProduct(mtl: MTLFile(text: String(decoding: data, as: UTF8.self), file: name))
                let number = product.spacecraft.filter(\.isNumber)
                delivery.sensor = "landsat\(number)-c\(product.collection.map(String.init) ?? "pre")-\(product.isLevel2 ? "l2" : "l1")"
                delivery.date = product.acquisitionDate
                let folder = (mtl as NSString).deletingLastPathComponent
                let red = try product.file(band: product.bandNumbers["red"] ?? "4") { member in
                    let relative = folder.isEmpty ? member : folder + "/" + member
                    return members.contains(relative) ? root + "/" + relative : nil
                }
                delivery.footprintWKT = try footprint(Dataset.open(red))
                delivery.place = landsatPlace(product)
                let missing = missingBands(product) { member in
                    let relative = folder.isEmpty ? member : folder + "/" + member
                    return members.contains(relative) ? relative : nil
                }
                if !missing.isEmpty { delivery.problem = "\(path): incomplete archive: no file for band \(missing.joined(separator: ", ")) the MTL lists (a truncated download?)" }
            } catch {
                delivery.problem = "\(path): \(error)"
            }
        } else {
            delivery.problem = "\(path): a tar without a Landsat MTL file (its \(members.count) members: \(members.prefix(5).joined(separator: ", "))\(members.count > 5 ? ", …" : ""))"
        }
        delivery.id = "\(delivery.sensor)-\(delivery.date)-\(hash.prefix(8))"
        return delivery
    }

    /// `landsat-PPPRRR` from the MTL's WRS_PATH and WRS_ROW (a Landsat scene's place on the Worldwide Reference System).
    static func landsatPlace(_ product: LandsatProduct) -> String? {
        guard let path = product.mtl["WRS_PATH"].flatMap({ Int($0) }), let row = product.mtl["WRS_ROW"].flatMap({ Int($0) }) else { return nil }
        return "landsat-" + String(format: "%03d%03d", path, row)
    }

    /// The 1° cell of a footprint's centre, for products without a tiling scheme of their own.
    static func cell(ofFootprint wkt: String) -> String? {
        guard let box = try? Geometry(wkt: wkt).envelope else { return nil }
        let lon = Int(((box.minX + box.maxX) / 2).rounded(.down)), lat = Int(((box.minY + box.maxY) / 2).rounded(.down))
        return "cell-\(lon >= 0 ? "E" : "W")\(abs(lon))\(lat >= 0 ? "N" : "S")\(abs(lat))"
    }

    /// The bands the MTL lists (FILE_NAME_BAND_n) whose file is not in the product.
    static func missingBands(_ product: LandsatProduct, locate: (String) -> String?) -> [String] {
        let bands = product.mtl.values.keys.filter { $0.hasPrefix("FILE_NAME_BAND_") }.map { String($0.dropFirst("FILE_NAME_BAND_".count)) }
        return bands.filter { (try? product.file(band: $0, locate: locate)) == nil }.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
    }

    /// Unpacks an archive's members into `folder` (written as `folder.partial`, renamed when complete; a folder
    /// already unpacked is reused) and returns the path of its MTL there.
    static func unpack(_ archive: String, into folder: URL) throws(RunError) -> String {
        let fm = FileManager.default
        func mtl(in folder: URL) -> String? {
            let files = (fm.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
            return (files.first { $0.hasSuffix("_MTL.txt") } ?? files.first { $0.hasSuffix("_MTL.json") })
                .map { folder.appendingPathComponent($0).path }
        }
        if fm.fileExists(atPath: folder.path), let found = mtl(in: folder) { return found }
        let partial = URL(fileURLWithPath: folder.path + ".partial")
        try? fm.removeItem(at: partial)
        let root = VirtualFiles.tarRoot(archive)
        do {
            for member in VirtualFiles.listRecursively(root) where !member.hasSuffix("/") {
                let target = partial.appendingPathComponent(member)
                // Members are named inside the archive; none may climb out of the folder.
                guard let normalized = OutputRoot.normalize(member), normalized == member || normalized + "/" == member else {
                    throw RunError(.input, "\(archive): member '\(member)' would be written outside \(folder.path); refused")
                }
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try VirtualFiles.copy(root + "/" + member, to: target.path)
            }
        } catch let error as RunError {
            try? fm.removeItem(at: partial)
            throw error
        } catch let error as GDALError {
            try? fm.removeItem(at: partial)
            throw RunError(error.kind == .write ? .io : .input, error.description)
        } catch {
            try? fm.removeItem(at: partial)
            throw RunError(.outputNotWritable, "cannot unpack \(archive) into \(folder.path): \(error)")
        }
        try? fm.removeItem(at: folder)
        guard rename(partial.path, folder.path) == 0 else {
            throw RunError(.io, "cannot move \(partial.path) to \(folder.path): \(String(cString: strerror(errno)))")
        }
        guard let found = mtl(in: folder) else { throw RunError(.input, "\(archive): no MTL file after unpacking") }
        return found
    }

    /// A Sentinel-2 SAFE folder or zip: level and date from its MTD; footprint from its red band.
    static func sentinel2(_ path: String) -> Delivery {
        let hash = folderHash(path)
        var delivery = Delivery(id: "", path: path, sensor: "sentinel2", date: "unknown", contentHash: hash)
        do {
            let product = try Sentinel2Product(path: path)
            delivery.sensor = product.level == .l2a ? "sentinel2-l2a" : "sentinel2-l1c"
            delivery.date = product.date
            delivery.footprintWKT = try footprint(Dataset.open(product.file(for: "B04")))
            // The MGRS tile is in the product name: S2A_MSIL1C_20150731T100006_N0400_R122_T33TWM_....SAFE
            if let tile = URL(fileURLWithPath: path).lastPathComponent.split(separator: "_").first(where: { $0.count == 6 && $0.hasPrefix("T") }) {
                delivery.place = "s2-" + tile.dropFirst()
            }
        } catch let problem as StageProblem {
            delivery.problem = "\(path): \(problem.message)"
        } catch {
            delivery.problem = "\(path): \(error)"
        }
        delivery.id = "\(delivery.sensor)-\(delivery.date)-\(hash.prefix(8))"
        return delivery
    }

    /// A Gaofen image (GF2_PMS1_..._L1A....tiff) with its product XML: date from the XML; footprint from its
    /// georeferencing, or from orthorectifying its RPCs for a Level-1A image.
    static func gaofen(_ path: String) -> Delivery {
        let hash = contentHash(path)
        let name = URL(fileURLWithPath: path).lastPathComponent.uppercased()
        let parts = name.split(separator: "_")
        let satellite = parts.first.map { String($0).lowercased() } ?? "gf"
        let camera = parts.count > 1 ? String(parts[1].prefix(3)).lowercased() : ""
        var delivery = Delivery(id: "", path: path, sensor: camera.isEmpty ? satellite : "\(satellite)-\(camera)", date: "unknown", contentHash: hash)
        if let date = GaofenMetadata(imagePath: path)?.date {
            delivery.date = date
            do {
                let dataset = try Dataset.open(path)
                delivery.footprintWKT = dataset.usesRPC ? try footprint(of: dataset.suggestedRPCGrid()) : try footprint(dataset)
            } catch {
                delivery.problem = "\(path): \(error)"
            }
        } else {
            delivery.problem = "\(path): its product XML gives no date (CenterTime, ReceiveTime or ImagingStartTime)"
        }
        delivery.id = "\(delivery.sensor)-\(delivery.date)-\(hash.prefix(8))"
        return delivery
    }

    /// SHA-256 over a folder's files (names and contents, in order), or of a single file.
    static func folderHash(_ path: String) -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return contentHash(path) }
        var hasher = SHA256()
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        for relative in files {
            let full = URL(fileURLWithPath: path).appendingPathComponent(relative).path
            var isSub: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isSub), !isSub.boolValue else { continue }
            hasher.update(Array(relative.utf8))
            hasher.update(Array(contentHash(full).utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func isDate(_ text: String) -> Bool { text.count == 10 && Nightly.day(text) != nil }

    /// SHA-256 of the file's bytes, read in chunks.
    static func contentHash(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "unreadable-\(path)" }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update([UInt8](chunk)) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The raster's extent as a WGS84 polygon.
    static func footprint(_ dataset: Dataset) throws -> String {
        guard let transform = dataset.geoTransform, let crs = try dataset.spatialReference() else {
            throw RunError(.input, "the raster has no georeferencing")
        }
        return try footprint(transform: transform, crs: crs, width: dataset.width, height: dataset.height)
    }

    /// A grid's extent as a WGS84 polygon.
    static func footprint(of grid: RasterGrid) throws -> String {
        try footprint(transform: grid.geoTransform, crs: SpatialReference(definition: grid.crsWKT), width: grid.width, height: grid.height)
    }

    static func footprint(transform: GeoTransform, crs: SpatialReference, width: Int, height: Int) throws -> String {
        let toDegrees = try CoordinateTransformation(from: crs, to: .wgs84())
        let w = Double(width), h = Double(height)
        let corners = [(0.0, 0.0), (w, 0), (w, h), (0, h), (0, 0)].map { c, r in
            (transform.originX + c * transform.pixelWidth + r * transform.rowRotation,
             transform.originY + c * transform.colRotation + r * transform.pixelHeight)
        }
        let points = try corners.map { try toDegrees.transform(x: $0.0, y: $0.1) }
        return "POLYGON ((" + points.map { "\($0.x) \($0.y)" }.joined(separator: ",") + "))"
    }
}
