import AirlockModels
@testable import AirlockStoreSQLite
import Foundation
import Testing
@testable import AirlockCore

/// One suite, both stores: what the core relies on behaves the same on SQLite and on
/// PostgreSQL (a real server the test starts).
@Suite struct RunStoreSuiteTests {
    @Test(arguments: StoreKind.allCases)
    func runsAreCreatedUpdatedListedAndResolved(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let old = try await store.createRun(task: "a", model: "script:x", workspace: "/w", config: .object(["n": .int(1)]),
                                            now: Date(timeIntervalSince1970: 1_700_000_000))
        let new = try await store.createRun(task: "b", model: "script:x", workspace: "/w", config: .object([:]),
                                            now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await store.runs().map(\.id) == [new.id, old.id])
        #expect(try await store.latestRun()?.id == new.id)
        #expect(try await store.resolveRun(String(old.id.prefix(12))).id == old.id)
        await #expect(throws: StoreError.runNotFound("zzz")) { try await store.resolveRun("zzz") }
        await #expect(throws: StoreError.self) { try await store.resolveRun("r-") }
        let finished = try await store.updateRun(old.id) {
            $0.status = .finished
            $0.outcome = "submitted"
            $0.exitCode = 0
            $0.steps = 2
            $0.inputTokens = 100
            $0.costUSD = 0.5
        }
        #expect(finished.finishedAt != nil)
        let loaded = try #require(try await store.run(id: old.id))
        #expect(loaded == finished)
        #expect(loaded.config == .object(["n": .int(1)]))
        await #expect(throws: StoreError.runNotFound("nope")) { try await store.updateRun("nope") { _ in } }
    }

