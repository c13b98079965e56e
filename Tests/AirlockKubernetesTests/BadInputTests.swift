import AirlockKubernetes
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Testing

/// Bad input on the real cluster: each a clear error within a bound, and no pod left behind.
@Suite("kubernetes: bad input is a clear error, bounded, and leaves no pod", .serialized, .timeLimit(.minutes(3)))
struct BadInputTests {
    static let runID = "bad-input-\(getpid())"

    static func failure(_ given: KubernetesBackend, limit: Duration = .seconds(60)) async throws -> SandboxError? {
        var labelled = given
        labelled.options.runID = runID
        let backend = labelled
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        do {
            let sandbox = try await withLimit(limit) { try await backend.start(SandboxConfiguration(workspace: workspace)) }
            await sandbox.kill()
            return nil
        } catch let error as SandboxError {
            return error
        }
    }

    static func noAirlockPods() async throws -> [String] {
        let client = try TestCluster.client()
        defer { Task { await client.shutdown() } }
        let namespace = client.config.namespace ?? "default"
        // Only this suite's pods: the other suites run at the same time.
        return try await client.pods(namespace: namespace, selector: "airlock.dev/run=\(runID)").map { PodStatus(object: $0).name }
    }

    @Test("an image that does not exist: ErrImagePull (or its back-off) reported as such, the pod deleted")
    func missingImage() async throws {
        guard TestCluster.present("missingImage") else { return }
        let began = ContinuousClock.now
        let error = try #require(try await Self.failure(TestCluster.backend { $0.image = "docker.io/probe/no-such-image:1" }))
        #expect(error.kind == .startFailed)
        #expect(error.message.contains("ErrImagePull") || error.message.contains("ImagePullBackOff"), "\(error)")
        #expect(error.fix?.contains("image") == true)
        #expect(ContinuousClock.now - began < .seconds(45), "reported within the start bound, not a hang")
        #expect(try await Self.noAirlockPods().isEmpty)
    }

    @Test("a guest image without the guest in it: the guest container's failure reported as such, at once, the pod deleted")
    func guestImageWithoutGuest() async throws {
        guard TestCluster.present("guestImageWithoutGuest") else { return }
        let began = ContinuousClock.now
        // The sandbox image is busybox: no /airlock/airlock-guest to run or to copy.
        let error = try #require(try await Self.failure(TestCluster.backend { $0.guestImage = TestCluster.image }))
        #expect(error.kind == .startFailed)
        #expect(error.message.contains("container guest"), "\(error)")
        #expect(error.fix?.contains("--guest-image") == true, "\(error)")
        #expect(ContinuousClock.now - began < .seconds(30), "reported when the kubelet does, not at the start bound")
        #expect(try await Self.noAirlockPods().isEmpty)
    }

    @Test("a context the kubeconfig does not have: a configuration error naming it")
    func wrongContext() async throws {
        guard TestCluster.present("wrongContext") else { return }
        let error = try #require(try await Self.failure(TestCluster.backend { $0.context = "no-such-context" }))
        #expect(error.kind == .configuration)
        #expect(error.message.contains("no-such-context"), "\(error)")
    }

    @Test("a namespace the harness has no RBAC in: refused with the Role to grant")
    func noRBAC() async throws {
        guard TestCluster.present("noRBAC") else { return }
        let error = try #require(try await Self.failure(TestCluster.backend { $0.namespace = "default" }))
        #expect(error.kind == .configuration)
        #expect(error.message.contains("not allowed"), "\(error)")
        #expect(error.fix?.contains("Role") == true)
    }

    @Test("tls-server-name: REST calls go to the server's address under that name (one no DNS knows), and the apiserver answers")
    func tlsServerName() async throws {
        guard TestCluster.present("tlsServerName") else { return }
        var config = try KubeConfig.load(path: TestCluster.kubeconfig)
        // In the certificate, and unknown to this host's resolver: only the override reaches it.
        config.tlsServerName = "kubernetes.default.svc"
        let named = try KubeClient(config: config)
        let version = try await named.call(.GET, "/version")
        await named.shutdown()
        #expect(String(decoding: version, as: UTF8.self).contains("gitVersion"))
        // (A name the certificate lacks is not refused here: NIOSSL also accepts a match of
        // the peer's IP address, and the test apiserver's certificate names 127.0.0.1.)
    }

    @Test("a runtime class the cluster does not have: the pod spec is refused at creation")
    func unknownRuntimeClass() async throws {
        guard TestCluster.present("unknownRuntimeClass") else { return }
        let error = try #require(try await Self.failure(TestCluster.backend { $0.runtimeClass = "no-such-runtime" }))
        #expect(error.message.contains("no-such-runtime"), "\(error)")
        #expect(error.fix?.contains("kubectl get runtimeclass") == true, "the fix is about the runtime class, not RBAC: \(error)")
        #expect(try await Self.noAirlockPods().isEmpty)
    }

    @Test("a pod stuck Pending (requests no node can meet): an error after the start bound, the pod deleted")
    func stuckPending() async throws {
        guard TestCluster.present("stuckPending") else { return }
        let began = ContinuousClock.now
        let error = try #require(try await Self.failure(TestCluster.backend {
            $0.startTimeout = .seconds(5)
            $0.defaultMemoryBytes = 1 << 50
        }))
        #expect(error.message.contains("did not start within") && error.message.contains("Pending"), "\(error)")
        #expect(ContinuousClock.now - began < .seconds(30))
        #expect(try await Self.noAirlockPods().isEmpty)
    }
}
