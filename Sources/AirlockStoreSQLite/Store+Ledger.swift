import AirlockCore
import AirlockModels
import Foundation
import GRDB

extension Store {
    public func appendLedgerEntries(run: String, items: [(LedgerKind, JSONValue)],
                                    now: @Sendable () -> Date) throws -> [LedgerEntry] {
        let entries = try write { db in
            try checkFence(run: run, db)
            return try appendLedger(run: run, items: items, now: now, db)
        }
        ledgerTails.committed(run: run, entries)
        return entries
    }

    /// Inside a write: chains `items` to the run's last stored entry and inserts them. The
    /// last entry is the one this process last committed for the run when it knows it (a
    /// run has one writer at a time: `RunLock`, fences), else read. If another process
    /// appended since, the first INSERT collides with its seq (the primary key), and the
    /// chain is made again from the entry read.
    func appendLedger(run: String, items: [(LedgerKind, JSONValue)], now: () -> Date,
                      _ db: Database) throws -> [LedgerEntry] {
        guard !items.isEmpty else { return [] }
        if let tail = ledgerTails.tail(of: run) {
            do {
                return try insertLedger(run: run, after: tail, items: items, now: now, db)
            } catch LedgerInsertError.firstRowTaken {
                ledgerTails.forget(run: run)
            }
        }
        let last = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT seq, hash FROM ledger WHERE run_id = ? ORDER BY seq DESC LIMIT 1
            """), arguments: [run]).map { (seq: $0[0] as Int? ?? 0, hash: $0[1] as String? ?? "") }
        return try insertLedger(run: run, after: last, items: items, now: now, db)
    }

    private enum LedgerInsertError: Error { case firstRowTaken }

    private func insertLedger(run: String, after last: (seq: Int, hash: String)?, items: [(LedgerKind, JSONValue)],
                              now: () -> Date, _ db: Database) throws -> [LedgerEntry] {
        let entries = try Self.chain(run: run, after: last, items: items, now: now)
        for (index, entry) in entries.enumerated() {
            do {
                try db.cachedStatement(sql: """
                    INSERT INTO ledger (run_id, seq, time, kind, payload, prev_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [run, entry.seq, entry.time, entry.kind.rawValue, entry.payloadJSON,
                                     entry.prevHash, entry.hash])
            } catch let error as DatabaseError where index == 0 && error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                // Nothing of this chain is in: safe to make it again from the stored tail.
                throw LedgerInsertError.firstRowTaken
            }
        }
        return entries
    }

    public func ledgerEntries(run: String, after: Int) throws -> [LedgerEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ledger WHERE run_id = ? AND seq > ? ORDER BY seq",
                             arguments: [run, after]).map { row in
                LedgerEntry(run: row["run_id"] ?? "", seq: row["seq"] ?? 0,
                            time: row["time"] ?? "", kind: LedgerKind(rawValue: row["kind"] ?? ""),
                            payloadJSON: row["payload"] ?? "", prevHash: row["prev_hash"] ?? "",
                            hash: row["hash"] ?? "")
            }
        }
    }

    /// Inside a write: refuses it when this store is fenced on `run` and the run's epoch moved.
    func checkFence(run: String, _ db: Database) throws {
        guard let fence, fence.run == run else { return }
        let epoch = try Int.fetchOne(db.cachedStatement(sql: "SELECT epoch FROM runs WHERE id = ?"), arguments: [run]) ?? -1
        guard epoch == fence.epoch else { throw StoreError.fenced(run: run, epoch: fence.epoch) }
    }
}
