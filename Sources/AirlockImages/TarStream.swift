/// A streaming tar reader (ustar, GNU long names, PAX) written for hostile input: header
/// checksums verified, sizes parsed strictly, extended headers and names capped, names
/// required to be UTF-8. Data is handed out in slices of an internal buffer, never
/// gathered whole.
final class TarStream {
    private let source: any ByteSource
    private let limits: ImageLimits
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0
    private var end = 0
    private var eof = false
    /// Data bytes (plus padding) of the current entry not consumed yet.
    private var pendingData = 0
    private var pendingPadding = 0

    init(source: any ByteSource, limits: ImageLimits) {
        self.source = source
        self.limits = limits
    }

    /// The next entry, or nil at the end-of-archive blocks (or a clean end of stream).
    func next() throws(ImageError) -> TarEntry? {
        try skip(pendingData + pendingPadding)
        pendingData = 0
        pendingPadding = 0
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            guard let header = try readBlock() else { return nil }
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try Self.verifyChecksum(header)
            let size = try Self.number(header, 124, 12, "size")
            let type = header[156]
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
                guard size <= limits[.headerBytes] else {
                    throw limits.exceeded(.headerBytes, "an extended tar header of \(size) bytes")
                }
                let data = try readExact(size)
                try skip(Self.padding(size))
                if type == UInt8(ascii: "x") {
                    pax.merge(try Self.paxRecords(data), uniquingKeysWith: { $1 })
                } else if type == UInt8(ascii: "L") {
                    longName = try Self.text(data.prefix { $0 != 0 }, "a GNU long name")
                } else if type == UInt8(ascii: "K") {
                    longLink = try Self.text(data.prefix { $0 != 0 }, "a GNU long link name")
                }
                continue
            default:
                break
            }
            var path: String
            if let given = longName ?? pax["path"] { path = given } else { path = try Self.headerName(header) }
            if path.isEmpty { path = "." }
            let linkName: String
            if let given = longLink ?? pax["linkpath"] {
                linkName = given
            } else {
                linkName = try Self.text(Self.field(header, 157, 100), "a link name")
            }
            guard path.utf8.count <= limits[.pathBytes], linkName.utf8.count <= limits[.pathBytes] else {
                throw limits.exceeded(.pathBytes, "a tar entry name")
            }
            var entrySize = size
            if let value = pax["size"] {
                guard let parsed = Int(value), parsed >= 0 else { throw ImageError(.invalid, "a PAX size '\(Digest.printable(value))' is malformed") }
                entrySize = parsed
            }
            let headerUID = try Self.number(header, 108, 8, "uid")
            let headerGID = try Self.number(header, 116, 8, "gid")
            let kind = Self.kind(type)
            // Only regular files carry data; anything else declaring data is skipped past.
            pendingData = entrySize
            pendingPadding = Self.padding(entrySize)
            return TarEntry(path: path, linkName: linkName, kind: kind,
                            mode: UInt32(truncatingIfNeeded: try Self.number(header, 100, 8, "mode")),
                            uid: pax["uid"].flatMap { Int($0) } ?? headerUID,
                            gid: pax["gid"].flatMap { Int($0) } ?? headerGID,
                            size: entrySize)
        }
    }

    /// Streams the current entry's data to `body` in slices.
    func readData(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        while pendingData > 0 {
            if start == end { try fill() }
            guard start < end else { throw ImageError(.invalid, "the tar stream ends inside an entry's data") }
            let take = min(end - start, pendingData)
            try buffer.withBytes(start..<(start + take), body)
            start += take
            pendingData -= take
        }
    }

    // MARK: - Buffering

    private func fill() throws(ImageError) {
        if start == end { start = 0; end = 0 }
        if start > 0 && end == buffer.count {
            buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
            end -= start
            start = 0
        }
        guard !eof, end < buffer.count else { return }
        let count = try buffer.read(end..<buffer.count, from: source)
        if count == 0 { eof = true } else { end += count }
    }

    private func readBlock() throws(ImageError) -> [UInt8]? {
        while end - start < 512 {
            let before = end - start
            try fill()
            if end - start == before {
                if before == 0 { return nil }
                throw ImageError(.invalid, "the tar stream ends inside a header")
            }
        }
        defer { start += 512 }
        return Array(buffer[start..<(start + 512)])
    }

    private func readExact(_ count: Int) throws(ImageError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if start == end { try fill() }
            guard start < end else { throw ImageError(.invalid, "the tar stream ends inside an extended header") }
            let take = min(end - start, count - out.count)
            out += buffer[start..<(start + take)]
            start += take
        }
        return out
    }

    private func skip(_ count: Int) throws(ImageError) {
        var left = count
        while left > 0 {
            if start == end { try fill() }
            guard start < end else { throw ImageError(.invalid, "the tar stream ends inside an entry") }
            let take = min(end - start, left)
            start += take
            left -= take
        }
    }
}
