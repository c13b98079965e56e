import AirlockCore
import ArgumentParser
import Foundation

/// `--state-dir`, shared by every command that reads or writes runs.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where runs and the ledger live (default: $AIRLOCK_STATE_DIR, else $XDG_STATE_HOME/airlock, else ~/.local/state/airlock). Never mounted into a sandbox.",
        valueName: "dir"))
    var stateDir: String?

    func directory() -> URL {
        if let stateDir { return URL(fileURLWithPath: stateDir, isDirectory: true) }
        return Store.defaultStateDirectory()
    }

    func open(redactor: Redactor = Redactor()) throws -> Store {
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
