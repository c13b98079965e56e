import AirlockCore
import AirlockModels
import Foundation
import GRDB

extension Store {
    /// Creates a `running` run with a fresh id.
    public func createRun(task: String, model: String, workspace: String,
                          config: JSONValue, now: Date) throws -> RunRecord {
        try insertRun(task: task, model: model, workspace: workspace, config: config, status: .running,
                      request: nil, needs: [], now: now)
    }

    func insertRun(task: String, model: String, workspace: String, config: JSONValue, status: RunStatus,
                   request: JSONValue?, needs: [String], now: Date) throws -> RunRecord {
        let time = Timestamp.rfc3339(now)
        for _ in 0..<8 {
            let record = RunRecord(id: RunID.make(at: now), task: redactor.redact(task),
                                   model: model, workspace: workspace, status: status,
                                   config: redactor.redact(config), createdAt: time, updatedAt: time)
            let inserted = try write { db -> Bool in
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?",
                                        arguments: [record.id]) == nil else { return false }
                try insert(record, db)
                if let request {
                    try db.execute(sql: "UPDATE runs SET request = ?, needs = ? WHERE id = ?",
                                   arguments: [redactor.redact(request).canonicalJSON,
                                               JSONValue.array(needs.map(JSONValue.string)).canonicalJSON, record.id])
                }
                return true
            }
            if inserted { return record }
        }
        throw StoreError.internalError("could not pick an unused run id")
    }

    /// Reads, changes and writes back a run in one transaction; `updated_at` is set, and
    /// `finished_at` too when the status becomes `finished`.
    public func updateRun(_ id: String, now: Date,
                          _ change: @Sendable (inout RunRecord) -> Void) throws -> RunRecord {
        try write { db in
            try checkFence(run: id, db)
            return try changeRun(id, now: now, change, db)
        }
    }

    /// Inside a write: applies `change` to the run's row.
    func changeRun(_ id: String, now: Date, _ change: (inout RunRecord) -> Void,
                   _ db: Database) throws -> RunRecord {
        guard let stored = try fetchRun(id, db) else { throw StoreError.runNotFound(id) }
        let record = stored.updated(by: change, now: now, redactor: redactor)
        var arguments: StatementArguments = [record.model, record.workspace, record.status.rawValue, record.outcome,
                                             record.exitCode, record.updatedAt, record.finishedAt, record.steps,
                                             record.inputTokens, record.outputTokens, record.costUSD]
        // The per-step counter updates leave task and config alone: not encoded again.
        let sameText = record.task == stored.task && record.config == stored.config
        if !sameText { arguments += [record.task, record.config.canonicalJSON] }
        arguments += [id]
        try db.cachedStatement(sql: """
            UPDATE runs SET model = ?, workspace = ?, status = ?, outcome = ?, exit_code = ?,
                updated_at = ?, finished_at = ?, steps = ?, input_tokens = ?, output_tokens = ?, cost_usd = ?
            """ + (sameText ? "" : ", task = ?, config = ?") + " WHERE id = ?").execute(arguments: arguments)
        return record
    }

    public func run(id: String) throws -> RunRecord? {
        try read { db in try fetchRun(id, db) }
    }

    public func runs(limit: Int?) throws -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?",
                             arguments: [limit ?? -1]).map(Self.runRecord)
        }
    }

    public func resolveRun(_ reference: String) throws -> RunRecord {
        try read { db in
            if let exact = try fetchRun(reference, db) { return exact }
            guard !reference.isEmpty else { throw StoreError.runNotFound(reference) }
            // substr rather than LIKE: ids may hold `_`, which LIKE treats as a wildcard.
            let matches = try Row.fetchAll(db, sql: """
                SELECT * FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 20
                """, arguments: [reference.utf8.count, reference]).map(Self.runRecord)
            guard let first = matches.first else { throw StoreError.runNotFound(reference) }
            guard matches.count == 1 else {
                throw StoreError.ambiguousRun(reference, candidates: matches.map(\.id))
            }
            return first
        }
    }

    func insert(_ record: RunRecord, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO runs (id, task, model, workspace, status, outcome, exit_code, config,
                created_at, updated_at, finished_at, steps, input_tokens, output_tokens, cost_usd)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [record.id, record.task, record.model, record.workspace,
                             record.status.rawValue, record.outcome, record.exitCode,
                             record.config.canonicalJSON, record.createdAt, record.updatedAt,
                             record.finishedAt, record.steps, record.inputTokens,
                             record.outputTokens, record.costUSD])
    }

    func fetchRun(_ id: String, _ db: Database) throws -> RunRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM runs WHERE id = ?"), arguments: [id])
            .map(Self.runRecord)
    }

    static func runRecord(_ row: Row) -> RunRecord {
        let configText: String = row["config"] ?? "{}"
        let statusText: String = row["status"] ?? ""
        return RunRecord(
            id: row["id"] ?? "", task: row["task"] ?? "", model: row["model"] ?? "",
            workspace: row["workspace"] ?? "",
            status: RunStatus(rawValue: statusText) ?? .interrupted,
            outcome: row["outcome"], exitCode: row["exit_code"],
            config: (try? JSONValue(parsing: configText)) ?? .object([:]),
            createdAt: row["created_at"] ?? "", updatedAt: row["updated_at"] ?? "",
            finishedAt: row["finished_at"], steps: row["steps"] ?? 0,
            inputTokens: row["input_tokens"] ?? 0, outputTokens: row["output_tokens"] ?? 0,
            costUSD: row["cost_usd"] ?? 0, worker: row["worker"], epoch: row["epoch"] ?? 0,
            leaseLive: (row["lease_until"] as Double?).map { $0 > Date().timeIntervalSince1970 })
    }
}
