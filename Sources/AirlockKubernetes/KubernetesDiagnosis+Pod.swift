import AirlockProtocol
import AirlockSandbox
import Foundation

/// `airlock doctor --sandbox kubernetes`, past the context and the rights: the runtime class,
/// a real sandbox pod (created, its guest greeting, one request answered, deleted), and from
/// that pod whether the cluster enforces the default-deny NetworkPolicy.
extension KubernetesDiagnosis {
    public static func podChecks(options: KubernetesOptions, timeout: Duration = .seconds(5)) async -> [Check] {
        let backend = KubernetesBackend(options: options)
        let client: KubeClient
        do { client = try backend.client() } catch {
            return [Check(name: "pod", ok: false, detail: error.message, fix: error.fix)]
        }
        var checks: [Check] = []
        if let runtimeClass = options.runtimeClass {
            checks.append(await runtimeClassCheck(runtimeClass, client: client, timeout: timeout))
        }
        let began = ContinuousClock.now
        let started: any Sandbox
        do {
            started = try await backend.start(SandboxConfiguration(workspace: ""))
        } catch {
            await client.shutdown()
            checks.append(Check(name: "pod", ok: false, detail: error.message, fix: error.fix))
            return checks
        }
        let took = (ContinuousClock.now - began).components
        let seconds = Double(took.seconds) + Double(took.attoseconds) / 1e18
        guard let sandbox = started as? KubernetesSandbox else {
            await started.kill()
            await client.shutdown()
            return checks
        }
        do {
            _ = try await sandbox.guest.call(.listFiles(PathRequest(path: ".")))
            let details = sandbox.ledgerDetails
            checks.append(Check(name: "pod", ok: true,
                                detail: "pod \(sandbox.podName) on node \(details["node"] ?? "?") started and answered in \(String(format: "%.1f", seconds)) s (image \(options.image)\(options.runtimeClass.map { ", runtime class \($0)" } ?? "")); deleted",
                                fix: nil))
        } catch {
            checks.append(Check(name: "pod", ok: false, detail: "the guest in pod \(sandbox.podName) did not answer: \(error.message)",
                                fix: "check the guest image matches this airlock (airlock image guest -o FILE)"))
        }
        checks.append(await policyCheck(pod: sandbox.podName, namespace: sandbox.namespace, client: client))
        await sandbox.kill()
        await client.shutdown()
        return checks
    }

    static func runtimeClassCheck(_ name: String, client: KubeClient, timeout: Duration) async -> Check {
        do {
            let data = try await client.call(.GET, "/apis/node.k8s.io/v1/runtimeclasses/\(name)", timeout: timeout)
            let handler = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["handler"] as? String ?? "?"
            return Check(name: "runtime class", ok: true, detail: "\(name) (handler \(handler))", fix: nil)
        } catch {
            if error.status == 404 {
                return Check(name: "runtime class", ok: false, detail: "the cluster has no runtime class \(name)",
                             fix: "`kubectl get runtimeclass` lists them; install the runtime (e.g. gVisor's runsc) or drop --runtime-class")
            }
            if error.isForbidden {
                return Check(name: "runtime class", ok: true,
                             detail: "\(name): not readable with these rights (runtime classes are cluster-wide); the pod below uses it", fix: nil)
            }
            return Check(name: "runtime class", ok: false, detail: error.message, fix: nil)
        }
    }

    /// From inside the pod, a TCP connection to the apiserver (resolved here: a pod has no
    /// DNS). A policy-enforcing network plugin blocks it; one that ignores NetworkPolicy lets
    /// it through. An apiserver on loopback cannot tell the two apart, so it is not probed.
    static func policyCheck(pod: String, namespace: String, client: KubeClient) async -> Check {
        let name = "network policy"
        guard let url = URL(string: client.config.server), let host = url.host else {
            return Check(name: name, ok: false, detail: "cannot read the apiserver's address from \(client.config.server)", fix: nil)
        }
        let port = url.port ?? (url.scheme == "http" ? 80 : 443)
        let addresses = resolve(host)
        guard let address = addresses.first else {
            return Check(name: name, ok: false, detail: "cannot resolve the apiserver's host \(host) to probe from the pod", fix: nil)
        }
        if addresses.allSatisfy(isLoopback) {
            return Check(name: name, ok: true,
                         detail: "not probed: the apiserver is on loopback (\(host)), out of a pod's reach either way; whether NetworkPolicy is enforced depends on the cluster's network plugin",
                         fix: nil)
        }
        let exit: ExecExit
        do {
            exit = try await client.run(KubeExec(pod: pod, namespace: namespace,
                                                 command: GuestImage.launch(directory: GuestImage.installDirectory,
                                                                            arguments: ["--probe-tcp", address, String(port)])),
                                        timeout: .seconds(20)) { _, _ in }
        } catch {
            return Check(name: name, ok: false, detail: "the probe from pod \(pod) failed: \(error.message)", fix: nil)
        }
        switch exit {
        case .code(0):
            return Check(name: name, ok: false,
                         detail: "a sandbox pod reached the apiserver at \(address):\(port): the default-deny policy airlock-sandbox-deny-egress is not enforced (the network plugin ignores NetworkPolicy)",
                         fix: "use a network plugin that enforces NetworkPolicy (e.g. Calico, Cilium), or run sandboxes where the pod network reaches nothing of value")
        case .code(1), .code(2):
            return Check(name: name, ok: true, detail: "enforced: a sandbox pod could not reach the apiserver at \(address):\(port)", fix: nil)
        default:
            return Check(name: name, ok: false, detail: "the probe from pod \(pod) ended \(exit)", fix: nil)
        }
    }

    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(text) { addresses.append(text) }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }
}
