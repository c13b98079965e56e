import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Resource limits and process-tree control, against real sandboxes. Every attack is
/// bounded, so a sandbox that failed to contain it would still leave the host unharmed.
@Suite("Limits")
struct LimitsTests {
    static let mib = 1 << 20

    /// A command that tries to hold ~300 MiB.
    static var memoryHog: ExecRequest {
        if hasPython {
            return ExecRequest(argv: ["python3", "-c", "b = bytearray(b'x' * (300 << 20)); print(len(b))"])
        }
        // The leading shell itself holds the text of a command substitution.
        return ExecRequest(argv: ["sh", "-c", "x=$(head -c 314572800 /dev/zero | tr '\\0' x); echo ${#x}"])
    }

    @Test("a memory hog is killed with SIGKILL and the harness lives on")
    func memoryHogKilled() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.limits.memoryBytes = 64 * Self.mib }
        let result = try await sandbox.guest.exec(Self.memoryHog)
        #expect(result.status.signal == 9, "status \(result.status)")
        #expect(result.status.shellStatus == 137)
        #expect(!String(decoding: result.stdout, as: UTF8.self).contains("314572800"))
        // The same sandbox still answers.
        #expect(sandbox.isAlive)
        let (status, out, _) = try await sandbox.guest.sh("echo still-here")
        #expect(status.code == 0)
        #expect(out == "still-here\n")
        if let bwrap = sandbox as? ProcessSandbox { #expect(bwrap.oomKilled) }
        await sandbox.kill()

        // And a new sandbox starts as usual.
        let next = try await fixture.start { $0.limits.memoryBytes = 64 * Self.mib }
        let (nextStatus, nextOut, _) = try await next.guest.sh("echo fresh")
        await next.kill()
        #expect(nextStatus.code == 0)
        #expect(nextOut == "fresh\n")
    }

    @Test("a fork bomb is capped by the pids limit", .enabled(if: hasPython, "needs python3 inside the sandbox"))
    func forkBombCapped() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start { $0.limits.pids = 32 }
        // 100 attempts at most; every child sleeps and exits by itself.
        let script = """
        import os, signal, time
        ok = 0
        children = []
        for _ in range(100):
            try:
                pid = os.fork()
            except OSError:
                continue
            if pid == 0:
                try:
                    time.sleep(5)
                finally:
                    os._exit(0)
            ok += 1
            children.append(pid)
        print(ok, flush=True)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
        """
        let result = try await sandbox.guest.exec(ExecRequest(argv: ["python3", "-c", script], timeoutMs: 60_000))
        let text = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let forked = Int(text)
        #expect(result.status.code == 0, "status \(result.status) stderr \(String(decoding: result.stderr, as: UTF8.self))")
        #expect(forked != nil, "output: \(text)")
        if let forked {
            #expect(forked < 32)
            #expect(forked >= 1)
        }
        // The harness still works once the children are gone.
        let (status, out, _) = try await sandbox.guest.sh("echo after")
        await sandbox.kill()
        #expect(status.code == 0)
        #expect(out == "after\n")
    }

    @Test("a timeout kills a TERM-ignoring command and its children, promptly")
    func timeoutKillsTree() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let marker = "30.\(UInt32.random(in: 100_000...999_999))"
        let clock = ContinuousClock()
        let began = clock.now
        let result = try await sandbox.guest.exec(ExecRequest(
            shell: "trap '' TERM; sleep \(marker) & sleep \(marker)", timeoutMs: 1000))
        let elapsed = clock.now - began
        #expect(result.status.timedOut)
        #expect(result.status.signal == 9, "status \(result.status)")
        // The one timing bound: the TERM goes at the deadline, the KILL 0.5 s later; the rest
        // is margin for a 2-core machine running the whole suite at once.
        #expect(elapsed < .seconds(10), "took \(elapsed)")

        // No `sleep` survives inside (zombies have an empty cmdline; the pattern does not
        // match this scan's own command line).
        let pattern = "sleep " + marker.replacingOccurrences(of: ".", with: "[.]")
        var survivors = ""
        for _ in 0..<30 {
            let (_, out, _) = try await sandbox.guest.sh(
                "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c '\(pattern)'")
            survivors = out.trimmingCharacters(in: .whitespacesAndNewlines)
            if survivors == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(survivors == "0")
        #expect(HostProcesses.matching("sleep " + marker).isEmpty)
        await sandbox.kill()
        Self.reap(marker)
    }

    @Test("a double-forked daemon lives while the sandbox does and dies with it")
    func daemonDiesWithSandbox() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let marker = "1000.\(UInt32.random(in: 100_000_000...999_999_999))"
        defer { Self.reap(marker) }
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh(
            "setsid sh -c 'sleep \(marker) </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1 &")
        #expect(status.code == 0)
        var alive: [Int32] = []
        for _ in 0..<100 {
            alive = HostProcesses.matching("sleep " + marker)
            if !alive.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!alive.isEmpty, "the daemon never showed up")
        // Still alive after the exec that started it has returned.
        let (again, out, _) = try await sandbox.guest.sh("echo ok")
        #expect(again.code == 0 && out == "ok\n")
        #expect(!HostProcesses.matching("sleep " + marker).isEmpty)

        await sandbox.kill()
        var left = HostProcesses.matching("sleep " + marker)
        for _ in 0..<40 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            left = HostProcesses.matching("sleep " + marker)
        }
        #expect(left.isEmpty, "survivors: \(left)")
        #expect(!sandbox.isAlive)
    }

    @Test("output past the cap is drained, not buffered, and the command completes")
    func outputCapped() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let result = try await sandbox.guest.exec(ExecRequest(
            shell: "head -c 5000000 /dev/zero; echo done >&2", timeoutMs: 60_000, outputCap: Self.mib))
        await sandbox.kill()
        #expect(result.stdout.count == Self.mib)
        #expect(result.status.stdoutTruncated)
        #expect(!result.status.stderrTruncated)
        #expect(result.status.code == 0, "status \(result.status)")
        #expect(!result.status.timedOut)
        #expect(String(decoding: result.stderr, as: UTF8.self) == "done\n")
    }

    /// Kills stray processes carrying this test's unique marker (only those), in case the
    /// sandbox failed to.
    static func reap(_ marker: String) {
        for pid in HostProcesses.matching("sleep " + marker) { kill(pid, SIGKILL) }
    }
}
