import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

extension PostgresStore {
    static let runColumns = """
        id, task, model, workspace, status, outcome, exit_code, config, created_at, updated_at,
        finished_at, steps, input_tokens, output_tokens, cost_usd, worker, epoch,
        (lease_until > now()) AS lease_live
        """

    public func createRun(task: String, model: String, workspace: String, config: JSONValue, now: Date) async throws -> RunRecord {
        try await insertRun(task: task, model: model, workspace: workspace, config: config, status: .running,
                            request: nil, needs: [], now: now)
    }

    func insertRun(task: String, model: String, workspace: String, config: JSONValue, status: RunStatus,
                   request: JSONValue?, needs: [String], now: Date) async throws -> RunRecord {
        let time = Timestamp.rfc3339(now)
        let requestText = request.map { redactor.redact($0).canonicalJSON }
        for _ in 0..<8 {
            let record = RunRecord(id: RunID.make(at: now), task: redactor.redact(task), model: model,
                                   workspace: workspace, status: status, config: redactor.redact(config),
                                   createdAt: time, updatedAt: time)
            let inserted = try await transaction { connection in
                let rows = try await connection.rows("""
                    INSERT INTO runs (id, task, model, workspace, status, config, created_at, updated_at, request, needs)
                    VALUES (\(record.id), \(record.task), \(record.model), \(record.workspace), \(record.status.rawValue),
                            \(record.config.canonicalJSON), \(record.createdAt), \(record.updatedAt), \(requestText), \(needs))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """, logger)
                return !rows.isEmpty
            }
            if inserted { return record }
        }
        throw StoreError.internalError("could not pick an unused run id")
    }

    public func updateRun(_ id: String, now: Date, _ change: @Sendable (inout RunRecord) -> Void) async throws -> RunRecord {
        try await transaction { connection in
            try await lockRun(id, connection)
            return try await changeRun(id, now: now, change, connection)
        }
    }

    /// Inside a transaction holding the run's row lock: applies `change` to its row.
    func changeRun(_ id: String, now: Date, _ change: (inout RunRecord) -> Void,
                   _ connection: PostgresConnection) async throws -> RunRecord {
        guard let stored = try await fetchRun(id, connection) else { throw StoreError.runNotFound(id) }
        let record = stored.updated(by: change, now: now, redactor: redactor)
        try await connection.query("""
            UPDATE runs SET task = \(record.task), model = \(record.model), workspace = \(record.workspace),
                status = \(record.status.rawValue), outcome = \(record.outcome), exit_code = \(record.exitCode),
                config = \(record.config.canonicalJSON), updated_at = \(record.updatedAt),
                finished_at = \(record.finishedAt), steps = \(record.steps), input_tokens = \(record.inputTokens),
                output_tokens = \(record.outputTokens), cost_usd = \(record.costUSD)
            WHERE id = \(id)
            """, logger: logger)
        return record
    }

    public func run(id: String) async throws -> RunRecord? {
        try await read { connection in try await fetchRun(id, connection) }
    }

    public func runs(limit: Int?) async throws -> [RunRecord] {
        try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.runColumns) FROM runs ORDER BY created_at DESC, id DESC LIMIT \(limit ?? Int(Int32.max))
                """, logger).map(Self.runRecord)
        }
    }

    public func resolveRun(_ reference: String) async throws -> RunRecord {
        try await read { connection in
            if let exact = try await fetchRun(reference, connection) { return exact }
            guard !reference.isEmpty else { throw StoreError.runNotFound(reference) }
            let matches = try await connection.rows("""
                SELECT \(unescaped: Self.runColumns) FROM runs
                WHERE starts_with(id, \(reference)) ORDER BY id LIMIT 20
                """, logger).map(Self.runRecord)
            guard let first = matches.first else { throw StoreError.runNotFound(reference) }
            guard matches.count == 1 else { throw StoreError.ambiguousRun(reference, candidates: matches.map(\.id)) }
            return first
        }
    }

    func fetchRun(_ id: String, _ connection: PostgresConnection) async throws -> RunRecord? {
        try await connection.rows("SELECT \(unescaped: Self.runColumns) FROM runs WHERE id = \(id)", logger)
            .first.map(Self.runRecord)
    }

    static func runRecord(_ row: PostgresRandomAccessRow) throws -> RunRecord {
        let configText = try row["config"].decode(String.self)
        return RunRecord(
            id: try row["id"].decode(String.self), task: try row["task"].decode(String.self),
            model: try row["model"].decode(String.self), workspace: try row["workspace"].decode(String.self),
            status: RunStatus(rawValue: try row["status"].decode(String.self)) ?? .interrupted,
            outcome: try row["outcome"].decode(String?.self), exitCode: try row["exit_code"].decode(Int?.self),
            config: (try? JSONValue(parsing: configText)) ?? .object([:]),
            createdAt: try row["created_at"].decode(String.self), updatedAt: try row["updated_at"].decode(String.self),
            finishedAt: try row["finished_at"].decode(String?.self), steps: try row["steps"].decode(Int.self),
            inputTokens: try row["input_tokens"].decode(Int.self), outputTokens: try row["output_tokens"].decode(Int.self),
            costUSD: try row["cost_usd"].decode(Double.self), worker: try row["worker"].decode(String?.self),
            epoch: try row["epoch"].decode(Int.self), leaseLive: try row["lease_live"].decode(Bool?.self))
    }
}
