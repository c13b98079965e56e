import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockOTLP
import AirlockSandbox
import ArgumentParser
import Foundation
import Logging

/// `airlock run`, resolved: the model, budgets, sandbox and store it will use. Config
/// mistakes surface here as exit 2, before anything starts.
struct RunPlan {
    let configuration: RunConfiguration
    let model: any LanguageModel
    let store: any RunStore
    let json: Bool
    let otelContent: Bool
    let approver: any Approver
    var backend: any SandboxBackend
    let mcpServers: [MCPServerSettings]
    let remoteMCPServers: [RemoteMCPServerSettings]
    let trace: OTLPConfiguration?
    let logger: Logger

    /// `store`: the worker's open store, used instead of opening the command's.
    init(command: RunCommand, extras: ConfigExtras = ConfigExtras(), store shared: (any RunStore)? = nil) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let modelText = command.model ?? environment["AIRLOCK_MODEL"] else {
            throw CLIError("no model: pass --model openai:NAME, anthropic:NAME or script:FILE (or set AIRLOCK_MODEL)", code: 2)
        }
        guard let spec = ModelSpec(parsing: modelText) else {
            throw CLIError("--model \(modelText) is not provider:name (openai:NAME, anthropic:NAME, script:FILE)", code: 2)
        }
        let provider = try ProviderSetup.model(spec, baseURL: command.baseURL, apiKeyEnv: command.apiKeyEnv,
                                               stream: !command.noStream)
        model = provider.model
        let apiKey = provider.apiKey
        let priceTable = try ProviderSetup.prices(command.prices)
        if command.maxCost != nil, priceTable.price(for: spec) == nil {
            throw CLIError(PriceTable.missingPriceMessage(for: spec, priceFile: command.prices ?? "prices.json"), code: 2)
        }

