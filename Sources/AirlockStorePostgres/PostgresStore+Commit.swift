import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

extension PostgresStore {
    public func commit(run: String, _ writes: RunWrites, now: @Sendable () -> Date) async throws -> [LedgerEntry] {
        guard !writes.isEmpty else { return [] }
        let time = now()
        let redactor = self.redactor
        let toolCalls = writes.toolCalls
        let progress = writes.progress
        let changes = writes.runChanges
        let items = writes.ledger.map { LedgerItem(kind: $0.0, payload: $0.1) }
        return try await transaction { connection in
            try await lockRun(run, connection)
            for change in toolCalls {
                switch change {
                case .record(let step, let call, let status):
                    try await insertToolCall(ToolCallRecord(run: run, callID: call.id, step: step, name: call.name,
                                                            arguments: redactor.redact(call.arguments), status: status,
                                                            startedAt: Timestamp.rfc3339(time)), connection)
                case .update(let callID, let status, let result, let exitCode, let finished):
                    _ = try await changeToolCall(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                                 finished: finished, now: time, connection)
                }
            }
            if let progress {
                // The counters alone, without reading the row back.
                let rows = try await connection.query("""
                    UPDATE runs SET steps = \(progress.steps), input_tokens = \(progress.inputTokens),
                        output_tokens = \(progress.outputTokens), cost_usd = \(progress.costUSD),
                        updated_at = \(Timestamp.rfc3339(time))
                    WHERE id = \(run) RETURNING id
                    """, logger: logger)
                guard try await rows.collect().count > 0 else { throw StoreError.runNotFound(run) }
            }
            if !changes.isEmpty { _ = try await changeRun(run, now: time, { record in for change in changes { change(&record) } }, connection) }
            return try await appendLedger(run: run, items: items, now: now, connection)
        }
    }
}

