import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// The guest runs inside the sandbox and may be subverted, so the harness treats its
/// frames as untrusted. Each test points `guestPath` at a small shell script that runs
/// inside a real sandbox as the guest and misbehaves; the harness must not crash or hang,
/// must report an error or record a protocol violation, and keep working.
@Suite("Escape: hostile guest")
struct HostileGuestTests {
    static let hello = #"{"id":0,"type":"hello","version":\#(ProtocolVersion.current),"pid":1,"workspace":"/workspace"}"#
    static let exitBody = #""type":"exit","code":0,"timed_out":false,"cancelled":false,"stdout_truncated":false,"stderr_truncated":false,"usage":{"wall_ms":1,"user_cpu_ms":0,"system_cpu_ms":0,"max_rss_kb":0}}"#

    /// A guest script: greets (unless told not to), then runs `body` for every request line
    /// with `$id` set to the request's id (cancel frames are ignored).
    static func script(greeting: String? = hello, _ body: String) -> String {
        """
        #!/bin/sh
        EXIT='\(exitBody)'
        \(greeting.map { "printf '%s\\n' '\($0)'" } ?? "")
        while IFS= read -r line; do
          case "$line" in *'"type":"cancel"'*) continue;; esac
          id=$(printf '%s' "$line" | sed -n 's/.*"id":\\([0-9][0-9]*\\).*/\\1/p')
        \(body)
        done
        """
    }

    /// Starts a sandbox whose guest is `script`.
    static func start(_ fixture: SandboxFixture, _ script: String,
                      startTimeout: Duration = .seconds(20)) async throws -> (any Sandbox, String) {
        let path = "/tmp/airlock-hostile-guest-" + UUID().uuidString.prefix(8)
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        var backend = BubblewrapBackend()
        backend.startTimeout = startTimeout
        do {
            let sandbox = try await fixture.start(backend: backend) { $0.guestPath = path }
            return (sandbox, path)
        } catch {
            remove(path)
            throw error
        }
    }

    /// Removes the script and the copy a root harness staged for the sandbox uid.
    static func remove(_ path: String) {
        if isRoot, let staged = try? GuestBinary.staged(path) { unlink(staged) }
        unlink(path)
    }

