import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Attacks on host processes and on the host's resources. Every attack is bounded (loop
/// counts, sizes, timeouts), so a sandbox that failed to contain it would still leave the
/// host unharmed; the only host process aimed at is a `sleep` this test started.
@Suite("Escape: processes and resources")
struct ProcessEscapeTests {
    static let mib = 1 << 20

    /// A host `sleep` with a unique marker argument, run as the sandbox's own host uid when
    /// the harness is root (so only the pid namespace, not a uid mismatch, protects it).
    final class HostSleeper: @unchecked Sendable {
        let process = Process()
        let marker: String

        init(uid: uid_t?) throws {
            marker = "3600.\(UInt32.random(in: 100_000_000...999_999_999))"
            if let uid, hasSetpriv {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                process.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "sleep", marker]
            } else {
                process.executableURL = URL(fileURLWithPath: "/bin/sleep")
                process.arguments = [marker]
            }
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        func stop() {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test("attack: see, signal and ptrace a host process")
    func signalHostProcess() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let sleeper = try HostSleeper(uid: isRoot ? fixture.sandboxOwner.uid : nil)
        defer { sleeper.stop() }
        try await Task.sleep(for: .milliseconds(100))
        let pid = sleeper.pid
        #expect(HostProcesses.isAlive(pid))

        // See it: no /proc entry inside shows its marker or its pid.
        let (_, seen, _) = try await sandbox.guest.sh(
            "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null | grep -c '\(sleeper.marker.replacingOccurrences(of: ".", with: "[.]"))'; ls -d /proc/\(pid) 2>&1")
        #expect(seen.hasPrefix("0\n"), "\(seen)")
        #expect(seen.contains("No such file"))
        // Signal it by its host pid number.
        let (killStatus, _, killErr) = try await sandbox.guest.sh("kill -9 \(pid); kill -STOP \(pid)")
        #expect(killStatus.code != 0, "kill succeeded: \(killErr)")
        // ptrace-attach and process_vm_readv by pid number.
        if hasPython {
            let (_, traced, _) = try await sandbox.guest.python(Syscall.probe("libc.ptrace(16, \(pid), 0, 0)"))
            let attach = try #require(Syscall.result(traced))
            #expect(attach.ret == -1, "PTRACE_ATTACH succeeded")
            #expect(attach.errno == EPERM || attach.errno == ESRCH)
            let (_, seized, _) = try await sandbox.guest.python(Syscall.probe("libc.ptrace(0x4206, \(pid), 0, 0)"))
            #expect(Syscall.result(seized)?.ret == -1, "PTRACE_SEIZE succeeded")
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(HostProcesses.isAlive(pid), "the host process was killed")
        let state = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        #expect(state.contains("State:\tS"), "the host process was stopped or traced: \(state.prefix(200))")
        #expect(state.contains("TracerPid:\t0"))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: fork bomb", .enabled(if: hasPython, "needs python3 inside the sandbox"))
    func forkBomb() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.limits.pids = 32 }
        // Bounded: 300 attempts at most; every child sleeps and exits by itself.
        let script = """
        import os, signal, time
        children = []
        for _ in range(300):
            try:
                pid = os.fork()
            except OSError:
                continue
            if pid == 0:
                try:
                    time.sleep(5)
                finally:
                    os._exit(0)
            children.append(pid)
        print(len(children), flush=True)
        for pid in children:
            try: os.kill(pid, signal.SIGKILL)
            except OSError: pass
        for pid in children:
            try: os.waitpid(pid, 0)
            except OSError: pass
        """
        let (status, out, err) = try await sandbox.guest.python(script)
        let forked = Int(out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(status.code == 0, "\(status) \(err)")
        #expect(forked != nil && forked! < 32 && forked! >= 1, "forked \(out)")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: memory bomb")
    func memoryBomb() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.limits.memoryBytes = 64 * Self.mib }
        let hog = hasPython
            ? ExecRequest(argv: ["python3", "-c", "b = bytearray(b'x' * (300 << 20)); print(len(b))"], timeoutMs: 60_000)
            : ExecRequest(shell: "x=$(head -c 314572800 /dev/zero | tr '\\0' x); echo ${#x}", timeoutMs: 60_000)
        let result = try await sandbox.guest.exec(hog)
        #expect(result.status.shellStatus == 137, "status \(result.status)")
        #expect(!String(decoding: result.stdout, as: UTF8.self).contains("314572800"))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: ignore SIGTERM past the timeout")
    func ignoreSigterm() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let marker = "30.\(UInt32.random(in: 100_000...999_999))"
        defer { HostProcesses.reap("sleep " + marker) }
        let result = try await sandbox.guest.exec(ExecRequest(
            shell: "trap '' TERM; sleep \(marker) & trap '' TERM; while :; do sleep \(marker); done", timeoutMs: 1000,
            killGraceMs: 300))
        #expect(result.status.timedOut)
        #expect(result.status.signal == 9, "status \(result.status)")
        var left = HostProcesses.matching("sleep " + marker)
        for _ in 0..<40 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            left = HostProcesses.matching("sleep " + marker)
        }
        #expect(left.isEmpty, "survivors \(left)")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: a double-forked daemon outliving its sandbox")
    func doubleForkedDaemon() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let marker = "1000.\(UInt32.random(in: 100_000_000...999_999_999))"
        defer { HostProcesses.reap("sleep " + marker) }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh(
            "setsid sh -c 'trap \"\" TERM HUP; sleep \(marker) </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1 &")
        #expect(status.code == 0)
        var alive: [Int32] = []
        for _ in 0..<100 where alive.isEmpty {
            alive = HostProcesses.matching("sleep " + marker)
            if alive.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!alive.isEmpty, "the daemon never started")
        await sandbox.kill()
        var left = HostProcesses.matching("sleep " + marker)
        for _ in 0..<60 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            left = HostProcesses.matching("sleep " + marker)
        }
        #expect(left.isEmpty, "the daemon outlived its sandbox: \(left)")
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: 300 MB of output against the harness's memory")
    func hugeOutput() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let before = ProcessMemory.read()
        let result = try await sandbox.guest.exec(ExecRequest(
            shell: "head -c 314572800 /dev/zero; head -c 314572800 /dev/zero >&2", timeoutMs: 120_000))
        let after = ProcessMemory.read()
        #expect(result.status.code == 0, "\(result.status)")
        #expect(result.stdout.count == ProtocolVersion.defaultOutputCap)
        #expect(result.stderr.count == ProtocolVersion.defaultOutputCap)
        #expect(result.status.stdoutTruncated && result.status.stderrTruncated)
        // 600 MB crossed the pipe; the harness grew by a small fraction of it.
        #expect(after.hwm - before.hwm < 100 * 1024, "VmHWM grew \(after.hwm - before.hwm) KiB")
        #expect(after.rss - before.rss < 150 * 1024, "VmRSS grew \(after.rss - before.rss) KiB")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: fill /tmp beyond its cap")
    func fillTmp() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let cap = 16 * Self.mib
        let sandbox = try await fixture.start { $0.tmpSize = cap }
        let (status, out, _) = try await sandbox.guest.sh(
            "dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; echo rc=$?; stat -c %s /tmp/fill; df -k /tmp | tail -1")
        #expect(status.code == 0)
        #expect(out.contains("No space left"), "\(out)")
        #expect(!out.contains("rc=0"))
        let lines = out.split(separator: "\n")
        let size = lines.compactMap { Int($0) }.first
        #expect(size != nil && size! <= cap + 64 * 1024, "wrote \(String(describing: size)) bytes into a \(cap)-byte /tmp")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }
}
