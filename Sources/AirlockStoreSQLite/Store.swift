import AirlockCore
import Foundation
import Glibc
import GRDB

/// The harness's state: one SQLite file, `<stateDir>/airlock.sqlite`, holding runs, tool
/// calls and the ledger. It lives outside every sandbox and is never mounted into one.
///
/// Durability: the ledger is an audit record, and an entry that allows an action (a policy
/// decision, an approval) must be on disk before the action happens, even across a power
/// loss. Every write call is its own transaction (`commit` groups the writes that lead up to
/// one action), and the connection runs WAL with `synchronous = NORMAL`: a commit is written
/// to the WAL, and `write` then fsyncs the WAL itself (`WALSync`) before it returns, which
/// is what `synchronous = FULL` does inside COMMIT. The one exception is a commit of writes
/// that allow no action (`RunWrites.synced == false`): written, not fsync'd, until the next
/// commit's fsync. (Switching the pragma per commit cost more than the rest of such a commit:
/// SQLite prepares a PRAGMA again every time it runs.)
public final class Store: RunStore {
    public static let fileName = "airlock.sqlite"

    public let stateDirectory: URL
    public let databaseURL: URL
    /// Applied to everything written: ledger payloads, tool call arguments and results,
    /// run tasks and configs.
    public let redactor: Redactor
    let database: DatabaseQueue
    /// Set on a copy made by `fenced(_:)`.
    let fence: RunFence?
    public let commits: CommitCounter
    /// Set once a WAL fsync failed: this process then writes nothing more (`WALSync`).
    let syncFault: SyncFault
    /// Each run's last committed entry, as far as this process knows (`appendLedger`).
    let ledgerTails: LedgerTails

    public var location: String { databaseURL.path }

    /// Opens (creating if needed, mode 0700) the state directory and its database.
    public init(stateDirectory: URL, redactor: Redactor = Redactor()) throws {
        self.fence = nil
        self.commits = CommitCounter()
        self.syncFault = SyncFault()
        self.ledgerTails = LedgerTails()
        self.stateDirectory = stateDirectory
        self.databaseURL = stateDirectory.appendingPathComponent(Self.fileName)
        self.redactor = redactor
        try FileManager.default.createDirectory(
            at: stateDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // Set on the connection itself, not through GRDB's WAL setup.
            let mode = try Self.switchToWAL(db)
            guard mode == "wal" else { throw StoreError.walUnavailable(mode ?? "unknown") }
            // Commits are written here and fsync'd by `write(synced:)`, not by SQLite.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.database = try DatabaseQueue(path: databaseURL.path, configuration: config)
        // SQLite gives -wal and -shm the main file's mode, so this keeps all three private.
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: databaseURL.path)
        try Self.migrate(database, stateDirectory: stateDirectory)
    }

    /// `PRAGMA journal_mode = WAL`, retried while another connection holds the lock. A new
    /// file's first switch needs an exclusive lock, and SQLite answers SQLITE_BUSY at once,
    /// without the busy handler (waiting could deadlock), to a connection that loses that
    /// race: processes opening a new state dir together failed with "database is locked".
    /// Bounded like the busy timeout.
    static func switchToWAL(_ db: Database) throws -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                usleep(2_000)
            }
        }
    }

    private init(sharing store: Store, fence: RunFence?, redactor: Redactor) {
        stateDirectory = store.stateDirectory
        databaseURL = store.databaseURL
        self.redactor = redactor
        database = store.database
        commits = store.commits
        syncFault = store.syncFault
        ledgerTails = store.ledgerTails
        self.fence = fence
    }

    public func fenced(_ fence: RunFence) -> any RunStore {
        Store(sharing: self, fence: fence, redactor: redactor)
    }

    public func withRedactor(_ redactor: Redactor) -> any RunStore {
        Store(sharing: self, fence: fence, redactor: redactor)
    }

    /// Applies the migrations this database lacks, one process at a time: two processes
    /// starting on a new state dir would otherwise both see no schema and both create it
    /// (the loser failed with "table runs already exists"). An flock on a file beside the
    /// database serialises them; it dies with its holder.
    static func migrate(_ database: DatabaseQueue, stateDirectory: URL) throws {
        // Fast path: an up-to-date database needs no lock. A read that races another
        // process's first migration (the table seen, then gone from the statement's schema)
        // is not an answer: such a process takes the lock and looks again.
        if (try? database.read({ try migrator.hasCompletedMigrations($0) })) == true { return }
        let path = stateDirectory.appendingPathComponent("migrate.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.internalError("cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError.internalError("cannot lock \(path): errno \(errno)") }
        }
        defer { flock(fd, LOCK_UN) }
        try migrator.migrate(database)
        try database.writeWithoutTransaction { try WALSync.sync($0) }
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
    /// `synced: false` commits without the WAL's fsync (a killed process keeps the commit;
    /// a power loss may drop it with everything after it, never corrupting the file): the
    /// next synced commit's fsync of the same WAL makes it durable.
    func write<T>(synced: Bool = true, _ body: (Database) throws -> T) throws -> T {
        try syncFault.check()
        return try database.writeWithoutTransaction { db in
            var result: T?
            // BEGIN and COMMIT as cached statements: GRDB's inTransaction parses both again
            // on every call, a tenth of a commit's CPU on tmpfs (`airlock-bench loop`).
            try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
            do {
                result = try body(db)
                try db.cachedStatement(sql: "COMMIT").execute()
            } catch {
                // A failed COMMIT (busy, disk full) can leave the transaction open.
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                throw error
            }
            guard let result else { throw StoreError.internalError("transaction produced no result") }
            if synced { try syncFault.sync { try WALSync.sync(db) } }
            commits.committed(synced: synced)
            return result
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}
