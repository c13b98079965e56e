import AirlockModels
import Crypto

extension LedgerEntry {
    /// The prev hash of seq 1: 32 zero bytes.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The canonical bytes of an entry: the UTF-8 of
    /// `{"kind":K,"payload":P,"run":R,"seq":N,"time":T}` — keys in that (code point) order,
    /// no whitespace, K/R/T as canonical JSON strings, N in decimal and P the payload's
    /// canonical JSON (see `CanonicalJSON`). Built from the payload *text* so the verifier
    /// hashes exactly what is stored.
    public static func canonicalBytes(run: String, seq: Int, time: String, kind: LedgerKind,
                                      payloadJSON: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payloadJSON.utf8.count + run.utf8.count + 96)
        out.append(contentsOf: #"{"kind":"#.utf8)
        CanonicalJSON.writeString(kind.rawValue, into: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payloadJSON.utf8)
        out.append(contentsOf: #","run":"#.utf8)
        CanonicalJSON.writeString(run, into: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","time":"#.utf8)
        CanonicalJSON.writeString(time, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Hex SHA-256 of the previous hash's 32 bytes followed by the canonical bytes; nil when
    /// `prevHash` is not 64 hex digits.
    public static func computeHash(prevHash: String, canonicalBytes: [UInt8]) -> String? {
        guard let previous = hexBytes(prevHash), previous.count == 32 else { return nil }
        return hex(digest(previous: previous, canonicalBytes: canonicalBytes))
    }

    /// The hash as bytes, from the previous hash as bytes: a chain of several entries
    /// carries each digest on instead of writing it as hex and reading it back.
    static func digest(previous: [UInt8], canonicalBytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonicalBytes)
        return Array(hasher.finalize())
    }

    /// The hash this entry should have, recomputed from its own columns.
    public var recomputedHash: String? {
        Self.computeHash(prevHash: prevHash, canonicalBytes: Self.canonicalBytes(
            run: run, seq: seq, time: time, kind: kind, payloadJSON: payloadJSON))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex only: an uppercase variant would hash the same but read as an edit.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
