import AirlockCore
import AirlockModels
import Foundation
import GRDB

/// Queued runs, claims and leases. SQLite's clock is this machine's, which is the only one
/// a SQLite state dir serves; the write lock (IMMEDIATE transactions) makes a claim atomic.
extension Store {
    static let nowSQL = "((julianday('now') - 2440587.5) * 86400.0)"

    public func submitRun(task: String, model: String, workspace: String, config: JSONValue,
                          request: JSONValue, needs: [String], now: Date) throws -> RunRecord {
        try insertRun(task: task, model: model, workspace: workspace, config: config, status: .queued,
                      request: request, needs: needs, now: now)
    }

    public func claimRun(worker: String, available: Set<String>, lease: Duration) throws -> RunClaim? {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, status, needs FROM runs
                WHERE batch_id IS NULL AND (status = 'queued'
                   OR (status IN ('running', 'paused', 'interrupted') AND worker IS NOT NULL AND lease_until < \(Self.nowSQL)))
                ORDER BY created_at, id LIMIT 200
                """)
            for row in rows {
                let needs = Self.names(row["needs"])
                guard Set(needs).isSubset(of: available), let id: String = row["id"] else { continue }
                return try Self.claim(id, status: row["status"] ?? "", worker: worker, lease: lease, db)
            }
            return nil
        }
    }

    /// Inside a write: `worker` takes run `id` (found in `status`), bumping its epoch.
    static func claim(_ id: String, status: String, worker: String, lease: Duration, _ db: Database) throws -> RunClaim {
        try db.execute(sql: """
            UPDATE runs SET worker = ?, epoch = epoch + 1, lease_until = \(nowSQL) + ?,
                status = CASE status WHEN 'queued' THEN 'running' ELSE status END
            WHERE id = ?
            """, arguments: [worker, lease.seconds, id])
        let epoch = try Int.fetchOne(db, sql: "SELECT epoch FROM runs WHERE id = ?", arguments: [id]) ?? 0
        return RunClaim(run: id, epoch: epoch, worker: worker, takeover: status != "queued")
    }

    public func renewLease(_ claim: RunClaim, lease: Duration) throws -> LeaseRenewal {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET lease_until = \(Self.nowSQL) + ? WHERE id = ? AND epoch = ? AND status != 'finished'
                """, arguments: [lease.seconds, claim.run, claim.epoch])
            if db.changesCount == 0 {
                let epoch = try Int.fetchOne(db, sql: "SELECT epoch FROM runs WHERE id = ?", arguments: [claim.run]) ?? -1
                if epoch != claim.epoch { return .lost(epoch: epoch) }
            }
            return .held(stop: try Self.stop(claim.run, db))
        }
    }

    public func holdRun(_ run: String, lease: Duration) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET lease_until = \(Self.nowSQL) + ? WHERE id = ? AND worker IS NULL AND status != 'finished'
                """, arguments: [lease.seconds, run])
        }
    }

    /// One machine's file: its lock files say whether a local run's harness lives.
    public var sharedAcrossMachines: Bool { false }
    public var commitsInPlace: Bool { true }

    public func releaseRun(_ claim: RunClaim) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET lease_until = \(Self.nowSQL) - 1 WHERE id = ? AND epoch = ? AND status != 'finished'
                """, arguments: [claim.run, claim.epoch])
        }
    }

    public func queuedRequest(run: String) throws -> QueuedRequest? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT request, needs FROM runs WHERE id = ?", arguments: [run]),
                  let text: String = row["request"], let request = try? JSONValue(parsing: text) else { return nil }
            return QueuedRequest(request: request, needs: Self.names(row["needs"]))
        }
    }

    public func requestStop(run: String, by: String, reason: String, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET stop_by = ?, stop_reason = ?, stop_at = ?
                WHERE id = ? AND status != 'finished' AND stop_at IS NULL
                """, arguments: [by, redactor.redact(reason), Timestamp.rfc3339(now), run])
            return db.changesCount > 0
        }
    }

    public func stopRequest(run: String) throws -> StopRequest? {
        try read { db in try Self.stop(run, db) }
    }

    public func registerWorker(name: String, available: Set<String>) throws {
        let names = JSONValue.array(available.sorted().map(JSONValue.string)).canonicalJSON
        try write { db in
            try db.execute(sql: """
                INSERT INTO workers (name, available, seen_at) VALUES (?, ?, \(Self.nowSQL))
                ON CONFLICT(name) DO UPDATE SET available = excluded.available, seen_at = excluded.seen_at
                """, arguments: [name, names])
        }
    }

    public func liveWorkers(within: Duration) throws -> [WorkerInfo] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT name, available, seen_at FROM workers WHERE seen_at > \(Self.nowSQL) - ? ORDER BY name
                """, arguments: [within.seconds]).map { row in
                let seen: Double = row["seen_at"] ?? 0
                return WorkerInfo(name: row["name"] ?? "", available: Self.names(row["available"]),
                                  seenAt: Timestamp.rfc3339(Date(timeIntervalSince1970: seen)))
            }
        }
    }

    static func stop(_ run: String, _ db: Database) throws -> StopRequest? {
        guard let row = try Row.fetchOne(db, sql: "SELECT stop_by, stop_reason, stop_at FROM runs WHERE id = ?", arguments: [run]),
              let at: String = row["stop_at"] else { return nil }
        return StopRequest(by: row["stop_by"] ?? "", reason: row["stop_reason"] ?? "", at: at)
    }

    static func names(_ text: String?) -> [String] {
        guard let text, case .array(let items)? = try? JSONValue(parsing: text) else { return [] }
        return items.compactMap(\.stringValue)
    }
}

extension Duration {
    /// Whole and fractional seconds, for SQL.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
