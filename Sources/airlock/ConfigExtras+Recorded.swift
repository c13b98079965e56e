import AirlockCore
import AirlockMCP
import AirlockModels
import Foundation

/// The run's tool definitions, recorded in `run_started` and read back by `resume` and
/// `replay`: what the run offered, not what the config files say today.
extension ConfigExtras {
    static let definitionKeys = ["tools", "mcp_servers", "remote_mcp_servers"]

    /// The config's `tools`, `mcp_servers` and `remote_mcp_servers` as JSON. Remote headers
    /// are templates (`Bearer ${TOKEN}`): the variables' names, never their values.
    static func definitions(_ layers: ConfigLayers) -> JSONValue {
        var recorded: [String: JSONValue] = [:]
        for key in definitionKeys { if let value = layers[key] { recorded[key] = value.node.json } }
        return recorded.isEmpty ? .null : .object(recorded)
    }

    /// The definitions a run recorded, parsed by the config file's own parsers.
    static func recorded(_ definitions: JSONValue, run: String) throws -> ConfigExtras {
        let file = "the ledger of run \(run)"
        var extras = ConfigExtras()
        do {
            if let tools = definitions["tools"] { extras.tools = try DeclaredTool.parse(ConfigNode(json: tools), file: file) }
            if let servers = definitions["mcp_servers"] {
                extras.mcpServers = try MCPServerSettings.parse(ConfigNode(json: servers), file: file)
            }
            if let remotes = definitions["remote_mcp_servers"] {
                extras.remoteMCPServers = try RemoteMCPServerSettings.parse(ConfigNode(json: remotes), file: file)
            }
        } catch {
            throw CLIError("run \(run) recorded tool definitions that no longer parse: \(error)")
        }
        return extras
    }

    /// The tools a recorded run is continued or replayed with. Runs from before the
    /// definitions were recorded take the config files as they are now (`note` says so);
    /// otherwise `note` says when today's config differs from what the run recorded.
    static func forRecordedRun(_ started: JSONValue, run: String,
                               current: () throws -> ConfigLayers) throws -> (extras: ConfigExtras, note: String?) {
        guard let definitions = started["tool_definitions"] else {
            let layers = try current()
            var extras = ConfigExtras()
            extras.tools = try tools(layers)
            extras.mcpServers = try mcpServers(layers)
            extras.remoteMCPServers = try remoteMCPServers(layers)
            let note = Self.definitions(layers) == .null ? nil
                : "run \(run) predates recorded tool definitions: its declared tools and MCP servers come from the config files as they are now"
            return (extras, note)
        }
        let extras = try recorded(definitions, run: run)
        let now = (try? current()).map(Self.definitions)
        var note: String?
        if now == nil {
            note = "the config files do not load now; run \(run) uses the tool definitions recorded in its ledger"
        } else if let now, now != definitions {
            let changed = definitionKeys.filter { now[$0] != definitions[$0] }
            note = "the config's \(changed.joined(separator: ", ")) changed since run \(run) started; using the definitions recorded in its ledger"
        }
        return (extras, note)
    }
}
