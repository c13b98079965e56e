import AirlockSandbox
import Foundation
import Synchronization

/// From a created pod to a greeting guest with the workspace in, as soon as the kubelet has
/// `main` running. The status says so only at the kubelet's next relist (up to 1 s later), so
/// `main` is probed with an exec, and the probe is real work: the workspace copy (else the
/// guest's `--help`). The moment its exec gets through, `main` runs and the guest is started
/// beside the copy; no request reaches the guest before both are done.
extension KubernetesBackend {
    func launch(pod: String, id: String, namespace: String, client: KubeClient, began: ContinuousClock.Instant,
                workspace: WorkspaceSync?, egress: EgressAttachment?) async throws(SandboxError) -> KubernetesSandbox {
        // Packed once, here: the probe may send it several times before `main` takes it.
        var archive: Data?
        if let workspace {
            do throws(SandboxError) {
                archive = try workspace.pack().archive
            } catch {
                await client.deletePodAndWait(pod, namespace: namespace)
                await client.shutdown()
                throw error
            }
        }
        let packed = archive
        let guest = GuestStart()
        let copyFailure = Mutex<SandboxError?>(nil)
        let observer = phaseObserver
        let syncTimeout = options.syncTimeout
        let startGuest: @Sendable (PodStatus) -> Void = { status in
            observer?("running")
            guest.start {
                do throws(SandboxError) {
                    return .success(try await attach(pod: status, id: id, namespace: namespace, client: client, began: began, egress: egress))
                } catch {
                    return .failure(error)
                }
            }
        }
        let probe: @Sendable (PodStatus) async -> Bool = { status in
            guard let packed else {
                let help = KubeExec(pod: pod, namespace: namespace,
                                    command: GuestImage.launch(directory: GuestImage.installDirectory, arguments: ["--help"]))
                guard (try? await client.run(help, timeout: .seconds(5)) { _, _ in }) == .code(0) else { return false }
                startGuest(status)
                return true
            }
            let opened = ExecOpened { startGuest(status) }
            do throws(SandboxError) {
                try await client.copyWorkspaceIn(packed, pod: pod, namespace: namespace, timeout: syncTimeout, opened: opened)
                observer?("workspace")
            } catch {
                // Refused before it opened: `main` is not running yet.
                guard opened.happened else { return false }
                copyFailure.withLock { $0 = error }
            }
            return true
        }
        do {
            _ = try await client.waitForRunning(pod, namespace: namespace, timeout: options.startTimeout, probe: probe)
        } catch {
            if case .success(let sandbox) = await guest.result() { await sandbox.kill() }
            await client.deletePodAndWait(pod, namespace: namespace)
            await client.shutdown()
            throw SandboxError(.startFailed, "Kubernetes: pod \(pod) did not start: \(error.message)", fix: Self.startFix(error))
        }
        var failure = copyFailure.withLock { $0 }
        if failure == nil, let egress, let trust = PodEgress.trustArchive(egress) {
            do {
                try await client.unpack(trust, into: GuestImage.runDirectory, what: "the egress CA", pod: pod,
                                        namespace: namespace, timeout: .seconds(30))
            } catch {
                failure = error
            }
        }
        switch await guest.result() {
        case .success(let sandbox):
            if let failure {
                await sandbox.kill()
                throw failure
            }
            return sandbox
        case .failure(let error):
            // The failed attach deleted the pod and closed the client.
            throw failure ?? error
        case nil:
            await client.deletePodAndWait(pod, namespace: namespace)
            await client.shutdown()
            throw failure ?? SandboxError(.startFailed, "Kubernetes: the guest in pod \(pod) was never started")
        }
    }
}

/// The guest's attach, started at most once from whichever probe gets through first.
final class GuestStart: Sendable {
    private let task = Mutex<Task<Result<KubernetesSandbox, SandboxError>, Never>?>(nil)

    func start(_ body: @escaping @Sendable () async -> Result<KubernetesSandbox, SandboxError>) {
        task.withLock { task in
            if task == nil { task = Task { await body() } }
        }
    }

    /// Its outcome, or nil when it was never started.
    func result() async -> Result<KubernetesSandbox, SandboxError>? {
        guard let task = task.withLock({ $0 }) else { return nil }
        return await task.value
    }
}
