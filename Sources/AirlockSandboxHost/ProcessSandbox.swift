import AirlockSandbox
import AirlockStreams
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// A running sandbox whose life is one host process (bwrap, the Landlock-confined guest, or
/// an OCI runtime in the foreground), its cgroup and its uid hand-over. Every backend
/// returns one; `teardown` adds what a backend needs beyond killing the tree (an OCI
/// runtime's `delete`, a private directory).
package final class ProcessSandbox: Sandbox, @unchecked Sendable {
    package let id: String
    private let process: SandboxProcess
    private let cgroup: (any ControlGroup)?
    private let killed = Mutex(false)
    // Written once by the backend before the sandbox is handed out.
    package var startMilliseconds: Double = 0

    private let identity: SandboxIdentity
    private let workspace: String
    /// Kill the process group (and the session's stragglers) too: the Landlock tier has no
    /// pid namespace whose init takes everything with it.
    private let killsProcessGroup: Bool
    private let stop: (@Sendable () -> Void)?
    private let teardown: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - stop: ends what killing the first process does not (`runc kill` + `delete`).
    ///   - teardown: after the tree is gone (removing a bundle or a private directory).
    package init(id: String, process: SandboxProcess, cgroup: (any ControlGroup)?, identity: SandboxIdentity,
                 workspace: String, killsProcessGroup: Bool = false, stop: (@Sendable () -> Void)? = nil,
                 teardown: (@Sendable () -> Void)? = nil) {
        self.id = id
        self.process = process
        self.cgroup = cgroup
        self.identity = identity
        self.workspace = workspace
        self.killsProcessGroup = killsProcessGroup
        self.stop = stop
        self.teardown = teardown
    }

    package var guest: GuestConnection { process.connection }

    package var isAlive: Bool { !process.hasExited && !process.connection.isClosed }

    /// The host pid of the sandbox's first process (bwrap, the guest, or the runtime).
    package var pid: pid_t { process.pid }

    /// What the sandbox's first process wrote on stderr.
    package func diagnostics() -> String { process.diagnostics() }

    /// Whether the kernel's OOM killer acted inside this sandbox.
    package var oomKilled: Bool { cgroup?.oomKilled() ?? false }

    package func kill() async {
        let first = killed.withLock { killed -> Bool in
            defer { killed = true }
            return !killed
        }
        guard first else { return }
        // The kill blocks (cgroupfs writes, waiting for the reaper): it gets its own thread
        // so it never holds one of the few threads Swift's concurrency pool has.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let end: @Sendable () -> Void = { [self] in
                killTree()
                process.connection.close()
                _ = process.waitForExit(timeout: 5)
                finish()
                done.resume()
            }
            // No thread to be had: the pool's thread does it rather than leave it undone.
            if !OSThread.start(name: "airlock-sandbox-kill", end) { end() }
        }
    }

    /// The cgroup takes every process, setsid daemons included; killing the first process
    /// ends bwrap's pid namespace (its init takes whatever the cgroup could not). Without a
    /// pid namespace the session is swept by hand.
    private func killTree() {
        cgroup?.killAll()
        stop?()
        if killsProcessGroup {
            SessionSweep.kill(session: process.pid)
        }
        Glibc.kill(process.pid, SIGKILL)
    }

    private func finish() {
        teardown?()
        cgroup?.remove()
        identity.giveBack(workspace)
    }

    deinit {
        if !killed.withLock({ $0 }) {
            killTree()
            finish()
        }
    }
}
