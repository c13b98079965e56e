import AirlockModels
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

/// Faults injected into whole runs (`AgentLoop`, real bubblewrap sandboxes, an in-test HTTP
/// server speaking the real wire format): each must end in a clear outcome and a ledger
/// that verifies.
@Suite("Fault injection", .timeLimit(.minutes(2)))
struct FaultInjectionTests {
    static func expectVerifies(_ run: LoopRun, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let report = try await run.store.verifyLedger(run: run.result.runID)
        #expect(report.ok, "\(report)", sourceLocation: sourceLocation)
        #expect(run.ledgerKinds.last == "run_finished", sourceLocation: sourceLocation)
    }

    static func openAI(_ server: TestHTTPServer, timeout: Duration = .seconds(20), maxBytes: Int = 32 << 20,
                       retry: RetryPolicy = Providers.fastRetry) -> OpenAIChatModel {
        OpenAIChatModel(spec: ModelSpec(provider: .openai, name: "test-model"),
                        endpoint: ProviderEndpoint(baseURL: server.baseURL + "/v1", apiKey: "sk-test", stream: true,
                                                   retry: retry, requestTimeout: timeout, maxResponseBytes: maxBytes))
    }

    @Test("fault: the model server returns 500 on every attempt")
    func serverErrors() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let failing = (0..<3).map { _ in CannedResponse.json(#"{"error":{"message":"upstream exploded"}}"#, status: 500) }
        try await TestHTTPServer.with(failing) { server in
            let run = try await fixture.run(Self.openAI(server))
            #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
            #expect(run.result.exitCode == 6)
            #expect(run.result.reason.contains("500") && run.result.reason.contains("upstream exploded"), "\(run.result.reason)")
            #expect(server.requests.count == 3)
            #expect(run.ledgerKinds.filter { $0 == "model_retry" }.count == 2)
            try await Self.expectVerifies(run)
        }
    }

    @Test("fault: the model server answers 429 on every attempt")
    func rateLimitedForever() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let limited = (0..<3).map { _ in
            CannedResponse.json(#"{"error":{"message":"Rate limit reached"}}"#, status: 429, headers: [("retry-after", "0")])
        }
        try await TestHTTPServer.with(limited) { server in
            let run = try await fixture.run(Self.openAI(server))
            #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
            #expect(run.result.exitCode == 6)
            #expect(run.result.reason.contains("429"), "\(run.result.reason)")
            try await Self.expectVerifies(run)
        }
    }

    @Test("fault: every stream is truncated before its end marker")
    func truncatedStreams() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let text = OpenAIStream.toolCalls([("call_x", "shell", #"{"command":"echo partial"}"#)], done: false)
        let cut = CannedResponse.sse(String(text.prefix(text.count / 2)), drop: true)
        try await TestHTTPServer.with([cut, cut, cut]) { server in
            let run = try await fixture.run(Self.openAI(server))
            #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
            #expect(run.result.exitCode == 6)
            #expect(server.requests.count == 3)
            // Nothing from a cut stream ran.
            #expect(try await run.store.toolCalls(run: run.result.runID).isEmpty)
            try await Self.expectVerifies(run)
        }
    }

    @Test("fault: the model server answers garbage JSON")
    func garbageJSON() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let garbage = CannedResponse.json(#"{"choices": [{"message": tru"#)
        let stream = CannedResponse.sse("data: {\"choices\": [{\"delta\": {\"content\": \"hi\"\n\ndata: [DONE]\n\n")
        for response in [garbage, stream] {
            try await TestHTTPServer.with([response]) { server in
                let run = try await fixture.run(Self.openAI(server))
                #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
                #expect(run.result.exitCode == 6)
                #expect(run.result.reason.contains("not JSON"), "\(run.result.reason)")
                #expect(server.requests.count == 1, "a malformed body is not retried")
                try await Self.expectVerifies(run)
            }
        }
    }

    /// A stream of keep-alive comments and empty deltas that never ends (as long as the test
    /// could care: about 10 minutes of pings).
    static var endless: CannedResponse {
        let ping = Array(": ping\n\n".utf8)
        let delta = Array("data: {\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n".utf8)
        return CannedResponse(headers: [("content-type", "text/event-stream")],
                              chunks: (0..<60_000).map { $0.isMultiple(of: 2) ? ping : delta },
                              pause: .milliseconds(10))
    }

    @Test("fault: an endless stream is cut by the request timeout")
    func endlessStreamRequestTimeout() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        try await TestHTTPServer.with([Self.endless]) { server in
            let run = try await fixture.run(Self.openAI(server, timeout: .seconds(2), retry: .none))
            #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
            #expect(run.result.exitCode == 6)
            #expect(run.result.reason.contains("timed out"), "\(run.result.reason)")
            try await Self.expectVerifies(run)
        }
    }

    @Test("fault: an endless stream is cut by the run's timeout")
    func endlessStreamRunTimeout() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        try await TestHTTPServer.with([Self.endless]) { server in
            let run = try await fixture.run(Self.openAI(server, timeout: .seconds(600)),
                                            limits: BudgetLimits(timeout: .seconds(2)))
            #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
            #expect(run.result.exitCode == 3)
            #expect(run.finishedBudget == "time", "\(String(describing: run.events.finished))")
            try await Self.expectVerifies(run)
        }
    }

    @Test("fault: a response larger than the cap")
    func oversizedResponse() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let cap = 256 * 1024
        // A streamed answer of 1 MiB of text deltas, and a 1 MiB JSON body.
        let delta = "data: " + WireJSON.text(["choices": [["index": 0, "delta": ["content": String(repeating: "x", count: 4000)]]]]) + "\n\n"
        let stream = CannedResponse.sse(String(repeating: delta, count: 260) + "data: [DONE]\n\n", cut: 65536)
        let body = CannedResponse.json(WireJSON.text(["choices": [["message": ["content": String(repeating: "y", count: 1 << 20)]]]]))
        for response in [stream, body] {
            try await TestHTTPServer.with([response]) { server in
                let run = try await fixture.run(Self.openAI(server, maxBytes: cap))
                #expect(run.result.outcome == .modelFailed, "\(run.result.reason)")
                #expect(run.result.exitCode == 6)
                #expect(run.result.reason.contains("exceeds \(cap) bytes"), "\(run.result.reason)")
                try await Self.expectVerifies(run)
            }
        }
    }

