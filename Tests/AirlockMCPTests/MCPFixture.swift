import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockSandbox
import AirlockBubblewrap
import Foundation
import Testing

/// Real MCP servers in real sandboxes: the virtual environment scripts/setup.sh builds with
/// Debian's python3 (mcp, mcp-server-time, mcp-server-git) lives under /usr/local, which the
/// sandbox sees read-only; the test servers are copied into a fresh workspace.
struct MCPFixture {
    static let venv = ProcessInfo.processInfo.environment["AIRLOCK_MCP_VENV"] ?? "/usr/local/share/airlock-test/mcp-venv"
    static let available = FileManager.default.isExecutableFile(atPath: venv + "/bin/python")
    static let skipReason: Comment = "the MCP test venv is missing at \(venv); scripts/setup.sh builds it"
    static let servers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Servers")

    let workspace: String
    let sandbox: any Sandbox

    static func start() async throws -> MCPFixture {
        let workspace = NSTemporaryDirectory() + "airlock-mcp-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        for script in ["hostile.py", "sdk_server.py"] {
            try FileManager.default.copyItem(atPath: servers.appendingPathComponent(script).path, toPath: workspace + "/" + script)
        }
        let sandbox = try await BubblewrapBackend().start(SandboxConfiguration(workspace: workspace))
        return MCPFixture(workspace: workspace, sandbox: sandbox)
    }

    func stop() async {
        await sandbox.kill()
        try? FileManager.default.removeItem(atPath: workspace)
    }

    static func run(_ program: String, _ arguments: [String], in directory: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
    }

    /// Python from the venv, without bytecode files (the venv is read-only in the sandbox).
    static let pythonEnv = ["PYTHONDONTWRITEBYTECODE": "1"]

    static func server(_ name: String, _ args: [String], callTimeout: Duration = .seconds(20)) -> MCPServerSettings {
        MCPServerSettings(name: name, command: venv + "/bin/python", args: args, env: pythonEnv,
                          startupTimeout: .seconds(30), callTimeout: callTimeout)
    }

    static func hostile(_ flags: [String] = [], callTimeout: Duration = .seconds(3)) -> MCPServerSettings {
        MCPServerSettings(name: "bad", command: "/usr/bin/python3", args: ["/workspace/hostile.py"] + flags,
                          env: pythonEnv, startupTimeout: .seconds(10), callTimeout: callTimeout)
    }
}

extension ProvidedListing {
    func tool(_ name: String) -> ProvidedTool? { tools.first { $0.spec.name == name } }
}

extension MCPToolProvider {
    /// Calls by the exposed name from a listing.
    func call(_ name: String, _ arguments: JSONValue, _ listing: ProvidedListing, in sandbox: any Sandbox,
              timeout: Duration = .seconds(30)) async throws -> ToolOutcome {
        let tool = try #require(listing.tool(name), "\(name) is not offered: \(listing.tools.map(\.spec.name)) \(listing.problems)")
        return await call(tool, arguments: arguments, in: sandbox, timeout: timeout)
    }
}
