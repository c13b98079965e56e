import Foundation
import GRDB

/// The harness's state: one SQLite file, `<stateDir>/airlock.sqlite`, holding runs, tool
/// calls and the ledger. It lives outside every sandbox and is never mounted into one.
///
/// Durability: the ledger is an audit record, and an entry that allows an action (a policy
/// decision, an approval) must be on disk before the action happens, even across a power
/// loss. WAL with `synchronous = FULL` fsyncs the WAL on every commit (NORMAL, GRDB's default
/// for WAL, may lose the last commits on power loss), and every write is its own transaction.
public final class Store: Sendable {
    public static let fileName = "airlock.sqlite"

    public let stateDirectory: URL
    public let databaseURL: URL
    /// Applied to everything written: ledger payloads, tool call arguments and results,
    /// run tasks and configs.
    public let redactor: Redactor
    let database: DatabaseQueue

    /// Opens (creating if needed, mode 0700) the state directory and its database.
    public init(stateDirectory: URL, redactor: Redactor = Redactor()) throws {
        self.stateDirectory = stateDirectory
        self.databaseURL = stateDirectory.appendingPathComponent(Self.fileName)
        self.redactor = redactor
        try FileManager.default.createDirectory(
            at: stateDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // Set on the connection itself: GRDB's own WAL setup would choose NORMAL.
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else { throw StoreError.walUnavailable(mode ?? "unknown") }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.database = try DatabaseQueue(path: databaseURL.path, configuration: config)
        // SQLite gives -wal and -shm the main file's mode, so this keeps all three private.
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: databaseURL.path)
        try Self.migrator.migrate(database)
    }

    /// `AIRLOCK_STATE_DIR`, else `$XDG_STATE_HOME/airlock`, else `~/.local/state/airlock`.
    public static func defaultStateDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        if let dir = environment["AIRLOCK_STATE_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        if let dir = environment["XDG_STATE_HOME"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true).appendingPathComponent("airlock")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".local/state/airlock")
    }

    /// A write in one IMMEDIATE transaction: it takes the write lock up front, so two
    /// processes appending to the same database wait for each other instead of failing.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            guard let result else { throw StoreError.internalError("transaction produced no result") }
            return result
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}
