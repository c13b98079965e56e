import Foundation
import Yams

/// How to reach and authenticate to one cluster: what a kubeconfig's context resolves to,
/// or the in-cluster service account.
public struct KubeConfig: Sendable, Hashable {
    public var server: String
    /// PEM of the CA that signs the apiserver's certificate (nil: the system trust store).
    public var certificateAuthorityPEM: String?
    /// A bearer token given inline.
    public var token: String?
    /// A file holding the bearer token, re-read on every request (service-account tokens rotate).
    public var tokenFile: String?
    public var clientCertificatePEM: String?
    public var clientKeyPEM: String?
    /// The name the apiserver's certificate is checked against, when not the server's host.
    public var tlsServerName: String?
    public var insecureSkipTLSVerify = false
    /// The context's namespace, if it names one.
    public var namespace: String?
    /// The context's name (for messages and the ledger).
    public var context: String

    public init(server: String, context: String) {
        self.server = server
        self.context = context
    }

    /// The bearer token for the next request: the file's current contents when there is one.
    public func bearerToken() -> String? {
        if let tokenFile, let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }

    /// The kubeconfig named by `path`, else $KUBECONFIG (its first file), else ~/.kube/config;
    /// `context` overrides its current context.
    public static func load(path: String? = nil, context: String? = nil) throws(KubeError) -> KubeConfig {
        let environment = ProcessInfo.processInfo.environment
        let file = path ?? environment["KUBECONFIG"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? (environment["HOME"] ?? "/root") + "/.kube/config"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            if path == nil, let inCluster = try? Self.inCluster() { return inCluster }
            throw KubeError(status: 0, message: "cannot read the kubeconfig \(file)")
        }
        return try parse(text, context: context, directory: (file as NSString).deletingLastPathComponent)
    }

    /// Parses kubeconfig YAML; relative file paths in it are relative to `directory`.
    public static func parse(_ text: String, context wanted: String? = nil, directory: String = ".") throws(KubeError) -> KubeConfig {
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: text) as? [String: Any] else {
                throw KubeError(status: 0, message: "the kubeconfig is not a YAML mapping")
            }
            root = loaded
        } catch let error as KubeError {
            throw error
        } catch {
            throw KubeError(status: 0, message: "the kubeconfig is not valid YAML: \(error)")
        }
        guard let name = wanted ?? root["current-context"] as? String, !name.isEmpty else {
            throw KubeError(status: 0, message: "the kubeconfig has no current-context; pass --kube-context")
        }
        func named(_ list: String, _ key: String, _ item: String) -> [String: Any]? {
            let entries = root[list] as? [[String: Any]] ?? []
            return entries.first { $0["name"] as? String == item }?[key] as? [String: Any]
        }
        guard let context = named("contexts", "context", name) else {
            let known = (root["contexts"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            throw KubeError(status: 0, message: "the kubeconfig has no context \(name) (it has: \(known.joined(separator: ", ")))")
        }
        guard let clusterName = context["cluster"] as? String, let cluster = named("clusters", "cluster", clusterName),
              let server = cluster["server"] as? String else {
            throw KubeError(status: 0, message: "context \(name) names no cluster with a server")
        }
        let user = (context["user"] as? String).flatMap { named("users", "user", $0) } ?? [:]
        func path(_ value: Any?) -> String? {
            guard let value = value as? String, !value.isEmpty else { return nil }
            return value.hasPrefix("/") ? value : directory + "/" + value
        }
        func pem(data: Any?, file: Any?, what: String) throws(KubeError) -> String? {
            if let encoded = data as? String {
                guard let decoded = Data(base64Encoded: encoded), let text = String(data: decoded, encoding: .utf8) else {
                    throw KubeError(status: 0, message: "\(what) data in context \(name) is not base64 PEM")
                }
                return text
            }
            guard let file = path(file) else { return nil }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw KubeError(status: 0, message: "cannot read \(what) file \(file)")
            }
            return text
        }
        var config = KubeConfig(server: server, context: name)
        config.certificateAuthorityPEM = try pem(data: cluster["certificate-authority-data"], file: cluster["certificate-authority"], what: "the CA")
        config.tlsServerName = cluster["tls-server-name"] as? String
        config.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] as? Bool ?? false
        config.token = user["token"] as? String
        config.tokenFile = path(user["tokenFile"])
        config.clientCertificatePEM = try pem(data: user["client-certificate-data"], file: user["client-certificate"], what: "the client certificate")
        config.clientKeyPEM = try pem(data: user["client-key-data"], file: user["client-key"], what: "the client key")
        config.namespace = context["namespace"] as? String
        if user["exec"] != nil && config.token == nil && config.tokenFile == nil && config.clientCertificatePEM == nil {
            throw KubeError(status: 0, message: "context \(name) authenticates with an exec plugin, which Airlock does not run; use a token or client certificate")
        }
        return config
    }

    /// The pod's own service account, for a harness that runs inside the cluster.
    public static func inCluster(root: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubeError) -> KubeConfig {
        let environment = ProcessInfo.processInfo.environment
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
              access(root + "/token", R_OK) == 0 else {
            throw KubeError(status: 0, message: "not inside a cluster (no KUBERNETES_SERVICE_HOST or service-account token)")
        }
        let server = host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
        var config = KubeConfig(server: server, context: "in-cluster")
        config.tokenFile = root + "/token"
        config.certificateAuthorityPEM = try? String(contentsOfFile: root + "/ca.crt", encoding: .utf8)
        config.namespace = (try? String(contentsOfFile: root + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return config
    }
}
