import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockSandbox
import AirlockBubblewrap
import Foundation

/// `airlock-bench mcp`: one no-op MCP tool call through Airlock (schema check, the guest's
/// stdio frames, the server in a sandbox) against the same call made by the official
/// Python SDK's stdio client to the same server run directly on the host, in one run; and
/// the server's start-up (to a usable session) on each side. Needs the MCP venv that
/// scripts/setup.sh builds.
enum MCPBench {
    static let server = """
        from mcp.server.mcpserver import MCPServer
        server = MCPServer("noop")
        @server.tool()
        def noop() -> str:
            \"\"\"Does nothing.\"\"\"
            return "ok"
        if __name__ == "__main__":
            server.run("stdio")
        """

    static let client = """
        import asyncio, json, sys, time
        from mcp import ClientSession, StdioServerParameters, stdio_client
        async def main(python, server, calls):
            params = StdioServerParameters(command=python, args=[server], env={"PYTHONDONTWRITEBYTECODE": "1"})
            started = time.perf_counter()
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    ready = (time.perf_counter() - started) * 1000
                    samples = []
                    for _ in range(calls):
                        t = time.perf_counter()
                        await session.call_tool("noop", {})
                        samples.append((time.perf_counter() - t) * 1000)
            print(json.dumps({"startup_ms": ready, "calls_ms": samples}))
        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
        """

    static func run(calls: Int, workspace: String) async throws -> String {
        let venv = ProcessInfo.processInfo.environment["AIRLOCK_MCP_VENV"] ?? "/usr/local/share/airlock-test/mcp-venv"
        guard FileManager.default.isExecutableFile(atPath: venv + "/bin/python") else {
            throw BenchFailure("no MCP venv at \(venv): run scripts/setup.sh")
        }
        try server.write(toFile: workspace + "/noop_server.py", atomically: true, encoding: .utf8)
        try client.write(toFile: workspace + "/client.py", atomically: true, encoding: .utf8)
        let warmup = 10

        Progress.say("mcp: Python SDK stdio client on the host, \(calls) calls")
        let output = try capture(venv + "/bin/python",
                                 [workspace + "/client.py", venv + "/bin/python", workspace + "/noop_server.py", String(calls + warmup)])
        guard let figures = try? JSONValue(parsing: output), case .array(let raw)? = figures["calls_ms"] else {
            throw BenchFailure("the Python client printed no figures: \(output.prefix(300))")
        }
        let baseline = Series(name: "python sdk", samples: raw.dropFirst(warmup).compactMap(\.numberValue).sorted())
        let baselineStart = figures["startup_ms"]?.numberValue ?? 0

        Progress.say("mcp: Airlock, server in a sandbox, \(calls) calls")
        let sandbox = try await BubblewrapBackend().start(SandboxConfiguration(workspace: workspace))
        let provider = MCPToolProvider(servers: [MCPServerSettings(
            name: "noop", command: venv + "/bin/python", args: ["/workspace/noop_server.py"],
            env: ["PYTHONDONTWRITEBYTECODE": "1"])])
        let began = ContinuousClock.now
        let listing = await provider.list(in: sandbox)
        let airlockStart = (ContinuousClock.now - began).ms
        guard let tool = listing.tools.first(where: { $0.spec.name == "mcp__noop__noop" }) else {
            await sandbox.kill()
            throw BenchFailure("the no-op tool was not listed: \(listing.problems)")
        }
        var samples: [Double] = []
        for index in 0..<(calls + warmup) {
            let started = ContinuousClock.now
            // What the loop does per call: the schema check, then the call.
            _ = tool.schema.validate(.object([:]))
            let outcome = await provider.call(tool, arguments: .object([:]), in: sandbox, timeout: .seconds(30))
            if outcome.isError { Progress.say("  call failed: \(outcome.content)") }
            if index >= warmup { samples.append((ContinuousClock.now - started).ms) }
        }
        await provider.shutdown()
        await sandbox.kill()
        let airlock = Series(name: "airlock", samples: samples.sorted())
        return [
            "MCP no-op tool call, \(calls) calls after \(warmup) warm-up (median / p99 ms)",
            "  Python SDK stdio client → server on the host: \(fmt(baseline.median, 3)) / \(fmt(baseline.p99, 3))",
            "  Airlock → server in the sandbox (guest frames): \(fmt(airlock.median, 3)) / \(fmt(airlock.p99, 3))",
            "  ratio (median): \(fmt(ratio(airlock.median, baseline.median), 2)) ×",
            "server start-up to a usable session: Python SDK on the host \(fmt(baselineStart, 1)) ms; "
                + "Airlock in a running sandbox (start, negotiate, tools/list) \(fmt(airlockStart, 1)) ms",
        ].joined(separator: "\n")
    }

    struct BenchFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func capture(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

extension JSONValue {
    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}
