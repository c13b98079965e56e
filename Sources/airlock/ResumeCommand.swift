import AirlockExec
import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockOTLP
import AirlockSandbox
import ArgumentParser
import Foundation

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a run whose harness died (killed, crashed, machine restarted).",
        discussion: """
        The run's state is rebuilt from its ledger. A model call that was in flight is made \
        again (both attempts stay recorded). A tool call that was in flight is NOT run again — \
        the model is told its outcome is unknown — unless it is read-only (read_file, \
        list_files). A fresh sandbox starts on the same workspace. A run that another live \
        harness holds is refused. Budgets continue from what was already used. Declared \
        tools and MCP servers are the ones recorded when the run started (a note says when \
        the config files have changed since).
        Exit codes as for `airlock run`.
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Option(name: .long, help: "Provider base URL (default: the one the run was started with).")
    var baseURL: String?

    @Option(name: .long, help: "Environment variable holding the API key.")
    var apiKeyEnv: String?

    @Option(name: .long, help: "JSON file of prices (see `airlock run --help`).")
    var prices: String?

    @Option(name: .long, help: "Ed25519 private key that signs the ledger's head at the end.")
    var signKey: String?

    @Option(name: .long, help: "Who answers the policy's 'ask': tty (a prompt on this terminal), web (wait for `airlock approve`/`deny` from another shell) or deny. Default: tty when there is a terminal, else deny.")
    var approver: String?

    @Flag(name: .long, help: "One JSON event per line on stdout.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("A PEM file of extra CA certificates for the egress proxy (as given to `run`; not recorded, so give it again).", valueName: "file"))
    var upstreamCa: [String] = []

    @OptionGroup(title: "Config files") var configFiles: ConfigOptions

    @Flag(name: .long, help: "Put message content in OpenTelemetry spans (see `airlock run --help`).")
    var otelContent = false

    @OptionGroup var state: StateOptions

    @OptionGroup(title: "Diagnostics") var log: LogOptions

    func run() async throws {
        try await Output.guarded {
            let logger = log.logger()
            let trace = try TraceExport.configuration()
            let probe = try await state.open()
            let record = try await RunLookup.resolve(run, in: probe)
            if record.status == .finished {
                throw CLIError("run \(record.id) already finished (\(record.outcome ?? "?"), exit \(record.exitCode ?? 1)); nothing to resume")
            }
            if let worker = record.worker {
                // A queued run belongs to the workers: one that died is taken over by another
                // once its lease runs out, under the same rules as this command.
                throw CLIError("run \(record.id) was claimed by worker \(worker); workers resume it (start `airlock worker` if none is running)")
            }
            if record.leaseLive == true {
                throw CLIError("run \(record.id) is being driven by a live harness on another machine (its hold on the database is renewed while it runs); refusing to resume it twice. Stop it with `airlock stop \(record.id)`, or resume it once that harness is gone")
            }
            if RunLock.isHeld(run: record.id, stateDirectory: probe.stateDirectory) {
                let holder = RunLock.holder(run: record.id, stateDirectory: probe.stateDirectory) ?? "?"
                throw CLIError("run \(record.id) is being driven by a live harness (pid \(holder)); refusing to resume it twice")
            }
            let entries = try await probe.ledgerEntries(run: record.id)
            guard let started = entries.first(where: { $0.kind == .runStarted }),
                  var configuration = RunConfiguration(recorded: started.payload) else {
                throw CLIError("run \(record.id) has no readable run_started entry; it cannot be resumed")
            }
            // The run's image comes back by digest from the store, never a newer one.
            configuration.sandbox.root = try ImageOptions.recorded(started.payload, stateDirectory: state.directory().path)
            let provider = try ProviderSetup.model(configuration.model, baseURL: baseURL ?? configuration.providerBaseURL,
                                                   apiKeyEnv: apiKeyEnv)
            let model = provider.model
            let apiKey = provider.apiKey
            // A script replays from the start; the turns already answered are in the ledger.
            if let script = model as? ScriptedModel {
                await script.skip(entries.filter { $0.kind == .modelResponse && $0.payload["error"] == nil }.count)
            }
            if prices != nil { configuration.prices = try ProviderSetup.prices(prices) }
            // Declared tools and MCP servers are the ones the run recorded, not today's config.
            let (extras, note) = try ConfigExtras.forRecordedRun(started.payload, run: record.id) {
                try configFiles.layers(workspace: configuration.sandbox.workspace)
            }
            if let note { Output.error("note: " + note) }
            configuration.declaredTools = extras.tools
            let mcpServers = extras.mcpServers
            let remoteMCPServers = extras.remoteMCPServers
            configuration.signingKey = try ProviderSetup.signingKey(signKey)
            // The run's network comes back from its ledger, placeholders included; the
            // secrets' values come from this environment again.
            var secretValues: [String] = []
            if var egress = configuration.egress {
                for secret in egress.secrets {
                    guard let value = ProcessInfo.processInfo.environment[secret.name], !value.isEmpty else {
                        throw CLIError("run \(record.id) sends the secret \(secret.name); set it in this environment to resume", code: 2)
                    }
                    configuration.secretValues[secret.name] = value
                    secretValues.append(value)
                }
                for file in upstreamCa {
                    guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw CLIError("--upstream-ca \(file): cannot read it", code: 2)
                    }
                    egress.upstreamTrustRootsPEM.append(pem)
                }
                configuration.egress = egress
            }
            let headerSecrets = remoteMCPServers.flatMap(\.variables).compactMap { ProcessInfo.processInfo.environment[$0] }
            let store = try await state.open(redactor: Redactor(secrets: (apiKey.map { [$0] } ?? []) + secretValues + headerSecrets))
            let printer = ProgressPrinter(json: json, interactive: isatty(STDERR_FILENO) == 1)
            // The same trace as before the harness died: spans it had not sent go out first.
            let exporter = TraceExport.live(trace, store: store, content: otelContent, logger: logger)
            await exporter?.follow(run: record.id)
            var loop = AgentLoop(configuration: configuration, model: model, backend: SandboxTiers.recorded(configuration),
                                 store: store, approver: try ProviderSetup.approver(approver, store: store), onEvent: { event in
                                     RunDiagnostics(logger: logger).record(event)
                                     printer.show(event)
                                 })
            if !mcpServers.isEmpty || !remoteMCPServers.isEmpty {
                loop.toolProvider = MCPToolProvider(servers: mcpServers, remotes: remoteMCPServers,
                                                    environment: ProcessInfo.processInfo.environment,
                                                    outputLimit: configuration.modelOutputLimit)
            }
            let result: RunResult
            do {
                result = try await loop.resume(runID: record.id)
            } catch {
                await TraceExport.finish(exporter, run: record.id, configuration: trace, logger: logger)
                throw CLIError("cannot resume \(record.id): \(error)")
            }
            if !json, let answer = result.answer, !answer.isEmpty { Output.line(answer) }
            await TraceExport.finish(exporter, run: record.id, configuration: trace, logger: logger)
            if result.exitCode != 0 { throw ExitCode(result.exitCode) }
        }
    }
}
