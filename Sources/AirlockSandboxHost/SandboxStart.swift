import AirlockProtocol
import AirlockSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Steps every backend's `start` shares: the workspace check, the proxy socket's hand-over
/// to the sandbox uid, a sandbox id, and waiting for the guest's greeting.
package enum SandboxStart {
    package static func newID() -> String { "sbx-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" }

    /// The workspace as an absolute, resolved directory.
    package static func checkedWorkspace(_ path: String) throws(SandboxError) -> String {
        guard let resolved = realpath(path, nil) else {
            throw SandboxError(.configuration, "workspace \(path) does not exist",
                               fix: "create it first (mkdir -p \(path)) or pass --workspace DIR")
        }
        defer { free(resolved) }
        let absolute = String(cString: resolved)
        guard HostPath.isDirectory(absolute) else {
            throw SandboxError(.configuration, "workspace \(absolute) is not a directory")
        }
        return absolute
    }

    /// The sandbox's host user gets the proxy socket and its private directory (it binds
    /// or connects to it as that user), nobody else does.
    package static func handOver(socket path: String, to identity: SandboxIdentity) throws(SandboxError) {
        guard access(path, F_OK) == 0 else {
            throw SandboxError(.configuration, "the egress proxy socket \(path) does not exist")
        }
        guard identity.changesIDs else { return }
        let directory = HostPath.directory(of: path)
        guard chown(directory, identity.uid, identity.gid) == 0, chown(path, identity.uid, identity.gid) == 0 else {
            throw SandboxError(.configuration,
                               "cannot give the egress proxy socket to uid \(identity.uid): \(String(cString: strerror(errno)))")
        }
    }

    /// The proxy's socket when `network` is `.proxy`, handed to the sandbox uid.
    package static func egress(_ configuration: SandboxConfiguration, identity: SandboxIdentity) throws(SandboxError) -> EgressAttachment? {
        guard configuration.network == .proxy else { return nil }
        guard let egress = configuration.egress else {
            throw SandboxError(.configuration, "network proxy needs the egress proxy's socket",
                               fix: "start the proxy first (airlock does this for --network proxy)")
        }
        try handOver(socket: egress.socketOnHost, to: identity)
        return egress
    }

    /// Waits for the guest's hello; on silence or a protocol mismatch the sandbox is
    /// killed and the error says why, with what its first process wrote on stderr.
    package static func greet(_ sandbox: ProcessSandbox, began: ContinuousClock.Instant, timeout: Duration,
                              what: String, fixHint: (String) -> String?) async throws(SandboxError) {
        guard let hello = await sandbox.guest.waitForHello(timeout: timeout) else {
            await sandbox.kill()
            let detail = sandbox.diagnostics().trimmingSpaces
            throw SandboxError(.startFailed, "the \(what) sandbox did not start" + (detail.isEmpty ? "" : ": \(detail)"),
                               fix: fixHint(detail))
        }
        guard hello.version == ProtocolVersion.current else {
            await sandbox.kill()
            throw SandboxError(.startFailed, "guest speaks protocol \(hello.version), harness \(ProtocolVersion.current)",
                               fix: "rebuild airlock and airlock-guest together")
        }
        let took = (ContinuousClock.now - began).components
        sandbox.startMilliseconds = Double(took.seconds) * 1000 + Double(took.attoseconds) / 1e15
    }
}
