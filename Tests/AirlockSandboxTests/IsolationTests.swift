import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Testing

/// Attacks from inside a real sandbox; each asserts the attack failed.
@Suite("Isolation")
struct IsolationTests {
    @Test("writing outside /workspace fails and the host is untouched")
    func writeOutsideWorkspace() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // A host directory the test owns, outside the workspace.
        let outside = NSTemporaryDirectory() + "airlock-outside-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        chmod(outside, 0o777)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh("""
            echo pwned > \(outside)/evil; echo pwned > /usr/evil; echo pwned > /etc/evil; \
            echo pwned > /.airlock/airlock-guest; echo ok > /workspace/inside
            """)
        await sandbox.kill()
        #expect(status.code == 0)
        #expect(!FileManager.default.fileExists(atPath: outside + "/evil"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/evil"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/evil"))
        #expect(FileManager.default.contents(atPath: fixture.workspace + "/inside") == Data("ok\n".utf8))
    }

    @Test("files in the harness's home and state dir are not visible")
    func homeAndStateDirInvisible() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let secret = "airlock-home-secret-" + UUID().uuidString
        let homeFile = home + "/.airlock-test-" + UUID().uuidString.prefix(8)
        try Data(secret.utf8).write(to: URL(fileURLWithPath: homeFile))
        defer { try? FileManager.default.removeItem(atPath: homeFile) }
        let stateDir = NSTemporaryDirectory() + "airlock-state-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        try Data(secret.utf8).write(to: URL(fileURLWithPath: stateDir + "/airlock.sqlite"))
        defer { try? FileManager.default.removeItem(atPath: stateDir) }

        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh(
            "cat \(homeFile) \(stateDir)/airlock.sqlite 2>&1; ls -la \(home) 2>&1; grep -rs \(secret) /etc /tmp /workspace /usr/local 2>/dev/null | head -1")
        await sandbox.kill()
        #expect(!out.contains(secret))
        #expect(out.contains("No such file"))
    }

    @Test("/etc/shadow and ssh host keys are not readable")
    func shadowUnreadable() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh("cat /etc/shadow /etc/gshadow /etc/ssh/ssh_host_ed25519_key 2>&1; id -u")
        await sandbox.kill()
        #expect(status.code == 0)
        #expect(!out.contains("root:"))
        #expect(out.contains("No such file"))
        #expect(out.hasSuffix("1000\n"))
    }

    @Test("the sandbox runs as an unprivileged host uid even when the harness is root")
    func unprivilegedOnHost() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh("touch /workspace/made")
        await sandbox.kill()
        #expect(status.code == 0)
        // What the sandbox creates is owned on the host by the uid it really ran as.
        var info = stat()
        #expect(stat(fixture.workspace + "/made", &info) == 0)
        if isRoot { #expect(info.st_uid != 0) }
    }

    @Test("no variable of the harness's environment leaks in")
    func environmentBuiltFromNothing() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let secret = "leak-" + UUID().uuidString
        setenv("AIRLOCK_TEST_SECRET", secret, 1)
        defer { unsetenv("AIRLOCK_TEST_SECRET") }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh("env; cat /proc/1/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'")
        await sandbox.kill()
        #expect(!out.contains(secret))
        #expect(!out.contains("AIRLOCK_TEST_SECRET"))
        #expect(out.contains("HOME=/workspace"))
    }

    @Test("a TCP server on the host's loopback cannot be reached")
    func hostLoopbackUnreachable() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let server = try LoopbackServer()
        defer { server.close() }
        let sandbox = try await fixture.start()
        let (status, _, err) = try await sandbox.guest.sh(
            "exec 3<>/dev/tcp/127.0.0.1/\(server.port) && echo connected", timeoutMs: 10_000)
        // Note: /dev/tcp is a bash feature; run it through bash explicitly.
        let (bashStatus, bashOut, _) = try await sandbox.guest.sh(
            "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port) && echo connected' 2>&1", timeoutMs: 10_000)
        await sandbox.kill()
        #expect(status.code != 0 || err.contains("cannot") || err.contains("No such"))
        #expect(bashStatus.code != 0)
        #expect(!bashOut.contains("connected"))
        #expect(server.acceptedConnections() == 0)
    }

    @Test("an abstract Unix socket on the host cannot be reached",
          .enabled(if: hasPython, "needs /usr/bin/python3 inside the sandbox"))
    func abstractSocketUnreachable() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let name = "airlock-test-" + UUID().uuidString.prefix(8)
        let server = try AbstractSocketServer(name: name)
        defer { server.close() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh("""
            python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0\(name)'); print('connected')" 2>&1
            """, timeoutMs: 10_000)
        await sandbox.kill()
        #expect(status.code != 0)
        #expect(out.contains("ConnectionRefused") || out.contains("No such file"))
        #expect(server.acceptedConnections() == 0)
    }

    @Test("only loopback exists inside: no route anywhere")
    func noNetworkInterfaces() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1; cat /proc/net/route | wc -l")
        await sandbox.kill()
        let lines = out.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "lo")
        #expect(lines.count == 2)
        #expect(lines.last == "1") // the header line of an empty routing table
    }

    @Test("seccomp denies unshare, mount and ptrace-class calls",
          .enabled(if: hasPython, "needs /usr/bin/python3 inside the sandbox"))
    func seccompDenies() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let script = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        results = {}
        results['unshare'] = libc.unshare(0x10000000)  # CLONE_NEWUSER
        results['mount'] = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
        results['ptrace'] = libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME
        results['personality'] = libc.personality(0x0040000)  # ADDR_NO_RANDOMIZE
        results['keyctl'] = libc.syscall(250, 0, 0, 0, 0)
        results['bpf'] = libc.syscall(321, 0, 0, 0)
        results['io_uring_setup'] = libc.syscall(425, 1, 0)
        results['userfaultfd'] = libc.syscall(323, 0)
        print(" ".join(f"{k}={v}" for k, v in sorted(results.items())))
        """
        try await writeScript(sandbox, "probe.py", script)
        let (_, out, err) = try await sandbox.guest.sh("python3 /workspace/probe.py")
        await sandbox.kill()
        for call in ["unshare", "mount", "ptrace", "personality", "keyctl", "bpf", "io_uring_setup", "userfaultfd"] {
            #expect(out.contains("\(call)=-1"), "\(call) was not denied: \(out) \(err)")
        }
    }

    private func writeScript(_ sandbox: any Sandbox, _ name: String, _ text: String) async throws {
        let response = try await sandbox.guest.call(.writeFile(WriteFileRequest(path: name, content: Data(text.utf8))))
        #expect(response == .ok)
    }
}
