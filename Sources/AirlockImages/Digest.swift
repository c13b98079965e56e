/// A content digest, `sha256:` and 64 lowercase hex digits, and nothing else: only this
/// form is ever used in a path (a `sha256:../..` digest is refused before it gets near one).
public struct Digest: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// The 64 hex digits.
    public let hex: String

    public init(_ text: String) throws(ImageError) {
        guard text.hasPrefix("sha256:") else {
            throw ImageError(.invalid, "digest '\(Self.printable(text))' is not a sha256 digest",
                             fix: "only sha256:<64 hex digits> digests are accepted")
        }
        let hex = text.dropFirst(7)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ImageError(.invalid, "digest '\(Self.printable(text))' is malformed",
                             fix: "a digest is sha256: followed by 64 lowercase hex digits")
        }
        self.hex = String(hex)
    }

    init(hexDigits: String) {
        self.hex = hexDigits
    }

    public var description: String { "sha256:" + hex }
    /// The first 12 digits, for tables.
    public var short: String { String(hex.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// At most 80 characters of hostile text, control characters replaced.
    static func printable(_ text: String) -> String {
        String(text.prefix(80).map { $0.isASCII && ($0.asciiValue ?? 0) >= 32 ? $0 : "?" })
    }
}
