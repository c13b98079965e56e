import AirlockCore
import AirlockMCP
import AirlockModels
import Foundation

/// What the config files give `run` beyond flag values.
struct ConfigExtras {
    var policy: Policy?
    var tools: [DeclaredTool] = []
    var mcpServers: [MCPServerSettings] = []
    var remoteMCPServers: [RemoteMCPServerSettings] = []
    /// The definitions above as the config gave them, for the ledger.
    var definitions: JSONValue = .null
}

extension RunCommand {
    /// Flag > project file > user file > default: every flag left unset takes the config
    /// value. Repeatable flags take the config list only when none was given.
    func applyingConfig(_ layers: ConfigLayers) throws -> (RunCommand, ConfigExtras) {
        var command = self
        var extras = ConfigExtras()
        func set<T>(_ target: inout T?, _ name: String, _ make: (ConfigLayers.Value) throws -> T?) rethrows {
            if target == nil, let value = layers[name] { target = try make(value) }
        }
        func list(_ target: inout [String], _ name: String) {
            if target.isEmpty, let value = layers[name] { target = value.strings }
        }
        func flag(_ target: inout Bool, _ name: String) {
            if !target, let value = layers[name] { target = value.bool }
        }
        set(&command.model, "model") { $0.string }
        set(&command.baseURL, "base_url") { $0.string }
        set(&command.apiKeyEnv, "api_key_env") { $0.string }
        set(&command.workspace, "workspace") { $0.string }
        set(&command.approver, "approver") { $0.string }
        set(&command.prices, "prices") { $0.string }
        set(&command.signKey, "sign_key") { $0.string }
        set(&command.maxSteps, "max_steps") { $0.value.intValue }
        set(&command.maxTokens, "max_tokens") { $0.value.intValue }
        set(&command.maxFormatErrors, "max_format_errors") { $0.value.intValue }
        set(&command.pids, "pids") { $0.value.intValue }
        set(&command.maxCost, "max_cost") { $0.double }
        set(&command.cpus, "cpus") { $0.double }
        try set(&command.timeout, "timeout") { try $0.parsed(DurationValue.self, "a duration like 30s, 5m or 1h") }
        try set(&command.callTimeout, "call_timeout") { try $0.parsed(DurationValue.self, "a duration like 30s, 5m or 1h") }
        try set(&command.memory, "memory") { try $0.parsed(ByteSize.self, "a size like 512M or 2G") }
        try set(&command.egress.maxEgress, "max_egress") { try $0.parsed(ByteSize.self, "a size like 50M") }
        set(&command.egress.network, "network") { $0.string }
        set(&command.sandbox.sandbox, "sandbox") { $0.string }
        set(&command.sandbox.cluster.kubeconfig, "kubeconfig") { $0.string }
        set(&command.sandbox.cluster.kubeContext, "kube_context") { $0.string }
        set(&command.sandbox.cluster.namespace, "namespace") { $0.string }
        set(&command.sandbox.runtimeClass, "runtime_class") { $0.string }
        set(&command.sandbox.guestImage, "guest_image") { $0.string }
        set(&command.sandbox.kubeWorkspaceLimit, "kube_workspace_limit") { $0.value.intValue }
        set(&command.image.image, "image") { $0.string }
        set(&command.image.imageRoot, "image_root") { $0.string }
        flag(&command.freshSandboxPerCall, "fresh_sandbox_per_call")
        flag(&command.snapshotWorkspace, "snapshot_workspace")
        flag(&command.egress.allowPrivate, "allow_private")
        if !command.noStream, let stream = layers["stream"] { command.noStream = !stream.bool }
        list(&command.redact, "redact")
        list(&command.secretEnv, "secret_env")
        list(&command.egress.allowHost, "allow_hosts")
        list(&command.egress.resolve, "resolve")
        list(&command.egress.secret, "secrets")
        list(&command.egress.secretHost, "secret_hosts")
        list(&command.egress.upstreamCa, "upstream_ca")
        if command.policy == nil, let path = layers["policy"]?.string { command.policy = path }
        if command.policy == nil { extras.policy = try ConfigExtras.inlinePolicy(layers) }
        extras.tools = try ConfigExtras.tools(layers)
        extras.mcpServers = try ConfigExtras.mcpServers(layers)
        extras.remoteMCPServers = try ConfigExtras.remoteMCPServers(layers)
        extras.definitions = ConfigExtras.definitions(layers)
        // The remote servers' credentials are secrets of the harness: redacted everywhere.
        command.secretEnv += extras.remoteMCPServers.flatMap(\.variables)
        let local = Set(extras.mcpServers.map(\.name))
        if let clash = extras.remoteMCPServers.first(where: { local.contains($0.name) }) {
            throw CLIError("\(layers["remote_mcp_servers"]?.file ?? "config"): remote_mcp_servers.\(clash.name): the name is also an mcp_servers entry", code: 2)
        }
        return (command, extras)
    }
}

extension ConfigExtras {
    /// An inline `policy:` mapping (a path is a flag value instead).
    static func inlinePolicy(_ layers: ConfigLayers) throws -> Policy? {
        guard let policy = layers["policy"], policy.string == nil else { return nil }
        do {
            // JSON is YAML: the inline mapping goes through the policy file's own parser.
            return try PolicyFile.parse(policy.value.canonicalJSON, source: "\(policy.file):\(policy.node.line): policy")
        } catch {
            throw CLIError("\(error)", code: 2)
        }
    }

    static func tools(_ layers: ConfigLayers) throws -> [DeclaredTool] {
        guard let tools = layers["tools"] else { return [] }
        do { return try DeclaredTool.parse(tools.node, file: tools.file) }
        catch { throw CLIError("\(error)", code: 2) }
    }
}

extension ConfigExtras {
    static func mcpServers(_ layers: ConfigLayers) throws -> [MCPServerSettings] {
        guard let servers = layers["mcp_servers"] else { return [] }
        do { return try MCPServerSettings.parse(servers.node, file: servers.file) }
        catch { throw CLIError("\(error)", code: 2) }
    }
}

extension ConfigExtras {
    static func remoteMCPServers(_ layers: ConfigLayers) throws -> [RemoteMCPServerSettings] {
        guard let servers = layers["remote_mcp_servers"] else { return [] }
        do { return try RemoteMCPServerSettings.parse(servers.node, file: servers.file) }
        catch { throw CLIError("\(error)", code: 2) }
    }
}
