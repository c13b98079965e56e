import Foundation
import NIOCore
import Synchronization

extension KubeClient {
    /// `run`, while the pod is checked every second: it gives up as soon as the pod or its
    /// `main` container has ended. On v1.20, an exec that reaches a container in the moment
    /// it dies (the kubelet still lists it, containerd has no task) fails inside containerd
    /// with a stream that never closes, so the exec would otherwise wait out its whole deadline.
    func runWatched(_ exec: KubeExec, timeout: Duration,
                    output: @escaping @Sendable (UInt8, ByteBuffer) -> Void) async throws(KubeError) -> ExecExit {
        let result = ExecResultBox()
        let outcome = await Race.run(timeout: timeout + .seconds(1),
                                     timedOut: KubeError(status: 0, reason: "Timeout", message: "the exec in pod \(exec.pod) ran past \(timeout)")) { (settle: @escaping @Sendable () -> Void) in
            Task {
                let ended: Result<ExecExit, KubeError>
                do throws(KubeError) {
                    ended = .success(try await self.run(exec, timeout: timeout, output: output))
                } catch {
                    ended = .failure(error)
                }
                result.set(ended)
                settle()
            }
            while true {
                try await Task.sleep(for: .seconds(1))
                if result.value != nil { return }
                let status: PodStatus
                do throws(KubeError) {
                    status = PodStatus(object: try await self.pod(exec.pod, namespace: exec.namespace))
                } catch {
                    guard error.isNotFound else { continue }
                    throw KubeError(status: 0, reason: "PodEnded", message: "pod \(exec.pod) is gone")
                }
                if status.mainEnded {
                    throw KubeError(status: 0, reason: "PodEnded", message: "the main container of pod \(exec.pod) has ended")
                }
            }
        }
        if let ended = result.value { return try ended.get() }
        if case .failure(let error) = outcome {
            throw error as? KubeError ?? KubeError(status: 0, reason: "ExecFailed", message: "\(error)")
        }
        throw KubeError(status: 0, reason: "ExecFailed", message: "the exec in pod \(exec.pod) ended without an outcome")
    }
}

/// The outcome of a watched exec, set by its task and read after the race.
final class ExecResultBox: Sendable {
    private let stored = Mutex<Result<ExecExit, KubeError>?>(nil)
    func set(_ result: Result<ExecExit, KubeError>) { stored.withLock { $0 = result } }
    var value: Result<ExecExit, KubeError>? { stored.withLock { $0 } }
}
