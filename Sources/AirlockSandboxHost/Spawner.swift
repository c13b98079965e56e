import AirlockSandbox
import CAirlockSys
import AirlockStreams
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Forks sandboxes from one thread that lives as long as the process.
///
/// `--die-with-parent` and PR_SET_PDEATHSIG fire when the *thread* that forked the child
/// exits, not the process. Swift's pool threads may come and go, which would kill healthy
/// sandboxes; forking from a thread that never ends ties each sandbox to the harness
/// process as intended.
package final class Spawner: Sendable {
    package static let shared = Spawner()

    private let pending = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        OSThread.start(name: "airlock-spawner") { [self] in
            while true {
                wake.wait()
                let jobs = pending.withLock { jobs -> [@Sendable () -> Void] in
                    defer { jobs.removeAll() }
                    return jobs
                }
                jobs.forEach { $0() }
            }
        }
    }

    package func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            pending.withLock { $0.append { continuation.resume(returning: body()) } }
            wake.signal()
        }
    }
}
