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
    /// Servers the harness reaches itself over Streamable HTTP, with header values from
    /// `environment` (the harness's, never the sandbox's).
    public let remotes: [RemoteMCPServerSettings]
    private let environment: [String: String]
    private var remoteClients: [String: (client: MCPClient, transport: HTTPTransport)] = [:]
    /// Text in a result shown to the model, in bytes (the rest is elided in the middle).
    public let outputLimit: Int
    private var running: [String: Running] = [:]
    private var restarts: [String: Int] = [:]
    private var disabled: [String: String] = [:]

    public init(servers: [MCPServerSettings], remotes: [RemoteMCPServerSettings] = [],
                environment: [String: String] = [:], outputLimit: Int = 16 * 1024) {
        self.servers = servers
        self.remotes = remotes
        self.environment = environment
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
            let offered = offer(tools, server: server.name, offers: server.offers, extra: [:], taken: &taken, into: &listing)
            let revision = await client.revision ?? "?"
            let info = await client.serverInfo
            listing.servers.append(.object([
                "server": .string(server.name), "revision": .string(revision), "tools": .int(offered),
                "listed_ms": .int(Int(MCPClient.milliseconds(ContinuousClock.now - started))),
                "server_info": info,
            ]))
        }
        for remote in remotes {
            let client: MCPClient
            do throws(MCPFailure) { client = try await remoteClient(remote) } catch {
                listing.problems.append("remote MCP server \(remote.name) is not available: \(error.message)")
                continue
            }
            let tools: [JSONValue]
            do throws(MCPFailure) { tools = try await client.listTools(timeout: remote.callTimeout) } catch {
                listing.problems.append("remote MCP server \(remote.name) could not list its tools: \(error.message)")
                await dropRemote(remote.name, after: error)
                continue
            }
            let offered = offer(tools, server: remote.name, offers: remote.offers,
                                extra: ["remote": .bool(true), "url": .string(remote.url)], taken: &taken, into: &listing)
            listing.servers.append(.object(["server": .string(remote.name), "url": .string(remote.url),
                                            "revision": .string(await client.revision ?? "?"), "tools": .int(offered)]))
        }
        return listing
    }

    /// Adds a server's tools to the listing under their exposed names; a tool whose schema
    /// does not compile is left out with a message. Returns how many were offered.
    private func offer(_ tools: [JSONValue], server: String, offers: (String) -> Bool, extra: [String: JSONValue],
                       taken: inout Set<String>, into listing: inout ProvidedListing) -> Int {
        var offered = 0
        for tool in tools {
            guard let name = tool["name"]?.stringValue, !name.isEmpty else {
                listing.problems.append("MCP server \(server) listed a tool without a name; skipped")
                continue
            }
            guard offers(name) else { continue }
            let exposed = MCPToolNames.name(server: server, tool: name, taken: taken)
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
                spec: ToolSpec(name: exposed, description: "[MCP server \(server)] " + String(description.prefix(4000)),
                               parameters: inputSchema),
                schema: schema,
                origin: ["server": .string(server), "tool": .string(name),
                         "annotations": tool["annotations"] ?? .null].merging(extra) { $1 }))
        }
        return offered
    }

    public func toolsChanged() async -> Bool {
        for server in running.values {
            if await server.client.listChanged { return true }
        }
        for remote in remoteClients.values {
            if await remote.client.listChanged { return true }
        }
        return false
    }

    public func call(_ tool: ProvidedTool, arguments: JSONValue, in sandbox: any Sandbox, timeout: Duration) async -> ToolOutcome {
        let serverName = tool.origin["server"]?.stringValue ?? ""
        let toolName = tool.origin["tool"]?.stringValue ?? ""
        if let remote = remotes.first(where: { $0.name == serverName }) {
            return await callRemote(remote, toolName, arguments: arguments, timeout: timeout)
        }
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
        for name in Array(remoteClients.keys) { await dropRemote(name) }
    }

    private func callRemote(_ remote: RemoteMCPServerSettings, _ toolName: String, arguments: JSONValue,
                            timeout: Duration) async -> ToolOutcome {
        var base: [String: JSONValue] = ["server": .string(remote.name), "tool": .string(toolName), "url": .string(remote.url)]
        let client: MCPClient
        do throws(MCPFailure) { client = try await remoteClient(remote) } catch {
            return Self.error("remote MCP server \(remote.name) is not available: \(error.message)", base)
        }
        do throws(MCPFailure) {
            let (result, _) = try await client.callTool(toolName, arguments: arguments, timeout: min(timeout, remote.callTimeout))
            base["http_status"] = remoteClients[remote.name]?.transport.lastStatus.map { .int($0) } ?? .null
            return MCPResults.outcome(result, limit: outputLimit, base: base)
        } catch {
            base["http_status"] = remoteClients[remote.name]?.transport.lastStatus.map { .int($0) } ?? .null
            if error.breaksServer { await dropRemote(remote.name, after: error) }
            base["mcp_error"] = .string(error.kind.rawValue)
            return Self.error("remote MCP server \(remote.name), tool \(toolName): \(error.message)", base)
        }
    }

    /// The session with a remote server, opened (negotiated) on first use.
    private func remoteClient(_ remote: RemoteMCPServerSettings) async throws(MCPFailure) -> MCPClient {
        if let reason = disabled[remote.name] { throw MCPFailure(.ended, reason) }
        if let current = remoteClients[remote.name], await current.client.failure == nil { return current.client }
        let transport = HTTPTransport(url: remote.url, headers: try remote.resolvedHeaders(environment))
        let client = MCPClient(name: remote.name, transport: transport)
        await client.start()
        do throws(MCPFailure) {
            try await client.connect(timeout: remote.callTimeout)
        } catch {
            await client.terminate()
            throw noteFailure(remote.name, error)
        }
        remoteClients[remote.name] = (client, transport)
        return client
    }

    private func dropRemote(_ name: String, after failure: MCPFailure? = nil) async {
        guard let current = remoteClients.removeValue(forKey: name) else { return }
        if let failure, failure.breaksServer { _ = noteFailure(name, failure) }
        await current.client.terminate()
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
