/// How a sandbox with `network: .proxy` reaches the harness's egress proxy: the proxy's
/// Unix socket is bound in, the guest relays a loopback port to it, and programs find it
/// through the usual proxy variables. With TLS interception (secrets), the per-run CA is
/// added to the trust bundle programs read.
public struct EgressAttachment: Sendable, Hashable {
    /// Where the proxy's socket is inside the sandbox.
    public static let socketInside = "/run/airlock/egress.sock"
    /// The per-run CA alone, and the system bundle with it appended, inside the sandbox.
    public static let caInside = "/run/airlock/egress-ca.pem"
    public static let bundleInside = "/run/airlock/ca-bundle.pem"

    /// The proxy's listening socket on the host.
    public var socketOnHost: String
    /// The loopback port inside the sandbox that the guest relays.
    public var port: Int
    /// The per-run CA (PEM) to trust inside, when the proxy terminates TLS for some hosts.
    public var certificateAuthorityPEM: String?
    /// The host's CA bundle (PEM) and its path: inside, that path shows the bundle with the
    /// per-run CA appended, so programs that ignore the variables trust it too.
    public var systemBundlePEM: String?
    public var systemBundlePath: String?

    public init(socketOnHost: String, port: Int = 3128, certificateAuthorityPEM: String? = nil,
                systemBundlePEM: String? = nil, systemBundlePath: String? = nil) {
        self.socketOnHost = socketOnHost
        self.port = port
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.systemBundlePEM = systemBundlePEM
        self.systemBundlePath = systemBundlePath
    }

    /// The variables HTTP clients read: proxies (both spellings), and the CA bundle for
    /// OpenSSL, curl, Python requests, pip, git and Node.
    public var environment: [String: String] { environment(ca: Self.caInside, bundle: Self.bundleInside) }

    /// The same variables with the trust files at other paths (a pod's `/run` is read-only).
    public func environment(ca: String, bundle: String) -> [String: String] {
        let proxy = "http://127.0.0.1:\(port)"
        var env = [
            "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
            "http_proxy": proxy, "https_proxy": proxy, "all_proxy": proxy,
            "NO_PROXY": "", "no_proxy": "",
            // Node's built-in fetch reads the variables above only when told to (Node 24+).
            "NODE_USE_ENV_PROXY": "1",
        ]
        if certificateAuthorityPEM != nil {
            for key in ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                        "GIT_SSL_CAINFO"] {
                env[key] = bundle
            }
            env["NODE_EXTRA_CA_CERTS"] = ca
        }
        return env
    }

    /// The trust bundle shown inside: the system's roots followed by the per-run CA.
    public var bundlePEM: String? {
        guard let ca = certificateAuthorityPEM else { return nil }
        guard let system = systemBundlePEM, !system.isEmpty else { return ca }
        return system.hasSuffix("\n") ? system + ca : system + "\n" + ca
    }
}