    @Test("attack: hostile guest answers with malformed frames")
    func malformedFrames() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{not json\n'
              printf '\377\376\000garbage\n'
              printf '[1,2,3]\n'
              printf '"just a string"\n'
              printf '{"id":%s,"type":"exit"}\n' "$id"
              printf '{"id":%s,"type":"teleport"}\n' "$id"
              printf '{"id":-1,"type":"ok"}\n'
              printf '{"id":18446744073709551616,"type":"ok"}\n'
              printf '{"id":%s,"type":"stdout","data":"!!not base64!!"}\n' "$id"
              printf '{"id":%s,"type":"stdout","data":"aGk="}\n' "$id"
              printf '{"id":%s,%s\n' "$id" "$EXIT"
            """#))
        defer { Self.remove(path) }
        let result = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        #expect(result.status.code == 0)
        #expect(result.stdout == Data("hi".utf8))
        let violations = sandbox.guest.violations
        #expect(violations.filter { $0 == "undecodable frame" }.count >= 9, "\(violations)")
        // The same (hostile) sandbox still answers the next call, and a real one starts.
        let again = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        #expect(again.status.code == 0)
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest sends an oversized frame")
    func oversizedFrame() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // 200 MB in one line (the harness's cap is 16 MB), then a proper answer. The memory
        // bound is loose (other tests run in this process) but far below the line's size.
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{"id":%s,"type":"stdout","data":"' "$id"; head -c 200000000 /dev/zero | tr '\0' 'A'; printf '"}\n'
              printf '{"id":%s,%s\n' "$id" "$EXIT"
            """#))
        defer { Self.remove(path) }
        let before = ProcessMemory.read()
        let result = try await withLimit(.seconds(60)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        let after = ProcessMemory.read()
        #expect(result.status.code == 0)
        #expect(result.stdout.isEmpty)
        #expect(sandbox.guest.violations.contains { $0.hasPrefix("oversized frame") }, "\(sandbox.guest.violations)")
        #expect(after.rss - before.rss < 150 * 1024, "VmRSS grew \(after.rss - before.rss) KiB")
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest answers request ids never sent")
    func unknownIDs() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{"id":4242,%s\n' "$EXIT"
              printf '{"id":%s,"type":"stdout","data":"aGk="}\n' "$((id + 1000))"
              printf '{"id":%s,"type":"file","content":"","size":0}\n' "$((id + 1))"
              printf '{"id":%s,%s\n' "$id" "$EXIT"
            """#))
        defer { Self.remove(path) }
        let result = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        #expect(result.status.code == 0)
        #expect(result.stdout.isEmpty)
        let violations = sandbox.guest.violations
        #expect(violations.contains("frame for unknown request id 4242"), "\(violations)")
        #expect(violations.contains { $0.hasPrefix("frame for unknown request id") && $0 != "frame for unknown request id 4242" })
        #expect(violations.count >= 3, "\(violations)")
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest answers out of order")
    func outOfOrder() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // The final frame first, then output and a second final frame for the same id,
        // and a second greeting.
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{"id":%s,%s\n' "$id" "$EXIT"
              printf '{"id":%s,"type":"stdout","data":"bGF0ZQ=="}\n' "$id"
              printf '{"id":%s,%s\n' "$id" "$EXIT"
              printf '%s\n' '{"id":0,"type":"hello","version":1,"pid":2,"workspace":"/elsewhere"}'
            """#))
        defer { Self.remove(path) }
        let result = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "echo late")) }
        #expect(result.status.code == 0)
        #expect(result.stdout.isEmpty, "output after the final frame was taken")
        // Let the late frames arrive, then check they were counted.
        var violations: [String] = []
        for _ in 0..<100 {
            violations = sandbox.guest.violations
            if violations.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(violations.filter { $0.hasPrefix("frame for unknown request id") }.count >= 2, "\(violations)")
        #expect(violations.contains { $0.contains("hello") }, "a second greeting went unnoticed: \(violations)")
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest opens egress streams it was not given and sends stream frames past the rules")
    func hostileStreams() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // This sandbox has no egress: every stream frame is refused, the exec still answers.
        // The harness's answers (stream_reset) are not requests: the script skips them.
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              case "$line" in *'"type":"stream_'*) continue;; esac
              printf '{"id":0,"type":"stream_open","stream":1}\n'
              printf '{"id":0,"type":"stream_data","stream":1,"data":"R0VUIC8gSFRUUC8xLjENCg0K"}\n'
              printf '{"id":0,"type":"stream_credit","stream":1,"bytes":999999999}\n'
              printf '{"id":0,"type":"stream_data","stream":0,"data":"QUFB"}\n'
              printf '{"id":0,"type":"stream_open","stream":2}\n'
              printf '{"id":%s,%s\n' "$id" "$EXIT"
            """#))
        defer { Self.remove(path) }
        let result = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        #expect(result.status.code == 0)
        var violations: [String] = []
        for _ in 0..<100 {
            violations = sandbox.guest.violations
            if violations.count >= 4 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(violations.filter { $0.contains("no egress") }.count == 2, "\(violations)")
        #expect(violations.filter { $0 == "undecodable frame" }.count == 2, "credit past the window and stream 0: \(violations)")
        #expect(sandbox.guest.openStreams == 0)
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest answers an exec with the wrong frame type")
    func wrongAnswerType() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{"id":%s,"type":"file","content":"aGk=","size":2}\n' "$id"
            """#))
        defer { Self.remove(path) }
        await #expect(throws: SandboxError.self) {
            _ = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
        }
        do {
            _ = try await sandbox.guest.exec(ExecRequest(shell: "true"))
            Issue.record("an exec answered with a file frame succeeded")
        } catch {
            #expect(error.kind == .protocolViolation, "\(error)")
            #expect(error.message.contains("file"), "\(error)")
        }
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest floods output past the cap")
    func outputFlood() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        // ~6 MB of stdout frames whatever the request's cap says.
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              chunk=$(head -c 49152 /dev/zero | base64 -w0)
              i=0; while [ $i -lt 128 ]; do printf '{"id":%s,"type":"stdout","data":"%s"}\n' "$id" "$chunk"; i=$((i + 1)); done
              printf '{"id":%s,%s\n' "$id" "$EXIT"
            """#))
        defer { Self.remove(path) }
        let result = try await withLimit(.seconds(60)) {
            try await sandbox.guest.exec(ExecRequest(shell: "true", outputCap: 65536))
        }
        #expect(result.stdout.count == 65536)
        #expect(result.status.stdoutTruncated, "the harness did not mark its own truncation")
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest dies mid-frame")
    func diesMidFrame() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (sandbox, path) = try await Self.start(fixture, Self.script(#"""
              printf '{"id":%s,"type":"stdout","data":"aGk="}\n{"id":%s,"type":"ex' "$id" "$id"
              exit 0
            """#))
        defer { Self.remove(path) }
        do {
            _ = try await withLimit(.seconds(20)) { try await sandbox.guest.exec(ExecRequest(shell: "true")) }
            Issue.record("an exec answered by a guest that died mid-frame succeeded")
        } catch let error as SandboxError {
            #expect(error.kind == .guestDied, "\(error)")
        }
        #expect(!sandbox.isAlive)
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest never answers")
    func neverAnswers() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let (sandbox, path) = try await Self.start(fixture, Self.script("  :"))
        defer { Self.remove(path) }
        // The caller's own limit (the agent loop's answer limit) ends the wait; a hang here
        // fails the test through withLimit instead of stalling it.
        let guest = sandbox.guest
        let call = Task { try await guest.exec(ExecRequest(shell: "true")) }
        try await Task.sleep(for: .milliseconds(500))
        call.cancel()
        let outcome = try await withLimit(.seconds(60)) { await call.result }
        if case .success = outcome { Issue.record("a call nobody answered succeeded") }
        await sandbox.kill()
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest never greets")
    func neverGreets() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        do {
            let (sandbox, path) = try await withLimit(.seconds(60)) {
                try await Self.start(fixture, Self.script(greeting: nil, "  :"), startTimeout: .seconds(2))
            }
            Self.remove(path)
            await sandbox.kill()
            Issue.record("a guest that never greeted was accepted")
        } catch let error as SandboxError {
            #expect(error.kind == .startFailed, "\(error)")
        }
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: hostile guest claims another protocol version")
    func wrongVersion() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let greeting = #"{"id":0,"type":"hello","version":99,"pid":1,"workspace":"/workspace"}"#
        do {
            let (sandbox, path) = try await Self.start(fixture, Self.script(greeting: greeting, "  :"))
            Self.remove(path)
            await sandbox.kill()
            Issue.record("a guest of protocol 99 was accepted")
        } catch let error as SandboxError {
            #expect(error.kind == .startFailed)
            #expect(error.message.contains("99"), "\(error)")
        }
        try await fixture.expectHarnessAlive()
    }
}