        let workspace = command.workspace ?? FileManager.default.currentDirectoryPath
        var sandbox = SandboxConfiguration(workspace: workspace)
        sandbox.limits = ResourceLimits(memoryBytes: command.memory?.bytes, pids: command.pids, cpus: command.cpus)
        // On the kubernetes tier --image is a registry reference the cluster pulls.
        if command.sandbox.tier != .kubernetes {
            sandbox.root = try command.image.root(stateDirectory: command.state.directory().path, progress: !command.json)
        }
        let limits = BudgetLimits(maxSteps: command.maxSteps, maxTokens: command.maxTokens, maxCostUSD: command.maxCost,
                                  timeout: command.timeout?.duration, callTimeout: command.callTimeout?.duration,
                                  maxEgressBytes: command.egress.maxEgress?.bytes)
        var configuration = RunConfiguration(task: command.task, model: spec, limits: limits, sandbox: sandbox)
        configuration.freshSandboxPerCall = command.freshSandboxPerCall
        configuration.sandboxTier = command.sandbox.tier.rawValue
        if command.sandbox.tier == .kubernetes {
            let options = command.sandbox.kubernetes(image: command.image.image)
            configuration.sandboxOptions = KubernetesRecord.payload(options)
        }
        backend = command.sandbox.backend(image: command.image.image)
        configuration.snapshotWorkspace = command.snapshotWorkspace
        configuration.maxFormatErrors = command.maxFormatErrors ?? 3
        configuration.declaredTools = extras.tools
        configuration.toolDefinitions = extras.definitions
        configuration.prices = priceTable
        configuration.providerBaseURL = command.baseURL
        configuration.signingKey = try ProviderSetup.signingKey(command.signKey)
        configuration.egress = try command.egress.settings()
        configuration.secretValues = command.egress.secretValues
        if configuration.egress != nil { configuration.sandbox.network = .proxy }
        if let file = command.policy {
            do { configuration.policy = try PolicyFile.load(file) }
            catch { throw CLIError("\(error)", code: 2) }
        } else if let policy = extras.policy {
            configuration.policy = policy
        }
        self.configuration = configuration
        // The key is a secret of the harness: redacted from everything written.
        // Proxy secrets are redacted like --secret-env ones, should one ever come back in output.
        let redactor = try ProviderSetup.redactor(apiKey: apiKey, secretEnv: command.secretEnv + command.egress.secret,
                                                  patterns: command.redact)
        if let shared {
            store = shared.withRedactor(redactor)
        } else {
            store = try await command.state.open(redactor: redactor)
        }
        json = command.json
        otelContent = command.otelContent
        trace = try TraceExport.configuration()
        logger = command.log.logger()
        approver = try ProviderSetup.approver(command.approver, store: store)
        mcpServers = extras.mcpServers
        remoteMCPServers = extras.remoteMCPServers
    }

    func execute() async throws -> Int32 {
        let printer = ProgressPrinter(json: json, interactive: isatty(STDERR_FILENO) == 1)
        let exporter = TraceExport.live(trace, store: store, content: otelContent, logger: logger)
        let diagnostics = RunDiagnostics(logger: logger)
        var loop = AgentLoop(configuration: configuration, model: model, backend: backend,
                             store: store, approver: approver, onEvent: { event in
                                 // The run id is known from the first event: spans go out from then on.
                                 if event.type == "run_started" { exporter?.followSoon(run: event.run) }
                                 diagnostics.record(event)
                                 printer.show(event)
                             })
        if !mcpServers.isEmpty || !remoteMCPServers.isEmpty {
            loop.toolProvider = MCPToolProvider(servers: mcpServers, remotes: remoteMCPServers,
                                                environment: ProcessInfo.processInfo.environment,
                                                outputLimit: configuration.modelOutputLimit)
        }
        let result: RunResult
        do {
            result = try await loop.run()
        } catch {
            if let exporter { _ = await exporter.finish(grace: .seconds(1)) }
            throw CLIError("cannot record the run: \(error)", code: 1)
        }
        if !json, let answer = result.answer, !answer.isEmpty { Output.line(answer) }
        await TraceExport.finish(exporter, run: result.runID, configuration: trace, logger: logger)
        return result.exitCode
    }

    /// Runs a run a worker claimed: started afresh when its ledger has no `run_started` yet,
    /// else continued from its ledger under the resume rules. Throws `RunDetached` when
    /// the run was taken over or handed back.
    func execute(claimed runID: String, resuming entries: [LedgerEntry], holding: RunHolding,
                 onEvent: @escaping @Sendable (RunEvent) -> Void) async throws -> RunResult {
        let started = entries.contains { $0.kind == .runStarted }
        // A script replays from the start; the turns already answered are in the ledger.
        if started, let script = model as? ScriptedModel {
            await script.skip(entries.filter { $0.kind == .modelResponse && $0.payload["error"] == nil }.count)
        }
        if let claim = holding.claim {
            _ = try await store.fenced(claim.fence).appendLedgerEntries(run: runID, items: [
                (.runClaimed, ["worker": .string(claim.worker), "epoch": .int(claim.epoch), "takeover": .bool(started),
                               "pid": .int(Int(getpid()))]),
            ], now: { Date() })
        }
        // The same trace whoever held the run before: spans not sent yet go out first.
        let exporter = TraceExport.live(trace, store: store, content: otelContent, logger: logger)
        await exporter?.follow(run: runID)
        let diagnostics = RunDiagnostics(logger: logger)
        var loop = AgentLoop(configuration: configuration, model: model, backend: backend,
                             store: store, approver: approver, holding: holding, onEvent: { event in
                                 diagnostics.record(event)
                                 onEvent(event)
                             })
        if !mcpServers.isEmpty || !remoteMCPServers.isEmpty {
            loop.toolProvider = MCPToolProvider(servers: mcpServers, remotes: remoteMCPServers,
                                                environment: ProcessInfo.processInfo.environment,
                                                outputLimit: configuration.modelOutputLimit)
        }
        let result = started ? try await loop.takeOver(runID: runID) : try await loop.start(claimed: runID)
        await TraceExport.finish(exporter, run: runID, configuration: trace, logger: logger)
        return result
    }
}
