import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run many tasks at once from a JSONL or YAML file; show or resume a batch.",
        discussion: """
        `airlock batch FILE [--concurrency N] [-- RUN-OPTIONS]` runs every task of FILE in this \
        process, N at once. See `airlock batch start --help` and docs/batch.md.

        Exit codes: 0 every run submitted or answered; 10 the batch ended and some run did \
        not (failed, a budget ran out, skipped by a total budget…); 2 a bad batch file or \
        option (nothing started); 1 anything else.
        """,
        subcommands: [BatchStartCommand.self, BatchShowCommand.self, BatchResumeCommand.self, BatchListCommand.self],
        defaultSubcommand: BatchStartCommand.self)
}

/// The options of a batch that are not run options.
struct BatchRunOptions: ParsableArguments {
    @Option(name: .long, help: "Runs at once.")
    var concurrency: Int = 4

    @Option(name: .long, help: ArgumentHelp("Stop starting runs once the batch's runs together cost this much (USD).", valueName: "usd"))
    var maxCostTotal: Double?

    @Option(name: .long, help: ArgumentHelp("Stop starting runs once the batch's runs together used this many tokens.", valueName: "n"))
    var maxTokensTotal: Int?

    @Flag(name: .long, help: "Every run's events as JSON lines on stdout (each with \"run\" and \"batch\"), then batch_finished.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Keep this many sandboxes of the next runs started ahead (a warm pool; pods are never pooled: docs/batch.md).", valueName: "n"))
    var warm: Int = 0

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard warm >= 0 else { throw ValidationError("--warm must be 0 or more") }
        if let maxCostTotal, maxCostTotal <= 0 { throw ValidationError("--max-cost-total must be positive") }
        if let maxTokensTotal, maxTokensTotal <= 0 { throw ValidationError("--max-tokens-total must be positive") }
    }

    var settings: BatchSettings {
        BatchSettings(concurrency: concurrency, maxCostTotal: maxCostTotal, maxTokensTotal: maxTokensTotal, json: json, warm: warm)
    }

    var stored: JSONValue {
        var object: [String: JSONValue] = ["concurrency": .int(concurrency)]
        if let maxCostTotal { object["max_cost_total"] = .double(maxCostTotal) }
        if let maxTokensTotal { object["max_tokens_total"] = .int(maxTokensTotal) }
        return .object(object)
    }
}

struct BatchStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run every task of a batch file (the default: `airlock batch FILE`).",
        discussion: """
        FILE is JSON Lines (one task object a line) or YAML (a list of tasks, or `tasks:` with \
        optional `defaults:`). A task's keys: task (required), name, workspace (a directory) or \
        template (a directory copied afresh for the task), model, max_steps, max_tokens, \
        max_cost, timeout, call_timeout, image, sandbox, policy. Paths are relative to FILE. \
        Options after `--` are `airlock run` options every task starts from; a task's keys \
        override them. The whole file is checked first: a bad line, an unknown key or a \
        missing directory is reported with its line and nothing starts.

        The batch and its runs are stored before the first run starts; a killed batch is \
        continued with `airlock batch resume BATCH`. Exit codes: 0 every run submitted or \
        answered; 10 some did not; 2 a bad file or option.

        Examples:
          airlock batch tasks.jsonl --concurrency 8 -- --model openai:gpt-4o-mini --max-steps 20
          airlock batch evals.yaml --max-cost-total 5 --json > events.jsonl
        """)

    @Argument(help: "The batch file (.jsonl or .yaml).")
    var file: String

    @OptionGroup var options: BatchRunOptions

    @Option(name: .long, help: ArgumentHelp("Where tasks' template copies go (default: FILE.workspaces/BATCH-TIME next to FILE).", valueName: "dir"))
    var workspaces: String?

    @OptionGroup var state: StateOptions

    @Argument(parsing: .postTerminator, help: "`airlock run` options for every task, after `--`.")
    var runOptions: [String] = []

    func run() async throws {
        try await Output.guarded {
            let path = URL(fileURLWithPath: file).standardizedFileURL.path
            let batchFile: BatchFile
            do { batchFile = try BatchFile.load(path) } catch { throw CLIError("\(error)", code: 2) }
            let stamp = String(Int(Date().timeIntervalSince1970)) + "-" + String(getpid())
            let root = workspaces.map { URL(fileURLWithPath: $0, isDirectory: true).appendingPathComponent(stamp) }
                ?? URL(fileURLWithPath: path + ".workspaces", isDirectory: true).appendingPathComponent(stamp)
            let requests = try BatchSubmission.requests(batchFile, defaults: runOptions, workspaceRoot: root)
            let store = try await state.open()
            let batch = try await store.createBatch(source: path, options: options.stored, runs: requests, now: Date())
            if !options.json { Output.error("batch \(batch.id): \(batch.size) runs, \(options.concurrency) at once") }
            throw ExitCode(try await BatchDriver.drive(batch, store: store, settings: options.settings, resuming: false))
        }
    }
}

