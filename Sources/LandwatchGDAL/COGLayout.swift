import Foundation

/// Rewrites a tiled GeoTIFF that has its internal overviews into Cloud-Optimized GeoTIFF layout by copying its
/// compressed tiles as they are: no tile is decoded or encoded again.
///
/// The layout is the one GDAL's COG driver writes and its reader reports as `LAYOUT=COG`: the header, GDAL's
/// structural metadata (the "ghost area": IFDs before data, blocks in row-major order, each block led by its size as
/// 4 bytes and followed by its last 4 bytes again), every IFD with its tag values (full resolution first, then the
/// overviews from the largest), then the tiles of the smallest overview, of the next, and the full resolution last.
/// Every tag of the source is kept (georeferencing, GDAL's metadata and nodata, colours, codec, predictor); only the
/// tile offsets and byte counts are new.
///
/// GDAL 3.6's COG driver and GTiff `COPY_SRC_OVERVIEWS=YES` both decode and encode every tile again: on the 10980²
/// NDVI bench (Float32, ZSTD 1, 2 threads) that copy took 3.9 s and 4.6 s, against a few tenths of a second here.
///
/// - Complexity: one pass over the source's tiles, one tile in memory at a time (plus a 4 MB write buffer).
public enum COGLayout {
    /// One IFD entry, its value as the source stored it (little-endian bytes).
    struct Entry {
        var tag: UInt16
        var type: UInt16
        var count: UInt64
        var value: [UInt8]
    }

    /// One image of the file (the full resolution or an overview): its tags and where its tiles are.
    struct Image {
        var entries: [Entry]
        var offsets: [UInt64]
        var byteCounts: [UInt64]
    }

    static let tileOffsets: UInt16 = 324
    static let tileByteCounts: UInt16 = 325

    /// GDAL's structural metadata, byte for byte as its COG driver writes it (the trailing space pads to a word).
    static let ghost: [UInt8] = {
        let body = "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n"
            + "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n "
        let header = "GDAL_STRUCTURAL_METADATA_SIZE=" + String(format: "%06d", body.utf8.count) + " bytes\n"
        return Array((header + body).utf8)
    }()

