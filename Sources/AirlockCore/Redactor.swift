import AirlockModels
import Foundation

/// Removes secrets from everything the harness writes down (ledger payloads, stored tool
/// calls). Known secret values (API keys the harness holds) are replaced by `[REDACTED]`;
/// text matching a pattern (key-shaped strings) by `[REDACTED:NAME]`. Object keys are
/// redacted too, since a model can put anything anywhere.
public struct Redactor: Sendable {
    /// A named regular expression for secret-shaped text.
    public struct Pattern: Sendable {
        public var name: String
        public var regex: NSRegularExpression

        public init(name: String, regex pattern: String) throws {
            self.name = name
            self.regex = try NSRegularExpression(pattern: pattern)
        }
    }

    /// Values shorter than this are ignored: redacting "abc" everywhere would wreck the
    /// record while protecting nothing.
    public static let minimumSecretLength = 4
    public static let marker = "[REDACTED]"

    /// Longest first, so a secret that contains another is replaced whole.
    public let secrets: [String]
    public let patterns: [Pattern]

    public init(secrets: [String] = [], patterns: [Pattern] = Redactor.defaultPatterns) {
        let kept = Set(secrets.filter { $0.count >= Self.minimumSecretLength })
        self.secrets = kept.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        self.patterns = patterns
    }

    /// A redactor that changes nothing.
    public static let none = Redactor(secrets: [], patterns: [])

    /// Key shapes of the common providers; `Bearer …` covers Authorization headers.
    public static let defaultPatterns: [Pattern] = [
        ("private_key", #"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"#),
        ("bearer_token", #"Bearer\s+[A-Za-z0-9._~+/=-]{8,}"#),
        ("api_key", #"sk-[A-Za-z0-9_-]{16,}"#),
        ("aws_access_key", #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
        ("github_token", #"\bgh[pousr]_[A-Za-z0-9]{20,}"#),
        ("github_token", #"\bgithub_pat_[A-Za-z0-9_]{20,}"#),
        ("slack_token", #"\bxox[abposr]-[A-Za-z0-9-]{10,}"#),
        ("google_api_key", #"\bAIza[0-9A-Za-z_-]{35}"#),
    ].compactMap { try? Pattern(name: $0.0, regex: $0.1) }

    /// `value` with every secret in every string, keys included, replaced.
    public func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(redact(text))
        case .array(let items): return .array(items.map(redact))
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members { out[redact(key)] = redact(member) }
            return .object(out)
        case .null, .bool, .int, .double: return value
        }
    }

    /// `text` with every secret replaced.
    public func redact(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Self.marker, options: .literal)
        }
        for pattern in patterns {
            let range = NSRange(out.startIndex..., in: out)
            guard pattern.regex.firstMatch(in: out, range: range) != nil else { continue }
            let template = NSRegularExpression.escapedTemplate(for: "[REDACTED:\(pattern.name)]")
            out = pattern.regex.stringByReplacingMatches(in: out, range: range, withTemplate: template)
        }
        return out
    }
}
