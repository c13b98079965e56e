import Crypto
import Foundation

/// `mcp__SERVER__TOOL`: cleaned to `[A-Za-z0-9_-]`, at most 64 characters (what providers
/// accept), and unique: a name already taken (two tools cleaning to the same text, or a
/// long name cut short) gets a short hash of the original suffixed.
public enum MCPToolNames {
    public static let maxLength = 64

    public static func clean(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == "-") ? Character(scalar) : "_"
        })
    }

    public static func name(server: String, tool: String, taken: Set<String>) -> String {
        let base = "mcp__" + clean(server) + "__" + clean(tool)
        if base.count <= maxLength && !taken.contains(base) { return base }
        let digest = SHA256.hash(data: Data((server + "\u{0}" + tool).utf8)).prefix(3).map { String(format: "%02x", $0) }.joined()
        var candidate = String(base.prefix(maxLength - 7)) + "_" + digest
        var counter = 1
        while taken.contains(candidate) {
            let suffix = "_\(digest)\(counter)"
            candidate = String(base.prefix(maxLength - suffix.count)) + suffix
            counter += 1
        }
        return candidate
    }
}
