import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Proofs that the attacks can fail: each test turns on one deliberate hole
/// (`SandboxConfiguration.weakenings`, internal, reachable only through `@testable`) and
/// shows the matching attack now SUCCEEDS. If one of these ever fails, the attack test
/// next to it has stopped measuring anything.
@Suite("Escape: weakened sandboxes")
struct WeakenedTests {
    @Test("weakened: noSeccomp lets ptrace, personality and io_uring through and unshare fails differently",
          .enabled(if: hasPython, "needs python3 inside the sandbox for raw syscalls"))
    func noSeccomp() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.weakenings = [.noSeccomp] }
        func attempt(_ call: String) async throws -> (ret: Int, errno: Int) {
            let (_, out, err) = try await sandbox.guest.python(Syscall.probe(call))
            return try #require(Syscall.result(out), "\(out) \(err)")
        }
        // The same calls the kernel attack tests see refused with EPERM.
        let traceme = try await attempt("libc.ptrace(0, 0, 0, 0)")
        #expect(traceme.ret == 0, "PTRACE_TRACEME without seccomp: \(traceme)")
        let personality = try await attempt("libc.personality(0x0040000)")
        #expect(personality.ret >= 0, "personality without seccomp: \(personality)")
        let unshare = try await attempt("libc.unshare(0x10000000)")
        #expect(unshare.ret == 0 || unshare.errno != EPERM,
                "unshare(CLONE_NEWUSER) still fails with EPERM without seccomp: \(unshare)")
        let disabled = (try? String(contentsOfFile: "/proc/sys/kernel/io_uring_disabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if disabled == nil || disabled == "0" {
            let ring = try await attempt("libc.syscall(425, 4, ctypes.create_string_buffer(120))")
            #expect(ring.ret >= 0, "io_uring_setup without seccomp: \(ring)")
        }
        await sandbox.kill()
    }

    @Test("weakened: shareNetwork reaches the host's loopback listener")
    func shareNetwork() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let server = try LoopbackServer()
        defer { server.close() }
        let sandbox = try await fixture.start { $0.weakenings = [.shareNetwork] }
        let (_, out, _) = try await sandbox.guest.sh(
            "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port) && echo connected' 2>&1", timeoutMs: 10_000)
        await sandbox.kill()
        #expect(out.contains("connected"), "\(out)")
        #expect(server.acceptedConnections() >= 1)
    }

    @Test("weakened: bindHostTmp makes a host temp file readable")
    func bindHostTmp() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (path, secret) = try HostTempFile.make()
        defer { unlink(path) }
        let sandbox = try await fixture.start { $0.weakenings = [.bindHostTmp] }
        let (_, out, _) = try await sandbox.guest.sh("cat \(path) 2>&1")
        await sandbox.kill()
        #expect(out == secret)
    }

    @Test("weakened: keepRootUID makes the sandbox's files root's on the host",
          .enabled(if: isRoot, "only a root harness changes uid; there is nothing to keep otherwise"))
    func keepRootUID() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.weakenings = [.keepRootUID] }
        // Ownership is checked while the sandbox lives: a root-owned workspace is handed
        // back to root when the sandbox ends.
        let (status, _, _) = try await sandbox.guest.sh("touch /workspace/made-by-sandbox")
        #expect(status.code == 0)
        var info = stat()
        #expect(stat(fixture.workspace + "/made-by-sandbox", &info) == 0)
        #expect(info.st_uid == 0, "owned by uid \(info.st_uid)")
        await sandbox.kill()

        // The attack the weakening defeats: the same file made by a normal sandbox is not root's.
        let normal = try await fixture.start()
        let (again, _, _) = try await normal.guest.sh("touch /workspace/made-normally")
        #expect(again.code == 0)
        #expect(stat(fixture.workspace + "/made-normally", &info) == 0)
        #expect(info.st_uid != 0)
        await normal.kill()
    }
}

/// The attack that keepRootUID defeats, by name.
@Suite("Escape: host identity")
struct IdentityEscapeTests {
    @Test("attack: act as root on the host through the workspace")
    func rootOnHost() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh(
            "touch /workspace/made; cp /bin/sh /workspace/suid-sh && chmod 4755 /workspace/suid-sh")
        #expect(status.code == 0)
        var info = stat()
        #expect(stat(fixture.workspace + "/made", &info) == 0)
        if isRoot { #expect(info.st_uid != 0, "the sandbox's files are root's on the host") }
        #expect(stat(fixture.workspace + "/suid-sh", &info) == 0)
        if isRoot { #expect(info.st_uid != 0, "the sandbox made a root-owned setuid binary on the host") }
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }
}
