import Foundation

/// One request or connection through the proxy, allowed or refused, written when it ends
/// (a refusal at once). Never holds a secret's value: only the names of secrets used.
public struct EgressRecord: Sendable, Codable, Hashable {
    public var id: String
    public var startedAt: Date
    public var host: String
    public var port: Int
    /// The HTTP method, or "CONNECT" for a tunnel whose content was not parsed.
    public var method: String
    /// The request target in origin-form, when the proxy could see it.
    public var path: String?
    /// "http" (plain, parsed), "tunnel" (opaque bytes), or "https-intercepted".
    public var scheme: String
    /// Whether policy let the request through.
    public var allowed: Bool
    /// Why it was refused; on an allowed record, why it ended early (budget, upstream).
    public var reason: String?
    /// Bytes read from the sandbox side of the connection.
    public var bytesUp: Int
    /// Bytes written to the sandbox side of the connection.
    public var bytesDown: Int
    public var durationMs: Int
    /// Names of the secrets substituted into this request.
    public var secrets: [String]
    /// The tag set with `EgressProxy.setTag` when the connection began.
    public var tag: String?

    public init(id: String, startedAt: Date, host: String, port: Int, method: String, path: String?,
                scheme: String, allowed: Bool, reason: String?, bytesUp: Int, bytesDown: Int,
                durationMs: Int, secrets: [String], tag: String?) {
        self.id = id
        self.startedAt = startedAt
        self.host = host
        self.port = port
        self.method = method
        self.path = path
        self.scheme = scheme
        self.allowed = allowed
        self.reason = reason
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.durationMs = durationMs
        self.secrets = secrets
        self.tag = tag
    }
}
