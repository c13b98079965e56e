import AirlockExec
import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockSandbox
import ArgumentParser
import Foundation

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a recorded run's tool calls on a copy of its starting workspace and report what differs.",
        discussion: """
        The model is not called: its recorded responses stand. Each recorded tool call runs \
        again in a fresh sandbox on a copy of the workspace as it was when the run started \
        (recorded by `airlock run --snapshot-workspace`), and what the model would see now is \
        compared with what it saw. For a run recorded without a snapshot, name a workspace \
        with --workspace (it is copied first; the original is not changed). Declared tools \
        and MCP servers are the ones the run recorded; its MCP servers start again in the \
        replay sandbox. Remote MCP servers are not reached (no network, no credentials).
        Exit 0 when every result matches, 1 when any differs.
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Option(name: .long, help: "Replay on a copy of this directory instead of the run's snapshot.")
    var workspace: String?

    @Option(name: .long, help: ArgumentHelp("The image to replay on; refused unless it has the digest the run recorded (default: the recorded one, from the store).", valueName: "ref"))
    var image: String?

    @Flag(name: .long, help: "One JSON object per call, then a summary, one per line.")
    var json = false

    @OptionGroup(title: "Config files") var configFiles: ConfigOptions

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await RunLookup.resolve(run, in: store)
            let entries = try await store.ledgerEntries(run: record.id)
            guard let started = entries.first(where: { $0.kind == .runStarted }),
                  var configuration = RunConfiguration(recorded: started.payload) else {
                throw CLIError("run \(record.id) has no readable run_started entry")
            }
            configuration.sandbox.root = try ImageOptions.recorded(started.payload, stateDirectory: state.directory().path)
            if let image {
                let recorded = SandboxRoot.recordedImage(started.payload)?.digest ?? "the host's /usr"
                let given = try ImageOptions.resolve(image, stateDirectory: state.directory().path, writable: .copy, progress: false)
                guard case .image(let root) = given, root.digest == recorded else {
                    let digest = if case .image(let root) = given { root.digest } else { "none" }
                    throw CLIError("run \(record.id) ran on \(recorded); --image \(image) is \(digest): replay refuses a different image", code: 2)
                }
            }
            let source: String
            if let workspace {
                source = workspace
            } else if let snapshot = entries.first(where: { $0.kind == .workspaceSnapshot })?.payload["path"]?.stringValue {
                source = snapshot
            } else {
                throw CLIError("run \(record.id) was recorded without --snapshot-workspace; name a starting workspace with --workspace DIR", code: 2)
            }
            let copy = NSTemporaryDirectory() + "airlock-replay-\(record.id)-\(getpid())"
            do { try WorkspaceSnapshot.copy(source, to: copy) }
            catch { throw CLIError("cannot copy \(source): \(error)") }
            defer { try? FileManager.default.removeItem(atPath: copy) }
            if !json { Output.error("replaying \(record.id) on a copy of \(source)") }
            // The run's own declared tools and MCP servers, as its ledger recorded them.
            let (extras, note) = try ConfigExtras.forRecordedRun(started.payload, run: record.id) {
                try configFiles.layers(workspace: configuration.sandbox.workspace)
            }
            if let note, !json { Output.error("note: " + note) }
            configuration.declaredTools = extras.tools
            // Remote servers are not reached: a replay has no network and no credentials.
            let provider = extras.mcpServers.isEmpty ? nil
                : MCPToolProvider(servers: extras.mcpServers, remotes: [], environment: ProcessInfo.processInfo.environment,
                                  outputLimit: configuration.modelOutputLimit)
            let replayer = Replayer(backend: SandboxTiers.recorded(configuration),
                                    configuration: configuration, toolProvider: provider)
            let report: Replayer.Report
            do {
                report = try await replayer.replay(entries, workspace: copy) { call in
                    if json {
                        Output.line(JSONValue.object([
                            "type": "call", "run": .string(record.id), "call": .string(call.call), "tool": .string(call.tool),
                            "same": .bool(call.same), "skipped": call.skipped.map { .string($0) } ?? .null,
                            "recorded": .string(call.recorded), "replayed": .string(call.replayed),
                        ]).canonicalJSON)
                    } else if let reason = call.skipped {
                        Output.line("  \(call.call) \(call.tool): skipped (\(reason))")
                    } else if call.same {
                        Output.line("  \(call.call) \(call.tool): same")
                    } else {
                        Output.line("  \(call.call) \(call.tool): DIFFERENT\n    recorded: \(firstLine(call.recorded))\n    replayed: \(firstLine(call.replayed))")
                    }
                }
            } catch {
                throw CLIError("the replay sandbox failed: \(error)", code: 5)
            }
            if json {
                Output.line(JSONValue.object(["type": "replay_finished", "run": .string(record.id),
                                              "calls": .int(report.calls.count), "differences": .int(report.differences)]).canonicalJSON)
            } else {
                Output.line("\(report.calls.count) calls replayed, \(report.differences) different")
            }
            if report.differences > 0 { throw ExitCode(1) }
        }
    }

    private func firstLine(_ text: String) -> String {
        String(text.replacingOccurrences(of: "\n", with: " ⏎ ").prefix(160))
    }
}
