import Foundation
import Logging

/// Writes a Cloud-Optimized GeoTIFF once, tile by tile, as the tiles are computed: no scratch GeoTIFF, no copy.
///
/// The tags come from a template: a sparse tiled GeoTIFF that GDAL wrote with the output's grid, georeferencing,
/// nodata, metadata, colours, codec and tile size and its internal overviews, but no pixel (a few KB); its IFDs are
/// written as ``COGLayout`` writes them, with the new tile offsets and byte counts. The layout is the one
/// ``COGLayout`` gives (header, GDAL's ghost area, every IFD, the smallest overview's tiles first, the full
/// resolution last, each tile led by its size and followed by its last 4 bytes):
///
/// - the tiles are encoded by the callers (the run's worker threads) with ``TileCodec``;
/// - the full resolution is written in row-major order straight into the output, after a region reserved for the
///   header, the IFDs (their sizes follow from the tag counts) and the overviews (at most their tiles'
///   ``TileCodec/bound(_:)``); a tile that comes before its predecessors waits in memory (up to `memoryCap` bytes),
///   beyond that in the side file;
/// - overview tiles go to the side file as they come;
/// - ``finish()`` copies the overviews into the reserved region, just after the IFDs, removes the rest of the
///   region with `fallocate(FALLOC_FL_COLLAPSE_RANGE)` (ext4, XFS), or where the file system refuses (tmpfs) moves
///   the full resolution down instead, then writes the header and the IFDs.
///
/// With several bands (planar configuration 2, one tile per band) the bands' tiles of one position follow each
/// other: each band's tiles are in row-major order, as GDAL's validator checks.
///
/// - Complexity: every full-resolution tile is written once; the overviews (a third of the pixels at most) twice,
///   once to the side file. Memory: the tiles waiting for an earlier one, at most `memoryCap` bytes, and the tile
///   offset arrays.
public final class COGWriter: @unchecked Sendable {  // mutable state guarded by `lock`
    /// The size of one image of the file in tiles (the full resolution first, then the overviews, largest first).
    public struct Shape: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let tilesAcross: Int
        public let tilesDown: Int
        public var tiles: Int { tilesAcross * tilesDown }
    }

    public let path: String
    public let shapes: [Shape]
    public let tileSize: Int
    public let bandCount: Int
    /// Bytes of one band of one tile, uncompressed (`tileSize² ×` the type's size).
    public let tileBytes: Int
    public let codec: TileCodec
    private let logger: Logger
    private let fd: Int32
    private let side: Int32
    private let sidePath: String
    private let layout: COGLayout.Layout
    private var images: [COGLayout.Image]
    private let ifdPositions: [UInt64]
    private let firstIFD: UInt64
    /// Where the overviews start (after the IFDs) and where the full resolution was put (the reserved region's end).
    private let overviewStart: UInt64
    private let dataStart: UInt64
    private let collapses: Bool
    private let memoryCap: Int

    private let lock = NSLock()
    /// The next full-resolution tile to be written (row-major), and where.
    private var nextTile = 0
    private var dataEnd: UInt64
    /// Where the writeback asked for so far ends (``place(_:tile:)``).
    private var writtenBack: UInt64
    /// Full-resolution tiles that came early: in memory, or in the side file.
    private var waiting: [Int: [Stored]] = [:]
    private var waitingBytes = 0
    /// Per overview image (index 1…), per tile entry: where its framed block is in the side file.
    private var sideOffsets: [[UInt64]]
    private var sideEnd: UInt64 = 0
    private var pool: [UnsafeMutableRawBufferPointer] = []
    private var closed = false

    /// A tile's encoded band: `count` bytes at offset 4 of `frame`, framed by its leader and trailer.
    public struct Encoded: @unchecked Sendable {
        let frame: UnsafeMutableRawBufferPointer
        let count: Int
    }

    private enum Stored {
        case memory(Encoded)
        case side(UInt64, Int)
    }

    /// The writer for `path` with the tags of `template`, or the reason it cannot write that template's layout
    /// (then nothing is created).
    ///
    /// - Parameters:
    ///   - template: a tiled, little-endian GeoTIFF without pixels (`SPARSE_OK=TRUE`) with its internal overviews.
    ///   - sidePath: a file for the overview tiles and the early tiles that do not fit `memoryCap`, removed at the end.
    ///   - collapses: false to move the full resolution down at the end instead of collapsing the file (tests).
    public static func make(path: String, template: String, sidePath: String, codec: TileCodec, bytesPerSample: Int,
                            logger: Logger, memoryCap: Int = 32 << 20,
                            collapses: Bool = true) throws(GDALError) -> (writer: COGWriter?, refusal: String?) {
        let input = open(template, O_RDONLY)
        guard input >= 0 else { throw GDALError(kind: .cannotOpen, operation: "open \(template): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let (images, big) = try COGLayout.Reader(fd: input, path: template).images()
        guard let first = images.first else { throw GDALError(kind: .read, operation: "\(template) holds no image") }
        func value(_ image: COGLayout.Image, _ tag: UInt16) -> UInt64? {
            guard let entry = image.entries.first(where: { $0.tag == tag }), entry.count >= 1,
                  let size = COGLayout.typeSize(entry.type), entry.value.count >= size else { return nil }
            return COGLayout.Reader.integer(entry.value[0..<size])
        }
        let bands = Int(value(first, 277) ?? 1)
        let planar = value(first, 284) ?? 1
        guard bands == 1 || planar == 2 else { return (nil, "\(bands) bands interleaved by pixel") }
        guard let tile = value(first, 322), tile == value(first, 323) ?? 0, tile >= 16 else { return (nil, "not square tiles") }
        var shapes: [Shape] = []
        for (index, image) in images.enumerated() {
            guard let width = value(image, 256), let height = value(image, 257), value(image, 322) == tile, value(image, 323) == tile else {
                return (nil, "image \(index) is not tiled as the full resolution")
            }
            guard value(image, 259) ?? 1 == codec.tiffCode else { return (nil, "image \(index) is not compressed as asked") }
            guard value(image, 317) ?? 1 == 1 else { return (nil, "image \(index) uses a predictor") }
            guard value(image, 258) ?? 1 == UInt64(8 * bytesPerSample) else { return (nil, "image \(index) has other samples") }
            guard value(image, 277) ?? 1 == UInt64(bands), image.entries.contains(where: { $0.tag == COGLayout.tileOffsets }) else {
                return (nil, "image \(index) has other bands or no tiles")
            }
            let across = (Int(width) + Int(tile) - 1) / Int(tile), down = (Int(height) + Int(tile) - 1) / Int(tile)
            guard image.offsets.count == across * down * bands else { return (nil, "image \(index) has \(image.offsets.count) tiles") }
            shapes.append(Shape(width: Int(width), height: Int(height), tilesAcross: across, tilesDown: down))
        }
        let writer = try COGWriter(path: path, images: images, big: big, shapes: shapes, tileSize: Int(tile), bandCount: bands,
                                   bytesPerSample: bytesPerSample, codec: codec, sidePath: sidePath, logger: logger,
                                   memoryCap: memoryCap, collapses: collapses)
        return (writer, nil)
    }

    private init(path: String, images: [COGLayout.Image], big: Bool, shapes: [Shape], tileSize: Int, bandCount: Int,
                 bytesPerSample: Int, codec: TileCodec, sidePath: String, logger: Logger, memoryCap: Int,
                 collapses: Bool) throws(GDALError) {
        self.path = path
        self.shapes = shapes
        self.tileSize = tileSize
        self.bandCount = bandCount
        self.tileBytes = tileSize * tileSize * bytesPerSample
        self.codec = codec
        self.logger = logger
        self.sidePath = sidePath
        self.memoryCap = memoryCap
        self.collapses = collapses
        self.images = images
        sideOffsets = images.map { [UInt64](repeating: .max, count: $0.offsets.count) }

        // As COGLayout: the output is a BigTIFF when the template is one (GDAL's BIGTIFF=IF_SAFER chose) or when it
        // might pass 4 GB.
        let framedBound = UInt64(codec.bound(tileBytes) + 8)
        let bound = images.reduce(UInt64(0)) { $0 + UInt64($1.offsets.count) * framedBound }
        let big = big || bound + UInt64(images.count) * 65_536 > 0xF000_0000
        layout = COGLayout.Layout(big: big)
        var position = UInt64(layout.headerSize + COGLayout.ghost.count)
        position += position % 2
        firstIFD = position
        var ifds: [UInt64] = []
        for image in images {
            position = COGLayout.align(position)
            ifds.append(position)
            position += layout.size(of: image)
        }
        ifdPositions = ifds
        overviewStart = COGLayout.align(position)
        let overviewBound = images.dropFirst().reduce(UInt64(0)) { $0 + UInt64($1.offsets.count) * framedBound }

        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GDALError(kind: .write, operation: "create \(path): \(String(cString: strerror(errno)))") }
        side = open(sidePath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard side >= 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw GDALError(kind: .write, operation: "create \(sidePath): \(reason)")
        }
        // FALLOC_FL_COLLAPSE_RANGE cuts whole blocks of the file system: the full resolution starts on one.
        var info = stat()
        let block = fstat(fd, &info) == 0 ? max(UInt64(info.st_blksize), 4096) : 4096
        dataStart = (overviewStart + overviewBound + block - 1) / block * block
        dataEnd = dataStart
        writtenBack = dataStart
    }

    deinit {
        for buffer in pool { buffer.deallocate() }
        for stored in waiting.values.joined() { if case .memory(let encoded) = stored { encoded.frame.deallocate() } }
    }

    // MARK: - Tiles

    /// Encodes one band of one tile (`tileBytes` bytes, the type's bytes in the machine's order, little-endian):
    /// on the calling thread, without the lock. Hand the result to ``write(image:column:row:bands:)``.
    public func encode(_ raw: UnsafeRawBufferPointer) throws(GDALError) -> Encoded {
        precondition(raw.count == tileBytes, "COGWriter: a tile of \(raw.count) bytes, expected \(tileBytes)")
        let frame = takeBuffer()
        do {
            let count = try codec.encode(raw, into: UnsafeMutableRawBufferPointer(rebasing: frame[4..<(frame.count - 4)]))
            precondition(count >= 4, "COGWriter: a tile encoded in fewer than 4 bytes")
            frame.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 0, as: UInt32.self)
            // The trailer: the block's last 4 bytes again.
            (frame.baseAddress! + 4 + count).copyMemory(from: frame.baseAddress! + count, byteCount: 4)
            return Encoded(frame: frame, count: count)
        } catch {
            giveBuffer(frame)
            throw error
        }
    }

    /// Places the encoded bands of tile (`column`, `row`) of image `image` (0: the full resolution, 1…: the
    /// overviews, largest first). Any order, from any thread; each tile once.
    public func write(image: Int, column: Int, row: Int, bands: [Encoded]) throws(GDALError) {
        precondition(bands.count == bandCount, "COGWriter: \(bands.count) bands, expected \(bandCount)")
        let shape = shapes[image]
        guard column >= 0, column < shape.tilesAcross, row >= 0, row < shape.tilesDown else {
            for band in bands { giveBuffer(band.frame) }
            throw GDALError(kind: .outOfRange, operation: "\(path): tile (\(column), \(row)) is outside image \(image) (\(shape.tilesAcross)x\(shape.tilesDown) tiles)")
        }
        let index = row * shape.tilesAcross + column
        lock.lock()
        defer { lock.unlock() }
        do throws(GDALError) {
            guard !closed else { throw GDALError(kind: .write, operation: "\(path): a tile after the end") }
            if image == 0 {
                guard index >= nextTile, waiting[index] == nil else {
                    throw GDALError(kind: .write, operation: "\(path): tile (\(column), \(row)) given twice")
                }
                if index == nextTile {
                    try place(bands.map { .memory($0) }, tile: index)
                    nextTile += 1
                    while let next = waiting.removeValue(forKey: nextTile) {
                        for case .memory(let encoded) in next { waitingBytes -= encoded.frame.count }
                        try place(next, tile: nextTile)
                        nextTile += 1
                    }
                } else if waitingBytes + bands.count * bands[0].frame.count <= memoryCap {
                    waiting[index] = bands.map { .memory($0) }
                    waitingBytes += bands.count * bands[0].frame.count
                } else {
                    waiting[index] = try bands.map { encoded throws(GDALError) in
                        defer { giveBuffer(encoded.frame, locked: true) }
                        return .side(try appendToSide(encoded), encoded.count)
                    }
                }
            } else {
                for (band, encoded) in bands.enumerated() {
                    let entry = band * shape.tiles + index
                    guard sideOffsets[image][entry] == .max else {
                        throw GDALError(kind: .write, operation: "\(path): overview \(image) tile (\(column), \(row)) given twice")
                    }
                    sideOffsets[image][entry] = try appendToSide(encoded)
                    images[image].byteCounts[entry] = UInt64(encoded.count)
                    giveBuffer(encoded.frame, locked: true)
                }
            }
        } catch {
            // The run fails: the buffers not yet handed back are left to the allocator (a few MB at most).
            throw error
        }
    }

    /// Writes a full-resolution tile's bands at the end of the data. Under the lock.
    private func place(_ bands: [Stored], tile: Int) throws(GDALError) {
        let tiles = shapes[0].tiles
        for (band, stored) in bands.enumerated() {
            let entry = band * tiles + tile
            switch stored {
            case .memory(let encoded):
                try Self.writeAll(fd, UnsafeRawBufferPointer(rebasing: encoded.frame[0..<(encoded.count + 8)]), at: dataEnd, path: path)
                images[0].byteCounts[entry] = UInt64(encoded.count)
                giveBuffer(encoded.frame, locked: true)
                images[0].offsets[entry] = dataEnd + 4
                dataEnd += UInt64(encoded.count + 8)
            case .side(let offset, let count):
                try copy(UInt64(count + 8), from: offset, to: dataEnd)
                images[0].byteCounts[entry] = UInt64(count)
                images[0].offsets[entry] = dataEnd + 4
                dataEnd += UInt64(count + 8)
            }
        }
        // The collapse at the end waits until everything after the cut is on disk: start that writeback as the data
        // grows (SYNC_FILE_RANGE_WRITE does not wait), so that little is left to wait for.
        if dataEnd - writtenBack >= 16 << 20, let syncFileRange = Self.syncFileRange {
            _ = syncFileRange(fd, off_t(writtenBack), off_t(dataEnd - writtenBack), 2)
            writtenBack = dataEnd
        }
    }

    private func appendToSide(_ encoded: Encoded) throws(GDALError) -> UInt64 {
        let offset = sideEnd
        try Self.writeAll(side, UnsafeRawBufferPointer(rebasing: encoded.frame[0..<(encoded.count + 8)]), at: offset, path: sidePath)
        sideEnd += UInt64(encoded.count + 8)
        return offset
    }

    // MARK: - The end

    /// Writes the overviews and the IFDs, removes the unused part of the reserved region and closes the file.
    public func finish() throws(GDALError) {
        lock.lock()
        defer { lock.unlock() }
        do throws(GDALError) {
            guard !closed else { throw GDALError(kind: .write, operation: "\(path): finished twice") }
            guard nextTile == shapes[0].tiles, waiting.isEmpty else {
                throw GDALError(kind: .write, operation: "\(path): \(nextTile) of \(shapes[0].tiles) full-resolution tiles written in order, "
                                + "\(waiting.count) waiting for an earlier one that never came")
            }
            for image in images.indices.dropFirst() {
                let missing = sideOffsets[image].filter { $0 == .max }.count
                guard missing == 0 else {
                    throw GDALError(kind: .write, operation: "\(path): overview \(image) lacks \(missing) of \(sideOffsets[image].count) tiles")
                }
            }
            // The overviews, smallest first, each band's tiles row-major, right after the IFDs.
            var position = overviewStart
            for image in images.indices.dropFirst().reversed() {
                let tiles = shapes[image].tiles
                for tile in 0..<tiles {
                    for band in 0..<bandCount {
                        let entry = band * tiles + tile
                        let framed = images[image].byteCounts[entry] + 8
                        try copy(framed, from: sideOffsets[image][entry], to: position)
                        images[image].offsets[entry] = position + 4
                        position += framed
                    }
                }
            }
            guard position <= dataStart else {
                throw GDALError(kind: .write, operation: "\(path): the overviews (\(position - overviewStart) bytes) overran their region")
            }
            // The unused rest of the region: cut out of the file, or the full resolution moved down over it.
            var block = stat()
            let granularity = fstat(fd, &block) == 0 ? max(UInt64(block.st_blksize), 4096) : 4096
            let cut = (position + granularity - 1) / granularity * granularity
            let removed = dataStart > cut ? dataStart - cut : 0
            if removed > 0 {
                if let refusal = collapse(at: cut, length: removed) {
                    try moveDown(from: dataStart, to: cut)
                    logger.info("\(path): the file system refused to collapse the reserved region (\(refusal)); moved the full resolution (\(ByteCounts.megabytes(dataEnd - dataStart)) MB) down instead")
                } else {
                    logger.debug("\(path): collapsed \(removed) unused bytes of the reserved region")
                }
                for entry in images[0].offsets.indices { images[0].offsets[entry] -= removed }
            }
            let end = dataEnd - removed
            guard layout.big || end <= UInt64(UInt32.max) else {
                throw GDALError(kind: .write, operation: "write \(path): \(end) bytes do not fit a classic TIFF")
            }
            guard lseek(fd, 0, SEEK_SET) == 0 else {
                throw GDALError(kind: .write, operation: "seek in \(path): \(String(cString: strerror(errno)))")
            }
            var writer = COGLayout.Writer(fd: fd, path: path)
            if layout.big {
                writer.append(contentsOf: [0x49, 0x49, 43, 0, 8, 0, 0, 0])
                writer.append(firstIFD, bytes: 8)
            } else {
                writer.append(contentsOf: [0x49, 0x49, 42, 0])
                writer.append(firstIFD, bytes: 4)
            }
            writer.append(contentsOf: COGLayout.ghost)
            for (index, image) in images.enumerated() {
                writer.pad(to: ifdPositions[index])
                let next = index + 1 < images.count ? ifdPositions[index + 1] : 0
                try layout.writeIFD(image, offsets: image.offsets, at: ifdPositions[index], next: next, into: &writer)
            }
            precondition(writer.position <= overviewStart, "COGWriter: the IFDs overran their region")
            try writer.flush()
            closed = true
            close(side)
            unlink(sidePath)
            guard close(fd) == 0 else { throw GDALError(kind: .write, operation: "close \(path): \(String(cString: strerror(errno)))") }
        } catch {
            discardLocked()
            throw error
        }
    }

    /// Removes the output and the side file (after a failure, or a run stopped).
    public func abort() {
        lock.lock()
        defer { lock.unlock() }
        discardLocked()
    }

    private func discardLocked() {
        guard !closed else { return }
        closed = true
        close(side)
        unlink(sidePath)
        close(fd)
        unlink(path)
        for stored in waiting.values.joined() { if case .memory(let encoded) = stored { giveBuffer(encoded.frame, locked: true) } }
        waiting = [:]
    }

    /// FALLOC_FL_COLLAPSE_RANGE: nil when done, else why not (not this file system, no such call).
    private func collapse(at offset: UInt64, length: UInt64) -> String? {
        guard collapses else { return "disabled" }
        guard let fallocate = Self.fallocate else { return "no fallocate in the C library" }
        while true {
            if fallocate(fd, 0x08, off_t(offset), off_t(length)) == 0 { return nil }
            if errno == EINTR { continue }
            return String(cString: strerror(errno))
        }
    }

    /// Moves the bytes from `source` to the end of the data down to `target`, and cuts the file there.
    private func moveDown(from source: UInt64, to target: UInt64) throws(GDALError) {
        let chunk = 8 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var from = source
        while from < dataEnd {
            let count = Int(min(UInt64(chunk), dataEnd - from))
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            try Self.readAll(fd, part, at: from, path: path)
            try Self.writeAll(fd, UnsafeRawBufferPointer(part), at: target + (from - source), path: path)
            from += UInt64(count)
        }
        guard ftruncate(fd, off_t(target + (dataEnd - source))) == 0 else {
            throw GDALError(kind: .write, operation: "truncate \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies `count` bytes of the side file at `offset` into the output at `target`: in the kernel where it can
    /// (copy_file_range), else through a buffer.
    private func copy(_ count: UInt64, from offset: UInt64, to target: UInt64) throws(GDALError) {
        var input = Int64(offset), output = Int64(target), left = Int(count)
        if let copyFileRange = COGLayout.copyFileRange {
            while left > 0 {
                let copied = copyFileRange(side, &input, fd, &output, left, 0)
                if copied < 0 && errno == EINTR { continue }
                guard copied > 0 else { break }
                left -= copied
            }
        }
        guard left > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: left, alignment: 16)
        defer { buffer.deallocate() }
        try Self.readAll(side, buffer, at: UInt64(input), path: sidePath)
        try Self.writeAll(fd, UnsafeRawBufferPointer(buffer), at: UInt64(output), path: path)
    }

    // MARK: - Buffers and system calls

    private func takeBuffer() -> UnsafeMutableRawBufferPointer {
        lock.lock()
        let buffer = pool.popLast()
        lock.unlock()
        return buffer ?? UnsafeMutableRawBufferPointer.allocate(byteCount: codec.bound(tileBytes) + 8, alignment: 16)
    }

    private func giveBuffer(_ buffer: UnsafeMutableRawBufferPointer, locked: Bool = false) {
        if locked {
            pool.append(buffer)
        } else {
            lock.lock()
            pool.append(buffer)
            lock.unlock()
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(GDALError) {
        var done = 0
        while done < bytes.count {
            let wrote = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if wrote < 0 && errno == EINTR { continue }
            guard wrote > 0 else {
                if wrote < 0 && errno == ENOSPC { DiskSpace.noteFull() }
                throw GDALError(kind: .write, operation: "write \(path): \(String(cString: strerror(errno)))")
            }
            done += wrote
        }
    }

    static func readAll(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws(GDALError) {
        try COGLayout.Reader(fd: fd, path: path).read(into: buffer, at: offset)
    }

    /// glibc's sync_file_range (declared only under _GNU_SOURCE).
    typealias SyncFileRange = @convention(c) (Int32, off_t, off_t, UInt32) -> Int32
    static let syncFileRange: SyncFileRange? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range")
        .map { unsafeBitCast($0, to: SyncFileRange.self) }

    /// glibc's fallocate (declared only under _GNU_SOURCE, which Swift's Glibc module does not set).
    typealias Fallocate = @convention(c) (Int32, Int32, off_t, off_t) -> Int32
    static let fallocate: Fallocate? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate")
        .map { unsafeBitCast($0, to: Fallocate.self) }
}

enum ByteCounts {
    static func megabytes(_ bytes: UInt64) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
