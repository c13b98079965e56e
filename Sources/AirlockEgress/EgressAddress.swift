#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, parsed strictly (dotted-quad only for IPv4, so `0x7f.1` or
/// `2130706433` are names, never addresses) and classified for the destination check.
struct EgressAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    let bytes: [UInt8]

    var isIPv4: Bool { bytes.count == 4 }

    init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        // Zone ids (`fe80::1%eth0`) are refused: a zone names a local interface.
        guard !text.contains("%") else { return nil }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = isIPv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return bytes.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// How the address appears in an authority: IPv6 in brackets.
    var authorityHost: String { isIPv4 ? description : "[\(description)]" }

    /// Why the address is not a public unicast destination, or nil when it is.
    /// Embedded IPv4 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`)
    /// is judged by the IPv4 address it carries, so `::ffff:127.0.0.1` is loopback.
    var nonPublicReason: String? {
        if isIPv4 { return Self.ipv4Reason(bytes) }
        let b = bytes
        let tail = Array(b[12..<16])
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            return Self.ipv4Reason(tail).map { "IPv4-mapped \($0)" }
        }
        if b[0..<15].allSatisfy({ $0 == 0 }) {
            return b[15] == 1 ? "loopback" : (b[15] == 0 ? "unspecified" : "IPv4-compatible")
        }
        if b[0..<12].allSatisfy({ $0 == 0 }) {
            return Self.ipv4Reason(tail).map { "IPv4-compatible \($0)" } ?? "IPv4-compatible"
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
            return Self.ipv4Reason(tail).map { "NAT64 \($0)" }
        }
        if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return "link-local" }
        if b[0] == 0xfe && (b[1] & 0xc0) == 0xc0 { return "site-local" }
        if (b[0] & 0xfe) == 0xfc { return "private (unique local)" }
        if b[0] == 0xff { return "multicast" }
        return nil
    }

    private static func ipv4Reason(_ b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (0, _): return "unspecified"
        case (10, _): return "private"
        case (127, _): return "loopback"
        case (169, 254): return "link-local"
        case (172, 16...31): return "private"
        case (192, 168): return "private"
        case (100, 64...127): return "shared (CGNAT)"
        case (224...239, _): return "multicast"
        case (240...255, _): return "reserved"
        default: return nil
        }
    }
}
