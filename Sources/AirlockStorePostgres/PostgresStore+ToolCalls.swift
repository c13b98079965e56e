import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

extension PostgresStore {
    public func recordToolCall(run: String, step: Int, call: ToolCall, status: ToolCallStatus,
                               now: Date) async throws -> ToolCallRecord {
        let record = ToolCallRecord(run: run, callID: call.id, step: step, name: call.name,
                                    arguments: redactor.redact(call.arguments), status: status,
                                    startedAt: Timestamp.rfc3339(now))
        try await transaction { connection in
            try await lockRun(run, connection)
            try await insertToolCall(record, connection)
        }
        return record
    }

    public func updateToolCall(run: String, callID: String, status: ToolCallStatus, result: String?, exitCode: Int?,
                               finished: Bool, now: Date) async throws -> ToolCallRecord {
        try await transaction { connection in
            try await lockRun(run, connection)
            return try await changeToolCall(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                            finished: finished, now: now, connection)
        }
    }

    /// Inside a transaction: records a call afresh (`record`'s arguments already redacted).
    func insertToolCall(_ record: ToolCallRecord, _ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO tool_calls (run_id, call_id, step, name, arguments, status, started_at)
            VALUES (\(record.run), \(record.callID), \(record.step), \(record.name), \(record.arguments),
                    \(record.status.rawValue), \(record.startedAt))
            ON CONFLICT (run_id, call_id) DO UPDATE SET step = excluded.step, name = excluded.name,
                arguments = excluded.arguments, status = excluded.status, started_at = excluded.started_at,
                result = NULL, exit_code = NULL, finished_at = NULL
            """, logger: logger)
    }

    /// Inside a transaction: `updateToolCall`'s change.
    func changeToolCall(run: String, callID: String, status: ToolCallStatus, result: String?, exitCode: Int?,
                        finished: Bool, now: Date, _ connection: PostgresConnection) async throws -> ToolCallRecord {
        guard var record = try await fetchToolCall(run: run, callID: callID, connection) else {
            throw StoreError.toolCallNotFound(run: run, callID: callID)
        }
        record.status = status
        if let result { record.result = redactor.redact(result) }
        if let exitCode { record.exitCode = exitCode }
        if finished { record.finishedAt = Timestamp.rfc3339(now) }
        try await connection.query("""
            UPDATE tool_calls SET status = \(record.status.rawValue), result = \(record.result),
                exit_code = \(record.exitCode), finished_at = \(record.finishedAt)
            WHERE run_id = \(run) AND call_id = \(callID)
            """, logger: logger)
        return record
    }

    public func toolCall(run: String, callID: String) async throws -> ToolCallRecord? {
        try await read { connection in try await fetchToolCall(run: run, callID: callID, connection) }
    }

    public func toolCalls(run: String) async throws -> [ToolCallRecord] {
        try await read { connection in
            try await connection.rows("""
                SELECT * FROM tool_calls WHERE run_id = \(run) ORDER BY step, started_at, call_id
                """, logger).map(Self.toolCallRecord)
        }
    }

    func fetchToolCall(run: String, callID: String, _ connection: PostgresConnection) async throws -> ToolCallRecord? {
        try await connection.rows("SELECT * FROM tool_calls WHERE run_id = \(run) AND call_id = \(callID)", logger)
            .first.map(Self.toolCallRecord)
    }

    static func toolCallRecord(_ row: PostgresRandomAccessRow) throws -> ToolCallRecord {
        ToolCallRecord(run: try row["run_id"].decode(String.self), callID: try row["call_id"].decode(String.self),
                       step: try row["step"].decode(Int.self), name: try row["name"].decode(String.self),
                       arguments: try row["arguments"].decode(String.self),
                       status: ToolCallStatus(rawValue: try row["status"].decode(String.self)),
                       result: try row["result"].decode(String?.self), exitCode: try row["exit_code"].decode(Int?.self),
                       startedAt: try row["started_at"].decode(String.self),
                       finishedAt: try row["finished_at"].decode(String?.self))
    }
}
