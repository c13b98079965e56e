import AirlockCore
import GRDB

extension Store {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    task TEXT NOT NULL,
                    model TEXT NOT NULL,
                    workspace TEXT NOT NULL,
                    status TEXT NOT NULL
                        CHECK (status IN ('running', 'paused', 'interrupted', 'finished')),
                    outcome TEXT,
                    exit_code INTEGER,
                    config TEXT NOT NULL DEFAULT '{}',
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    finished_at TEXT,
                    steps INTEGER NOT NULL DEFAULT 0,
                    input_tokens INTEGER NOT NULL DEFAULT 0,
                    output_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd REAL NOT NULL DEFAULT 0
                );
                CREATE TABLE ledger (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    seq INTEGER NOT NULL,
                    time TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    PRIMARY KEY (run_id, seq)
                ) WITHOUT ROWID;
                CREATE TABLE tool_calls (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    call_id TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    arguments TEXT NOT NULL,
                    status TEXT NOT NULL,
                    result TEXT,
                    exit_code INTEGER,
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    PRIMARY KEY (run_id, call_id)
                ) WITHOUT ROWID;
                CREATE INDEX runs_by_created ON runs(created_at);
                -- Append-only by construction: an accidental UPDATE or DELETE through this
                -- code fails. It is no defence against someone with the file (they can drop
                -- the triggers); the hash chain is what detects that.
                CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
                    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
                CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
                    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
                """)
        }
        // Answers to approval requests given from outside the run's process (`airlock
        // approve` / `deny`); the run's ledger records each one it takes.
        migrator.registerMigration("v2-approvals") { db in
            try db.execute(sql: """
                CREATE TABLE approvals (
                    run_id TEXT NOT NULL,
                    call_id TEXT NOT NULL,
                    decision TEXT NOT NULL,
                    reason TEXT,
                    answered_by TEXT NOT NULL,
                    answered_at TEXT NOT NULL,
                    PRIMARY KEY (run_id, call_id)
                );
                """)
        }
        // Queued runs and the claims of workers (`airlock submit`, `airlock worker`), stop
        // requests. SQLite cannot change a CHECK, so `runs` is rebuilt with `queued` allowed.
        migrator.registerMigration("v3-queue") { db in
            try db.execute(sql: """
                CREATE TABLE runs_v3 (
                    id TEXT PRIMARY KEY NOT NULL,
                    task TEXT NOT NULL,
                    model TEXT NOT NULL,
                    workspace TEXT NOT NULL,
                    status TEXT NOT NULL
                        CHECK (status IN ('queued', 'running', 'paused', 'interrupted', 'finished')),
                    outcome TEXT,
                    exit_code INTEGER,
                    config TEXT NOT NULL DEFAULT '{}',
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    finished_at TEXT,
                    steps INTEGER NOT NULL DEFAULT 0,
                    input_tokens INTEGER NOT NULL DEFAULT 0,
                    output_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd REAL NOT NULL DEFAULT 0,
                    request TEXT,
                    needs TEXT NOT NULL DEFAULT '[]',
                    worker TEXT,
                    epoch INTEGER NOT NULL DEFAULT 0,
                    lease_until REAL,
                    stop_by TEXT,
                    stop_reason TEXT,
                    stop_at TEXT
                );
                INSERT INTO runs_v3 (id, task, model, workspace, status, outcome, exit_code, config,
                    created_at, updated_at, finished_at, steps, input_tokens, output_tokens, cost_usd)
                SELECT id, task, model, workspace, status, outcome, exit_code, config,
                    created_at, updated_at, finished_at, steps, input_tokens, output_tokens, cost_usd FROM runs;
                DROP TABLE runs;
                ALTER TABLE runs_v3 RENAME TO runs;
                CREATE INDEX runs_by_created ON runs(created_at);
                CREATE INDEX runs_claimable ON runs(status, lease_until);
                CREATE TABLE workers (
                    name TEXT PRIMARY KEY NOT NULL,
                    available TEXT NOT NULL,
                    seen_at REAL NOT NULL
                );
                """)
        }
        // The amount an approver extends a budget by (`on_budget_exhausted: ask`).
        migrator.registerMigration("v4-approval-amount") { db in
            try db.execute(sql: "ALTER TABLE approvals ADD COLUMN amount REAL")
        }
        // Batches (`airlock batch`): their runs are queued runs tagged with the batch.
        migrator.registerMigration("v5-batches") { db in
            try db.execute(sql: """
                CREATE TABLE batches (
                    id TEXT PRIMARY KEY NOT NULL,
                    source TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    options TEXT NOT NULL DEFAULT '{}',
                    size INTEGER NOT NULL
                );
                ALTER TABLE runs ADD COLUMN batch_id TEXT;
                ALTER TABLE runs ADD COLUMN batch_index INTEGER;
                CREATE INDEX runs_by_batch ON runs(batch_id, batch_index);
                """)
        }
        return migrator
    }
}