    @Test("fault: the disk under the state dir fills up",
          .enabled(if: getuid() == 0, "mounting a small tmpfs under the state dir needs root"))
    func stateDiskFull() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(at: fixture.stateDir, withIntermediateDirectories: true)
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", fixture.stateDir.path]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0, "cannot mount a tmpfs on the state dir")
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = ["-l", fixture.stateDir.path]
            try? unmount.run()
            unmount.waitUntilExit()
        }
        // Every step prints ~12 KB that the ledger keeps; 512 KiB runs out long before the
        // script does.
        let turns = (0..<400).map { _ in Script.shell("head -c 9000 /dev/urandom | base64") } + [Script.submit()]
        let run = try await fixture.run(try Script.model(turns), limit: .seconds(90))
        #expect(run.result.outcome == .failed, "\(run.result.outcome): \(run.result.reason)")
        #expect(run.result.exitCode == 1)
        #expect(run.result.reason.lowercased().contains("full"), "\(run.result.reason)")
        // What was written before the disk filled is an intact chain.
        let report = try await run.store.verifyLedger(run: run.result.runID)
        #expect(report.ok, "\(report)")
        #expect(report.count > 10)
    }

    /// Finds the guest serving the command that carries `marker`: the parent of that
    /// command's shell, inside the sandbox's pid namespace but visible from the host.
    static func guestPID(running marker: String) -> Int32? {
        for pid in HostProcesses.matching(marker) {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") }),
                  let parent = Int32(line.split(separator: "\t").last ?? "") else { continue }
            let comm = (try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8)) ?? ""
            if comm.hasPrefix("airlock-guest") { return parent }
        }
        return nil
    }

    /// Kills the guest mid-stream once the marked command is producing output.
    static func killGuestWhenRunning(_ marker: String) async -> Bool {
        for _ in 0..<400 {
            if let guest = guestPID(running: marker) {
                try? await Task.sleep(for: .milliseconds(300))  // well into the output
                return kill(guest, SIGKILL) == 0
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    @Test("fault: the guest is killed mid-frame and a fresh sandbox carries on")
    func guestKilledMidFrame() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let marker = "airlock-fault-\(UInt32.random(in: 100_000...999_999))"
        let long = "i=0; while [ $i -lt 100000 ]; do echo \(marker)-$i-$(head -c 2000 /dev/zero | tr '\\0' x); sleep 0.01; i=$((i+1)); done"
        let model = try Script.model([Script.shell(long, timeout: 120), Script.shell("echo after > after.txt"), Script.submit("survived")])
        let killer = Task { await Self.killGuestWhenRunning(marker) }
        let run = try await fixture.run(model, limit: .seconds(90))
        #expect(await killer.value, "the guest was never found to kill")
        #expect(run.result.outcome == .submitted, "\(run.result.reason)")
        #expect(run.result.exitCode == 0)
        #expect(run.ledgerKinds.contains("sandbox_replaced"))
        #expect(fixture.file("after.txt") == "after\n", "the next call ran in a fresh sandbox")
        #expect(run.events.types.contains("sandbox_replaced"))
        try await Self.expectVerifies(run)
    }

    @Test("fault: the guest is killed and no replacement is allowed: exit 5")
    func guestKilledNoReplacement() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let marker = "airlock-fault-\(UInt32.random(in: 100_000...999_999))"
        let long = "i=0; while [ $i -lt 100000 ]; do echo \(marker)-$i; sleep 0.01; i=$((i+1)); done"
        let model = try Script.model([Script.shell(long, timeout: 120), Script.submit("unreachable")])
        let killer = Task { await Self.killGuestWhenRunning(marker) }
        let run = try await fixture.run(model, limit: .seconds(90)) { $0.maxSandboxReplacements = 0 }
        #expect(await killer.value, "the guest was never found to kill")
        #expect(run.result.outcome == .sandboxFailed, "\(run.result.reason)")
        #expect(run.result.exitCode == 5)
        #expect(run.ledgerKinds.contains("sandbox_replaced"))
        try await Self.expectVerifies(run)
    }
}
