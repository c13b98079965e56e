import AirlockCore
import AirlockStorePostgres
import AirlockStoreSQLite
import ArgumentParser
import Foundation

/// `--state-dir`, shared by every command that reads or writes runs.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where runs and the ledger live (default: $AIRLOCK_STATE_DIR, else $XDG_STATE_HOME/airlock, else ~/.local/state/airlock). Never mounted into a sandbox.",
        valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp(
        "Keep runs and the ledger in PostgreSQL instead of the state dir's SQLite file (default: $AIRLOCK_DATABASE_URL). libpq form: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require|verify-ca|verify-full&sslrootcert=FILE]. The state dir still holds this machine's local files (locks, snapshots).",
        valueName: "url"))
    var database: String?

    /// `--database`, else `AIRLOCK_DATABASE_URL`; nil means the SQLite file.
    var databaseURL: String? {
        if let database, !database.isEmpty { return database }
        let fromEnvironment = ProcessInfo.processInfo.environment["AIRLOCK_DATABASE_URL"]
        return fromEnvironment?.isEmpty == false ? fromEnvironment : nil
    }


    func directory() -> URL {
        if let stateDir { return URL(fileURLWithPath: stateDir, isDirectory: true) }
        return Store.defaultStateDirectory()
    }

    func open(redactor: Redactor = Redactor()) async throws -> any RunStore {
        if let url = databaseURL {
            do {
                return try await PostgresStore.open(url: url, stateDirectory: directory(), redactor: redactor)
            } catch {
                throw CLIError("cannot open the database: \(error)", code: 2)
            }
        }
        do {
            return try Store(stateDirectory: directory(), redactor: redactor)
        } catch {
            throw CLIError("cannot open the state database in \(directory().path): \(error)", code: 2)
        }
    }
}

/// A clear message and an exit code.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var code: Int32

    init(_ message: String, code: Int32 = 1) {
        self.description = message
        self.code = code
    }
}

enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Runs a command body, turning `CLIError` into a message and an exit code.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            Output.error("airlock: \(error.description)")
            throw ExitCode(error.code)
        }
    }
}
