import AirlockExec
import AirlockCore
import AirlockMCP
import AirlockSandbox
import AirlockModels
import ArgumentParser
import Foundation

struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "List the tools a run would offer the model, with their schemas.",
        discussion: """
        The built-in tools, then the tools declared under `tools:` in the config files, then \
        each MCP server's tools (`mcp_servers:`; the servers are started in a sandbox on the \
        workspace to list them). A server that fails is reported and the others are still \
        listed. With --json, one object a line: {"name", "source", "description", \
        "input_schema"} (declared tools add "argv" and "read_only", MCP tools "server", "tool" \
        and "annotations"; a failure is {"problem": TEXT}). See docs/tools.md.
        """)

    @Option(name: .long, help: "Where to look for airlock.yaml (default: the current directory).")
    var workspace: String?

    @Flag(name: .long, help: "One JSON object a line.")
    var json = false

    @OptionGroup var configFiles: ConfigOptions

    func run() async throws {
        try await Output.guarded {
            let layers = try configFiles.layers(workspace: workspace)
            let tools = try ConfigExtras.tools(layers)
            let servers = try ConfigExtras.mcpServers(layers)
            let remotes = try ConfigExtras.remoteMCPServers(layers)
            var rows: [JSONValue] = BuiltinTools.specs.map { spec in
                .object(["name": .string(spec.name), "source": "builtin", "description": .string(spec.description),
                         "input_schema": spec.parameters])
            }
            for tool in tools {
                let argv: [JSONValue] = tool.argv.map { part in
                    switch part {
                    case .literal(let text): return .string(text)
                    case .placeholder(let key): return .string("{\(key)}")
                    }
                }
                rows.append(.object(["name": .string(tool.name), "source": "config", "description": .string(tool.description),
                                     "input_schema": tool.inputSchema, "argv": .array(argv), "read_only": .bool(tool.readOnly)]))
            }
            var problems: [String] = []
            if !servers.isEmpty || !remotes.isEmpty {
                let listing = try await Self.listMCP(servers, remotes, workspace: workspace ?? FileManager.default.currentDirectoryPath)
                problems = listing.problems
                for tool in listing.tools {
                    rows.append(.object(["name": .string(tool.spec.name), "source": "mcp", "description": .string(tool.spec.description),
                                         "input_schema": tool.spec.parameters].merging(tool.origin) { $1 }))
                }
            }
            for row in rows {
                if json {
                    Output.line(row.canonicalJSON)
                } else {
                    let name = row["name"]?.stringValue ?? ""
                    let source = row["source"]?.stringValue ?? ""
                    let summary = (row["description"]?.stringValue ?? "").split(separator: "\n").first.map(String.init) ?? ""
                    Output.line("\(name) [\(source)]: \(summary)")
                    let spec = ToolSpec(name: name, description: "", parameters: row["input_schema"] ?? .null)
                    Output.line("    arguments: " + ToolCallValidator.signature(of: spec))
                }
            }
            for problem in problems {
                if json { Output.line(JSONValue.object(["problem": .string(problem)]).canonicalJSON) } else { Output.error("airlock: " + problem) }
            }
        }
    }

    /// Starts the servers in a throwaway sandbox on the workspace, lists, and ends it.
    static func listMCP(_ servers: [MCPServerSettings], _ remotes: [RemoteMCPServerSettings],
                        workspace: String) async throws -> ProvidedListing {
        let sandbox: any Sandbox
        do { sandbox = try await SandboxTiers.backend(.auto).start(SandboxConfiguration(workspace: workspace)) } catch {
            throw CLIError("the sandbox for the MCP servers could not start: \(error)", code: 5)
        }
        let provider = MCPToolProvider(servers: servers, remotes: remotes, environment: ProcessInfo.processInfo.environment)
        let listing = await provider.list(in: sandbox)
        await provider.shutdown()
        await sandbox.kill()
        return listing
    }
}
