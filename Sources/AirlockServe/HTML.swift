import Foundation

/// Escaping for everything that goes into a page. Model output, tool output, task text and
/// run ids are all hostile: every one of them goes through here, in text and in attributes.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\0": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A path segment for a link: ids are `[A-Za-z0-9-]` but a hostile one must not break out.
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// Text clipped for display, saying how much was left out.
    static func clip(_ text: String, _ limit: Int = 20_000) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "\n… (\(text.count - limit) more characters; `airlock show --json` has all of it)"
    }
}
