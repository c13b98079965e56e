import AirlockModels
import AirlockSandbox
import Foundation

/// Everything one run is made of. A value: it is recorded whole in the ledger's first entry.
public struct RunConfiguration: Sendable {
    public var task: String
    public var model: ModelSpec
    public var limits: BudgetLimits
    public var sandbox: SandboxConfiguration
    /// The isolation tier asked for (`--sandbox`: auto, bwrap, oci, gvisor, landlock);
    /// `resume` starts the same one. Each `sandbox_started` names the backend that ran.
    public var sandboxTier: String = "auto"
    /// The tier's own settings (the kubernetes tier's context, namespace, images), recorded
    /// so `resume` starts the same kind of sandbox.
    public var sandboxOptions: JSONValue = .null
    /// One sandbox per tool call instead of one for the whole run.
    public var freshSandboxPerCall: Bool = false
    /// Consecutive malformed tool calls tolerated before the run ends.
    public var maxFormatErrors: Int = 3
    /// Sandboxes that may die and be replaced before the run ends with exit 5.
    public var maxSandboxReplacements: Int = 3
    public var prices: PriceTable = .builtin
    public var systemPrompt: String = SystemPrompt.default
    /// Output of a tool shown to the model, per stream (the rest is elided in the middle).
    public var modelOutputLimit: Int = 16 * 1024
    /// Raw Ed25519 private key that signs the chain head at the run's end
    /// (`chain_signed`); never recorded itself.
    public var signingKey: Data?
    /// Rules applied to every validated call before it reaches the sandbox.
    public var policy: Policy = .permissive
    /// Copy the workspace at the start, so `airlock replay` can re-run the calls on it.
    public var snapshotWorkspace = false
    /// Where the provider was reached (recorded so `resume` can reach it again; no secret).
    public var providerBaseURL: String?
    /// Network through the egress proxy (`sandbox.network` is `.proxy` then); nil: none.
    public var egress: EgressSettings?
    /// The real values of `egress.secrets`, by name, from the harness's environment. Never
    /// recorded, never in the sandbox: only the proxy holds them.
    public var secretValues: [String: String] = [:]
    /// Tools from the config file's `tools:`, offered after the built-ins.
    public var declaredTools: [DeclaredTool] = []
    /// The definitions of the run's declared tools and MCP servers as the config gave them
    /// (`tools`, `mcp_servers`, `remote_mcp_servers`; header templates name variables,
    /// never hold their values), so `resume` and `replay` use what the run used.
    public var toolDefinitions: JSONValue = .null

    public init(task: String, model: ModelSpec, limits: BudgetLimits, sandbox: SandboxConfiguration) {
        self.task = task
        self.model = model
        self.limits = limits
        self.sandbox = sandbox
    }

    /// The configuration as the ledger records it.
    public var ledgerPayload: JSONValue {
        var budgets: [String: JSONValue] = [:]
        if let steps = limits.maxSteps { budgets["max_steps"] = .int(steps) }
        if let tokens = limits.maxTokens { budgets["max_tokens"] = .int(tokens) }
        if let cost = limits.maxCostUSD { budgets["max_cost_usd"] = .double(cost) }
        if let timeout = limits.timeout { budgets["timeout_ms"] = .int(timeout.milliseconds) }
        if let call = limits.callTimeout { budgets["call_timeout_ms"] = .int(call.milliseconds) }
        if let egress = limits.maxEgressBytes { budgets["max_egress_bytes"] = .int(egress) }
        var sandboxLimits: [String: JSONValue] = [:]
        if let memory = sandbox.limits.memoryBytes { sandboxLimits["memory_bytes"] = .int(memory) }
        if let pids = sandbox.limits.pids { sandboxLimits["pids"] = .int(pids) }
        if let cpus = sandbox.limits.cpus { sandboxLimits["cpus"] = .double(cpus) }
        return .object([
            "task": .string(task),
            "model": .string(model.description),
            "budgets": .object(budgets),
            "sandbox": .object([
                "backend": .string(sandboxTier),
                "workspace": .string(sandbox.workspace),
                "network": .string(sandbox.network.rawValue),
                "limits": .object(sandboxLimits),
                "fresh_per_call": .bool(freshSandboxPerCall),
                "image": sandbox.root.ledgerPayload,
                "options": sandboxOptions,
            ]),
            "max_format_errors": .int(maxFormatErrors),
            "policy": policyPayload,
            "max_sandbox_replacements": .int(maxSandboxReplacements),
            "base_url": providerBaseURL.map { .string($0) } ?? .null,
            "tools": .array((BuiltinTools.specs + declaredTools.map(\.spec)).map { .string($0.name) }),
            "egress": egress?.ledgerPayload ?? .null,
            "tool_definitions": toolDefinitions,
        ])
    }
}

