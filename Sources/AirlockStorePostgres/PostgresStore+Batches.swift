import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

/// Batches: one row each, their runs queued with `batch_id` and `batch_index`.
extension PostgresStore {
    public func createBatch(source: String, options: JSONValue, runs: [BatchRunRequest], now: Date) async throws -> BatchRecord {
        let time = Timestamp.rfc3339(now)
        let redactor = self.redactor
        return try await transaction { connection in
            var id = BatchRecord.makeID(at: now)
            for _ in 0..<8 {
                guard try await !connection.rows("SELECT 1 FROM batches WHERE id = \(id)", logger).isEmpty else { break }
                id = BatchRecord.makeID(at: now)
            }
            try await connection.query("""
                INSERT INTO batches (id, source, created_at, options, size)
                VALUES (\(id), \(source), \(time), \(options.canonicalJSON), \(runs.count))
                """, logger: logger)
            var taken: Set<String> = []
            for (index, run) in runs.enumerated() {
                var runID = RunID.make(at: now)
                var attempts = 0
                while true {
                    if !taken.contains(runID), try await connection.rows("SELECT 1 FROM runs WHERE id = \(runID)", logger).isEmpty {
                        break
                    }
                    attempts += 1
                    guard attempts < 64 else { throw StoreError.internalError("could not pick an unused run id") }
                    runID = RunID.make(at: now)
                }
                taken.insert(runID)
                try await connection.query("""
                    INSERT INTO runs (id, task, model, workspace, status, config, created_at, updated_at, request, needs,
                                      batch_id, batch_index)
                    VALUES (\(runID), \(redactor.redact(run.task)), \(run.model), \(run.workspace), 'queued',
                            \(redactor.redact(run.config).canonicalJSON), \(time), \(time),
                            \(redactor.redact(run.request).canonicalJSON), \(run.needs), \(id), \(index))
                    """, logger: logger)
            }
            return BatchRecord(id: id, source: source, createdAt: time, options: options, size: runs.count)
        }
    }

    public func resolveBatch(_ reference: String) async throws -> BatchRecord {
        let matches = try await read { connection in
            try await connection.rows("""
                SELECT id, source, created_at, options, size FROM batches
                WHERE id = \(reference) OR starts_with(id, \(reference)) ORDER BY id LIMIT 20
                """, logger).map(Self.batchRecord)
        }
        if let exact = matches.first(where: { $0.id == reference }) { return exact }
        guard !reference.isEmpty, let first = matches.first else { throw StoreError.batchNotFound(reference) }
        guard matches.count == 1 else { throw StoreError.ambiguousBatch(reference, candidates: matches.map(\.id)) }
        return first
    }

    public func batches(limit: Int?) async throws -> [BatchRecord] {
        try await read { connection in
            try await connection.rows("""
                SELECT id, source, created_at, options, size FROM batches
                ORDER BY created_at DESC, id DESC LIMIT \(limit ?? Int(Int32.max))
                """, logger).map(Self.batchRecord)
        }
    }

    public func batchRuns(batch: String) async throws -> [RunRecord] {
        try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.runColumns) FROM runs WHERE batch_id = \(batch) ORDER BY batch_index
                """, logger).map(Self.runRecord)
        }
    }

    /// One statement, as `claimRun`.
    public func claimBatchRun(batch: String, worker: String, lease: Duration, reclaim: Bool) async throws -> RunClaim? {
        try await statement { connection in
            guard let row = try await connection.rows("""
                UPDATE runs SET worker = \(worker), epoch = epoch + 1,
                    lease_until = now() + make_interval(secs => \(lease.seconds)),
                    status = CASE status WHEN 'queued' THEN 'running' ELSE status END
                FROM (SELECT id, status AS before FROM runs
                      WHERE batch_id = \(batch) AND (status = 'queued'
                             OR (status IN ('running', 'paused', 'interrupted') AND worker IS NOT NULL AND worker != \(worker)
                                 AND (\(reclaim) OR lease_until < now())))
                      ORDER BY batch_index LIMIT 1 FOR UPDATE SKIP LOCKED) AS picked
                WHERE runs.id = picked.id
                RETURNING runs.id, runs.epoch, picked.before
                """, logger).first else { return nil }
            return RunClaim(run: try row["id"].decode(String.self), epoch: try row["epoch"].decode(Int.self),
                            worker: worker, takeover: try row["before"].decode(String.self) != "queued")
        }
    }

    static func batchRecord(_ row: PostgresRandomAccessRow) throws -> BatchRecord {
        BatchRecord(id: try row["id"].decode(String.self), source: try row["source"].decode(String.self),
                    createdAt: try row["created_at"].decode(String.self),
                    options: (try? JSONValue(parsing: try row["options"].decode(String.self))) ?? .object([:]),
                    size: try row["size"].decode(Int.self))
    }
}
