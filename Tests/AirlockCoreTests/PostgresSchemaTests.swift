import AirlockTestSupport
import Foundation
import Testing
@testable import AirlockCore
import PostgresNIO
@testable import AirlockStorePostgres

/// The PostgreSQL schema's migrations: an older schema is brought forward with its data,
/// and replicas opening a new database together apply each migration once.
@Suite struct PostgresSchemaTests {
    @Test func anOlderSchemaIsMigratedKeepingItsRuns() async throws {
        if let reason = TestPostgres.unavailableReason {
            print("skipped: \(reason)")
            return
        }
        let server = try TestPostgres.start()
        defer { server.stop() }
        let url = try server.createDatabase("older")
        let dir = try TempDir()
        defer { dir.cleanUp() }
        // Version 1 only, as an earlier airlock left it, with one run in it.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let connection = try await PostgresConnection.connect(configuration: try PostgresURL(url).connectionConfiguration(),
                                                              id: 1, logger: logger)
        try await PostgresSchema.migrate(connection, logger: logger, upTo: 1)
        try await connection.close()
        try server.psql("older", """
            INSERT INTO runs (id, task, model, workspace, status, created_at, updated_at)
            VALUES ('r-old', 'from before', 'script:x', '/w', 'finished', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
            """)
        #expect(try server.psql("older", "SELECT max(version) FROM airlock_schema").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let store = try await PostgresStore.open(url: url, stateDirectory: dir.url)
        #expect(try server.psql("older", "SELECT max(version) FROM airlock_schema").trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.latest)")
        #expect(try await store.run(id: "r-old")?.task == "from before")
        _ = try await store.submitRun(task: "new", model: "script:x", workspace: "/w", config: .object([:]),
                                      request: .object([:]), needs: [], now: Date())
        #expect(try await store.runs().count == 2)
    }

    @Test func replicasOpeningANewDatabaseTogetherMigrateOnce() async throws {
        if let reason = TestPostgres.unavailableReason {
            print("skipped: \(reason)")
            return
        }
        let server = try TestPostgres.start()
        defer { server.stop() }
        let url = try server.createDatabase("together")
        let dir = try TempDir()
        defer { dir.cleanUp() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask { _ = try await PostgresStore.open(url: url, stateDirectory: dir.url) }
            }
            try await group.waitForAll()
        }
        #expect(try server.psql("together", "SELECT string_agg(version::text, ',' ORDER BY version) FROM airlock_schema")
            .trimmingCharacters(in: .whitespacesAndNewlines) == (1...PostgresSchema.latest).map(String.init).joined(separator: ","))
    }
}
