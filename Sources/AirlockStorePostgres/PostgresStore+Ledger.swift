import AirlockCore
import AirlockModels
import Foundation
import PostgresNIO

extension PostgresStore {
    public func appendLedgerEntries(run: String, items: [(LedgerKind, JSONValue)],
                                    now: @Sendable () -> Date) async throws -> [LedgerEntry] {
        let items = items.map { LedgerItem(kind: $0.0, payload: $0.1) }
        return try await transaction { connection in
            // The run's row lock serialises appenders, so two can never fork the chain.
            try await lockRun(run, connection)
            return try await appendLedger(run: run, items: items, now: now, connection)
        }
    }

    /// Inside a transaction holding the run's row lock: chains `items` to the run's last
    /// entry and inserts them.
    func appendLedger(run: String, items: [LedgerItem], now: () -> Date,
                      _ connection: PostgresConnection) async throws -> [LedgerEntry] {
        guard !items.isEmpty else { return [] }
        let last = try await connection.rows("""
            SELECT seq, hash FROM ledger WHERE run_id = \(run) ORDER BY seq DESC LIMIT 1
            """, logger).first.map { (seq: try $0["seq"].decode(Int.self), hash: try $0["hash"].decode(String.self)) }
        let entries = try Self.chain(run: run, after: last, items: items.map { ($0.kind, $0.payload) }, now: now)
        for entry in entries {
            try await connection.query("""
                INSERT INTO ledger (run_id, seq, time, kind, payload, prev_hash, hash)
                VALUES (\(run), \(entry.seq), \(entry.time), \(entry.kind.rawValue), \(entry.payloadJSON),
                        \(entry.prevHash), \(entry.hash))
                """, logger: logger)
        }
        return entries
    }

    public func ledgerEntries(run: String, after: Int) async throws -> [LedgerEntry] {
        try await read { connection in
            try await connection.rows("""
                SELECT run_id, seq, time, kind, payload, prev_hash, hash FROM ledger
                WHERE run_id = \(run) AND seq > \(after) ORDER BY seq
                """, logger).map { row in
                LedgerEntry(run: try row["run_id"].decode(String.self), seq: try row["seq"].decode(Int.self),
                            time: try row["time"].decode(String.self),
                            kind: LedgerKind(rawValue: try row["kind"].decode(String.self)),
                            payloadJSON: try row["payload"].decode(String.self),
                            prevHash: try row["prev_hash"].decode(String.self), hash: try row["hash"].decode(String.self))
            }
        }
    }

    public func answerApproval(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                               amount: Double?, by: String, now: Date) async throws -> Bool {
        let reason = reason.map { redactor.redact($0) }
        return try await statement { connection in
            !(try await connection.rows("""
                INSERT INTO approvals (run_id, call_id, decision, reason, answered_by, answered_at, amount)
                VALUES (\(run), \(call), \(decision.rawValue), \(reason), \(by), \(Timestamp.rfc3339(now)), \(amount))
                ON CONFLICT DO NOTHING RETURNING call_id
                """, logger)).isEmpty
        }
    }

    public func approvalAnswer(run: String, call: String) async throws -> ApprovalAnswer? {
        try await read { connection in
            guard let row = try await connection.rows("""
                SELECT decision, reason, answered_by, amount FROM approvals WHERE run_id = \(run) AND call_id = \(call)
                """, logger).first,
                let decision = ApprovalAnswer.Decision(rawValue: try row["decision"].decode(String.self)) else { return nil }
            return ApprovalAnswer(decision, reason: try row["reason"].decode(String?.self),
                                  by: try row["answered_by"].decode(String.self),
                                  amount: try row["amount"].decode(Double?.self))
        }
    }
}

/// A ledger item as a Sendable value, to cross into a transaction.
struct LedgerItem: Sendable {
    var kind: LedgerKind
    var payload: JSONValue
}
