import AirlockKubernetes
import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Testing

/// The kubernetes backend on the real test cluster: the pod it makes, the guest in it,
/// exec statuses, and what is left after (nothing).
@Suite("kubernetes: sandboxes as pods on a real cluster", .serialized, .timeLimit(.minutes(3)))
struct PodSandboxTests {
    @Test("a guest in a hardened pod: commands run as the unprivileged uid, no service-account token, files stay in /workspace; kill deletes the pod")
    func sandboxInPod() async throws {
        guard TestCluster.present("sandboxInPod") else { return }
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend().start(SandboxConfiguration(workspace: workspace))
        }
        let pod = try #require(sandbox as? KubernetesSandbox)
        do {
            let id = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(argv: ["id", "-u"], timeoutMs: 10_000)) }
            #expect(String(decoding: id.stdout, as: UTF8.self) == "65532\n", "the pod runs as the unprivileged uid")
            let token = try await withLimit(.seconds(20)) {
                try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", "ls /var/run/secrets/kubernetes.io/serviceaccount/token; cat /run/secrets/kubernetes.io/serviceaccount/token"], timeoutMs: 10_000))
            }
            #expect(token.status.code != 0, "no service-account token is mounted: \(String(decoding: token.stdout, as: UTF8.self))")
            let write = try await withLimit(.seconds(20)) {
                try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", "echo hi > /workspace/a && echo no > /etc/x"], timeoutMs: 10_000))
            }
            #expect(write.status.code != 0, "the root file system is read-only")
            let read = try await withLimit(.seconds(20)) { try await sandbox.guest.call(.readFile(PathRequest(path: "a"))) }
            guard case .file(let file) = read else {
                Issue.record("read_file answered \(read.type)")
                await sandbox.kill()
                return
            }
            #expect(String(decoding: file.content, as: UTF8.self) == "hi\n")
            let details = sandbox.ledgerDetails
            #expect(details["pod"] == pod.podName && details["node"] == "localhost" && details["pod_uid"]?.isEmpty == false)
        } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
        #expect(FileManager.default.contents(atPath: workspace + "/a") == Data("hi\n".utf8), "the pod's /workspace came back to the host")
        let left = try await TestCluster.airlockPods(client)
        #expect(!left.contains(pod.podName), "the pod is gone after kill: \(left)")
    }

    @Test("the guest in a pod runs with --heartbeat and the harness's pings keep it: a call longer than the heartbeat finishes")
    func heartbeatKeepsTheGuest() async throws {
        guard TestCluster.present("heartbeatKeepsTheGuest") else { return }
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend().start(SandboxConfiguration(workspace: workspace))
        }
        do {
            // The guest's own command line says it watches for silence.
            let line = try await withLimit(.seconds(20)) {
                try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", "cat /proc/$PPID/cmdline | tr '\\0' ' '"], timeoutMs: 10_000))
            }
            #expect(String(decoding: line.stdout, as: UTF8.self).contains("--heartbeat 30"), "\(String(decoding: line.stdout, as: UTF8.self))")
            let long = try await withLimit(.seconds(80)) {
                try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", "sleep 36; echo still here"], timeoutMs: 70_000))
            }
            #expect(long.status.code == 0 && String(decoding: long.stdout, as: UTF8.self) == "still here\n",
                    "a 36 s call outlived a 30 s heartbeat: \(long.status) \(String(decoding: long.stderr, as: UTF8.self))")
            #expect(sandbox.isAlive)
        } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
    }

    @Test("the created pod meets the restricted Pod Security Standard, field by field")
    func restrictedProfile() async throws {
        guard TestCluster.present("restrictedProfile") else { return }
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend { $0.runtimeClass = "runc" }.start(SandboxConfiguration(workspace: workspace))
        }
        let kube = try #require(sandbox as? KubernetesSandbox)
        let object: [String: Any]
        do { object = try await client.pod(kube.podName, namespace: kube.namespace) } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
        let violations = RestrictedProfile.violations(object)
        #expect(violations.isEmpty, "restricted profile violations: \(violations)")
        let spec = object["spec"] as? [String: Any] ?? [:]
        #expect(spec["automountServiceAccountToken"] as? Bool == false)
        #expect(spec["enableServiceLinks"] as? Bool == false)
        #expect(spec["restartPolicy"] as? String == "Never")
        #expect(spec["terminationGracePeriodSeconds"] as? Int == 0)
        #expect((spec["activeDeadlineSeconds"] as? Int ?? 0) > 0)
        #expect(spec["dnsPolicy"] as? String == "None")
        #expect(spec["runtimeClassName"] as? String == "runc")
        let containers = spec["containers"] as? [[String: Any]] ?? []
        #expect(containers.map { $0["name"] as? String } == ["guest", "main"], "the guest's container first: \(containers.map { $0["name"] ?? "?" })")
        #expect(spec["initContainers"] == nil, "no init container")
        for container in containers {
            let name = container["name"] as? String ?? "?"
            let resources = container["resources"] as? [String: Any] ?? [:]
            #expect(resources["requests"] as? [String: String] == resources["limits"] as? [String: String], "\(name): requests = limits")
            for resource in ["cpu", "memory", "ephemeral-storage"] {
                #expect((resources["limits"] as? [String: String])?[resource] != nil, "\(name): a \(resource) limit")
            }
        }
        let status = object["status"] as? [String: Any] ?? [:]
        #expect(status["qosClass"] as? String == "Guaranteed", "\(status["qosClass"] ?? "no QoS class")")
        // The guest's volume: written only by the `guest` container's postStart hook, read-only in `main`.
        func guestMount(_ name: String) -> [String: Any]? {
            let container = containers.first { $0["name"] as? String == name }
            return (container?["volumeMounts"] as? [[String: Any]])?.first { $0["name"] as? String == "airlock-guest" }
        }
        #expect(guestMount("main")?["readOnly"] as? Bool == true)
        #expect(guestMount("guest")?["readOnly"] as? Bool != true)
        let guest = containers.first { $0["name"] as? String == "guest" } ?? [:]
        let hook = ((guest["lifecycle"] as? [String: Any])?["postStart"] as? [String: Any])?["exec"] as? [String: Any]
        #expect((hook?["command"] as? [String])?.contains("--install") == true, "\(guest["lifecycle"] ?? "no lifecycle")")
        #expect(guest["command"] as? [String] == ["/airlock/airlock-guest", "--idle", "--until-main-ends"])
        let volumes = spec["volumes"] as? [[String: Any]] ?? []
        for name in ["workspace", "tmp", "home"] {
            let volume = volumes.first { $0["name"] as? String == name }
            #expect((volume?["emptyDir"] as? [String: Any])?["sizeLimit"] != nil, "\(name) is a size-limited emptyDir")
        }
        let labels = (object["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        #expect(labels["airlock.dev/sandbox"] == sandbox.id)
    }

    @Test("main's pid 1 killed from the host: the guest container follows, the pod ends (Failed) rather than live on without main")
    func podEndsWithMain() async throws {
        guard TestCluster.present("podEndsWithMain") else { return }
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend().start(SandboxConfiguration(workspace: ""))
        }
        let kube = try #require(sandbox as? KubernetesSandbox)
        // `main`'s idle pid 1, by its command line and the pod's cgroup (not the guest container's).
        let uid = kube.pod.uid
        let victims = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map {
                String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self) } ?? ""
            let cgroup = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
            return cmdline.hasPrefix("/opt/airlock/airlock-guest --idle")
                && (cgroup.contains("pod\(uid)") || cgroup.contains("pod\(uid.replacingOccurrences(of: "-", with: "_"))"))
        }
        guard victims.count == 1 else {
            await sandbox.kill()
            Issue.record("exactly one idle main process of the pod: \(victims)")
            return
        }
        kill(victims[0], SIGKILL)
        var last = PodStatus(object: [:])
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let object = try? await client.pod(kube.podName, namespace: kube.namespace) {
                last = PodStatus(object: object)
                if last.phase == "Failed" { break }
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        await sandbox.kill()
        #expect(last.phase == "Failed", "the pod outlived main: phase \(last.phase)")
        let statuses = (last.object["status"] as? [String: Any])?["containerStatuses"] as? [[String: Any]] ?? []
        let guest = statuses.first { $0["name"] as? String == "guest" }
        let ended = (guest?["state"] as? [String: Any])?["terminated"] as? [String: Any]
        #expect(ended?["exitCode"] as? Int == 0, "the guest container ended on its own: \(guest ?? [:])")
    }

    @Test("exec statuses over the WebSocket: 0, a non-zero code, output on both channels; a missing command is never exit 0")
    func execStatuses() async throws {
        guard TestCluster.present("execStatuses") else { return }
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend().start(SandboxConfiguration(workspace: workspace))
        }
        guard let kube = sandbox as? KubernetesSandbox else {
            await sandbox.kill()
            Issue.record("not a pod sandbox")
            return
        }
        // Killed before the workspace goes (the defers run after): its copy back needs it.
        do { try await checkStatuses(client, kube) } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
    }

    func checkStatuses(_ client: KubeClient, _ kube: KubernetesSandbox) async throws {
        func run(_ command: [String]) async throws -> (ExecExit, String, String) {
            let out = Collected()
            let exit = try await client.run(KubeExec(pod: kube.podName, namespace: kube.namespace, command: command),
                                            timeout: .seconds(20)) { channel, buffer in
                out.append(channel, String(buffer: buffer))
            }
            return (exit, out.text(1), out.text(2))
        }
        let ok = try await run(["sh", "-c", "echo out; echo err >&2"])
        #expect(ok.0 == .code(0))
        #expect(ok.1 == "out\n" && ok.2 == "err\n")
        #expect(try await run(["sh", "-c", "exit 3"]).0 == .code(3))
        let big = try await run(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"])
        #expect(big.1.count == 300_000, "large output arrives whole across messages")
        let missing = try await run(["/no/such/command"])
        #expect(missing.0 != .code(0), "a command that never ran is not success: \(missing.0)")
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [UInt8: String] = [:]
    func append(_ channel: UInt8, _ text: String) { lock.withLock { parts[channel, default: ""] += text } }
    func text(_ channel: UInt8) -> String { lock.withLock { parts[channel] ?? "" } }
}
