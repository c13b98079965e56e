import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a run from any shell: its harness kills the sandbox and ends it (exit 4).",
        discussion: """
        Records who asked and why; the harness holding the run (a local `airlock run` or a \
        worker, on any machine sharing the database) sees the request within its poll \
        interval (20 ms), kills the sandbox even in the middle of a tool call, writes \
        run_stopped (who, why) and run_finished (outcome terminated, exit 4) to the ledger. \
        A queued run is ended at once. Waits for the run to end unless --no-wait.
        Exit status: 0 the run ended (or was asked to, with --no-wait); 1 it was already \
        finished or did not end within --wait-limit.
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Option(name: .long, help: "Why, for the ledger.")
    var reason: String = ""

    @Flag(name: .long, help: "Return once the request is recorded.")
    var noWait = false

    @Option(name: .long, help: "How long to wait for the run to end.")
    var waitLimit: DurationValue?

    @Flag(name: .long, help: "Print the outcome as one JSON object.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await RunLookup.resolve(run, in: store)
            let who = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
            let outcome = try await RunStopper(store: store).stop(record.id, by: who, reason: reason,
                                                                  wait: noWait ? nil : (waitLimit?.duration ?? .seconds(30)))
            if json {
                Output.line(outcome.json.canonicalJSON)
            } else {
                Output.line(outcome.text)
            }
            if !outcome.ok { throw ExitCode(1) }
        }
    }
}
