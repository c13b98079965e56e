import AirlockCore
import AirlockModels
import Foundation
import GRDB

/// Batches: one row each, their runs queued with `batch_id` and `batch_index`.
extension Store {
    public func createBatch(source: String, options: JSONValue, runs: [BatchRunRequest], now: Date) throws -> BatchRecord {
        let time = Timestamp.rfc3339(now)
        return try write { db in
            var id = BatchRecord.makeID(at: now)
            for _ in 0..<8 where try Bool.fetchOne(db, sql: "SELECT 1 FROM batches WHERE id = ?", arguments: [id]) != nil {
                id = BatchRecord.makeID(at: now)
            }
            let batch = BatchRecord(id: id, source: source, createdAt: time, options: options, size: runs.count)
            try db.execute(sql: "INSERT INTO batches (id, source, created_at, options, size) VALUES (?, ?, ?, ?, ?)",
                           arguments: [batch.id, batch.source, batch.createdAt, options.canonicalJSON, runs.count])
            var taken: Set<String> = []
            for (index, run) in runs.enumerated() {
                var runID = RunID.make(at: now)
                var attempts = 0
                func used(_ id: String) throws -> Bool {
                    try taken.contains(id) || Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [id]) != nil
                }
                while try used(runID) {
                    attempts += 1
                    guard attempts < 64 else { throw StoreError.internalError("could not pick an unused run id") }
                    runID = RunID.make(at: now)
                }
                taken.insert(runID)
                let record = RunRecord(id: runID, task: redactor.redact(run.task), model: run.model, workspace: run.workspace,
                                       status: .queued, config: redactor.redact(run.config), createdAt: time, updatedAt: time)
                try insert(record, db)
                try db.execute(sql: "UPDATE runs SET request = ?, needs = ?, batch_id = ?, batch_index = ? WHERE id = ?",
                               arguments: [redactor.redact(run.request).canonicalJSON,
                                           JSONValue.array(run.needs.map(JSONValue.string)).canonicalJSON,
                                           batch.id, index, runID])
            }
            return batch
        }
    }

    public func resolveBatch(_ reference: String) throws -> BatchRecord {
        try read { db in
            let matches = try Row.fetchAll(db, sql: """
                SELECT * FROM batches WHERE id = ? OR substr(id, 1, ?) = ? ORDER BY id LIMIT 20
                """, arguments: [reference, reference.utf8.count, reference]).map(Self.batchRecord)
            if let exact = matches.first(where: { $0.id == reference }) { return exact }
            guard !reference.isEmpty, let first = matches.first else { throw StoreError.batchNotFound(reference) }
            guard matches.count == 1 else { throw StoreError.ambiguousBatch(reference, candidates: matches.map(\.id)) }
            return first
        }
    }

    public func batches(limit: Int?) throws -> [BatchRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batches ORDER BY created_at DESC, id DESC LIMIT ?",
                             arguments: [limit ?? Int(Int32.max)]).map(Self.batchRecord)
        }
    }

    public func batchRuns(batch: String) throws -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE batch_id = ? ORDER BY batch_index", arguments: [batch])
                .map(Self.runRecord)
        }
    }

    public func claimBatchRun(batch: String, worker: String, lease: Duration, reclaim: Bool) throws -> RunClaim? {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, status FROM runs
                WHERE batch_id = ? AND (status = 'queued'
                   OR (status IN ('running', 'paused', 'interrupted') AND worker IS NOT NULL AND worker != ?
                       AND (? OR lease_until < \(Self.nowSQL))))
                ORDER BY batch_index LIMIT 1
                """, arguments: [batch, worker, reclaim]), let id: String = row["id"] else { return nil }
            return try Self.claim(id, status: row["status"] ?? "", worker: worker, lease: lease, db)
        }
    }

    static func batchRecord(_ row: Row) -> BatchRecord {
        BatchRecord(id: row["id"] ?? "", source: row["source"] ?? "", createdAt: row["created_at"] ?? "",
                    options: (try? JSONValue(parsing: row["options"] ?? "{}")) ?? .object([:]), size: row["size"] ?? 0)
    }
}
