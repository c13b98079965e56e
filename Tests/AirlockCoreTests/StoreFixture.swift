import AirlockStorePostgres
import AirlockStoreSQLite
import AirlockTestSupport
import Foundation
import GRDB
import Testing
@testable import AirlockCore

/// The two stores the suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store of one kind: a new state dir for SQLite; a PostgreSQL server of the
/// test's own (initdb, free loopback port, unprivileged user) with a new database for
/// PostgreSQL. `sql` edits the database behind the store's back, as someone with access to
/// it could (the ledger's append-only triggers switched off first).
final class StoreFixture: @unchecked Sendable {
    let kind: StoreKind
    let store: any RunStore
    let dir: TempDir
    let server: TestPostgres?
    let database: String?

    /// Nil (with the reason printed) when the host has no PostgreSQL.
    static func make(_ kind: StoreKind, redactor: Redactor = Redactor()) async throws -> StoreFixture? {
        let dir = try TempDir()
        switch kind {
        case .sqlite:
            return StoreFixture(kind: kind, store: try Store(stateDirectory: dir.url, redactor: redactor), dir: dir,
                                server: nil, database: nil)
        case .postgres:
            if let reason = TestPostgres.unavailableReason {
                print("skipped (postgres): \(reason)")
                dir.cleanUp()
                return nil
            }
            let server = try TestPostgres.start()
            do {
                let url = try server.createDatabase("airlock_test")
                let store = try await PostgresStore.open(url: url, stateDirectory: dir.url, redactor: redactor)
                return StoreFixture(kind: kind, store: store, dir: dir, server: server, database: "airlock_test")
            } catch {
                server.stop()
                dir.cleanUp()
                throw error
            }
        }
    }

    init(kind: StoreKind, store: any RunStore, dir: TempDir, server: TestPostgres?, database: String?) {
        self.kind = kind
        self.store = store
        self.dir = dir
        self.server = server
        self.database = database
    }

    /// Plain SQL on the database, `RUN` replaced by the quoted run id.
    func sql(_ statement: String, run: String) throws {
        let text = statement.replacingOccurrences(of: "RUN", with: "'\(run)'")
        switch kind {
        case .sqlite:
            let raw = try DatabaseQueue(path: dir.url.appendingPathComponent(Store.fileName).path)
            try raw.write { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete")
                try db.execute(sql: text)
            }
            try raw.close()
        case .postgres:
            guard let server, let database else { return }
            try server.psql(database, "ALTER TABLE ledger DISABLE TRIGGER ledger_append_only; " + text)
        }
    }

    /// Everything the database holds, as text (for "the secret is nowhere" checks).
    func dump() throws -> String {
        switch kind {
        case .sqlite:
            let raw = try DatabaseQueue(path: dir.url.appendingPathComponent(Store.fileName).path)
            defer { try? raw.close() }
            return try raw.read { db in
                var text = ""
                for table in ["runs", "ledger", "tool_calls", "approvals"] {
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table)") { text += "\(row)\n" }
                }
                return text
            }
        case .postgres:
            guard let server, let database else { return "" }
            return try server.psql(database, "SELECT r::text FROM runs r UNION ALL SELECT l::text FROM ledger l UNION ALL SELECT t::text FROM tool_calls t UNION ALL SELECT a::text FROM approvals a")
        }
    }

    func cleanUp() {
        server?.stop()
        dir.cleanUp()
    }
}
