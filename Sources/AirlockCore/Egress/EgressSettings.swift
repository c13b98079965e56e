import AirlockModels

/// A run's egress through the proxy: what it may reach and which secrets it may use there.
/// Recorded in `run_started` without the secrets' values, so `resume` rebuilds it.
public struct EgressSettings: Sendable, Hashable {
    /// `HOST[:PORT]` entries as given (`*.example.com` allowed; no port: 80 and 443).
    public var allowHosts: [String]
    /// Names pinned to addresses (like curl's --resolve); these count as allowed explicitly.
    public var resolve: [String: [String]] = [:]
    /// Let allowed names resolve to loopback, link-local and private addresses.
    public var allowPrivate = false
    public var secrets: [SecretBinding] = []
    /// Extra PEM roots the proxy trusts for its own TLS connections to secret hosts.
    public var upstreamTrustRootsPEM: [String] = []
    /// The loopback port inside the sandbox where programs find the proxy.
    public var port = 3128

    public init(allowHosts: [String]) {
        self.allowHosts = allowHosts
    }

    /// A secret the sandbox sees only as a placeholder; the proxy puts the value in request
    /// headers bound for `hosts`. The value is never part of this struct.
    public struct SecretBinding: Sendable, Hashable {
        /// The environment variable, inside the sandbox and in the harness.
        public var name: String
        public var hosts: [String]
        /// What `$name` holds inside the sandbox; recorded so a resumed run keeps it.
        public var placeholder: String

        public init(name: String, hosts: [String], placeholder: String) {
            self.name = name
            self.hosts = hosts
            self.placeholder = placeholder
        }
    }

    /// As recorded in `run_started`: names, hosts and placeholders, never values.
    public var ledgerPayload: JSONValue {
        .object([
            "allow_hosts": .array(allowHosts.map { .string($0) }),
            "resolve": .object(resolve.mapValues { .array($0.map { .string($0) }) }),
            "allow_private": .bool(allowPrivate),
            "secrets": .array(secrets.map {
                .object(["name": .string($0.name), "hosts": .array($0.hosts.map { .string($0) }),
                         "placeholder": .string($0.placeholder)])
            }),
            "upstream_trust_roots": .int(upstreamTrustRootsPEM.count),
            "port": .int(port),
        ])
    }

    /// Read back from `run_started`. Extra trust roots are not recorded (only their count):
    /// a resumed run that needs them gets them again from its command line.
    public init?(recorded payload: JSONValue?) {
        guard let payload, case .array(let allow)? = payload["allow_hosts"] else { return nil }
        self.init(allowHosts: allow.compactMap(\.stringValue))
        if case .object(let pins)? = payload["resolve"] {
            for (host, value) in pins {
                if case .array(let addresses) = value { resolve[host] = addresses.compactMap(\.stringValue) }
            }
        }
        allowPrivate = payload["allow_private"] == .bool(true)
        if case .array(let items)? = payload["secrets"] {
            secrets = items.compactMap { item in
                guard let name = item["name"]?.stringValue, let placeholder = item["placeholder"]?.stringValue,
                      case .array(let hosts)? = item["hosts"] else { return nil }
                return SecretBinding(name: name, hosts: hosts.compactMap(\.stringValue), placeholder: placeholder)
            }
        }
        port = payload["port"]?.intValue ?? port
    }
}
