/// What the proxy lets through. Secret hosts must also be allowed by `allow`.
public struct EgressConfiguration: Sendable {
    public var allow: [EgressRule]
    /// Fixed answers for names, like curl's `--resolve`: `["api.test": ["127.0.0.1"]]`.
    /// An address given here is trusted even when it is loopback or private.
    public var resolve: [String: [String]]
    /// Lets resolved names reach loopback, link-local and private addresses.
    public var allowPrivate: Bool
    public var secrets: [EgressSecret]
    /// Total bytes to and from the sandbox over all connections; nil is unlimited.
    public var maxBytes: Int?
    /// Extra roots (PEM) trusted for upstream TLS when intercepting, beside the system's.
    public var upstreamTrustRootsPEM: [String]
    /// Connections open at once; past it new ones are closed at once. The sandbox must not
    /// be able to spend the harness's file descriptors.
    public var maxConnections = 256
    /// Time a new connection has to name its destination before it is closed.
    public var firstRequestTimeout: Duration = .seconds(30)

    public init(allow: [EgressRule], resolve: [String: [String]] = [:], allowPrivate: Bool = false,
                secrets: [EgressSecret] = [], maxBytes: Int? = nil, upstreamTrustRootsPEM: [String] = []) {
        self.allow = allow
        self.resolve = resolve
        self.allowPrivate = allowPrivate
        self.secrets = secrets
        self.maxBytes = maxBytes
        self.upstreamTrustRootsPEM = upstreamTrustRootsPEM
    }
}
