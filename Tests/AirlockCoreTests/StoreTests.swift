import AirlockModels
import Foundation
import GRDB
import Testing
@testable import AirlockCore
@testable import AirlockStoreSQLite

@Suite struct StoreTests {
    @Test func createsPrivateDirectoryWithDurableWAL() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let state = dir.url.appendingPathComponent("a/b/state")
        let store = try Store(stateDirectory: state)
        let mode = try FileManager.default.attributesOfItem(atPath: state.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(store.databaseURL.lastPathComponent == "airlock.sqlite")
        let fileMode = try FileManager.default.attributesOfItem(atPath: store.databaseURL.path)[.posixPermissions] as? Int
        #expect(fileMode == 0o600)
        let (journal, synchronous) = try store.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        // NORMAL: a commit only writes the WAL; the store fsyncs it after the commits that
        // need it (WALSyncCLITests counts those fsyncs in a real run).
        #expect(synchronous == 1)
    }

    @Test("many connections opening one new state dir at once all open it (the first switch to WAL races)")
    func concurrentFirstOpens() async throws {
        for _ in 0..<20 {
            let dir = try TempDir()
            defer { dir.cleanUp() }
            let state = dir.url.appendingPathComponent("state")
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        do { _ = try Store(stateDirectory: state); return nil } catch { return "\(error)" }
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.isEmpty, "\(failures.count) of 16 failed, first: \(failures.first ?? "")")
        }
    }

    @Test("a process that appended to a run while another held its last entry in memory: the other chains after it, no fork, no gap")
    func ledgerTailFromAnotherProcess() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        // Two stores on one file: two connections, as two processes have.
        let first = try Store(stateDirectory: dir.url)
        let second = try Store(stateDirectory: dir.url)
        let run = try await first.createRun(task: "a", model: "script:x", workspace: "/w", config: .object([:]), now: Date())
        for index in 0..<2 { _ = try first.appendLedgerEntries(run: run.id, items: [(.note, .object(["first": .int(index)]))], now: { Date() }) }
        #expect(first.ledgerTails.tail(of: run.id)?.seq == 2)
        _ = try second.appendLedgerEntries(run: run.id, items: (0..<3).map { (.note, .object(["second": .int($0)])) }, now: { Date() })
        // `first` still holds seq 2 as the tail; its next commit meets seq 3 taken.
        let entries = try first.commit(run: run.id, RunWrites(ledger: [(.note, .object(["first": .int(2)])), (.note, .object(["first": .int(3)]))]),
                                       now: { Date() })
        #expect(entries.map(\.seq) == [6, 7])
        #expect(first.ledgerTails.tail(of: run.id)?.seq == 7)
        let stored = try await first.ledgerEntries(run: run.id)
        #expect(stored.map(\.seq) == Array(1...7))
        #expect(try await first.verifyLedger(run: run.id).ok)
    }

    @Test("a failed WAL fsync stops every later write of the process, with the reason and the way on")
    func failedSyncLatches() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try Store(stateDirectory: dir.url)
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w", config: .object([:]), now: Date())
        try store.syncFault.check()
        try store.syncFault.sync {}
        try store.syncFault.check()
        // The fault as WALSync reports it; a real EIO from fsync cannot be made on demand here.
        #expect(throws: StoreError.self) {
            try store.syncFault.sync { throw StoreError.unavailable("the fsync of the database's WAL failed (SQLite code 10)") }
        }
        do {
            _ = try store.appendLedgerEntries(run: run.id, items: [(.runStarted, .object([:]))], now: { Date() })
            Issue.record("a write after a failed fsync went through")
        } catch let error as StoreError {
            #expect("\(error)".contains("SQLite code 10") && "\(error)".contains("airlock resume"), "\(error)")
        }
        // Copies of the store (fenced, other redactor) share the fault.
        #expect(throws: StoreError.self) { try (store.withRedactor(.none) as? Store)?.syncFault.check() }
        #expect(try await store.ledgerEntries(run: run.id).isEmpty, "nothing was written after the fault")
    }

    @Test func listsNewestFirstAndResolvesPrefixes() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try Store(stateDirectory: dir.url)
        let old = try await store.createRun(task: "a", model: "script:x", workspace: "/w", config: .object([:]), now: Date(timeIntervalSince1970: 1_700_000_000))
        let new = try await store.createRun(task: "b", model: "script:x", workspace: "/w", config: .object([:]), now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await store.runs().map(\.id) == [new.id, old.id])
        #expect(try await store.latestRun()?.id == new.id)
        #expect(try await store.resolveRun(new.id).id == new.id)
        #expect(try await store.resolveRun(String(old.id.prefix(12))).id == old.id)
        await #expect(throws: StoreError.self) { try await store.resolveRun("r-") }
        await #expect(throws: StoreError.runNotFound("zzz")) { try await store.resolveRun("zzz") }
        do {
            _ = try await store.resolveRun("r-")
        } catch {
            #expect("\(error)".contains("matches 2 runs"))
        }
    }

    @Test func toolCallsAreRecordedAndUpdated() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try Store(stateDirectory: dir.url)
        let run = try await store.createRun(task: "a", model: "script:x", workspace: "/w")
        try await store.recordToolCall(run: run.id, step: 1, call: ToolCall(id: "c1", name: "shell", arguments: #"{"command":"ls"}"#))
        try await store.recordToolCall(run: run.id, step: 2, call: ToolCall(id: "c2", name: "submit", arguments: #"{"answer":"x"}"#))
        let done = try await store.updateToolCall(run: run.id, callID: "c1", status: .completed, result: "a\nb", exitCode: 0, finished: true)
        #expect(done.finishedAt != nil)
        let calls = try await store.toolCalls(run: run.id)
        #expect(calls.map(\.callID) == ["c1", "c2"])
        #expect(calls[0].status == .completed && calls[0].result == "a\nb" && calls[0].exitCode == 0)
        #expect(calls[1].status == .proposed)
        await #expect(throws: StoreError.toolCallNotFound(run: run.id, callID: "c9")) {
            try await store.updateToolCall(run: run.id, callID: "c9", status: .failed)
        }
    }

    @Test func defaultStateDirectoryFollowsTheEnvironment() {
        #expect(Store.defaultStateDirectory(environment: ["AIRLOCK_STATE_DIR": "/s", "HOME": "/h"]).path == "/s")
        #expect(Store.defaultStateDirectory(environment: ["XDG_STATE_HOME": "/x", "HOME": "/h"]).path == "/x/airlock")
        #expect(Store.defaultStateDirectory(environment: ["HOME": "/h"]).path == "/h/.local/state/airlock")
    }
}
