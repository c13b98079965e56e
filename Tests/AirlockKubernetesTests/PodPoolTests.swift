import AirlockCore
import AirlockKubernetes
import AirlockSandbox
import Foundation
import Testing

/// A warm pool never starts pods ahead: a pod is labelled with its run when it is created.
@Suite("kubernetes: pods are not pooled")
struct PodPoolTests {
    @Test("--warm with the kubernetes tier starts nothing ahead and hands nothing out; its runs start cold")
    func notPooled() async throws {
        // A context that does not exist: a start attempt would be counted as a failure, so an
        // idle pool shows that none was made (and a cluster, if there were one, gets no pod).
        var options = KubernetesOptions(image: "docker.io/probe/sandbox:1")
        options.kubeconfig = "/nonexistent/kubeconfig"
        let backend = KubernetesBackend(options: options)
        #expect(!backend.poolable)
        let pool = WarmPool(size: 2)
        let configuration = SandboxConfiguration(workspace: NSTemporaryDirectory())
        await pool.expect([(backend: backend, configuration: configuration), (backend: backend, configuration: configuration)])
        try await Task.sleep(for: .milliseconds(500))
        let stats = await pool.stats
        #expect(stats.started == 0 && stats.startFailures == 0, "\(stats)")
        #expect(await pool.take(configuration, backend: backend.name) == nil)
        await pool.shutdown()
    }
}