extension RunConfiguration {
    /// The policy as recorded in `run_started`.
    var policyPayload: JSONValue {
        guard let data = try? JSONEncoder().encode(policy),
              let value = try? JSONValue(parsing: String(decoding: data, as: UTF8.self)) else { return .null }
        return value
    }
}

extension Duration {
    public var milliseconds: Int {
        let parts = components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }
}

extension RunConfiguration {
    /// The configuration a run was started with, read back from its `run_started` entry.
    public init?(recorded payload: JSONValue) {
        guard let task = payload["task"]?.stringValue, let model = payload["model"]?.stringValue.flatMap(ModelSpec.init(parsing:)),
              let workspace = payload["sandbox"]?["workspace"]?.stringValue else { return nil }
        let budgets = payload["budgets"]
        func double(_ value: JSONValue?) -> Double? {
            if case .double(let number)? = value { return number }
            return value?.intValue.map(Double.init)
        }
        let limits = BudgetLimits(maxSteps: budgets?["max_steps"]?.intValue, maxTokens: budgets?["max_tokens"]?.intValue,
                                  maxCostUSD: double(budgets?["max_cost_usd"]),
                                  timeout: budgets?["timeout_ms"]?.intValue.map { .milliseconds($0) },
                                  callTimeout: budgets?["call_timeout_ms"]?.intValue.map { .milliseconds($0) },
                                  maxEgressBytes: budgets?["max_egress_bytes"]?.intValue)
        var sandbox = SandboxConfiguration(workspace: workspace)
        let sandboxLimits = payload["sandbox"]?["limits"]
        sandbox.limits = ResourceLimits(memoryBytes: sandboxLimits?["memory_bytes"]?.intValue,
                                        pids: sandboxLimits?["pids"]?.intValue, cpus: double(sandboxLimits?["cpus"]))
        self.init(task: task, model: model, limits: limits, sandbox: sandbox)
        freshSandboxPerCall = payload["sandbox"]?["fresh_per_call"] == .bool(true)
        // Runs from before the tiers recorded "bwrap", which they used.
        sandboxTier = payload["sandbox"]?["backend"]?.stringValue ?? "bwrap"
        sandboxOptions = payload["sandbox"]?["options"] ?? .null
        maxFormatErrors = payload["max_format_errors"]?.intValue ?? maxFormatErrors
        maxSandboxReplacements = payload["max_sandbox_replacements"]?.intValue ?? maxSandboxReplacements
        providerBaseURL = payload["base_url"]?.stringValue
        egress = EgressSettings(recorded: payload["egress"])
        toolDefinitions = payload["tool_definitions"] ?? .null
        if egress != nil { self.sandbox.network = .proxy }
        if let recorded = payload["policy"], recorded != .null,
           let data = CanonicalJSON.string(recorded).data(using: .utf8),
           let decoded = try? JSONDecoder().decode(Policy.self, from: data) {
            policy = decoded
        }
    }
}

extension SandboxRoot {
    /// `null` on the host's /usr; the image's digest and root mode otherwise.
    public var ledgerPayload: JSONValue {
        guard case .image(let image) = self else { return .null }
        return .object(["digest": .string(image.digest), "writable": .string(image.writable.rawValue)])
    }

    /// The image a recorded run used (`run_started` → sandbox.image), if any.
    public static func recordedImage(_ runStarted: JSONValue) -> (digest: String, writable: ImageRoot.WritableRoot)? {
        guard let image = runStarted["sandbox"]?["image"], let digest = image["digest"]?.stringValue else { return nil }
        return (digest, image["writable"]?.stringValue.flatMap(ImageRoot.WritableRoot.init(rawValue:)) ?? .copy)
    }
}
