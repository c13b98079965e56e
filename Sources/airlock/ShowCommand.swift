import AirlockCore
import AirlockSandbox
import AirlockModels
import ArgumentParser
import Foundation

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a run's transcript: model turns, tool calls, results, budget, outcome.",
        discussion: "RUN is a run id or a unique prefix of one; `latest` names the newest run.")

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Flag(name: .long, help: "The full record as JSON: the run, its tool calls and every ledger entry.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await RunLookup.resolve(run, in: store)
            let entries = try await store.ledgerEntries(run: record.id)
            if json {
                let calls = try await store.toolCalls(run: record.id)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let runJSON = try JSONValue(parsing: String(decoding: try encoder.encode(record), as: UTF8.self))
                let callsJSON = try JSONValue(parsing: String(decoding: try encoder.encode(calls), as: UTF8.self))
                let ledger = JSONValue.array(entries.map { entry in
                    .object(["seq": .int(entry.seq), "time": .string(entry.time), "kind": .string(entry.kind.rawValue),
                             "payload": entry.payload, "prev_hash": .string(entry.prevHash), "hash": .string(entry.hash)])
                })
                Output.line(JSONValue.object(["run": runJSON, "tool_calls": callsJSON, "ledger": ledger]).canonicalJSON)
                return
            }
            Output.line("run \(record.id) · \(record.status.rawValue) · \(record.outcome ?? "-") · exit \(record.exitCode.map(String.init) ?? "-")")
            Output.line("model \(record.model) · workspace \(record.workspace) · created \(record.createdAt)")
            if let started = entries.first(where: { $0.kind == .runStarted }), let image = SandboxRoot.recordedImage(started.payload) {
                Output.line("image \(image.digest) (\(image.writable.rawValue) root)")
            }
            Output.line("steps \(record.steps) · tokens \(record.inputTokens)+\(record.outputTokens) · cost $\(String(format: "%.4f", record.costUSD))")
            Output.line("task: \(record.task)\n")
            for entry in entries {
                if let line = TranscriptLine.render(entry) { Output.line(line) }
            }
        }
    }
}

enum RunLookup {
    static func resolve(_ reference: String, in store: any RunStore) async throws -> RunRecord {
        if reference == "latest" {
            guard let run = try await store.latestRun() else { throw CLIError("there are no runs yet", code: 1) }
            return run
        }
        do {
            return try await store.resolveRun(reference)
        } catch {
            throw CLIError("\(error)", code: 1)
        }
    }
}

/// One human line per interesting ledger entry.
enum TranscriptLine {
    static func render(_ entry: LedgerEntry) -> String? {
        let payload = entry.payload
        func text(_ key: String) -> String { payload[key]?.stringValue ?? "" }
        let prefix = "#\(entry.seq) "
        switch entry.kind {
        case .modelResponse:
            if let error = payload["error"]?.stringValue { return prefix + "model failed: \(error)" }
            var line = prefix + "model (step \(payload["step"]?.intValue ?? 0))"
            if let usage = payload["usage"] {
                line += " [\(usage["input_tokens"]?.intValue ?? 0)+\(usage["output_tokens"]?.intValue ?? 0) tokens]"
            }
            if !text("text").isEmpty { line += ": " + text("text") }
            return line
        case .toolCallValidated:
            return prefix + "→ \(text("name")) \(payload["arguments"].map { CanonicalJSON.string($0) } ?? "")"
        case .toolCallRejected:
            return prefix + "✗ rejected: \(text("message"))"
        case .toolResult:
            var line = prefix + "← \(text("status"))"
            if let code = payload["exit_code"]?.intValue { line += " exit \(code)" }
            if let out = payload["stdout"]?.stringValue, !out.isEmpty { line += "\n" + indent(out) }
            if let err = payload["stderr"]?.stringValue, !err.isEmpty { line += "\n" + indent(err) }
            if let message = payload["message"]?.stringValue { line += ": " + message }
            return line
        case .egressRequest:
            let verdict = payload["allowed"] == .bool(true) ? "allowed" : "refused: \(text("reason"))"
            return prefix + "egress \(text("method")) \(text("host")):\(payload["port"]?.intValue ?? 0)\(text("path")) "
                + "(\(payload["bytes_up"]?.intValue ?? 0) B up, \(payload["bytes_down"]?.intValue ?? 0) B down) \(verdict)"
        case .sandboxStarted, .sandboxKilled, .sandboxReplaced:
            let image = text("image").isEmpty ? "" : " on image \(text("image"))"
            return prefix + "sandbox \(entry.kind.rawValue.replacingOccurrences(of: "sandbox_", with: "")) \(text("sandbox"))\(image) \(text("reason"))"
        case .runFinished:
            return prefix + "finished: \(text("outcome")) (exit \(payload["exit_code"]?.intValue ?? 1)) — \(text("reason"))"
                + (payload["answer"]?.stringValue.map { "\nanswer: \($0)" } ?? "")
        default:
            return nil
        }
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).prefix(40).map { "    " + $0 }.joined(separator: "\n")
    }
}
