import AirlockModels

/// The one JSON text form that the ledger hashes. Two equal `JSONValue`s always give the same
/// bytes, so any implementation that follows these rules recomputes the same hashes
/// (docs/ledger.md repeats them):
///
/// - No whitespace anywhere. `null`, `true`, `false` as is.
/// - Object members sorted by key, comparing keys by Unicode code point (the same as comparing
///   their UTF-8 bytes); keys are unique.
/// - Integers in decimal: optional `-`, no leading zeros, no `+`, no exponent.
/// - Doubles exactly as Python's `repr(float)` prints them: the shortest digits that round-trip;
///   positional when the decimal exponent is in -4...15 (always with a fraction, `2.0`),
///   otherwise `d.ddde±XX` with at least two exponent digits (`1e+16`, `1.5e-07`).
///   NaN and infinities, which JSON cannot hold, are written as `null`.
/// - Strings: UTF-8, with only these escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and
///   `\u00xx` (lowercase hex) for the other code points below U+0020. Everything else,
///   `/`, U+007F and all non-ASCII included, is written literally.
public enum CanonicalJSON {
    /// The canonical text of `value`.
    public static func string(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical UTF-8 bytes of `value`.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    /// Appends the canonical bytes of `value` to `out`.
    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number): out.append(contentsOf: formatDouble(number).utf8)
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in sortedKeys(members).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key] ?? .null, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Keys in code point order. Swift's `<` on String orders by canonical equivalence, not
    /// by code point, so compare the UTF-8 bytes instead.
    static func sortedKeys(_ members: [String: JSONValue]) -> [String] {
        members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
