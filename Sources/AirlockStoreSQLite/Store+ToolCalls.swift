import AirlockCore
import AirlockModels
import Foundation
import GRDB

extension Store {
    public func recordToolCall(run: String, step: Int, call: ToolCall,
                               status: ToolCallStatus, now: Date) throws -> ToolCallRecord {
        try write { db in
            try checkFence(run: run, db)
            return try insertToolCall(run: run, step: step, call: call, status: status, now: now, db)
        }
    }

    /// Moves a tool call to `status`. A given `result` or `exitCode` replaces the stored one;
    /// `finished` stamps `finished_at`.
    public func updateToolCall(run: String, callID: String, status: ToolCallStatus, result: String?,
                               exitCode: Int?, finished: Bool, now: Date) throws -> ToolCallRecord {
        try write { db in
            try checkFence(run: run, db)
            return try changeToolCall(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                      finished: finished, now: now, db)
        }
    }

    /// Inside a write: records a call afresh.
    func insertToolCall(run: String, step: Int, call: ToolCall, status: ToolCallStatus, now: Date,
                        _ db: Database) throws -> ToolCallRecord {
        let record = ToolCallRecord(run: run, callID: call.id, step: step, name: call.name,
                                    arguments: redactor.redact(call.arguments), status: status,
                                    startedAt: Timestamp.rfc3339(now))
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO tool_calls (run_id, call_id, step, name, arguments, status, started_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [record.run, record.callID, record.step, record.name,
                             record.arguments, record.status.rawValue, record.startedAt])
        return record
    }

    /// Inside a write: `updateToolCall`'s change, and the row as it is after it.
    func changeToolCall(run: String, callID: String, status: ToolCallStatus, result: String?, exitCode: Int?,
                        finished: Bool, now: Date, _ db: Database) throws -> ToolCallRecord {
        try applyToolCallUpdate(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                finished: finished, now: now, db)
        guard let record = try fetchToolCall(run: run, callID: callID, db) else {
            throw StoreError.toolCallNotFound(run: run, callID: callID)
        }
        return record
    }

    /// Inside a write: moves a call to `status`; a given result or exit code replaces the stored
    /// one, `finished` stamps `finished_at`. Nothing is read back (a commit's writes).
    func applyToolCallUpdate(run: String, callID: String, status: ToolCallStatus, result: String?, exitCode: Int?,
                             finished: Bool, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE tool_calls SET status = ?, result = COALESCE(?, result), exit_code = COALESCE(?, exit_code),
                finished_at = COALESCE(?, finished_at)
            WHERE run_id = ? AND call_id = ?
            """).execute(arguments: [status.rawValue, result.map { redactor.redact($0) }, exitCode,
                                     finished ? Timestamp.rfc3339(now) : nil, run, callID])
        guard db.changesCount > 0 else { throw StoreError.toolCallNotFound(run: run, callID: callID) }
    }

    public func toolCall(run: String, callID: String) throws -> ToolCallRecord? {
        try read { db in try fetchToolCall(run: run, callID: callID, db) }
    }

    /// A run's tool calls in the order they were proposed.
    public func toolCalls(run: String) throws -> [ToolCallRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM tool_calls WHERE run_id = ? ORDER BY step, started_at, call_id
                """, arguments: [run]).map(Self.toolCallRecord)
        }
    }

    private func fetchToolCall(run: String, callID: String, _ db: Database) throws -> ToolCallRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tool_calls WHERE run_id = ? AND call_id = ?"), arguments: [run, callID]).map(Self.toolCallRecord)
    }

    static func toolCallRecord(_ row: Row) -> ToolCallRecord {
        ToolCallRecord(run: row["run_id"] ?? "", callID: row["call_id"] ?? "",
                       step: row["step"] ?? 0, name: row["name"] ?? "",
                       arguments: row["arguments"] ?? "",
                       status: ToolCallStatus(rawValue: row["status"] ?? ""),
                       result: row["result"], exitCode: row["exit_code"],
                       startedAt: row["started_at"] ?? "", finishedAt: row["finished_at"])
    }
}
