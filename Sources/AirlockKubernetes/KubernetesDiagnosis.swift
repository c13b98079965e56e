import AsyncHTTPClient
import Foundation

/// `airlock doctor`'s checks of the kubernetes tier, each with the fix when it fails: a
/// kubeconfig (or the in-cluster account), the apiserver answering, and the rights the
/// harness needs in the namespace (asked with SelfSubjectAccessReviews, so nothing is created).
public enum KubernetesDiagnosis {
    public struct Check: Sendable, Codable {
        public var name: String
        public var ok: Bool
        public var detail: String
        public var fix: String?
    }

    /// Every right `--sandbox kubernetes` uses: (resource, subresource, verb).
    static let rights: [(String, String, String)] = [
        ("pods", "", "create"), ("pods", "", "get"), ("pods", "", "list"), ("pods", "", "delete"),
        ("pods", "exec", "create"), ("networkpolicies", "", "get"), ("networkpolicies", "", "create"),
    ]

    /// Whether a kubeconfig is there to check at all ($KUBECONFIG, ~/.kube/config, in-cluster).
    public static func configured(path: String?) -> Bool {
        if path != nil { return true }
        let environment = ProcessInfo.processInfo.environment
        if let value = environment["KUBECONFIG"], !value.isEmpty { return true }
        if FileManager.default.fileExists(atPath: (environment["HOME"] ?? "/root") + "/.kube/config") { return true }
        return FileManager.default.fileExists(atPath: "/var/run/secrets/kubernetes.io/serviceaccount/token")
    }

    /// The checks, each bounded by `timeout`; stops at the first that the next ones need.
    public static func run(kubeconfig: String?, context: String?, namespace: String?,
                           timeout: Duration = .seconds(5)) async -> [Check] {
        let config: KubeConfig
        do { config = try KubeConfig.load(path: kubeconfig, context: context) } catch {
            return [Check(name: "kubeconfig", ok: false, detail: error.message,
                          fix: "point --kubeconfig (or KUBECONFIG) at a readable kubeconfig; `kubectl config get-contexts` lists its contexts")]
        }
        let namespace = namespace ?? config.namespace ?? "default"
        var checks = [Check(name: "kubeconfig", ok: true,
                            detail: "context \(config.context), server \(config.server), namespace \(namespace)", fix: nil)]
        let client: KubeClient
        do { client = try KubeClient(config: config) } catch {
            checks.append(Check(name: "apiserver", ok: false, detail: error.message, fix: "fix the TLS material in the kubeconfig"))
            return checks
        }
        checks += await reachable(client, namespace: namespace, timeout: timeout)
        await client.shutdown()
        return checks
    }

    /// The apiserver, then the rights in `namespace`.
    static func reachable(_ client: KubeClient, namespace: String, timeout: Duration) async -> [Check] {
        let config = client.config
        var checks: [Check] = []
        do {
            let data = try await client.call(.GET, "/version", timeout: timeout)
            let version = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["gitVersion"] as? String ?? "?"
            checks.append(Check(name: "apiserver", ok: true, detail: "\(config.server) answers (Kubernetes \(version))", fix: nil))
        } catch {
            checks.append(Check(name: "apiserver", ok: false, detail: error.message,
                                fix: error.isUnauthorized ? "refresh the token or certificate of context \(config.context)"
                                    : "check the cluster is reachable from here: kubectl --context \(config.context) get --raw /readyz"))
            return checks
        }
        var missing: [String] = []
        for (resource, subresource, verb) in rights {
            let review: [String: Any] = [
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": ["resourceAttributes": ["namespace": namespace, "verb": verb, "resource": resource,
                                                "subresource": subresource,
                                                "group": resource == "networkpolicies" ? "networking.k8s.io" : ""]],
            ]
            let name = subresource.isEmpty ? "\(resource) \(verb)" : "\(resource)/\(subresource) \(verb)"
            do {
                let body = try JSONSerialization.data(withJSONObject: review)
                let answer = try await client.call(.POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: body, timeout: timeout)
                let status = ((try? JSONSerialization.jsonObject(with: answer)) as? [String: Any])?["status"] as? [String: Any]
                if status?["allowed"] as? Bool != true { missing.append(name) }
            } catch let error as KubeError {
                checks.append(Check(name: "namespace \(namespace)", ok: false, detail: "cannot ask the apiserver what is allowed: \(error.message)",
                                    fix: "grant the context's user the Role in docs/kubernetes.md (RBAC)"))
                return checks
            } catch {
                missing.append(name)
            }
        }
        checks.append(missing.isEmpty
            ? Check(name: "namespace \(namespace)", ok: true, detail: "allowed: pods create/get/list/delete, pods/exec, networkpolicies get/create", fix: nil)
            : Check(name: "namespace \(namespace)", ok: false, detail: "not allowed: \(missing.joined(separator: ", "))",
                    fix: "grant the context's user a Role in \(namespace) with pods create/get/list/watch/delete, pods/exec get/create and networkpolicies get/list/create (docs/kubernetes.md), or pick another --namespace"))
        return checks
    }
}
