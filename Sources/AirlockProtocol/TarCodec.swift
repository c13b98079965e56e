/// The tar stream a workspace travels in between the harness and a remote guest (a
/// Kubernetes pod): ustar headers, a PAX `path`/`linkpath` record when a name does not fit,
/// directories, regular files and symlinks only. Pure Swift, so the static guest and the
/// harness share it.
public enum TarCodec {
    public enum Kind: Sendable, Hashable { case file, directory, symlink }

    public struct Entry: Sendable, Hashable {
        /// Relative, `/`-separated, no `.`/`..`/empty components (see `isSafe`).
        public var name: String
        public var kind: Kind
        /// Permission bits only (setuid/setgid/sticky are dropped both ways).
        public var mode: Int
        public var size: Int
        public var linkTarget: String

        public init(name: String, kind: Kind, mode: Int, size: Int = 0, linkTarget: String = "") {
            self.name = name
            self.kind = kind
            self.mode = mode & 0o777
            self.size = kind == .file ? size : 0
            self.linkTarget = linkTarget
        }
    }

    public struct Failure: Error, Sendable { public let message: String }

    /// Two zero blocks end an archive.
    public static let trailer = [UInt8](repeating: 0, count: 1024)

    /// Zero bytes after `size` bytes of contents, up to the next 512-byte block.
    public static func padding(_ size: Int) -> Int { (512 - size % 512) % 512 }

    /// A relative path that cannot leave the directory it is unpacked in by its name.
    public static func isSafe(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), name.utf8.count < 4096, !name.utf8.contains(0) else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// The header block(s) for `entry`: a PAX record first when the name or target is too long.
    public static func header(_ entry: Entry) -> [UInt8] {
        var out: [UInt8] = []
        if entry.name.utf8.count > 99 || entry.linkTarget.utf8.count > 99 {
            var records: [UInt8] = []
            if entry.name.utf8.count > 99 { records += paxRecord("path", entry.name) }
            if entry.linkTarget.utf8.count > 99 { records += paxRecord("linkpath", entry.linkTarget) }
            out += block(name: "././@PaxHeader", size: records.count, mode: 0o644, type: UInt8(ascii: "x"), link: "")
            out += records + [UInt8](repeating: 0, count: padding(records.count))
        }
        let type: UInt8 = switch entry.kind {
        case .file: UInt8(ascii: "0")
        case .directory: UInt8(ascii: "5")
        case .symlink: UInt8(ascii: "2")
        }
        out += block(name: String(entry.name.utf8.prefix(99)) ?? "", size: entry.size, mode: entry.mode, type: type,
                     link: String(entry.linkTarget.utf8.prefix(99)) ?? "")
        return out
    }

    private static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        // "LEN key=value\n", where LEN counts its own digits.
        let body = " \(key)=\(value)\n".utf8.count
        var length = body + String(body).count
        if String(length).count != String(body).count { length = body + String(length).count }
        return Array("\(length) \(key)=\(value)\n".utf8)
    }

    private static func block(name: String, size: Int, mode: Int, type: UInt8, link: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int, width: Int) {
            for (index, byte) in bytes.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8, at: offset, width: width - 1)
        }
        put(name.utf8, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        block[156] = type
        put(link.utf8, at: 157, width: 100)
        put("ustar\u{0}00".utf8, at: 257, width: 8)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        return block
    }

    /// Reads entries from a stream: `read(n)` returns exactly n bytes, or nil at its end.
    /// After `next()` returns a file, the caller reads `size + padding(size)` bytes itself.
    public struct Reader {
        private let read: (Int) -> [UInt8]?

        public init(read: @escaping (Int) -> [UInt8]?) { self.read = read }

        /// The next entry; nil at the archive's end. Unsupported types (devices, fifos, hard
        /// links) and unsafe names are errors: nothing is written for them.
        public mutating func next() throws(Failure) -> Entry? {
            var pax: [String: String] = [:]
            while true {
                guard let block = read(512) else { throw Failure(message: "the archive ends inside a header") }
                if block.allSatisfy({ $0 == 0 }) { return nil }
                guard checksumOK(block) else { throw Failure(message: "a tar header's checksum is wrong") }
                let size = Self.number(block[124..<136])
                guard size >= 0 else { throw Failure(message: "a tar header's size is unreadable") }
                let type = block[156]
                if type == UInt8(ascii: "x") || type == UInt8(ascii: "L") || type == UInt8(ascii: "K") {
                    guard size <= 1 << 20, let data = read(size + TarCodec.padding(size)) else {
                        throw Failure(message: "a long-name record is too large or cut short")
                    }
                    let body = Array(data.prefix(size))
                    if type == UInt8(ascii: "x") { pax.merge(Self.paxRecords(body)) { $1 } }
                    else { pax[type == UInt8(ascii: "L") ? "path" : "linkpath"] = Self.string(body[...]) }
                    continue
                }
                if type == UInt8(ascii: "g") {
                    guard read(size + TarCodec.padding(size)) != nil else { throw Failure(message: "the archive is cut short") }
                    continue
                }
                var name = pax["path"] ?? Self.string(block[0..<100])
                let prefix = Self.string(block[345..<500])
                if pax["path"] == nil, !prefix.isEmpty, block[257..<262].elementsEqual("ustar".utf8) { name = prefix + "/" + name }
                while name.hasSuffix("/") { name.removeLast() }
                while name.hasPrefix("./") { name.removeFirst(2) }
                let link = pax["linkpath"] ?? Self.string(block[157..<257])
                let mode = Self.number(block[100..<108])
                let kind: Kind
                switch type {
                case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
                case UInt8(ascii: "5"): kind = .directory
                case UInt8(ascii: "2"): kind = .symlink
                default: throw Failure(message: "\(name): unsupported tar entry type \(Character(Unicode.Scalar(type)))")
                }
                guard Self.isSafeName(name) else { throw Failure(message: "refused an unsafe path in the archive: \(name)") }
                return Entry(name: name, kind: kind, mode: max(0, mode), size: size, linkTarget: link)
            }
        }

        private static func isSafeName(_ name: String) -> Bool { TarCodec.isSafe(name) }

        private func checksumOK(_ block: [UInt8]) -> Bool {
            var sum = 0
            for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
            return Self.number(block[148..<156]) == sum
        }

        static func string(_ bytes: ArraySlice<UInt8>) -> String {
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }

        static func number(_ bytes: ArraySlice<UInt8>) -> Int {
            let text = string(bytes).trimmingSpaces
            guard !text.isEmpty else { return 0 }
            return Int(text, radix: 8) ?? -1
        }

        static func paxRecords(_ body: [UInt8]) -> [String: String] {
            var records: [String: String] = [:]
            var index = 0
            while index < body.count {
                guard let space = body[index...].firstIndex(of: UInt8(ascii: " ")),
                      let length = Int(String(decoding: body[index..<space], as: UTF8.self)), length > 0,
                      index + length <= body.count else { break }
                let record = body[(space + 1)..<(index + length - 1)]
                if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                    records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
                }
                index += length
            }
            return records
        }
    }
}

private extension String {
    var trimmingSpaces: String {
        String(String(self.drop { $0 == " " }).reversed().drop { $0 == " " }.reversed())
    }
}