struct BatchResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a batch whose process died: unfinished runs resume, unstarted ones start.",
        discussion: """
        Runs that finished are left alone; a run that was in progress is taken over from its \
        ledger as `airlock resume` would (a tool call in flight is not re-run unless read-only; \
        the model is told); runs never started start. The batch's own options (concurrency, \
        total budgets) apply unless given again. Refused while another live process drives \
        the batch. Exit codes as `airlock batch`.
        """)

    @Argument(help: "The batch (id, unique prefix, or 'latest').")
    var batch: String

    @Option(name: .long, help: "Runs at once (default: the batch's).")
    var concurrency: Int?

    @Flag(name: .long, help: "Every run's events as JSON lines on stdout, then batch_finished.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Keep this many sandboxes of the next runs started ahead.", valueName: "n"))
    var warm: Int = 0

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await store.findBatch(batch)
            var settings = BatchSettings(concurrency: max(1, concurrency ?? record.options["concurrency"]?.intValue ?? 4),
                                         maxCostTotal: nil, maxTokensTotal: record.options["max_tokens_total"]?.intValue,
                                         json: json, warm: max(0, warm))
            if case .double(let cost)? = record.options["max_cost_total"] { settings.maxCostTotal = cost }
            else if let cost = record.options["max_cost_total"]?.intValue { settings.maxCostTotal = Double(cost) }
            throw ExitCode(try await BatchDriver.drive(record, store: store, settings: settings, resuming: true))
        }
    }
}

/// How a batch is driven, from the command line or (on resume) from the stored batch.
struct BatchSettings {
    var concurrency: Int
    var maxCostTotal: Double?
    var maxTokensTotal: Int?
    var json: Bool
    var warm: Int
}

/// What `start` and `resume` share: the batch's lock, the runner, the summary.
enum BatchDriver {
    static func drive(_ batch: BatchRecord, store: any RunStore, settings options: BatchSettings, resuming: Bool) async throws -> Int32 {
        // One process drives a batch at a time; the lock dies with its holder, which is how
        // `resume` knows the runs the old process held can be taken over at once.
        guard let lock = try RunLock.acquire(run: batch.id, stateDirectory: store.stateDirectory) else {
            let holder = RunLock.holder(run: batch.id, stateDirectory: store.stateDirectory) ?? "?"
            throw CLIError("batch \(batch.id) is being driven by a live process (pid \(holder)); wait for it or stop it first", code: 1)
        }
        defer { withExtendedLifetime(lock) {} }
        let runs = try await store.batchRuns(batch: batch.id)
        let progress = BatchProgress(batch: batch, runs: runs, json: options.json, interactive: isatty(STDERR_FILENO) == 1)
        let runner = BatchRunner(store: store, batch: batch, concurrency: options.concurrency, maxCostTotal: options.maxCostTotal,
                                 maxTokensTotal: options.maxTokensTotal, reclaim: resuming, progress: progress,
                                 pool: options.warm > 0 ? WarmPool(size: options.warm) : nil)
        let summary = try await runner.run()
        if options.json {
            var object = summary.json.objectMembers
            object["type"] = "batch_finished"
            Output.line(JSONValue.object(object).canonicalJSON)
        } else {
            Output.line(summary.table)
        }
        return summary.exitCode
    }
}

struct BatchShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "A batch's summary and its runs, read from the store.",
        discussion: "BATCH is a batch id, a unique prefix of one, or `latest`. Exit 0 if every run submitted or answered, else 10.")

    @Argument(help: "The batch (id, unique prefix, or 'latest').")
    var batch: String

    @Flag(name: .long, help: "The summary and every run as one JSON object.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await store.findBatch(batch)
            let summary = try await BatchSummary.load(store: store, batch: record)
            if json {
                Output.line(summary.json.canonicalJSON)
            } else {
                Output.line(summary.table)
                Output.line("  runs:")
                for item in summary.items {
                    let seconds = item.seconds.map { String(format: "%.1f s", $0) } ?? "-"
                    Output.line("    #\(item.index + 1) \(item.run.id) \(item.state) · \(seconds) · \(item.run.steps) steps · \(item.run.task.prefix(60))")
                }
            }
            throw ExitCode(summary.exitCode)
        }
    }
}

struct BatchListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Batches, newest first.")

    @Flag(name: .long, help: "One JSON object per line.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            for batch in try await store.batches(limit: 100) {
                if json {
                    Output.line(JSONValue.object(["id": .string(batch.id), "source": .string(batch.source),
                                                  "created_at": .string(batch.createdAt), "runs": .int(batch.size),
                                                  "options": batch.options]).canonicalJSON)
                } else {
                    Output.line("\(batch.id)  \(batch.createdAt)  \(batch.size) runs  \(batch.source)")
                }
            }
        }
    }
}

extension RunStore {
    /// A batch by id, unique prefix, or `latest` (the newest).
    func findBatch(_ reference: String) async throws -> BatchRecord {
        guard reference == "latest" else { return try await resolveBatch(reference) }
        guard let latest = try await batches(limit: 1).first else { throw CLIError("no batch yet", code: 1) }
        return latest
    }
}
