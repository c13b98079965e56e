import Foundation
import Glibc
import Synchronization

/// A running bwrap sandbox.
final class BubblewrapSandbox: Sandbox, @unchecked Sendable {
    let id: String
    private let process: SandboxProcess
    private let cgroup: (any ControlGroup)?
    private let killed = Mutex(false)
    // Written once by the backend before the sandbox is handed out.
    var startMilliseconds: Double = 0
    /// An image sandbox's writable copy, deleted once the sandbox is gone.
    var imageSetup: ImageRootSetup?

    private let identity: SandboxIdentity
    private let workspace: String

    init(id: String, process: SandboxProcess, cgroup: (any ControlGroup)?, identity: SandboxIdentity, workspace: String) {
        self.id = id
        self.process = process
        self.cgroup = cgroup
        self.identity = identity
        self.workspace = workspace
    }

    var guest: GuestConnection { process.connection }

    var isAlive: Bool { !process.hasExited && !process.connection.isClosed }

    /// Whether the kernel's OOM killer acted inside this sandbox.
    var oomKilled: Bool { cgroup?.oomKilled() ?? false }

    func kill() async {
        let first = killed.withLock { killed -> Bool in
            defer { killed = true }
            return !killed
        }
        guard first else { return }
        let process = self.process
        let cgroup = self.cgroup
        let identity = self.identity
        let workspace = self.workspace
        let imageSetup = self.imageSetup
        // The kill blocks (cgroupfs writes, waiting for the reaper): it gets its own thread
        // so it never holds one of the few threads Swift's concurrency pool has.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                // The cgroup takes every process, setsid daemons included; killing bwrap
                // ends the pid namespace's init, which takes whatever the cgroup could not.
                cgroup?.killAll()
                Glibc.kill(process.pid, SIGKILL)
                process.connection.close()
                _ = process.waitForExit(timeout: 5)
                cgroup?.remove()
                identity.giveBack(workspace)
                imageSetup?.cleanup()
                done.resume()
            }
            thread.name = "airlock-sandbox-kill"
            thread.start()
        }
    }

    deinit {
        if !killed.withLock({ $0 }) {
            cgroup?.killAll()
            Glibc.kill(process.pid, SIGKILL)
            cgroup?.remove()
            identity.giveBack(workspace)
            if let imageSetup {
                _ = process.waitForExit(timeout: 5)
                imageSetup.cleanup()
            }
        }
    }
}
