import AirlockModels
import Foundation
import GRDB
import Testing
@testable import AirlockCore
@testable import AirlockStoreSQLite

/// Every edit made with plain SQL behind the ledger's back is found, at the right seq.
@Suite struct LedgerTamperTests {
    func check(_ sql: String, badSeq: Int, reason: String) async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 5)
        #expect(try await store.verifyLedger(run: run).ok)
        try tamper(store, sql, [run])
        let report = try await store.verifyLedger(run: run)
        #expect(!report.ok)
        #expect(report.firstBadSeq == badSeq)
        #expect(report.reason?.contains(reason) == true, "\(report)")
    }

    @Test func updatedPayload() async throws {
        try await check(#"UPDATE ledger SET payload = '{"i":3,"text":"edited"}' WHERE run_id = ? AND seq = 3"#,
                        badSeq: 3, reason: "hash mismatch")
    }

    @Test func updatedTime() async throws {
        try await check("UPDATE ledger SET time = '2000-01-01T00:00:00.000Z' WHERE run_id = ? AND seq = 2",
                        badSeq: 2, reason: "hash mismatch")
    }

    @Test func updatedKind() async throws {
        try await check("UPDATE ledger SET kind = 'policy_decision' WHERE run_id = ? AND seq = 4",
                        badSeq: 4, reason: "hash mismatch")
    }

    @Test func payloadRewrittenNonCanonically() async throws {
        try await check(#"UPDATE ledger SET payload = '{"text":"entry 2", "i":2}' WHERE run_id = ? AND seq = 2"#,
                        badSeq: 2, reason: "canonical")
    }

    @Test func deletedMiddleRow() async throws {
        try await check("DELETE FROM ledger WHERE run_id = ? AND seq = 3", badSeq: 3, reason: "seq gap")
    }

    @Test func editedHashColumn() async throws {
        try await check("UPDATE ledger SET hash = '" + String(repeating: "a", count: 64) + "' WHERE run_id = ? AND seq = 5",
                        badSeq: 5, reason: "hash mismatch")
    }

    @Test func forgedRowAppendedWithItsOwnValidHash() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 5)
        // Self-consistent, but chained to entry 4 instead of entry 5.
        let prev = try await store.ledgerEntries(run: run)[3].hash
        let time = "2030-01-01T00:00:00.000Z"
        let payload = #"{"forged":true}"#
        let bytes = LedgerEntry.canonicalBytes(run: run, seq: 6, time: time, kind: .policyDecision, payloadJSON: payload)
        let hash = try #require(LedgerEntry.computeHash(prevHash: prev, canonicalBytes: bytes))
        try tamper(store, "INSERT INTO ledger VALUES (?, 6, ?, 'policy_decision', ?, ?, ?)", [run, time, payload, prev, hash])
        let report = try await store.verifyLedger(run: run)
        #expect(!report.ok)
        #expect(report.firstBadSeq == 6)
        #expect(report.reason?.contains("prev_hash does not match") == true)
    }

    @Test func middleRowReplacedByAForgeryBreaksTheNextLink() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 5)
        let entries = try await store.ledgerEntries(run: run)
        let payload = #"{"i":3,"text":"forged"}"#
        let bytes = LedgerEntry.canonicalBytes(run: run, seq: 3, time: entries[2].time, kind: .note, payloadJSON: payload)
        let hash = try #require(LedgerEntry.computeHash(prevHash: entries[1].hash, canonicalBytes: bytes))
        try tamper(store, "UPDATE ledger SET payload = ?, hash = ? WHERE run_id = ? AND seq = 3", [payload, hash, run])
        let report = try await store.verifyLedger(run: run)
        #expect(report.firstBadSeq == 4)
        #expect(report.reason?.contains("prev_hash does not match the hash of entry 3") == true)
    }

    @Test func swappedPayloadsOfTwoRows() async throws {
        try await check("""
            UPDATE ledger SET payload = CASE seq
                WHEN 2 THEN (SELECT payload FROM ledger WHERE run_id = ?1 AND seq = 4)
                ELSE (SELECT payload FROM ledger WHERE run_id = ?1 AND seq = 2) END
            WHERE run_id = ?1 AND seq IN (2, 4)
            """, badSeq: 2, reason: "hash mismatch")
    }

    @Test func rowMovedFromAnotherRun() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 3)
        let other = try await store.createRun(task: "other", model: "script:x", workspace: "/w")
        try await Ledger(store: store, run: other.id).append(.note, .object([:]))
        try tamper(store, "DELETE FROM ledger WHERE run_id = ? AND seq = 3", [run])
        try tamper(store, "UPDATE ledger SET run_id = ?, seq = 3 WHERE run_id = ?", [run, other.id])
        let report = try await store.verifyLedger(run: run)
        #expect(report.firstBadSeq == 3)
        #expect(!report.ok)
    }
}
