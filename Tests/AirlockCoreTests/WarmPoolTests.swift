import AirlockBubblewrap
import AirlockModels
import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import AirlockStoreSQLite
import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockCore

/// The warm pool with real bubblewrap sandboxes.
@Suite("warm pool", .timeLimit(.minutes(2)))
struct WarmPoolTests {
    /// Polls `condition` every 20 ms for at most `limit`.
    static func eventually(_ limit: Duration, _ condition: () async -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    /// Runs `body` with a pool of `size`, then shuts the pool down (killing what it holds),
    /// pass or fail.
    static func withPool(_ size: Int, _ body: (WarmPool) async throws -> Void) async throws {
        let pool = WarmPool(size: size)
        let outcome: Result<Void, any Error>
        do { try await body(pool); outcome = .success(()) } catch { outcome = .failure(error) }
        await pool.shutdown()
        try outcome.get()
    }

    @Test("a pooled sandbox killed from outside while waiting is replaced, never handed out; no sandbox is handed out twice; another configuration drains the pool")
    func killedWhileWaiting() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let backend = BubblewrapBackend()
        // Three runs, three workspaces (a workspace has one sandbox at a time).
        var configurations: [SandboxConfiguration] = []
        for index in 0..<3 {
            let directory = fixture.workspace + "/w\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o777)
            configurations.append(SandboxConfiguration(workspace: directory))
        }
        let configuration = configurations[0]
        try await Self.withPool(3) { pool in
        await pool.expect(configurations.map { (backend: backend, configuration: $0) })
        let filled = await Self.eventually(.seconds(20)) { await pool.readyCount == 3 }
        let stats = await pool.stats
        try #require(filled, "the pool never filled: \(stats)")

        // Kill one ready sandbox's process tree from outside, as an OOM kill or a stray kill would.
        let victim = try #require(await pool.readySandboxes.first as? ProcessSandbox)
        #expect(kill(victim.pid, SIGKILL) == 0)
        let replaced = await Self.eventually(.seconds(20)) {
            let stats = await pool.stats
            let count = await pool.readyCount
            return stats.replaced >= 1 && count == 3
        }
        let afterKill = await pool.stats
        #expect(replaced, "the dead sandbox was replaced: \(afterKill)")

        var seen: Set<String> = []
        for wanted in configurations {
            let taken = try #require(await pool.take(wanted, backend: backend.name))
            #expect(taken.id != victim.id, "the killed sandbox was handed out")
            #expect(taken.isAlive)
            #expect(seen.insert(taken.id).inserted, "handed out twice: \(taken.id)")
            // Still answers: a real round trip through the guest.
            _ = try await taken.guest.call(.listFiles(PathRequest(path: ".")))
            await taken.kill()
        }
        // Taken ones left the pool for good; nothing more is expected, so nothing is ready.
        #expect(await pool.take(configuration, backend: backend.name) == nil)

        // A change of configuration drains what waits for the old one.
        await pool.expect(configurations.prefix(2).map { (backend: backend, configuration: $0) })
        _ = await Self.eventually(.seconds(20)) { await pool.readyCount == 2 }
        var other = configuration
        other.environment["OTHER"] = "1"
        await pool.expect([(backend: backend, configuration: other)])
        #expect(await pool.stats.drained == 2)
        #expect(await pool.take(configuration, backend: backend.name) == nil, "the old configuration is gone")
        let filledOther = await Self.eventually(.seconds(20)) { await pool.readyCount == 1 }
        #expect(filledOther)
        let last = await pool.take(other, backend: backend.name)
        #expect(last != nil)
        await last?.kill()
        }
    }

    @Test("runs take pooled sandboxes: the ledger says so with the wait, and each run's sandbox is killed at its end")
    func runsTakePooledSandboxes() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let backend = BubblewrapBackend()
        try await Self.withPool(2) { pool in
        let configuration = fixture.configuration(ModelSpec(provider: .script, name: "inline.json"))
        await pool.expect(Array(repeating: (backend: backend, configuration: configuration.sandbox), count: 2))
        let filled = await Self.eventually(.seconds(20)) { await pool.readyCount == 1 }
        try #require(filled)
        // Two runs on one workspace: one sandbox at a time on it, however many are expected.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await pool.readyCount == 1)
        let store = try fixture.store()
        var sandboxIDs: [String] = []
        for index in 0..<2 {
            let model = try Script.model([Script.shell("echo run-\(index) >> log.txt"), Script.submit("ok")])
            // The second waits until the first run's sandbox ended and the pool refilled.
            let ready = await Self.eventually(.seconds(20)) { await pool.readyCount == 1 }
            try #require(ready)
            let pooled = try #require(await pool.take(configuration.sandbox, backend: backend.name))
            let loop = AgentLoop(configuration: fixture.configuration(model.spec), model: model,
                                 backend: HandOverBackend(base: backend, pooled: pooled), store: store)
            let result = try await withLimit(.seconds(30)) { try await loop.run() }
            #expect(result.outcome == .submitted, "\(result.reason)")
            let started = try await store.ledgerEntries(run: result.runID).filter { $0.kind == .sandboxStarted }
            #expect(started.count == 1)
            #expect(started.first?.payload["pooled"] == .bool(true))
            #expect(started.first?.payload["pool_wait_ms"] != nil && started.first?.payload["take_us"] != nil)
            #expect(started.first?.payload["sandbox"]?.stringValue == pooled.id)
            #expect(!pooled.isAlive, "the run killed its sandbox at its end")
            sandboxIDs.append(pooled.id)
        }
        #expect(Set(sandboxIDs).count == 2, "no sandbox served two runs")
        #expect(fixture.file("log.txt") == "run-0\nrun-1\n")
        }
    }
}
