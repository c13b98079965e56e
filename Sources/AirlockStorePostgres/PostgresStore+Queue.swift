import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

/// Queued runs, claims and leases, all on the database's clock (`now()`), so workers on
/// machines whose clocks disagree still agree on when a lease ran out.
extension PostgresStore {
    public func submitRun(task: String, model: String, workspace: String, config: JSONValue,
                          request: JSONValue, needs: [String], now: Date) async throws -> RunRecord {
        try await insertRun(task: task, model: model, workspace: workspace, config: config, status: .queued,
                            request: request, needs: needs, now: now)
    }

    /// One statement: the inner SELECT skips rows other claimers hold locked, so concurrent
    /// workers never wait on each other nor claim the same run.
    public func claimRun(worker: String, available: Set<String>, lease: Duration) async throws -> RunClaim? {
        let names = available.sorted()
        return try await statement { connection in
            guard let row = try await connection.rows("""
                UPDATE runs SET worker = \(worker), epoch = epoch + 1,
                    lease_until = now() + make_interval(secs => \(lease.seconds)),
                    status = CASE status WHEN 'queued' THEN 'running' ELSE status END
                FROM (SELECT id, status AS before FROM runs
                      WHERE (status = 'queued'
                             OR (status IN ('running', 'paused', 'interrupted') AND worker IS NOT NULL AND lease_until < now()))
                        AND batch_id IS NULL AND needs <@ \(names)::text[]
                      ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) AS picked
                WHERE runs.id = picked.id
                RETURNING runs.id, runs.epoch, picked.before
                """, logger).first else { return nil }
            return RunClaim(run: try row["id"].decode(String.self), epoch: try row["epoch"].decode(Int.self),
                            worker: worker, takeover: try row["before"].decode(String.self) != "queued")
        }
    }

    public func renewLease(_ claim: RunClaim, lease: Duration) async throws -> LeaseRenewal {
        try await transaction { connection in
            let rows = try await connection.rows("""
                UPDATE runs SET lease_until = now() + make_interval(secs => \(lease.seconds))
                WHERE id = \(claim.run) AND epoch = \(claim.epoch)
                RETURNING stop_by, stop_reason, stop_at
                """, logger)
            guard let row = rows.first else {
                let now = try await connection.rows("SELECT epoch FROM runs WHERE id = \(claim.run)", logger)
                return .lost(epoch: try now.first?["epoch"].decode(Int.self) ?? -1)
            }
            return .held(stop: try Self.stop(row))
        }
    }

    public func holdRun(_ run: String, lease: Duration) async throws {
        try await statement { connection in
            try await connection.query("""
                UPDATE runs SET lease_until = now() + make_interval(secs => \(lease.seconds))
                WHERE id = \(run) AND worker IS NULL AND status != 'finished'
                """, logger: logger)
        }
    }

    public var sharedAcrossMachines: Bool { true }
    /// A query suspends: the commit runs in a task of its own, so that a cancelled caller
    /// (a run being stopped) cannot abandon it half-sent.
    public var commitsInPlace: Bool { false }

    public func releaseRun(_ claim: RunClaim) async throws {
        try await statement { connection in
            try await connection.query("""
                UPDATE runs SET lease_until = now() - interval '1 second'
                WHERE id = \(claim.run) AND epoch = \(claim.epoch) AND status != 'finished'
                """, logger: logger)
        }
    }

    public func queuedRequest(run: String) async throws -> QueuedRequest? {
        try await read { connection in
            guard let row = try await connection.rows("SELECT request, needs FROM runs WHERE id = \(run)", logger).first,
                  let text = try row["request"].decode(String?.self),
                  let request = try? JSONValue(parsing: text) else { return nil }
            return QueuedRequest(request: request, needs: try row["needs"].decode([String].self))
        }
    }

    public func requestStop(run: String, by: String, reason: String, now: Date) async throws -> Bool {
        let reason = redactor.redact(reason)
        return try await statement { connection in
            !(try await connection.rows("""
                UPDATE runs SET stop_by = \(by), stop_reason = \(reason), stop_at = \(Timestamp.rfc3339(now))
                WHERE id = \(run) AND status != 'finished' AND stop_at IS NULL RETURNING id
                """, logger)).isEmpty
        }
    }

    public func stopRequest(run: String) async throws -> StopRequest? {
        try await read { connection in
            try await connection.rows("SELECT stop_by, stop_reason, stop_at FROM runs WHERE id = \(run)", logger)
                .first.flatMap(Self.stop)
        }
    }

    public func registerWorker(name: String, available: Set<String>) async throws {
        let names = available.sorted()
        try await statement { connection in
            try await connection.query("""
                INSERT INTO workers (name, available, seen_at) VALUES (\(name), \(names), now())
                ON CONFLICT (name) DO UPDATE SET available = excluded.available, seen_at = excluded.seen_at
                """, logger: logger)
        }
    }

    public func liveWorkers(within: Duration) async throws -> [WorkerInfo] {
        try await read { connection in
            try await connection.rows("""
                SELECT name, available, to_char(seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS seen
                FROM workers WHERE seen_at > now() - make_interval(secs => \(within.seconds)) ORDER BY name
                """, logger).map { row in
                WorkerInfo(name: try row["name"].decode(String.self), available: try row["available"].decode([String].self),
                           seenAt: try row["seen"].decode(String.self))
            }
        }
    }

    static func stop(_ row: PostgresRandomAccessRow) throws -> StopRequest? {
        guard let at = try row["stop_at"].decode(String?.self) else { return nil }
        return StopRequest(by: try row["stop_by"].decode(String?.self) ?? "",
                           reason: try row["stop_reason"].decode(String?.self) ?? "", at: at)
    }
}

extension Duration {
    /// Whole and fractional seconds, for SQL.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
