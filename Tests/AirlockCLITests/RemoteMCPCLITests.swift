import AirlockTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// `remote_mcp_servers:` end to end: the official SDK serving Streamable HTTP on a loopback
/// port, a bearer token from the harness's environment, the real binary and sandbox.
@Suite("airlock run with a remote MCP server", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct RemoteMCPCLITests {
    static let venv = ProcessInfo.processInfo.environment["AIRLOCK_MCP_VENV"] ?? "/usr/local/share/airlock-test/mcp-venv"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AirlockMCPTests/Servers/remote_server.py").path

    /// Starts the server; returns it and its port (it prints the port it bound).
    static func startServer(token: String) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: venv + "/bin/python")
        process.arguments = [script]
        process.environment = ["REMOTE_TOKEN": token, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read the first line on its own thread, bounded: a server that never prints
        // must not hang the test.
        let reader = pipe.fileHandleForReading
        let box = LineBox()
        Thread.detachNewThread {
            var line = Data()
            while !line.contains(0x0A) {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            box.set(line)
        }
        let deadline = Date().addingTimeInterval(30)
        while box.get() == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let line = box.get() ?? Data()
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL); process.waitUntilExit()
            throw POSIXError(.EIO)
        }
        return (process, port)
    }

    static func call(_ name: String, _ arguments: [String: Any]) -> [String: Any] {
        ["tool_calls": [["name": name, "arguments": arguments]]]
    }

    @Test("remote tools default to ask; the token never reaches the sandbox or the state dir; the sandbox cannot reach the server")
    func remoteServer() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/python"),
                     "the MCP venv is missing at \(Self.venv); scripts/setup.sh builds it")
        let token = "s3cret-" + UUID().uuidString
        let (server, port) = try Self.startServer(token: token)
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let scene = try RunScene()
        defer { scene.remove() }
        let url = "http://127.0.0.1:\(port)/mcp"
        let config = """
            remote_mcp_servers:
              remote:
                url: \(url)
                headers: {Authorization: "Bearer ${REMOTE_TOKEN}"}
            """
        try config.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let environment = ["XDG_CONFIG_HOME": scene.root + "/xdg", "REMOTE_TOKEN": token]
        let probe = "env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\\\0' '\\\\n'; "
            + "python3 -c 'import urllib.request; urllib.request.urlopen(\"\(url)\", timeout=3)' && echo REACHED || echo UNREACHABLE"
        let model = try scene.script([
            Self.call("mcp__remote__echo", ["text": "asked"]),
            RunScene.shell(probe),
            RunScene.submit(),
        ])
        // A project file that adds a remote server is refused until trusted.
        let untrusted = try await scene.run(["--model", model], environment: environment)
        #expect(untrusted.status == 2 && untrusted.stderr.contains("remote_mcp_servers"), "\(untrusted.stderr)")

        let asked = try await scene.run(["--model", model, "--json", "--trust-config"], environment: environment)
        #expect(asked.status == 0, "stderr: \(asked.stderr)")
        let events = asked.objects.compactMap { $0 }
        let listed = events.first { $0["type"] as? String == "mcp_tools" }
        #expect((listed?["tools"] as? [String]) == ["mcp__remote__echo"], "\(asked.stdout)")
        let denied = events.filter { $0["type"] as? String == "tool_denied" }
        #expect((denied.first?["reason"] as? String)?.contains("remote MCP tool") == true, "no rule: ask, and nobody approves: \(asked.stdout)")
        let shell = events.first { $0["type"] as? String == "tool_result" && $0["name"] as? String == "shell" }
        #expect(shell != nil)
        let runID = try #require(events.first?["run"] as? String)
        let show = try await scene.command(["show", runID, "--json"])
        #expect(show.stdout.contains("UNREACHABLE") && !show.stdout.contains("REACHED\\n"), "the sandbox has no route to the server")
        #expect(!show.stdout.contains(token), "the token is not in the sandbox's environment or processes")

        // A rule that allows it: the call crosses, with the URL and status in the ledger.
        try (config + """

            policy:
              rules:
                - {tool: "mcp__remote__*", decision: allow}
            """).write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let allowedModel = try scene.script([Self.call("mcp__remote__echo", ["text": "hello"]), RunScene.submit()])
        let allowed = try await scene.run(["--model", allowedModel, "--json", "--trust-config"], environment: environment)
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
        let result = allowed.objects.compactMap { $0 }.first { $0["type"] as? String == "tool_result" }
        #expect(result?["ok"] as? Bool == true, "\(allowed.stdout)")
        let allowedID = try #require(allowed.objects.compactMap { $0 }.first?["run"] as? String)
        let record = try await scene.command(["show", allowedID, "--json"])
        #expect(record.stdout.contains("remote: hello"), "\(record.stdout.prefix(1500))")
        #expect(record.stdout.contains("\"http_status\":200") && record.stdout.contains(url), "URL and status recorded")

        // Nothing in the state dir holds the token (database, WAL, exports).
        let enumerator = FileManager.default.enumerator(atPath: scene.stateDir)
        while let file = enumerator?.nextObject() as? String {
            let data = FileManager.default.contents(atPath: scene.stateDir + "/" + file) ?? Data()
            #expect(data.range(of: Data(token.utf8)) == nil, "\(file) holds the token")
        }
    }
}

extension RemoteMCPCLITests {
    @Test("an approval on a remote tool: the approver sees where it goes, approves from another shell, the call crosses")
    func approvedRemoteCall() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/python"),
                     "the MCP venv is missing at \(Self.venv); scripts/setup.sh builds it")
        let token = "s3cret-" + UUID().uuidString
        let (server, port) = try Self.startServer(token: token)
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let scene = try RunScene()
        defer { scene.remove() }
        try """
            remote_mcp_servers:
              remote:
                url: http://127.0.0.1:\(port)/mcp
                headers: {Authorization: "Bearer ${REMOTE_TOKEN}"}
            """.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([Self.call("mcp__remote__echo", ["text": "approved"]), RunScene.submit("done")])
        let harness = try DurabilityHarness(["run", "echo", "--model", model, "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                             "--approver", "web", "--json", "--trust-config"],
                                            environment: ["XDG_CONFIG_HOME": scene.root + "/xdg", "REMOTE_TOKEN": token])
        defer { harness.cleanUp() }
        #expect(await harness.waitForOutput { $0.contains("approval_requested") }, "no approval was asked: \(harness.stderr)")
        let pending = try await scene.command(["approve", "latest"])
        #expect(pending.stdout.contains("mcp__remote__echo") && pending.stdout.contains("server remote"), "\(pending.stdout)")
        let call = try #require(pending.stdout.split(separator: "\t").first.map(String.init), "nothing pending: \(pending.stdout)")
        let approved = try await scene.command(["approve", "latest", call])
        #expect(approved.status == 0, "\(approved.stderr)")
        let end = await harness.wait(limit: .seconds(60))
        #expect(end.status == 0, "\(harness.stderr)")
        let shown = try await scene.command(["show", "latest", "--json"])
        #expect(shown.stdout.contains("remote: approved"), "the call crossed after the approval")
        #expect(!shown.stdout.contains(token))
    }
}

final class LineBox: Sendable {
    private let value = Mutex<Data?>(nil)
    func set(_ data: Data) { value.withLock { $0 = data } }
    func get() -> Data? { value.withLock { $0 } }
}
