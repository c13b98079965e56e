import AirlockTestSupport
import AirlockModels
import AirlockSandbox
import Foundation
import Glibc
import Synchronization
import Testing

@testable import AirlockCore
import AirlockBubblewrap
@testable import AirlockStoreSQLite

/// The host's view of the sandbox processes of a run.
enum DurabilityProcs {
    static func commandLine(_ pid: Int32) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// Field 4 of /proc/PID/stat (after the parenthesised command, which may hold spaces).
    static func parent(of pid: Int32) -> Int32? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// The guest running `pid`'s command: its parent, or the nearest ancestor that is the
    /// guest (the shell may or may not exec the command).
    static func guest(above pid: Int32) -> Int32? {
        var current = pid
        for _ in 0..<4 {
            guard let up = parent(of: current), up > 1 else { return nil }
            if commandLine(up).contains("airlock-guest") { return up }
            current = up
        }
        return nil
    }

    /// Waits for a host process carrying `marker`; returns its pid.
    static func waitFor(_ marker: String, limit: Duration) async -> Int32? {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if let pid = HostProcesses.matching(marker).first(where: { commandLine($0).hasPrefix("sleep ") }) { return pid }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

@Suite("durability: a dead sandbox is replaced", .timeLimit(.minutes(1)))
struct DurabilityLoopTests {
    /// Runs `before`, a sleeper, `cat a.txt`, submit; SIGKILLs the guest under the sleeper.
    private func killGuestMidCall(_ fixture: LoopFixture, maxReplacements: Int) async throws
        -> (result: RunResult, store: Store, model: RecordingModel) {
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fixture.workspace)
        let marker = "30." + String(UInt32.random(in: 100_000...999_999)) + String(getpid() % 1000)
        defer { for pid in HostProcesses.matching(marker) { kill(pid, SIGKILL) } }
        let model = RecordingModel(try Script.model([
            Script.shell("echo before > a.txt"),
            Script.shell("sleep \(marker)"),
            Script.shell("cat a.txt"),
            Script.submit("finished"),
        ]))
        var configuration = fixture.configuration(model.spec)
        configuration.maxSandboxReplacements = maxReplacements
        let store = try fixture.store()
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store)
        let running = Task { try await withLimit(.seconds(40)) { try await loop.run() } }

        let sleeper = await DurabilityProcs.waitFor(marker, limit: .seconds(15))
        guard let sleeper else {
            running.cancel()
            _ = try? await running.value
            Issue.record("the sleeper never showed up on the host")
            throw CancellationError()
        }
        guard let guest = DurabilityProcs.guest(above: sleeper) else {
            running.cancel()
            _ = try? await running.value
            Issue.record("no guest above \(sleeper) (\(DurabilityProcs.commandLine(sleeper)))")
            throw CancellationError()
        }
        #expect(kill(guest, SIGKILL) == 0)
        let result = try await running.value
        // The dead sandbox's processes go with it.
        let end = ContinuousClock.now + .seconds(3)
        while !HostProcesses.matching(marker).isEmpty && ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(HostProcesses.matching(marker).isEmpty, "the sleeper of the dead sandbox survives")
        return (result, store, model)
    }

