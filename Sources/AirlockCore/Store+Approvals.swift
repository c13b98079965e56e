import Foundation
import GRDB

extension Store {
    /// Answers a pending approval from another process. The first answer stands.
    /// Returns false when the call already had one.
    @discardableResult
    public func answerApproval(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                               by: String, now: Date = Date()) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO approvals (run_id, call_id, decision, reason, answered_by, answered_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [run, call, decision.rawValue, reason.map { redactor.redact($0) }, by, Timestamp.rfc3339(now)])
            return db.changesCount > 0
        }
    }

    /// The answer given for a call, if any.
    public func approvalAnswer(run: String, call: String) throws -> ApprovalAnswer? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT decision, reason, answered_by FROM approvals WHERE run_id = ? AND call_id = ?
                """, arguments: [run, call]),
                let decision = ApprovalAnswer.Decision(rawValue: row["decision"]) else { return nil }
            return ApprovalAnswer(decision, reason: row["reason"], by: row["answered_by"])
        }
    }

    /// Calls of a run waiting for an answer: asked in the ledger, not answered anywhere.
    public func pendingApprovals(run: String) throws -> [(call: String, reason: String)] {
        let entries = try ledgerEntries(run: run)
        let answered = Set(entries.filter { $0.kind == .approvalAnswered }.compactMap { $0.payload["call"]?.stringValue })
        var pending: [(String, String)] = []
        for entry in entries where entry.kind == .approvalRequested {
            guard let call = entry.payload["call"]?.stringValue, !answered.contains(call),
                  !pending.contains(where: { $0.0 == call }) else { continue }
            pending.append((call, entry.payload["reason"]?.stringValue ?? ""))
        }
        return pending
    }
}

/// `--approver queue`: the run pauses and waits for `airlock approve RUN CALL` or
/// `airlock deny RUN CALL` from another shell (an answer written to the state database). The
/// wait survives the harness: a resumed run finds an answer given while it was down.
public struct QueueApprover: Approver {
    public let name = "queue"
    let store: Store
    public var timeout: Duration
    public var poll: Duration = .milliseconds(200)
    let announce: @Sendable (ApprovalRequest) -> Void

    public init(store: Store, timeout: Duration = .seconds(3600), announce: @escaping @Sendable (ApprovalRequest) -> Void = { _ in }) {
        self.store = store
        self.timeout = timeout
        self.announce = announce
    }

    public func decide(_ request: ApprovalRequest) async -> ApprovalAnswer {
        announce(request)
        let deadline = ContinuousClock.now + request.remaining(default: timeout)
        // Checked once even when the time is already up: an answer given while the harness
        // was down still counts.
        repeat {
            if let answer = try? store.approvalAnswer(run: request.run, call: request.call) { return answer }
            do { try await Task.sleep(for: poll) } catch { break }
        } while ContinuousClock.now < deadline
        return ApprovalAnswer(.deny, reason: "no answer within \(request.limit(default: timeout))", by: "airlock")
    }
}
