import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue a run for `airlock worker`s: the task and the options of `airlock run`.",
        discussion: """
        Takes the same task and options as `airlock run` (see `airlock run --help`), checks \
        them, stores the run as queued and prints its id. A worker (`airlock worker`, on this \
        or another machine sharing the database) claims it and runs it; follow it with \
        `airlock show RUN`, `airlock runs` or the API's event stream.

        No secret is stored: the run records the NAMES of the environment variables it needs \
        (--api-key-env or the provider's default, --secret, --secret-env), and only a worker \
        that has them all takes it. Paths (--workspace, --policy, --prices, script:FILE) are \
        made absolute here and must be reachable by the worker at the same path (a shared \
        file system when workers run on other machines).

        Examples:
          airlock submit "fix the test" --model script:$PWD/script.json --workspace /shared/ws/1 --json
          AIRLOCK_DATABASE_URL=postgres://airlock@db/airlock airlock submit "…" --model openai:gpt-4o-mini
        """)

    @Argument(parsing: .captureForPassthrough, help: "TASK and the options of `airlock run`; also --json, --database, --state-dir.")
    var arguments: [String] = []

    func run() async throws {
        try await Output.guarded {
            let parsed = try QueuedRun.parseSubmission(arguments)
            let store = try await parsed.state.open()
            let record = try await store.submitRun(task: parsed.command.task, model: parsed.model.description,
                                                   workspace: parsed.workspace, config: parsed.summary,
                                                   request: .object(["argv": .array(parsed.argv.map(JSONValue.string))]),
                                                   needs: parsed.needs, now: Date())
            if parsed.json {
                Output.line(JSONValue.object(["type": "run_queued", "run": .string(record.id),
                                              "needs": .array(parsed.needs.map(JSONValue.string))]).canonicalJSON)
            } else {
                Output.line(record.id)
            }
        }
    }
}
