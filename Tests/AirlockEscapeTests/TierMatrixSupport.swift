import AirlockLandlock
import AirlockOCI
import AirlockProtocol
import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// The tiers the escape matrix attacks, built in-process (the suite is about what the
/// sandbox lets through, not the command line).
enum MatrixTier: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case bwrap, crun = "oci/crun", runc = "oci/runc", gvisor, landlock

    var testDescription: String { rawValue }

    func backend() -> (any SandboxBackend)? {
        switch self {
        case .bwrap: return BubblewrapBackend()
        case .crun: return OCIRuntime.find(.crun).map { OCIBackend(runtime: $0) }
        case .runc: return OCIRuntime.find(.runc).map { OCIBackend(runtime: $0) }
        case .gvisor: return OCIRuntime.find(.runsc).map { OCIBackend(runtime: $0) }
        case .landlock: return LandlockBackend()
        }
    }
}

/// Which tiers start here, found once by starting each for real.
actor MatrixHost {
    static let shared = MatrixHost()
    private var found: [MatrixTier: String?] = [:]

    /// nil when the tier works here, else why not.
    func unavailable(_ tier: MatrixTier) async -> String? {
        if let known = found[tier] { return known }
        let reason = await probe(tier)
        found[tier] = .some(reason)
        return reason
    }

    private func probe(_ tier: MatrixTier) async -> String? {
        guard let backend = tier.backend() else { return "its runtime is not installed" }
        let workspace = "/tmp/airlock-matrix-probe-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        do {
            let sandbox = try await backend.start(SandboxConfiguration(workspace: workspace))
            let result = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/true"], timeoutMs: 10_000))
            await sandbox.kill()
            return result.status.code == 0 ? nil : "/bin/true exited \(result.status.shellStatus)"
        } catch {
            return "\(error)"
        }
    }
}

/// What an attack must come to on a tier: stopped, or (written next to it, with the
/// reason) not stopped by that tier.
enum Expected: Sendable {
    case blocked
    case notStopped(String)
}

/// A pathname Unix socket listener under a test directory, open to everyone (so only the
/// sandbox, not file permissions, decides whether a connection gets through).
final class PathSocketServer: CountingListener, @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        self.fd = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        chmod(path, 0o777)
    }
}

/// Host-side targets the attacks aim at, all made by the test under one directory and
/// removed after: a file to overwrite, a secret to read, listeners, a victim process.
struct MatrixTargets {
    let directory: String
    var target: String { directory + "/target.txt" }
    var secret: String { directory + "/secret.txt" }
    let secretText = "matrix-secret-" + UUID().uuidString

    init() throws {
        directory = "/tmp/airlock-matrix-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o777)
        try Data("untouched\n".utf8).write(to: URL(fileURLWithPath: target))
        chmod(target, 0o666)
        try Data(secretText.utf8).write(to: URL(fileURLWithPath: secret))
        chmod(secret, 0o644)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
