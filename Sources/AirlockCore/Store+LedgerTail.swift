import Foundation
import GRDB

extension Store {
    /// A run's entries after `seq`, in order, at most `limit`: what a follower (the live span
    /// exporter, the metrics fold) has not read yet, without re-reading the whole ledger.
    public func ledgerEntries(run: String, after seq: Int, limit: Int = 500) throws -> [LedgerEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ledger WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                             arguments: [run, seq, limit]).map { row in
                LedgerEntry(run: row["run_id"] ?? "", seq: row["seq"] ?? 0,
                            time: row["time"] ?? "", kind: LedgerKind(rawValue: row["kind"] ?? ""),
                            payloadJSON: row["payload"] ?? "", prevHash: row["prev_hash"] ?? "",
                            hash: row["hash"] ?? "")
            }
        }
    }
}
