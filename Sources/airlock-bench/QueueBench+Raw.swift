import AirlockStorePostgres
import Foundation
import GRDB

extension QueueBench {
    /// The baseline for the SQLite store: one INSERT per durable transaction, same settings.
    static func rawSQLiteRate(_ path: String, count: Int) throws -> Double {
        let queue = try DurableSQLite.open(path)
        let began = ContinuousClock.now
        for index in 0..<count {
            try queue.write { db in try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [index, "a ledger entry of typical size"]) }
        }
        return Double(count) / ((ContinuousClock.now - began).milliseconds / 1000)
    }

    /// The baseline for the PostgreSQL store: one INSERT per committed transaction.
    static func rawPostgresRate(_ store: PostgresStore, count: Int) async throws -> Double {
        try await store.rawBaseline(count: count)
    }
}