    @Test(arguments: StoreKind.allCases)
    func toolCallsAndApprovals(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w")
        try await store.recordToolCall(run: run.id, step: 1, call: ToolCall(id: "c1", name: "shell", arguments: #"{"command":"ls"}"#))
        try await store.recordToolCall(run: run.id, step: 2, call: ToolCall(id: "c2", name: "submit", arguments: #"{"answer":"x"}"#))
        let done = try await store.updateToolCall(run: run.id, callID: "c1", status: .completed, result: "a\nb", exitCode: 0, finished: true)
        #expect(done.finishedAt != nil)
        let calls = try await store.toolCalls(run: run.id)
        #expect(calls.map(\.callID) == ["c1", "c2"])
        #expect(calls[0].status == .completed && calls[0].result == "a\nb" && calls[0].exitCode == 0)
        #expect(try await store.toolCall(run: run.id, callID: "c2")?.status == .proposed)
        #expect(try await store.answerApproval(run: run.id, call: "c1", decision: .approve, reason: nil, by: "alice"))
        #expect(try await store.answerApproval(run: run.id, call: "c1", decision: .deny, reason: "late", by: "bob") == false)
        #expect(try await store.approvalAnswer(run: run.id, call: "c1")?.by == "alice")
        #expect(try await store.approvalAnswer(run: run.id, call: "c9") == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func ledgerChainsVerifiesExportsAndNamesEditsMadeWithPlainSQL(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w").id
        let ledger = Ledger(store: store, run: run)
        for index in 1...6 { try await ledger.append(.note, ["i": .int(index)]) }
        #expect(try await store.verifyLedger(run: run).ok)
        let export = try await store.exportLedgerJSONL(run: run)
        let parsed = try LedgerJSONL.decode(export).get()
        #expect(LedgerVerifier.verify(entries: parsed, run: run).ok)
        // The same bytes hash the same way on both stores: the chain is the store's, not the engine's.
        #expect(parsed.map(\.seq) == Array(1...6))

        try fixture.sql(#"UPDATE ledger SET payload = '{"i":9}' WHERE run_id = RUN AND seq = 3"#, run: run)
        let edited = try await store.verifyLedger(run: run)
        #expect(!edited.ok && edited.firstBadSeq == 3)
        #expect(edited.reason?.contains("hash mismatch") == true, "\(edited)")
        try fixture.sql("DELETE FROM ledger WHERE run_id = RUN AND seq = 2", run: run)
        #expect(try await store.verifyLedger(run: run).firstBadSeq == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func aFinishedRunWhoseTailWasCutIsTruncated(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w").id
        let ledger = Ledger(store: store, run: run)
        try await ledger.append(.runStarted, [:])
        try await ledger.append(.runFinished, ["outcome": "submitted"])
        try await store.updateRun(run) { $0.status = .finished }
        #expect(try await store.verifyLedger(run: run).ok)
        try fixture.sql("DELETE FROM ledger WHERE run_id = RUN AND seq = 2", run: run)
        let report = try await store.verifyLedger(run: run)
        #expect(!report.ok && report.reason?.contains("truncated") == true)
    }

    @Test(arguments: StoreKind.allCases)
    func theLedgerRefusesUpdatesThroughTheDatabase(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let run = try await fixture.store.createRun(task: "a", model: "script:x", workspace: "/w").id
        try await Ledger(store: fixture.store, run: run).append(.note, ["a": 1])
        switch kind {
        case .sqlite:
            #expect(throws: (any Error).self) {
                try (fixture.store as? Store)?.write { db in try db.execute(sql: "DELETE FROM ledger") }
            }
        case .postgres:
            let server = try #require(fixture.server)
            #expect(throws: (any Error).self) { try server.psql("airlock_test", "DELETE FROM ledger") }
            #expect(try server.psql("airlock_test", "SELECT count(*) FROM ledger").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentAppendsNeverForkTheChain(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w").id
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let ledger = Ledger(store: store, run: run)
                    for index in 0..<10 { try await ledger.append(.note, ["w": .int(writer), "i": .int(index)]) }
                }
            }
            try await group.waitForAll()
        }
        let entries = try await store.ledgerEntries(run: run)
        #expect(entries.map(\.seq) == Array(1...40))
        #expect(try await store.verifyLedger(run: run).ok)
    }

    @Test(arguments: StoreKind.allCases)
    func secretsAreRedactedBeforeTheyReachTheDatabase(kind: StoreKind) async throws {
        let secret = "sk-test-" + String(repeating: "q", count: 24)
        guard let fixture = try await StoreFixture.make(kind, redactor: Redactor(secrets: [secret])) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let run = try await store.createRun(task: "use \(secret)", model: "script:x", workspace: "/w",
                                            config: .object(["k": .string(secret)])).id
        try await Ledger(store: store, run: run).append(.note, ["text": .string("key=\(secret)")])
        try await store.recordToolCall(run: run, step: 1, call: ToolCall(id: "c", name: "shell", arguments: "{\"command\":\"echo \(secret)\"}"))
        try await store.updateToolCall(run: run, callID: "c", status: .completed, result: secret, finished: true)
        _ = try await store.answerApproval(run: run, call: "c", decision: .deny, reason: "no \(secret)", by: "me")
        let dump = try fixture.dump()
        #expect(!dump.isEmpty)
        #expect(!dump.contains(secret))
        #expect(!(try await store.exportLedgerJSONL(run: run)).contains(secret))
    }

    @Test(arguments: StoreKind.allCases)
    func queueClaimsLeasesFencesAndStops(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let plain = try await store.submitRun(task: "a", model: "script:x", workspace: "/w", config: .object([:]),
                                              request: .object(["task": "a"]), needs: [], now: Date())
        let keyed = try await store.submitRun(task: "b", model: "openai:x", workspace: "/w", config: .object([:]),
                                              request: .object(["task": "b"]), needs: ["SOME_KEY"], now: Date().addingTimeInterval(1))
        #expect(plain.status == .queued)
        #expect(try await store.queuedRequest(run: keyed.id)?.needs == ["SOME_KEY"])
        // A worker without SOME_KEY takes only the plain run.
        let first = try #require(try await store.claimRun(worker: "w1", available: [], lease: .seconds(30)))
        #expect(first.run == plain.id && !first.takeover)
        #expect(try await store.claimRun(worker: "w1", available: [], lease: .seconds(30)) == nil)
        let second = try #require(try await store.claimRun(worker: "w2", available: ["SOME_KEY"], lease: .seconds(30)))
        #expect(second.run == keyed.id)
        #expect(try await store.run(id: plain.id)?.status == .running)
        #expect(try await store.run(id: plain.id)?.worker == "w1")

        // The lease runs out (released here); another worker takes over with a new epoch.
        let w1 = store.fenced(first.fence)
        try await Ledger(store: w1, run: plain.id).append(.note, ["by": "w1"])
        try await store.releaseRun(first)
        let takeover = try #require(try await store.claimRun(worker: "w3", available: [], lease: .seconds(30)))
        #expect(takeover.run == plain.id && takeover.takeover && takeover.epoch == first.epoch + 1)
        // The old holder can write nothing more to the run.
        await #expect(throws: StoreError.fenced(run: plain.id, epoch: first.epoch)) {
            try await Ledger(store: w1, run: plain.id).append(.note, ["by": "w1 again"])
        }
        await #expect(throws: StoreError.fenced(run: plain.id, epoch: first.epoch)) {
            try await w1.updateRun(plain.id) { $0.steps = 99 }
        }
        await #expect(throws: StoreError.fenced(run: plain.id, epoch: first.epoch)) {
            try await w1.recordToolCall(run: plain.id, step: 1, call: ToolCall(id: "x", name: "shell", arguments: "{}"))
        }
        #expect(try await store.renewLease(first, lease: .seconds(30)) == .lost(epoch: takeover.epoch))
        #expect(try await store.renewLease(takeover, lease: .seconds(30)) == .held(stop: nil))
        let w3 = store.fenced(takeover.fence)
        try await Ledger(store: w3, run: plain.id).append(.note, ["by": "w3"])
        #expect(try await store.ledgerEntries(run: plain.id).map { $0.payload["by"]?.stringValue } == ["w1", "w3"])

        // A stop request reaches the holder through its renewal; the first one stands.
        #expect(try await store.requestStop(run: plain.id, by: "alice", reason: "enough", now: Date()))
        #expect(try await store.requestStop(run: plain.id, by: "bob", reason: "me too", now: Date()) == false)
        guard case .held(let stop?) = try await store.renewLease(takeover, lease: .seconds(30)) else {
            Issue.record("no stop request seen")
            return
        }
        #expect(stop.by == "alice" && stop.reason == "enough")

        try await store.registerWorker(name: "w3", available: ["A", "B"])
        let workers = try await store.liveWorkers(within: .seconds(60))
        #expect(workers.map(\.name) == ["w3"] && workers.first?.available == ["A", "B"])
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersNeverTakeTheSameRun(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        for index in 0..<30 {
            _ = try await store.submitRun(task: "t\(index)", model: "script:x", workspace: "/w", config: .object([:]),
                                          request: .object([:]), needs: [], now: Date())
        }
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<5 {
                group.addTask {
                    var mine: [String] = []
                    while let claim = try await store.claimRun(worker: "w\(worker)", available: [], lease: .seconds(60)) {
                        mine.append(claim.run)
                    }
                    return mine
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        #expect(claimed.count == 30)
        #expect(Set(claimed).count == 30)
    }
}
