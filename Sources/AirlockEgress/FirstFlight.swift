/// What the client sent first inside a CONNECT tunnel, read without consuming it.
enum FirstFlight: Sendable, Equatable {
    /// Not enough bytes yet to tell.
    case needMore
    /// A TLS ClientHello, with its server_name if it carried one.
    case tlsClientHello(serverName: String?)
    /// Starts like TLS but is not a well-formed ClientHello.
    case malformedTLS
    /// Starts like an HTTP request line (`TOKEN SP`).
    case http
    /// Anything else: tunnelled as opaque bytes.
    case opaque

    /// Upper bound on what is held while deciding; a ClientHello with post-quantum key
    /// shares is ~2 KB, and TLS caps a handshake record at 16 KB.
    static let maxPeek = 64 * 1024

    static func classify(_ bytes: [UInt8]) -> FirstFlight {
        guard let first = bytes.first else { return .needMore }
        if first == 0x16 { return parseClientHello(bytes) }
        // An HTTP method is an uppercase token; decide at the first space.
        for (index, byte) in bytes.enumerated() {
            if byte == 0x20 { return index > 0 ? .http : .opaque }
            guard byte >= 0x41 && byte <= 0x5a, index < 20 else { return .opaque }
        }
        return .needMore
    }

    /// Reassembles the handshake message from as many TLS records as it spans, then reads
    /// the server_name extension (RFC 8446 §4.1.2, RFC 6066 §3).
    static func parseClientHello(_ bytes: [UInt8]) -> FirstFlight {
        var handshake: [UInt8] = []
        var offset = 0
        while true {
            guard bytes.count >= offset + 5 else { return .needMore }
            guard bytes[offset] == 0x16, bytes[offset + 1] == 0x03 else { return .malformedTLS }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard length > 0, length <= 16384 + 2048 else { return .malformedTLS }
            guard bytes.count >= offset + 5 + length else { return .needMore }
            handshake += bytes[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if handshake.count >= 4 {
                guard handshake[0] == 0x01 else { return .malformedTLS }
                let messageLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                if handshake.count >= 4 + messageLength {
                    return parseHello(Array(handshake[4..<(4 + messageLength)]))
                }
                guard messageLength < maxPeek else { return .malformedTLS }
            }
        }
    }

    private static func parseHello(_ hello: [UInt8]) -> FirstFlight {
        var reader = Reader(bytes: hello)
        guard reader.skip(2 + 32),  // legacy_version, random
              let sessionLength = reader.u8(), reader.skip(Int(sessionLength)),
              let suitesLength = reader.u16(), reader.skip(suitesLength),
              let compressionLength = reader.u8(), reader.skip(Int(compressionLength)) else { return .malformedTLS }
        guard reader.remaining > 0 else { return .tlsClientHello(serverName: nil) }
        guard let extensionsLength = reader.u16(), extensionsLength == reader.remaining else { return .malformedTLS }
        while reader.remaining > 0 {
            guard let type = reader.u16(), let length = reader.u16(), let body = reader.take(length) else {
                return .malformedTLS
            }
            guard type == 0 else { continue }
            var names = Reader(bytes: body)
            guard let listLength = names.u16(), listLength == names.remaining else { return .malformedTLS }
            while names.remaining > 0 {
                guard let nameType = names.u8(), let nameLength = names.u16(),
                      let name = names.take(nameLength) else { return .malformedTLS }
                if nameType == 0 {
                    guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return .malformedTLS }
                    return .tlsClientHello(serverName: String(decoding: name, as: UTF8.self))
                }
            }
            return .malformedTLS
        }
        return .tlsClientHello(serverName: nil)
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var remaining: Int { bytes.count - index }

        mutating func skip(_ count: Int) -> Bool {
            guard count <= remaining else { return false }
            index += count
            return true
        }

        mutating func u8() -> UInt8? {
            guard remaining >= 1 else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func u16() -> Int? {
            guard remaining >= 2 else { return nil }
            defer { index += 2 }
            return Int(bytes[index]) << 8 | Int(bytes[index + 1])
        }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count <= remaining else { return nil }
            defer { index += count }
            return Array(bytes[index..<(index + count)])
        }
    }
}
