import Foundation

/// How `airlock serve` listens and whom it trusts.
///
/// Without a token the server trusts its network position: it binds loopback only and
/// answers only requests whose `Host` is a loopback name (so a web page that rebinds its
/// own domain to 127.0.0.1 gets nothing). With a token every request must present it.
public struct ServeConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Required for any address other than loopback.
    public var token: String?
    /// The local user the server acts for; answers are recorded as `web:<user>@<client>`.
    public var user: String
    /// Per server start: embedded in every page and required on every POST that does not
    /// carry the bearer token, so another site cannot make the browser answer.
    public var csrfToken: String

    public static let defaultPort = 7420

    public init(host: String = "127.0.0.1", port: Int = ServeConfiguration.defaultPort, token: String? = nil,
                user: String, csrfToken: String = ServeConfiguration.randomToken()) {
        self.host = host
        self.port = port
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.user = user
        self.csrfToken = csrfToken
    }

    /// Why this configuration must not start, or nil.
    public var problem: String? {
        if port < 0 || port > 65535 { return "--port must be between 0 and 65535" }
        if let token, token.count < 8 || !token.unicodeScalars.allSatisfy({ Self.tokenCharacters.contains($0) }) {
            return "--token must be at least 8 characters of A-Z a-z 0-9 . _ ~ + / = - (it travels in a cookie)"
        }
        if token == nil && !Self.isLoopback(host) {
            return "refusing to listen on \(host) without a token: anyone who can reach it could approve calls. "
                + "Pass --token TOKEN (or AIRLOCK_SERVE_TOKEN), or keep the default --host 127.0.0.1"
        }
        return nil
    }

    /// The identity recorded with an answer given from `address`.
    public func identity(remoteAddress address: String) -> String {
        "web:\(user)@\(address)"
    }

    /// The address to print: a wildcard bind is reached through loopback on this machine.
    public var displayURL: String {
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        let name = shown.contains(":") ? "[\(shown)]" : shown
        return "http://\(name):\(port)/"
    }

    /// A loopback address or name (`127.0.0.0/8`, `::1`, `localhost`).
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "::1" || bare.lowercased() == "localhost" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    static let tokenCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-")

    /// 32 random bytes as hex.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
