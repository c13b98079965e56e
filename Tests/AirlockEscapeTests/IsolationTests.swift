import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Attacks on the harness's secrets and the host's files, from inside a real sandbox. Each
/// asserts the attack failed and the harness still runs commands afterwards.
@Suite("Escape: secrets and host files")
struct IsolationTests {
    @Test("attack: read the harness's environment")
    func readHarnessEnvironment() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let secret = "leak-" + UUID().uuidString
        setenv("AIRLOCK_ESCAPE_SECRET", secret, 1)
        defer { unsetenv("AIRLOCK_ESCAPE_SECRET") }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh(
            "env; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null; cat /proc/$PPID/environ 2>/dev/null")
        #expect(!out.contains(secret))
        #expect(!out.contains("AIRLOCK_ESCAPE_SECRET"))
        #expect(out.contains("HOME=/workspace"))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: read files in the harness's home and state dir")
    func readHomeAndStateDir() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let secret = "airlock-home-secret-" + UUID().uuidString
        let homeFile = home + "/.airlock-escape-" + UUID().uuidString.prefix(8)
        try Data(secret.utf8).write(to: URL(fileURLWithPath: homeFile))
        chmod(homeFile, 0o644)
        defer { try? FileManager.default.removeItem(atPath: homeFile) }
        // A state dir as the harness makes it, holding a database with the secret.
        let stateDir = "/tmp/airlock-escape-state-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        try Data(secret.utf8).write(to: URL(fileURLWithPath: stateDir + "/airlock.sqlite"))
        chmod(stateDir, 0o755)
        chmod(stateDir + "/airlock.sqlite", 0o644)
        defer { try? FileManager.default.removeItem(atPath: stateDir) }

        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh("""
            cat \(homeFile) \(stateDir)/airlock.sqlite 2>&1; ls -la \(home) 2>&1; ls /home /root /var /run 2>&1; \
            grep -rs \(secret) /etc /tmp /workspace /usr/local /.airlock 2>/dev/null | head -1
            """)
        #expect(!out.contains(secret))
        #expect(out.contains("No such file"))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: read /etc/shadow")
    func readShadow() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh(
            "cat /etc/shadow /etc/gshadow 2>&1; grep -rs '^root:[^x*!]' /etc 2>/dev/null | head -1; id -u")
        #expect(status.code == 0)
        #expect(!out.contains("root:$"))
        #expect(out.contains("No such file"))
        #expect(out.hasSuffix("1000\n"))
        // The host's own shadow, if any, is nowhere in what came back.
        if let host = FileManager.default.contents(atPath: "/etc/shadow"),
           let rootLine = String(decoding: host, as: UTF8.self).split(separator: "\n").first {
            #expect(!out.contains(String(rootLine)))
        }
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: read the ssh host keys")
    func readSSHHostKeys() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh(
            "cat /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key 2>/dev/null || echo UNREADABLE; find /etc /tmp /workspace /usr/local -name 'ssh_host_*' 2>/dev/null")
        #expect(!out.contains("PRIVATE KEY"))
        #expect(out.hasPrefix("UNREADABLE\n"), "a host key is visible: \(out)")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: write outside the workspace")
    func writeOutsideWorkspace() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // A host directory the test owns, outside the workspace, writable by anyone.
        let outside = "/tmp/airlock-escape-outside-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        chmod(outside, 0o777)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh("""
            echo pwned > \(outside)/evil; mkdir -p \(outside) && echo pwned > \(outside)/evil2; \
            echo pwned > /usr/airlock-escape-evil; echo pwned > /etc/airlock-escape-evil; \
            echo pwned > /workspace/../airlock-escape-evil; echo ok > /workspace/inside
            """)
        #expect(status.code == 0)
        #expect(!FileManager.default.fileExists(atPath: outside + "/evil"))
        #expect(!FileManager.default.fileExists(atPath: outside + "/evil2"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/airlock-escape-evil"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/airlock-escape-evil"))
        #expect(!FileManager.default.fileExists(atPath: (fixture.workspace as NSString).deletingLastPathComponent + "/airlock-escape-evil"))
        #expect(FileManager.default.contents(atPath: fixture.workspace + "/inside") == Data("ok\n".utf8))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: overwrite the guest binary")
    func overwriteGuestBinary() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let guest = try GuestBinary.locate(nil)
        let before = FileManager.default.contents(atPath: guest)
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh("""
            echo pwned > /.airlock/airlock-guest 2>&1 && echo WROTE; \
            cp /bin/true /.airlock/airlock-guest 2>&1 && echo COPIED; \
            mv /workspace/x /.airlock/airlock-guest 2>&1 && echo MOVED; \
            chmod 777 /.airlock/airlock-guest 2>&1 && echo CHMODDED; \
            rm -f /.airlock/airlock-guest 2>&1 && echo REMOVED; \
            printf 'x' | dd of=/proc/1/exe conv=notrunc 2>&1 && echo PROCEXE; true
            """)
        for verb in ["WROTE", "COPIED", "MOVED", "CHMODDED", "REMOVED", "PROCEXE"] {
            #expect(!out.contains(verb), "\(verb): \(out)")
        }
        #expect(FileManager.default.contents(atPath: guest) == before, "the guest binary on the host changed")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: read a host temp file")
    func readHostTempFile() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (path, secret) = try HostTempFile.make()
        defer { unlink(path) }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh("cat \(path) 2>&1; ls /tmp")
        #expect(!out.contains(secret))
        #expect(out.contains("No such file"))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }
}

/// A world-readable file in the host's /tmp holding a fresh secret.
enum HostTempFile {
    static func make() throws -> (path: String, secret: String) {
        let secret = "host-tmp-secret-" + UUID().uuidString
        let path = "/tmp/airlock-escape-hosttmp-" + UUID().uuidString.prefix(8)
        try Data(secret.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        return (path, secret)
    }
}
