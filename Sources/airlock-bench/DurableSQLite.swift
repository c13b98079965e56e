import GRDB

/// The raw baseline for durable writes: a fresh SQLite file with the store's settings (WAL,
/// `synchronous = FULL`) and one table `t (i, payload)` for one-row INSERT transactions.
enum DurableSQLite {
    static func open(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.write { db in try db.execute(sql: "CREATE TABLE t (i INTEGER, payload TEXT)") }
        return queue
    }
}
