import AirlockCore
import Foundation
import GRDB

extension Store {
    public func answerApproval(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                               amount: Double?, by: String, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO approvals (run_id, call_id, decision, reason, answered_by, answered_at, amount)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [run, call, decision.rawValue, reason.map { redactor.redact($0) }, by, Timestamp.rfc3339(now), amount])
            return db.changesCount > 0
        }
    }

    public func approvalAnswer(run: String, call: String) throws -> ApprovalAnswer? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT decision, reason, answered_by, amount FROM approvals WHERE run_id = ? AND call_id = ?
                """, arguments: [run, call]),
                let decision = ApprovalAnswer.Decision(rawValue: row["decision"]) else { return nil }
            return ApprovalAnswer(decision, reason: row["reason"], by: row["answered_by"], amount: row["amount"])
        }
    }
}
