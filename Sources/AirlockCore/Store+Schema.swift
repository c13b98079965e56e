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
        return migrator
    }
}
