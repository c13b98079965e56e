import AirlockModels
import Foundation
import GRDB

extension Store {
    /// Appends one entry in its own transaction, chained to the run's last stored entry
    /// (read inside the transaction, so two writers can never fork the chain). The payload
    /// must already be redacted; `Ledger` does that.
    func appendLedgerEntry(run: String, kind: LedgerKind, payload: JSONValue,
                           now: () -> Date) throws -> LedgerEntry {
        let entries = try appendLedgerEntries(run: run, items: [(kind, payload)], now: now)
        guard let entry = entries.first else { throw StoreError.internalError("no entry appended") }
        return entry
    }

    /// Appends several entries in one transaction: one fsync for all of them, and either
    /// all are on disk or none is.
    func appendLedgerEntries(run: String, items: [(LedgerKind, JSONValue)],
                             now: () -> Date) throws -> [LedgerEntry] {
        try write { db in
            let last = try Row.fetchOne(db, sql: """
                SELECT seq, hash FROM ledger WHERE run_id = ? ORDER BY seq DESC LIMIT 1
                """, arguments: [run])
            var seq: Int = last?["seq"] ?? 0
            var prevHash: String = last?["hash"] ?? LedgerEntry.genesisHash
            var appended: [LedgerEntry] = []
            for (kind, payload) in items {
                seq += 1
                // Taken inside the transaction so times never go backwards along the chain.
                let time = Timestamp.rfc3339(now())
                let payloadJSON = payload.canonicalJSON
                let bytes = LedgerEntry.canonicalBytes(run: run, seq: seq, time: time, kind: kind,
                                                       payloadJSON: payloadJSON)
                guard let hash = LedgerEntry.computeHash(prevHash: prevHash, canonicalBytes: bytes) else {
                    throw StoreError.internalError("stored prev hash of \(run) is not hex: \(prevHash)")
                }
                try db.execute(sql: """
                    INSERT INTO ledger (run_id, seq, time, kind, payload, prev_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [run, seq, time, kind.rawValue, payloadJSON, prevHash, hash])
                appended.append(LedgerEntry(run: run, seq: seq, time: time, kind: kind,
                                            payloadJSON: payloadJSON, prevHash: prevHash, hash: hash))
                prevHash = hash
            }
            return appended
        }
    }

    /// A run's entries in seq order, as stored.
    public func ledgerEntries(run: String) throws -> [LedgerEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ledger WHERE run_id = ? ORDER BY seq",
                             arguments: [run]).map { row in
                LedgerEntry(run: row["run_id"] ?? "", seq: row["seq"] ?? 0,
                            time: row["time"] ?? "", kind: LedgerKind(rawValue: row["kind"] ?? ""),
                            payloadJSON: row["payload"] ?? "", prevHash: row["prev_hash"] ?? "",
                            hash: row["hash"] ?? "")
            }
        }
    }

    /// Recomputes the run's chain from the stored columns. A run marked finished whose
    /// ledger does not end with `run_finished` is reported as truncated, which catches the
    /// one deletion a hash chain alone cannot see: its tail.
    public func verifyLedger(run: String) throws -> VerifyReport {
        let entries = try ledgerEntries(run: run)
        let report = LedgerVerifier.verify(entries: entries, run: run)
        // A signature over the head may follow run_finished.
        let tail = entries.last?.kind == ChainSignature.kind ? entries.dropLast().last : entries.last
        guard report.ok, try self.run(id: run)?.status == .finished,
              tail?.kind != .runFinished else { return report }
        return VerifyReport(ok: false, count: entries.count, firstBadSeq: entries.count + 1,
                            reason: "ledger truncated: the run is finished but its last entry is not run_finished",
                            headHash: report.headHash)
    }

    /// The run's ledger as JSONL (see `LedgerJSONL`).
    public func exportLedgerJSONL(run: String) throws -> String {
        LedgerJSONL.encode(try ledgerEntries(run: run))
    }

    /// Writes the JSONL export to `url`, replacing it.
    public func exportLedger(run: String, to url: URL) throws {
        try Data(exportLedgerJSONL(run: run).utf8).write(to: url, options: .atomic)
    }
}
