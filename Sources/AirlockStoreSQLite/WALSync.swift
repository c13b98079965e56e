import AirlockCore
import GRDB
import GRDBSQLite
import Synchronization

/// The fsync that makes a commit durable, done after COMMIT instead of inside it: the
/// connection runs `synchronous = NORMAL`, so a commit only writes the WAL, and a synced
/// write then syncs the WAL file through SQLite's own file handle (the same VFS call SQLite
/// makes at COMMIT under `synchronous = FULL`). Every commit before it in the WAL becomes
/// durable with it.
enum WALSync {
    static func sync(_ db: Database) throws {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file)
        guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else {
            throw StoreError.internalError("SQLite gave no WAL file to sync (code \(found))")
        }
        let code = sync(file, SQLITE_SYNC_FULL)
        guard code == SQLITE_OK else {
            throw StoreError.unavailable("the fsync of the database's WAL failed (SQLite code \(code)): "
                                         + "the last commit may not be on disk")
        }
    }
}

/// What a failed WAL fsync leaves behind: the commit is visible but may not be durable,
/// and after a failed fsync the kernel may have dropped the data it could not write, so
/// syncing again proves nothing. The process stops writing (the action the commit allowed
/// is not taken) instead of building on it; `airlock resume` in a new process reads what
/// the file holds and goes on from there.
final class SyncFault: Sendable {
    private let failure = Mutex<String?>(nil)

    func check() throws {
        if let failure = failure.withLock({ $0 }) {
            throw StoreError.unavailable("an earlier fsync of the database's WAL failed (\(failure)); this process "
                                         + "writes nothing more. Once the disk is healthy, `airlock resume` the run")
        }
    }

    /// Runs `sync` (`WALSync.sync`); a failure is remembered for every later write of this process.
    func sync(_ sync: () throws -> Void) throws {
        do {
            try sync()
        } catch {
            failure.withLock { $0 = $0 ?? "\(error)" }
            throw error
        }
    }
}
