/// Strict parsing of the fixed ustar header fields.
extension TarStream {
    static func padding(_ size: Int) -> Int { (512 - size % 512) % 512 }

    static func field(_ header: [UInt8], _ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
        header[offset..<(offset + length)].prefix { $0 != 0 }
    }

    static func text(_ bytes: some Collection<UInt8>, _ what: String) throws(ImageError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ImageError(.invalid, "\(what) in a tar header is not valid UTF-8")
        }
        return text
    }

    static func headerName(_ header: [UInt8]) throws(ImageError) -> String {
        let name = try text(field(header, 0, 100), "a name")
        // ustar splits long names into prefix/name; GNU tar uses those bytes for times.
        let isUstar = header[257..<263].elementsEqual(Array("ustar\0".utf8))
        let prefix = isUstar ? try text(field(header, 345, 155), "a name prefix") : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// Octal (NUL/space terminated) or GNU base-256; anything else is refused.
    static func number(_ header: [UInt8], _ offset: Int, _ length: Int, _ what: String) throws(ImageError) -> Int {
        let bytes = header[offset..<(offset + length)]
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 else { throw ImageError(.invalid, "a negative or oversized tar \(what)") }
            var value = 0
            for byte in bytes.dropFirst() {
                guard value <= (Int.max >> 8) else { throw ImageError(.invalid, "a tar \(what) overflows") }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        for byte in bytes {
            if byte == 0 || byte == 32 {
                if seenDigit { break } else { continue }
            }
            guard (48...55).contains(byte) else { throw ImageError(.invalid, "a tar \(what) field is not octal") }
            guard value <= (Int.max >> 3) else { throw ImageError(.invalid, "a tar \(what) overflows") }
            value = value << 3 | Int(byte - 48)
            seenDigit = true
        }
        return value
    }

    static func verifyChecksum(_ header: [UInt8]) throws(ImageError) {
        let stored = try number(header, 148, 8, "checksum")
        var sum = 0
        for (index, byte) in header.enumerated() {
            sum += (148..<156).contains(index) ? 32 : Int(byte)
        }
        guard sum == stored else {
            throw ImageError(.invalid, "a tar header checksum does not match (corrupt or not a tar stream)")
        }
    }

    static func kind(_ type: UInt8) -> TarEntry.Kind {
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): return .file
        case UInt8(ascii: "1"): return .hardLink
        case UInt8(ascii: "2"): return .symlink
        case UInt8(ascii: "3"): return .characterDevice
        case UInt8(ascii: "4"): return .blockDevice
        case UInt8(ascii: "5"): return .directory
        case UInt8(ascii: "6"): return .fifo
        default: return .other(type)
        }
    }

    /// `LEN key=value\n` records; the lengths must add up exactly.
    static func paxRecords(_ data: [UInt8]) throws(ImageError) -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < data.count {
            if data[index] == 0 { break }
            guard let space = data[index...].firstIndex(of: 32),
                  let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
                  length > space - index + 2, index + length <= data.count, data[index + length - 1] == 10,
                  let equals = data[(space + 1)..<(index + length)].firstIndex(of: 61) else {
                throw ImageError(.invalid, "a PAX extended header is malformed")
            }
            let key = try text(data[(space + 1)..<equals], "a PAX key")
            let value = try text(data[(equals + 1)..<(index + length - 1)], "a PAX value")
            records[key] = value
            index += length
        }
        return records
    }
}
