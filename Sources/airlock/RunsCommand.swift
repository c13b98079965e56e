import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List runs, newest first, with their state and outcome.")

    @Option(name: .long, help: "Show at most this many.")
    var limit: Int = 50

    @Flag(name: .long, help: "One JSON object per run, one per line.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            // A run marked running whose harness is gone (no worker, no live hold, its lock
            // free) was interrupted.
            let runs = try await store.runs(limit: limit).map { run -> RunRecord in
                var run = run
                if run.status == .running, !run.isDriven(stateDirectory: store.stateDirectory) {
                    run.status = .interrupted
                }
                return run
            }
            let waiting = try await QueueReport.waiting(runs.filter { $0.status == .queued }, in: store)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for run in runs {
                    var line = String(decoding: try encoder.encode(run), as: UTF8.self)
                    if let why = waiting[run.id], line.hasSuffix("}") {
                        line = String(line.dropLast()) + ",\"waiting\":" + JSONValue.string(why).canonicalJSON + "}"
                    }
                    Output.line(line)
                }
                return
            }
            if runs.isEmpty {
                Output.line("no runs yet in \(state.directory().path) (start one with `airlock run`)")
                return
            }
            Output.line(pad("RUN", 26) + pad("STATE", 12) + pad("OUTCOME", 16) + pad("EXIT", 5) + pad("STEPS", 6)
                        + pad("TOKENS", 8) + pad("MODEL", 28) + "TASK")
            for run in runs {
                let task = run.task.replacingOccurrences(of: "\n", with: " ")
                let state = run.status == .interrupted ? "interrupted*" : run.status.rawValue
                let outcome = run.outcome ?? (run.status == .queued ? "waiting" : run.worker.map { "@" + $0 } ?? "-")
                Output.line(pad(run.id, 26) + pad(state, 12) + pad(outcome, 16)
                            + pad(run.exitCode.map(String.init) ?? "-", 5) + pad(String(run.steps), 6)
                            + pad(String(run.inputTokens + run.outputTokens), 8) + pad(run.model, 28)
                            + String(task.prefix(60)))
            }
            for (run, why) in waiting.sorted(by: { $0.key < $1.key }) { Output.line("\(run) waits: \(why)") }
            if runs.contains(where: { $0.status == .interrupted }) {
                Output.line("* its harness died; continue it with `airlock resume RUN`")
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }
}
