import AirlockCore
import AirlockModels
import AirlockSandbox
import AirlockSchema
import Foundation

/// The MCP servers of a run, inside its sandbox: started when tools are listed (and again
/// in a replacement sandbox), each tool offered as `mcp__SERVER__TOOL` with its compiled
/// schema. A server that fails is restarted once; after that it is disabled for the run,
/// with a clear error for every call.
public actor MCPToolProvider: ToolProvider {
    struct Running {
        var client: MCPClient
        var sandboxID: String
    }

    public let servers: [MCPServerSettings]
    /// Text in a result shown to the model, in bytes (the rest is elided in the middle).
    public let outputLimit: Int
    private var running: [String: Running] = [:]
    private var restarts: [String: Int] = [:]
    private var disabled: [String: String] = [:]

    public init(servers: [MCPServerSettings], outputLimit: Int = 16 * 1024) {
        self.servers = servers
        self.outputLimit = outputLimit
    }

    public func list(in sandbox: any Sandbox) async -> ProvidedListing {
        var listing = ProvidedListing()
        var taken: Set<String> = []
        for server in servers {
            let started = ContinuousClock.now
            let client: MCPClient
            do throws(MCPFailure) { client = try await connectedClient(for: server, in: sandbox) } catch {
                listing.problems.append("MCP server \(server.name) is not available: \(error.message)")
                continue
            }
            let tools: [JSONValue]
            do throws(MCPFailure) { tools = try await client.listTools(timeout: server.startupTimeout) } catch {
                listing.problems.append("MCP server \(server.name) could not list its tools: \(error.message)")
                await drop(server.name, after: error)
                continue
            }
            var offered = 0
            for tool in tools {
                guard let name = tool["name"]?.stringValue, !name.isEmpty else {
                    listing.problems.append("MCP server \(server.name) listed a tool without a name; skipped")
                    continue
                }
                guard server.offers(name) else { continue }
                let exposed = MCPToolNames.name(server: server.name, tool: name, taken: taken)
                let inputSchema = tool["inputSchema"] ?? .null
                let schema: JSONSchema
                do {
                    guard inputSchema["type"]?.stringValue == "object" else {
                        throw SchemaProblem("an MCP tool's inputSchema must have type: object")
                    }
                    schema = try JSONSchema(inputSchema)
                } catch {
                    listing.problems.append("\(exposed) is disabled: its input schema cannot be used: \(error)")
                    continue
                }
                taken.insert(exposed)
                offered += 1
                let description = (tool["description"]?.stringValue ?? tool["title"]?.stringValue ?? "")
                listing.tools.append(ProvidedTool(
                    spec: ToolSpec(name: exposed, description: "[MCP server \(server.name)] " + String(description.prefix(4000)),
                                   parameters: inputSchema),
                    schema: schema,
                    origin: ["server": .string(server.name), "tool": .string(name), "annotations": tool["annotations"] ?? .null]))
            }
            let revision = await client.revision ?? "?"
            let info = await client.serverInfo
            listing.servers.append(.object([
                "server": .string(server.name), "revision": .string(revision), "tools": .int(offered),
                "listed_ms": .int(Int(MCPClient.milliseconds(ContinuousClock.now - started))),
                "server_info": info,
            ]))
        }
        return listing
    }

    public func toolsChanged() async -> Bool {
        for server in running.values {
            if await server.client.listChanged { return true }
        }
        return false
    }

    public func call(_ tool: ProvidedTool, arguments: JSONValue, in sandbox: any Sandbox, timeout: Duration) async -> ToolOutcome {
        let serverName = tool.origin["server"]?.stringValue ?? ""
        let toolName = tool.origin["tool"]?.stringValue ?? ""
        guard let server = servers.first(where: { $0.name == serverName }) else {
            return Self.error("no MCP server named \(serverName)", [:])
        }
        let base: [String: JSONValue] = ["server": .string(serverName), "tool": .string(toolName)]
        let client: MCPClient
        do throws(MCPFailure) { client = try await connectedClient(for: server, in: sandbox) } catch {
            return Self.error("MCP server \(serverName) is not available: \(error.message)", base)
        }
        do throws(MCPFailure) {
            let (result, progress) = try await client.callTool(toolName, arguments: arguments, timeout: min(timeout, server.callTimeout))
            var outcome = MCPResults.outcome(result, limit: outputLimit, base: base)
            if !progress.isEmpty { outcome.record["progress"] = .array(progress) }
            return outcome
        } catch {
            if error.breaksServer { await drop(serverName, after: error) }
            var record = base
            record["mcp_error"] = .string(error.kind.rawValue)
            return Self.error("MCP server \(serverName), tool \(toolName): \(error.message)"
                              + (error.breaksServer ? "; the server was stopped (it is restarted once for the next call)" : ""), record)
        }
    }

    public func shutdown() async {
        for name in Array(running.keys) { await drop(name) }
    }

    /// The running client for `server` in this sandbox, started (and initialized) if
    /// needed. A server that failed once more after its one restart stays disabled.
    private func connectedClient(for server: MCPServerSettings, in sandbox: any Sandbox) async throws(MCPFailure) -> MCPClient {
        if let reason = disabled[server.name] { throw MCPFailure(.ended, reason) }
        if let current = running[server.name] {
            if current.sandboxID == sandbox.id, await current.client.failure == nil { return current.client }
            let sameSandbox = current.sandboxID == sandbox.id
            await drop(server.name)
            // A server that died with its sandbox is restarted freely in the replacement.
            if !sameSandbox { restarts[server.name] = 0 }
        }
        let client = MCPClient(name: server.name, transport: GuestStdioTransport(guest: sandbox.guest, argv: server.argv, cwd: server.cwd))
        await client.start()
        do throws(MCPFailure) {
            try await client.connect(timeout: server.startupTimeout)
        } catch {
            await client.terminate()
            throw noteFailure(server.name, error)
        }
        running[server.name] = Running(client: client, sandboxID: sandbox.id)
        return client
    }

    private func noteFailure(_ name: String, _ error: MCPFailure) -> MCPFailure {
        let count = (restarts[name] ?? 0) + 1
        restarts[name] = count
        if count > 1 {
            let reason = "MCP server \(name) failed again after its restart (\(error.message)); it is disabled for this run"
            disabled[name] = reason
            return MCPFailure(error.kind, reason)
        }
        return error
    }

    /// Stops a server after a failure; the next call starts it again (once).
    private func drop(_ name: String, after failure: MCPFailure? = nil) async {
        guard let current = running.removeValue(forKey: name) else { return }
        if let failure, failure.breaksServer { _ = noteFailure(name, failure) }
        await current.client.terminate()
    }

    static func error(_ message: String, _ record: [String: JSONValue]) -> ToolOutcome {
        var record = record
        record["is_error"] = .bool(true)
        return ToolOutcome(content: "error: " + message, isError: true, status: .failed, exitCode: nil, record: record)
    }
}