    @Test("the guest SIGKILLed from the host mid-call: a fresh sandbox on the same workspace, the model told, the run submits")
    func deadGuestIsReplaced() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let (result, store, model) = try await killGuestMidCall(fixture, maxReplacements: 3)
        #expect(result.outcome == .submitted, "\(result.reason)")
        #expect(result.exitCode == 0)
        #expect(result.answer == "finished")
        let entries = try await store.ledgerEntries(run: result.runID)
        let kinds = entries.map(\.kind)
        #expect(kinds.filter { $0 == .sandboxReplaced }.count == 1, "\(kinds.map(\.rawValue))")
        #expect(kinds.filter { $0 == .sandboxStarted }.count == 2, "a second sandbox started: \(kinds.map(\.rawValue))")
        let died = entries.filter { $0.kind == .toolResult && $0.payload["status"]?.stringValue == "sandbox_died" }
        #expect(died.count == 1)
        // The model heard why the call failed...
        let told = try #require(model.lastToolResult(2))
        #expect(told.isError && told.content.contains("sandbox died"), "\(told.content)")
        // ...and the fresh sandbox saw the same workspace.
        let third = try #require(model.lastToolResult(3))
        #expect(!third.isError && third.content.contains("stdout:\nbefore"), "\(third.content)")
        #expect(fixture.file("a.txt") == "before\n")
        #expect(try await store.verifyLedger(run: result.runID).ok)
        let record = try await store.resolveRun(result.runID)
        #expect(record.status == .finished && record.outcome == "submitted")
    }

    @Test("with no replacements allowed, the same kill ends the run with exit 5")
    func noReplacementsAllowed() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let (result, store, model) = try await killGuestMidCall(fixture, maxReplacements: 0)
        #expect(result.outcome == .sandboxFailed, "\(result.reason)")
        #expect(result.exitCode == 5)
        #expect(model.requests.count == 2, "the model is not asked again")
        let entries = try await store.ledgerEntries(run: result.runID)
        let replaced = try #require(entries.first { $0.kind == .sandboxReplaced })
        #expect(replaced.payload["replaced"] == .bool(false))
        #expect(entries.filter { $0.kind == .sandboxStarted }.count == 1)
        #expect(try await store.verifyLedger(run: result.runID).ok)
        let record = try await store.resolveRun(result.runID)
        #expect(record.exitCode == 5)
    }

    /// Kills the guest of the sandbox whose /workspace holds `marker` while the model
    /// thinks, between call 1 and call 2.
    private func killGuestBetweenCalls(_ fixture: LoopFixture, maxReplacements: Int) async throws
        -> (result: RunResult, store: Store, model: RecordingModel) {
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fixture.workspace)
        let marker = "marker-" + UUID().uuidString
        let inner = try Script.model([
            Script.shell("echo before > a.txt; touch \(marker)"),
            Script.shell("cat a.txt"),
            Script.submit("finished"),
        ])
        let model = RecordingModel(KillingModel(inner, atRequest: 1, marker: marker))
        var configuration = fixture.configuration(model.spec)
        configuration.maxSandboxReplacements = maxReplacements
        let store = try fixture.store()
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store)
        let result = try await withLimit(.seconds(30)) { try await loop.run() }
        return (result, store, model)
    }

    @Test("the guest SIGKILLed between calls: recorded as a replacement, the next call runs in a fresh sandbox")
    func deadGuestBetweenCalls() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let (result, store, model) = try await killGuestBetweenCalls(fixture, maxReplacements: 3)
        #expect(result.outcome == .submitted, "\(result.reason)")
        let entries = try await store.ledgerEntries(run: result.runID)
        let replaced = entries.filter { $0.kind == .sandboxReplaced }
        #expect(replaced.count == 1, "\(entries.map(\.kind.rawValue))")
        #expect(replaced.first?.payload["reason"]?.stringValue?.contains("between calls") == true)
        #expect(entries.filter { $0.kind == .sandboxStarted }.count == 2)
        let second = try #require(model.lastToolResult(2))
        #expect(!second.isError && second.content.contains("stdout:\nbefore"), "\(second.content)")
        #expect(try await store.verifyLedger(run: result.runID).ok)
    }

    @Test("the guest SIGKILLed between calls with no replacements allowed: exit 5")
    func deadGuestBetweenCallsNoReplacements() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let (result, store, _) = try await killGuestBetweenCalls(fixture, maxReplacements: 0)
        #expect(result.outcome == .sandboxFailed, "\(result.reason)")
        #expect(result.exitCode == 5)
        let entries = try await store.ledgerEntries(run: result.runID)
        #expect(entries.filter { $0.kind == .sandboxReplaced }.count == 1)
        #expect(entries.filter { $0.kind == .sandboxStarted }.count == 1)
        #expect(try await store.verifyLedger(run: result.runID).ok)
    }
}

/// Before answering request `atRequest`, SIGKILLs the guest whose /workspace holds `marker`
/// (seen through /proc/PID/root) and waits for it to be gone.
final class KillingModel: LanguageModel {
    let inner: any LanguageModel
    let atRequest: Int
    let marker: String
    private let count = Mutex(0)

    init(_ inner: any LanguageModel, atRequest: Int, marker: String) {
        self.inner = inner
        self.atRequest = atRequest
        self.marker = marker
    }

    var spec: ModelSpec { inner.spec }

    func complete(_ request: ModelRequest, observer: ModelObserver?) async throws -> AssistantTurn {
        let index = count.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        if index == atRequest {
            let guests = HostProcesses.matching("airlock-guest").filter {
                FileManager.default.fileExists(atPath: "/proc/\($0)/root/workspace/\(marker)")
            }
            if guests.isEmpty { Issue.record("no guest has \(marker) in its /workspace") }
            for pid in guests { kill(pid, SIGKILL) }
            let end = ContinuousClock.now + .seconds(5)
            while guests.contains(where: { FileManager.default.fileExists(atPath: "/proc/\($0)/stat") })
                    && ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(20))
            }
            // The harness notices its guest's end on its own reader; give it a moment.
            try await Task.sleep(for: .milliseconds(500))
        }
        return try await inner.complete(request, observer: observer)
    }
}
