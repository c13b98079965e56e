import AirlockKubernetes
import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Testing

/// The exec path repeated, to catch a Status lost under load (docs/kubernetes.md, "the
/// flake"): opt in with AIRLOCK_K8S_STRESS=ROUNDS; run it beside other load.
@Suite("kubernetes: exec statuses, repeated (opt in)", .serialized)
struct ExecStressTests {
    @Test("every round: a pod with a workspace, one-shot execs with their statuses, guest execs, the copy back; no Status lost")
    func repeatedExecs() async throws {
        guard TestCluster.present("repeatedExecs") else { return }
        guard let rounds = Int(ProcessInfo.processInfo.environment["AIRLOCK_K8S_STRESS"] ?? "") else {
            print("skipping repeatedExecs: set AIRLOCK_K8S_STRESS=ROUNDS to run it (minutes per 20 rounds)")
            return
        }
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        for round in 0..<rounds {
            let workspace = try TestCluster.workspace()
            defer { try? FileManager.default.removeItem(atPath: workspace) }
            try Data("hello\n".utf8).write(to: URL(fileURLWithPath: workspace + "/f"))
            let sandbox = try await withLimit(.seconds(90)) {
                try await TestCluster.backend().start(SandboxConfiguration(workspace: workspace))
            }
            let kube = try #require(sandbox as? KubernetesSandbox)
            do {
                for (command, expected) in [(["sh", "-c", "echo out; echo err >&2"], ExecExit.code(0)), (["sh", "-c", "sleep 0.2; exit 3"], .code(3))] {
                    let exit = try await client.run(KubeExec(pod: kube.podName, namespace: kube.namespace, command: command),
                                                    timeout: .seconds(30)) { _, _ in }
                    #expect(exit == expected, "round \(round): \(command) ended \(exit)")
                }
                let missing = try await client.run(KubeExec(pod: kube.podName, namespace: kube.namespace, command: ["/no/such"]),
                                                   timeout: .seconds(30)) { _, _ in }
                #expect(missing != .code(0), "round \(round): a command that never ran is not success")
                let read = try await withLimit(.seconds(30)) { try await sandbox.guest.exec(ExecRequest(argv: ["cat", "/workspace/f"], timeoutMs: 20_000)) }
                #expect(read.stdout == Data("hello\n".utf8), "round \(round): the workspace reached the pod")
                _ = try await withLimit(.seconds(30)) {
                    try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", "echo \(round) > /workspace/g"], timeoutMs: 20_000))
                }
            } catch {
                await sandbox.kill()
                throw error
            }
            await sandbox.kill()
            #expect(kube.endDetails["workspace_error"] == nil, "round \(round): \(kube.endDetails)")
            #expect(FileManager.default.contents(atPath: workspace + "/g") == Data("\(round)\n".utf8), "round \(round): the copy back")
        }
    }
}
