import AirlockBubblewrap
import AirlockModels
import AirlockSandbox
import AirlockStoreSQLite
import AirlockTestSupport
import Foundation
import Synchronization
import Testing
@testable import AirlockCore

/// What a step costs in durable commits, counted for real: by the store's own count of
/// committed transactions on both stores, and on SQLite also by the commit frames its WAL
/// file holds (each commit ends with a frame whose "database size after commit" is set).
@Suite("durable commits per step", .timeLimit(.minutes(2)))
struct CommitsPerStepTests {
    @Test("a step with one tool call costs at most two commits, and the run still verifies and reads back",
          arguments: StoreKind.allCases)
    func twoCommitsPerStep(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let loopFixture = try LoopFixture()
        defer { loopFixture.remove() }
        let steps = 6
        let model = try Script.model((1...steps).map { Script.shell("echo line-\($0) >> log.txt", usage: (10, 5)) } + [Script.submit("ok")])
        let store = fixture.store
        let walPath = fixture.dir.url.appendingPathComponent(Store.fileName + "-wal").path
        // At each model request (emitted once its entry is on disk): both counts.
        let marks = Mutex<[(counter: Int, synced: Int, wal: Int?)]>([])
        let loop = AgentLoop(configuration: loopFixture.configuration(model.spec), model: model, backend: BubblewrapBackend(),
                             store: store) { event in
            guard event.type == "model_request" else { return }
            let wal = kind == .sqlite ? WALFile.commitFrames(path: walPath) : nil
            marks.withLock { $0.append((store.commits.value, store.commits.synced, wal)) }
        }
        let result = try await withLimit(.seconds(60)) { try await loop.run() }
        #expect(result.outcome == .submitted, "\(result.reason)")
        let taken = marks.withLock { $0 }
        try #require(taken.count == steps + 1, "one model request per step: \(taken.count)")
        for (before, after) in zip(taken, taken.dropFirst()) {
            #expect(after.counter - before.counter <= 2, "commits counted by the store in one step: \(after.counter - before.counter)")
            #expect(after.counter - before.counter >= 1, "a step commits something: \(after.counter - before.counter)")
            // SQLite syncs only the commit before the action; PostgreSQL syncs both.
            let synced = after.synced - before.synced
            #expect(synced >= 1 && synced <= (kind == .sqlite ? 1 : 2), "fsync'd commits in one step: \(synced)")
            if let walBefore = before.wal, let walAfter = after.wal {
                #expect(walAfter - walBefore == after.counter - before.counter,
                        "the WAL's commit frames agree with the counter: \(walAfter - walBefore)")
            }
        }
        // Nothing was lost by grouping: every entry, every tool call row, the run's counters.
        #expect(try await store.verifyLedger(run: result.runID).ok)
        let entries = try await store.ledgerEntries(run: result.runID)
        #expect(entries.filter { $0.kind == .toolResult }.count == steps)
        #expect(entries.filter { $0.kind == .frameSent }.count == steps)
        #expect(entries.last?.kind == .runFinished)
        let calls = try await store.toolCalls(run: result.runID)
        #expect(calls.count == steps + 1)
        #expect(calls.allSatisfy { $0.finishedAt != nil && ($0.status == .completed) }, "\(calls.map(\.status))")
        let record = try #require(try await store.run(id: result.runID))
        #expect(record.status == .finished && record.steps == steps + 1 && record.inputTokens == 10 * steps)
        #expect(loopFixture.file("log.txt")?.split(separator: "\n").count == steps)
    }

    @Test("every entry that allows a frame is on disk before the frame: the frame_sent entry, read from another connection while the tool runs")
    func frameEntryIsDurableBeforeTheCall() async throws {
        guard let fixture = try await StoreFixture.make(.sqlite) else { return }
        defer { fixture.cleanUp() }
        let loopFixture = try LoopFixture()
        defer { loopFixture.remove() }
        // The tool waits until the test has looked at the database from outside.
        let model = try Script.model([Script.shell("echo begun > begun.txt; for i in $(seq 100); do [ -f go ] && break; sleep 0.1; done"),
                                      Script.submit("ok")])
        let loop = AgentLoop(configuration: loopFixture.configuration(model.spec), model: model, backend: BubblewrapBackend(),
                             store: fixture.store)
        let running = Task { try await loop.run() }
        defer { running.cancel() }
        var seen: [LedgerKind] = []
        for _ in 0..<200 where loopFixture.file("begun.txt") == nil { try await Task.sleep(for: .milliseconds(50)) }
        try #require(loopFixture.file("begun.txt") != nil, "the tool never started")
        // A second, independent store on the same file sees what is committed, nothing staged.
        let other = try Store(stateDirectory: fixture.dir.url)
        let run = try #require(try await other.latestRun())
        seen = try await other.ledgerEntries(run: run.id).map(\.kind)
        let rowWhileRunning = try await other.toolCalls(run: run.id).first?.status
        FileManager.default.createFile(atPath: loopFixture.workspace + "/go", contents: Data())
        let result = try await withLimit(.seconds(30)) { try await running.value }
        #expect(result.outcome == .submitted)
        for kind in [LedgerKind.modelRequest, .modelResponse, .budgetCharged, .toolCallProposed, .toolCallValidated,
                     .policyDecision, .frameSent] {
            #expect(seen.contains(kind), "\(kind.rawValue) on disk while the call runs: \(seen.map(\.rawValue))")
        }
        #expect(rowWhileRunning == .running, "the call's row is committed with its frame")
        #expect(!seen.contains(.toolResult))
    }
}

/// Reads SQLite's WAL file format (https://sqlite.org/fileformat2.html#walformat).
enum WALFile {
    /// Commit frames in the WAL: frames whose header's "database size after commit" is not 0.
    /// Frames from before the last reset (a salt change) are not counted.
    static func commitFrames(path: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else { return nil }
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let pageSize = Int(u32(8))
        let salt = (u32(16), u32(20))
        var offset = 32
        var commits = 0
        while offset + 24 + pageSize <= bytes.count {
            guard (u32(offset + 8), u32(offset + 12)) == salt else { break }
            if u32(offset + 4) != 0 { commits += 1 }
            offset += 24 + pageSize
        }
        return commits
    }
}
