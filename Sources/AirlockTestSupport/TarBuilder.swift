import Foundation

/// Writes tar streams byte by byte, hostile ones included (the point is to feed the
/// unpacker what a real attacker would): ustar headers, PAX names when long.
public struct TarBuilder {
    public enum Kind: UInt8 {
        case file = 48, hardLink = 49, symlink = 50, charDevice = 51, blockDevice = 52, directory = 53, fifo = 54
    }

    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func file(_ name: String, _ content: String, mode: Int = 0o644, uid: Int = 0) {
        entry(name, .file, data: Array(content.utf8), mode: mode, uid: uid)
    }

    public mutating func file(_ name: String, data: [UInt8], mode: Int = 0o755) {
        entry(name, .file, data: data, mode: mode)
    }

    public mutating func directory(_ name: String, mode: Int = 0o755) { entry(name, .directory, mode: mode) }
    public mutating func symlink(_ name: String, to target: String) { entry(name, .symlink, link: target, mode: 0o777) }
    public mutating func hardLink(_ name: String, to target: String) { entry(name, .hardLink, link: target) }

    public mutating func entry(_ name: String, _ kind: Kind, data: [UInt8] = [], link: String = "", mode: Int = 0o644, uid: Int = 0) {
        if name.utf8.count > 100 || link.utf8.count > 100 {
            var records = ""
            for (key, value) in [("path", name), ("linkpath", link)] where !value.isEmpty {
                let body = " \(key)=\(value)\n"
                var length = body.utf8.count + 1
                while String(length).utf8.count + body.utf8.count != length { length += 1 }
                records += String(length) + body
            }
            header("PaxHeader", typeflag: UInt8(ascii: "x"), size: records.utf8.count, link: "", mode: 0o644, uid: 0)
            append(Array(records.utf8))
        }
        header(String(name.prefix(100)), typeflag: kind.rawValue, size: data.count, link: String(link.prefix(100)), mode: mode, uid: uid)
        append(data)
    }

    private mutating func append(_ data: [UInt8]) {
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    private mutating func header(_ name: String, typeflag: UInt8, size: Int, link: String, mode: Int, uid: Int) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ offset: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, _ offset: Int, _ length: Int) {
            put(String(String(value, radix: 8).suffix(length - 1)).leftPadded(length - 1), offset, length - 1)
        }
        put(name, 0, 100)
        octal(mode, 100, 8)
        octal(uid, 108, 8)
        octal(uid, 116, 8)
        octal(size, 124, 12)
        octal(1_700_000_000, 136, 12)
        block[156] = typeflag
        put(link, 157, 100)
        put("ustar\u{0}00", 257, 8)
        for index in 148..<156 { block[index] = 32 }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPadded(6) + "\u{0} ", 148, 8)
        bytes += block
    }

    /// The archive with its two end blocks.
    public var archive: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - utf8.count)) + self
    }
}
