import AirlockCore
import AirlockModels
import Foundation
import GRDB

extension Store {
    public func commit(run: String, _ writes: RunWrites, now: @Sendable () -> Date) throws -> [LedgerEntry] {
        guard !writes.isEmpty else { return [] }
        let entries = try write(synced: writes.synced) { db in
            try checkFence(run: run, db)
            let time = now()
            for change in writes.toolCalls {
                switch change {
                case .record(let step, let call, let status):
                    _ = try insertToolCall(run: run, step: step, call: call, status: status, now: time, db)
                case .update(let callID, let status, let result, let exitCode, let finished):
                    try applyToolCallUpdate(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                            finished: finished, now: time, db)
                }
            }
            if let progress = writes.progress { try saveProgress(run, progress, now: time, db) }
            if !writes.runChanges.isEmpty { _ = try changeRun(run, now: time, { record in for change in writes.runChanges { change(&record) } }, db) }
            return try appendLedger(run: run, items: writes.ledger, now: now, db)
        }
        ledgerTails.committed(run: run, entries)
        return entries
    }

    /// Inside a write: the run's counters, without reading its row back.
    func saveProgress(_ run: String, _ progress: RunProgress, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE runs SET steps = ?, input_tokens = ?, output_tokens = ?, cost_usd = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [progress.steps, progress.inputTokens, progress.outputTokens, progress.costUSD,
                                     Timestamp.rfc3339(now), run])
        guard db.changesCount > 0 else { throw StoreError.runNotFound(run) }
    }
}