    /// Copies the tiled GeoTIFF at `source` (little-endian, classic or BigTIFF, tiled, its overviews internal) into
    /// COG layout at `path`. The output is a BigTIFF when the source is one or when it would pass 4 GB.
    public static func write(from source: String, to path: String) throws(GDALError) {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw GDALError(kind: .cannotOpen, operation: "open \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let reader = Reader(fd: input, path: source)
        let (images, sourceIsBig) = try reader.images()
        guard !images.isEmpty else { throw GDALError(kind: .read, operation: "\(source) holds no image") }

        let payload = images.reduce(UInt64(0)) { sum, image in sum + image.byteCounts.reduce(0) { $0 + $1 + 8 } }
        let big = sourceIsBig || payload + UInt64(images.count) * 65_536 > 0xF000_0000
        let layout = Layout(big: big)

        // IFDs and their values first, at fixed places: the data follows them.
        var position = UInt64(layout.headerSize + ghost.count)
        position += position % 2  // where GDAL's validator expects the first IFD (192 classic, 200 BigTIFF)
        precondition(position == align(position), "COG layout: the first IFD is not 8-byte aligned")
        let firstIFD = position
        var ifdPositions: [UInt64] = []
        for image in images {
            position = align(position)
            ifdPositions.append(position)
            position += layout.size(of: image)
        }
        // Tiles: the smallest overview first, the full resolution last, each block as leader + data + trailer.
        var newOffsets = images.map { [UInt64](repeating: 0, count: $0.offsets.count) }
        position = align(position)
        for index in images.indices.reversed() {
            for (tile, count) in images[index].byteCounts.enumerated() where count > 0 {
                newOffsets[index][tile] = position + 4
                position += 4 + count + (count >= 4 ? 4 : 0)
            }
        }
        guard big || position <= UInt64(UInt32.max) else {
            throw GDALError(kind: .write, operation: "write \(path): \(position) bytes do not fit a classic TIFF")
        }

        let output = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw GDALError(kind: .write, operation: "create \(path): \(String(cString: strerror(errno)))") }
        var writer = Writer(fd: output, path: path)
        do {
            if big {
                writer.append(contentsOf: [0x49, 0x49, 43, 0, 8, 0, 0, 0])
                writer.append(firstIFD, bytes: 8)
            } else {
                writer.append(contentsOf: [0x49, 0x49, 42, 0])
                writer.append(firstIFD, bytes: 4)
            }
            writer.append(contentsOf: ghost)
            for (index, image) in images.enumerated() {
                writer.pad(to: ifdPositions[index])
                let next = index + 1 < images.count ? ifdPositions[index + 1] : 0
                try layout.writeIFD(image, offsets: newOffsets[index], at: ifdPositions[index], next: next, into: &writer)
            }
            // One tile at a time, read into and written from one buffer (no per-byte work: the tests run debug builds).
            let largest = Int(images.flatMap(\.byteCounts).max() ?? 0)
            let tile = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 4), alignment: 16)
            defer { tile.deallocate() }
            // Tiles of 64 KB or more are copied by the kernel (copy_file_range: no trip through this buffer).
            var kernelCopies = true
            for index in images.indices.reversed() {
                let image = images[index]
                for (number, count) in image.byteCounts.enumerated() where count > 0 {
                    writer.pad(to: newOffsets[index][number] - 4)
                    writer.append(count, bytes: 4)
                    if kernelCopies && count >= 64 << 10 {
                        if try writer.copy(count, from: input, at: image.offsets[number]) {
                            let last = UnsafeMutableRawBufferPointer(rebasing: tile[0..<4])
                            try reader.read(into: last, at: image.offsets[number] + count - 4)
                            try writer.write(UnsafeRawBufferPointer(last))
                            continue
                        }
                        kernelCopies = false  // not on this file system: through the buffer from now on
                    }
                    let data = UnsafeMutableRawBufferPointer(rebasing: tile[0..<Int(count)])
                    try reader.read(into: data, at: image.offsets[number])
                    try writer.write(UnsafeRawBufferPointer(data))
                    if count >= 4 { try writer.write(UnsafeRawBufferPointer(rebasing: data[(data.count - 4)...])) }
                }
            }
            try writer.flush()
        } catch {
            close(output)
            unlink(path)
            throw error
        }
        guard close(output) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw GDALError(kind: .write, operation: "close \(path): \(reason)")
        }
    }

    static func align(_ position: UInt64) -> UInt64 { (position + 7) / 8 * 8 }

    /// glibc's copy_file_range (declared by its headers only under _GNU_SOURCE, which Swift's Glibc module does not
    /// set): looked up once; nil where the C library has none.
    typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    static let copyFileRange: CopyFileRange? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range")
        .map { unsafeBitCast($0, to: CopyFileRange.self) }

    static func typeSize(_ type: UInt16) -> Int? {
        switch type {
        case 1, 2, 6, 7: 1
        case 3, 8: 2
        case 4, 9, 11, 13: 4
        case 5, 10, 12, 16, 17, 18: 8
        default: nil
        }
    }

    /// Sizes and encodes IFDs in the classic or the BigTIFF form.
    struct Layout {
        let big: Bool
        var headerSize: Int { big ? 16 : 8 }
        var inlineBytes: Int { big ? 8 : 4 }
        var entrySize: Int { big ? 20 : 12 }
        var offsetType: UInt16 { big ? 16 : 4 }

        /// The entries to write: the source's, tile offsets and byte counts replaced, sorted by tag.
        func entries(of image: Image, offsets: [UInt64]) -> [Entry] {
            var entries = image.entries.filter { $0.tag != COGLayout.tileOffsets && $0.tag != COGLayout.tileByteCounts }
            let width = big ? 8 : 4
            func array(_ values: [UInt64]) -> [UInt8] {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(values.count * width)
                for value in values { for shift in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) } }
                return bytes
            }
            entries.append(Entry(tag: COGLayout.tileOffsets, type: offsetType, count: UInt64(offsets.count), value: array(offsets)))
            entries.append(Entry(tag: COGLayout.tileByteCounts, type: offsetType, count: UInt64(image.byteCounts.count), value: array(image.byteCounts)))
            return entries.sorted { $0.tag < $1.tag }
        }

        /// Bytes taken by the IFD and its values stored apart.
        func size(of image: Image) -> UInt64 {
            let entries = entries(of: image, offsets: image.offsets)
            var size = UInt64((big ? 8 : 2) + entries.count * entrySize + (big ? 8 : 4))
            for entry in entries where entry.value.count > inlineBytes { size = COGLayout.align(size) + UInt64(entry.value.count) }
            return size
        }

        func writeIFD(_ image: Image, offsets: [UInt64], at position: UInt64, next: UInt64, into writer: inout Writer) throws(GDALError) {
            let entries = entries(of: image, offsets: offsets)
            let tableEnd = position + UInt64((big ? 8 : 2) + entries.count * entrySize + (big ? 8 : 4))
            var valuePosition = tableEnd
            var valuePositions: [UInt64?] = []
            for entry in entries {
                if entry.value.count > inlineBytes {
                    valuePosition = COGLayout.align(valuePosition)
                    valuePositions.append(valuePosition)
                    valuePosition += UInt64(entry.value.count)
                } else {
                    valuePositions.append(nil)
                }
            }
            writer.append(UInt64(entries.count), bytes: big ? 8 : 2)
            for (entry, valueAt) in zip(entries, valuePositions) {
                guard big || entry.count <= UInt64(UInt32.max) else {
                    throw GDALError(kind: .write, operation: "tag \(entry.tag) has too many values for a classic TIFF")
                }
                writer.append(UInt64(entry.tag), bytes: 2)
                writer.append(UInt64(entry.type), bytes: 2)
                writer.append(entry.count, bytes: big ? 8 : 4)
                if let valueAt {
                    writer.append(valueAt, bytes: inlineBytes)
                } else {
                    writer.append(contentsOf: entry.value)
                    writer.append(contentsOf: [UInt8](repeating: 0, count: inlineBytes - entry.value.count))
                }
            }
            writer.append(next, bytes: big ? 8 : 4)
            for (entry, valueAt) in zip(entries, valuePositions) {
                guard let valueAt else { continue }
                writer.pad(to: valueAt)
                writer.append(contentsOf: entry.value)
            }
        }
    }

    /// Reads IFDs, tag values and tiles with `pread`.
    struct Reader {
        let fd: Int32
        let path: String

        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(GDALError) {
            var done = 0
            while done < buffer.count {
                let got = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else {
                    let reason = got < 0 ? String(cString: strerror(errno)) : "the file ends at \(offset + UInt64(done))"
                    throw GDALError(kind: .read, operation: "read \(buffer.count) bytes at \(offset) of \(path): \(reason)")
                }
                done += got
            }
        }

        func bytes(_ count: Int, at offset: UInt64) throws(GDALError) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var failure: GDALError?
            buffer.withUnsafeMutableBytes { raw in
                do throws(GDALError) { try read(into: raw, at: offset) } catch { failure = error }
            }
            if let failure { throw failure }
            return buffer
        }

        static func integer(_ bytes: some Collection<UInt8>) -> UInt64 {
            var value: UInt64 = 0
            for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            return value
        }

        /// Every image of the IFD chain, and whether the file is a BigTIFF.
        func images() throws(GDALError) -> ([Image], Bool) {
            let header = try bytes(16, at: 0)
            guard header[0] == 0x49, header[1] == 0x49 else {
                throw GDALError(kind: .read, operation: "\(path) is not a little-endian TIFF")
            }
            let big: Bool
            switch Self.integer(header[2..<4]) {
            case 42: big = false
            case 43: big = true
            default: throw GDALError(kind: .read, operation: "\(path) is not a TIFF")
            }
            var next = big ? Self.integer(header[8..<16]) : Self.integer(header[4..<8])
            let inlineBytes = big ? 8 : 4, entrySize = big ? 20 : 12
            var images: [Image] = []
            var seen = Set<UInt64>()
            while next != 0 {
                guard seen.insert(next).inserted, images.count < 64 else { throw GDALError(kind: .read, operation: "\(path): IFD chain loops") }
                let count = Int(Self.integer(try bytes(big ? 8 : 2, at: next)))
                let table = try bytes(count * entrySize + inlineBytes, at: next + UInt64(big ? 8 : 2))
                var entries: [Entry] = []
                for index in 0..<count {
                    let raw = table[(index * entrySize)..<((index + 1) * entrySize)]
                    let base = raw.startIndex
                    let tag = UInt16(Self.integer(raw[base..<(base + 2)]))
                    let type = UInt16(Self.integer(raw[(base + 2)..<(base + 4)]))
                    let valueCount = big ? Self.integer(raw[(base + 4)..<(base + 12)]) : Self.integer(raw[(base + 4)..<(base + 8)])
                    let field = raw[(base + (big ? 12 : 8))...]
                    guard let size = typeSize(type) else { throw GDALError(kind: .read, operation: "\(path): tag \(tag) has unknown type \(type)") }
                    let length = Int(valueCount) * size
                    let value = length <= inlineBytes ? Array(field.prefix(length)) : try bytes(length, at: Self.integer(field))
                    entries.append(Entry(tag: tag, type: type, count: valueCount, value: value))
                }
                func values(_ tag: UInt16) throws(GDALError) -> [UInt64] {
                    guard let entry = entries.first(where: { $0.tag == tag }), let size = typeSize(entry.type) else {
                        throw GDALError(kind: .read, operation: "\(path) is not tiled (no tag \(tag))")
                    }
                    return stride(from: 0, to: entry.value.count, by: size).map { Self.integer(entry.value[$0..<($0 + size)]) }
                }
                let offsets = try values(COGLayout.tileOffsets), byteCounts = try values(COGLayout.tileByteCounts)
                guard offsets.count == byteCounts.count else { throw GDALError(kind: .read, operation: "\(path): tile offsets and byte counts differ in number") }
                images.append(Image(entries: entries, offsets: offsets, byteCounts: byteCounts))
                next = Self.integer(table[(count * entrySize)...])
            }
            return (images, big)
        }
    }

    /// A buffered sequential writer that knows its position.
    struct Writer {
        let fd: Int32
        let path: String
        private(set) var position: UInt64 = 0
        private var buffer: [UInt8] = []

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(4 << 20)
        }

        /// Buffers small things: headers, IFDs, tag values, leaders.
        mutating func append(contentsOf bytes: [UInt8]) {
            buffer.append(contentsOf: bytes)
            position += UInt64(bytes.count)
        }

        mutating func append(_ value: UInt64, bytes: Int) {
            for shift in 0..<bytes { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
            position += UInt64(bytes)
        }

        mutating func pad(to target: UInt64) {
            precondition(target >= position, "COG layout: writing at \(target) behind \(position)")
            buffer.append(contentsOf: [UInt8](repeating: 0, count: Int(target - position)))
            position = target
        }

        /// Writes `bytes` straight to the file, after what is buffered.
        mutating func write(_ bytes: UnsafeRawBufferPointer) throws(GDALError) {
            if buffer.count + bytes.count <= buffer.capacity {
                buffer.append(contentsOf: bytes)
                position += UInt64(bytes.count)
                return
            }
            try flush()
            try writeAll(bytes)
            position += UInt64(bytes.count)
        }

        private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(GDALError) {
            var done = 0
            while done < bytes.count {
                let wrote = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if wrote < 0 && errno == EINTR { continue }
                guard wrote > 0 else { throw GDALError(kind: .write, operation: "write \(path): \(String(cString: strerror(errno)))") }
                done += wrote
            }
        }

        /// Copies `count` bytes of `source` from `offset` to the file after what is buffered, in the kernel
        /// (copy_file_range). False, with nothing written, when the file systems cannot (the caller copies itself).
        mutating func copy(_ count: UInt64, from source: Int32, at offset: UInt64) throws(GDALError) -> Bool {
            try flush()
            var from = Int64(offset), left = Int(count)
            while left > 0 {
                guard let copyFileRange = COGLayout.copyFileRange else { return false }
                let copied = copyFileRange(source, &from, fd, nil, left, 0)
                if copied < 0 && errno == EINTR { continue }
                if copied <= 0 {
                    let code = errno
                    guard left == Int(count), copied < 0, [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(code) else {
                        throw GDALError(kind: .write, operation: "copy into \(path): \(copied < 0 ? String(cString: strerror(code)) : "the source ends early")")
                    }
                    return false
                }
                left -= copied
            }
            position += count
            return true
        }

        mutating func flush() throws(GDALError) {
            var failure: GDALError?
            buffer.withUnsafeBytes { raw in
                do throws(GDALError) { try writeAll(raw) } catch { failure = error }
            }
            buffer.removeAll(keepingCapacity: true)
            if let failure { throw failure }
        }
    }
}
