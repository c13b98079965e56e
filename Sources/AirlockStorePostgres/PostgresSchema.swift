import AirlockCore
import PostgresNIO

/// The PostgreSQL schema as numbered migrations, applied on start inside one transaction
/// under an advisory lock: replicas starting together wait for each other and apply each
/// migration once. `airlock_schema` records what was applied.
enum PostgresSchema {
    /// Any fixed 64-bit number; every Airlock process agrees on it.
    static let lockKey: Int = 0x4169_726C_6F63_6B31
    static var latest: Int { migrations.count }

    static let migrations: [[String]] = [
        // 1: runs, ledger, tool calls, approvals (as the SQLite store's v1 and v2).
        [
            """
            CREATE TABLE runs (
                id TEXT PRIMARY KEY, task TEXT NOT NULL, model TEXT NOT NULL, workspace TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'interrupted', 'finished')),
                outcome TEXT, exit_code INTEGER, config TEXT NOT NULL DEFAULT '{}',
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT,
                steps BIGINT NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0,
                output_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0)
            """,
            """
            CREATE TABLE ledger (
                run_id TEXT NOT NULL REFERENCES runs(id), seq BIGINT NOT NULL, time TEXT NOT NULL,
                kind TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
                PRIMARY KEY (run_id, seq))
            """,
            """
            CREATE TABLE tool_calls (
                run_id TEXT NOT NULL REFERENCES runs(id), call_id TEXT NOT NULL, step BIGINT NOT NULL,
                name TEXT NOT NULL, arguments TEXT NOT NULL, status TEXT NOT NULL, result TEXT,
                exit_code BIGINT, started_at TEXT NOT NULL, finished_at TEXT, PRIMARY KEY (run_id, call_id))
            """,
            "CREATE INDEX runs_by_created ON runs(created_at)",
            """
            CREATE TABLE approvals (
                run_id TEXT NOT NULL, call_id TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT,
                answered_by TEXT NOT NULL, answered_at TEXT NOT NULL, PRIMARY KEY (run_id, call_id))
            """,
            // Append-only by construction, as on SQLite; the hash chain is what detects an
            // edit made by someone who disables this.
            """
            CREATE FUNCTION airlock_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$
            """,
            """
            CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
                FOR EACH ROW EXECUTE FUNCTION airlock_ledger_append_only()
            """,
        ],
        // 2: the queue (submit, workers, leases, fencing epochs) and stop requests.
        [
            "ALTER TABLE runs DROP CONSTRAINT runs_status_check",
            """
            ALTER TABLE runs ADD CONSTRAINT runs_status_check
                CHECK (status IN ('queued', 'running', 'paused', 'interrupted', 'finished'))
            """,
            """
            ALTER TABLE runs ADD COLUMN request TEXT, ADD COLUMN needs TEXT[] NOT NULL DEFAULT '{}',
                ADD COLUMN worker TEXT, ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0,
                ADD COLUMN lease_until TIMESTAMPTZ, ADD COLUMN stop_by TEXT, ADD COLUMN stop_reason TEXT,
                ADD COLUMN stop_at TEXT
            """,
            "CREATE INDEX runs_claimable ON runs(status, lease_until)",
            "CREATE TABLE workers (name TEXT PRIMARY KEY, available TEXT[] NOT NULL, seen_at TIMESTAMPTZ NOT NULL)",
        ],
        // 3: the amount an approver extends a budget by (`on_budget_exhausted: ask`).
        ["ALTER TABLE approvals ADD COLUMN amount DOUBLE PRECISION"],
        // 4: batches (`airlock batch`): their runs are queued runs tagged with the batch.
        [
            """
            CREATE TABLE batches (id TEXT PRIMARY KEY, source TEXT NOT NULL, created_at TEXT NOT NULL,
                options TEXT NOT NULL DEFAULT '{}', size INTEGER NOT NULL)
            """,
            "ALTER TABLE runs ADD COLUMN batch_id TEXT, ADD COLUMN batch_index INTEGER",
            "CREATE INDEX runs_by_batch ON runs(batch_id, batch_index)",
        ],
    ]

    /// Brings the schema to `target` (default: the latest). Refuses a database whose tables
    /// are not Airlock's, and one migrated by a newer Airlock.
    static func migrate(_ connection: PostgresConnection, logger: Logger, upTo target: Int = latest) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            var applied = try await version(connection, logger: logger)
            if applied == nil {
                let foreign = try await connection.rows("""
                    SELECT table_name FROM information_schema.tables
                    WHERE table_schema = current_schema() ORDER BY table_name LIMIT 5
                    """, logger)
                let names = try foreign.map { try $0["table_name"].decode(String.self) }
                guard names.isEmpty else {
                    throw StoreError.foreignDatabase("found \(names.joined(separator: ", ")) and no airlock_schema")
                }
                try await connection.query("""
                    CREATE TABLE airlock_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """, logger: logger)
                applied = 0
            }
            let current = applied ?? 0
            guard current <= latest else { throw StoreError.schemaTooNew(found: current, known: latest) }
            for number in (current + 1)..<(max(current, target) + 1) {
                for statement in migrations[number - 1] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO airlock_schema (version) VALUES (\(number))", logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The highest migration applied, or nil when there is no `airlock_schema` table.
    static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int? {
        let exists = try await connection.rows("SELECT to_regclass('airlock_schema') IS NOT NULL AS present", logger)
        guard try exists.first?["present"].decode(Bool.self) == true else { return nil }
        let rows = try await connection.rows("SELECT coalesce(max(version), 0) AS version FROM airlock_schema", logger)
        return try rows.first?["version"].decode(Int.self) ?? 0
    }
}
