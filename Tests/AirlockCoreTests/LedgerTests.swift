import AirlockModels
import Foundation
import GRDB
import Testing
@testable import AirlockCore
@testable import AirlockStoreSQLite

@Suite struct LedgerTests {
    /// A store with one run and `count` ledger entries.
    static func makeLedger(_ dir: TempDir, count: Int = 5) async throws -> (Store, Ledger, String) {
        let store = try Store(stateDirectory: dir.url.appendingPathComponent("state"))
        let run = try await store.createRun(task: "demo", model: "script:demo.json", workspace: "/tmp/ws")
        let ledger = Ledger(store: store, run: run.id)
        for index in 1...count {
            try await ledger.append(.note, .object(["i": .int(index), "text": .string("entry \(index)")]))
        }
        return (store, ledger, run.id)
    }

    @Test("timestamps: fixed-width RFC 3339 UTC with milliseconds, zero-padded, the same as strftime's")
    func timestampsAreFixedWidth() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_764_423_901.123_4)) == "2025-11-29T13:45:01.123Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 951_782_400.0075)) == "2000-02-29T00:00:00.007Z")
        // Any instant: 24 characters, and the order of the texts is the order of the times.
        let times = (0..<200).map { _ in Date(timeIntervalSince1970: Double.random(in: 0...4_102_444_800)) }.sorted()
        let texts = times.map { Timestamp.rfc3339($0) }
        #expect(texts.allSatisfy { $0.utf8.count == 24 })
        #expect(texts == texts.sorted())
    }

    @Test func appendChainsFromGenesisAndVerifies() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, ledger, run) = try await Self.makeLedger(dir)
        let entries = try await store.ledgerEntries(run: run)
        #expect(entries.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(entries[0].prevHash == LedgerEntry.genesisHash)
        for index in 1..<entries.count { #expect(entries[index].prevHash == entries[index - 1].hash) }
        let report = try await ledger.verify()
        #expect(report.ok)
        #expect(report.count == 5)
        #expect(report.headHash == entries.last?.hash)
    }

    @Test func hashIsSHA256OfPrevHashBytesAndDocumentedCanonicalBytes() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try Store(stateDirectory: dir.url)
        let run = try await store.createRun(task: "t", model: "script:x", workspace: "/w")
        let fixed = Date(timeIntervalSince1970: 1_764_423_901.123)
        let ledger = Ledger(store: store, run: run.id, clock: { fixed })
        let entry = try await ledger.append(.toolCallProposed, .object(["name": .string("shell"), "n": .double(1.5)]))
        #expect(entry.time == "2025-11-29T13:45:01.123Z")
        #expect(entry.payloadJSON == #"{"n":1.5,"name":"shell"}"#)
        let canonical = #"{"kind":"tool_call_proposed","payload":{"n":1.5,"name":"shell"},"run":""#
            + run.id + #"","seq":1,"time":"2025-11-29T13:45:01.123Z"}"#
        // computeHash itself is pinned to an independent implementation in CanonicalGoldenTests.
        #expect(entry.recomputedHash == entry.hash)
        #expect(entry.hash == LedgerEntry.computeHash(prevHash: LedgerEntry.genesisHash,
                                                      canonicalBytes: Array(canonical.utf8)))
    }

    @Test func aNewLedgerActorContinuesAnExistingChain() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await Self.makeLedger(dir, count: 2)
        let reopened = try Store(stateDirectory: dir.url.appendingPathComponent("state"))
        let entry = try await Ledger(store: reopened, run: run).append(.runFinished, .object([:]))
        #expect(entry.seq == 3)
        #expect(try await store.verifyLedger(run: run).ok)
    }

    @Test func concurrentAppendsNeverForkTheChain() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await Self.makeLedger(dir, count: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let ledger = Ledger(store: store, run: run)
                    for index in 0..<10 { try await ledger.append(.note, .object(["w": .int(worker), "i": .int(index)])) }
                }
            }
            try await group.waitForAll()
        }
        let report = try await store.verifyLedger(run: run)
        #expect(report.ok)
        #expect(report.count == 41)
    }

    @Test func theLedgerRefusesPlainUpdatesThroughTheStore() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await Self.makeLedger(dir, count: 1)
        #expect(throws: (any Error).self) {
            try store.write { db in try db.execute(sql: "UPDATE ledger SET payload = '{}' WHERE run_id = ?", arguments: [run]) }
        }
    }

    @Test func finishedRunWithoutRunFinishedIsTruncated() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, ledger, run) = try await Self.makeLedger(dir, count: 2)
        try await ledger.append(.runFinished, .object(["exit_code": .int(0)]))
        try await store.updateRun(run) { $0.status = .finished }
        #expect(try await store.verifyLedger(run: run).ok)
        try tamper(store, "DELETE FROM ledger WHERE run_id = ? AND seq = 3", [run])
        let report = try await store.verifyLedger(run: run)
        #expect(!report.ok)
        #expect(report.firstBadSeq == 3)
        #expect(report.reason?.contains("truncated") == true)
    }
}
