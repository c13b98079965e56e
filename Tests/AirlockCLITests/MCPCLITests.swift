import AirlockTestSupport
import Foundation
import Testing

/// `mcp_servers:` end to end: the real binary, a real sandbox, mcp-server-time and
/// mcp-server-git from PyPI (the venv scripts/setup.sh builds under /usr/local, which the sandbox sees), a scripted
/// model, and a policy that denies `mcp__git__git_commit`.
@Suite("airlock run with MCP servers", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct MCPCLITests {
    static let venv = ProcessInfo.processInfo.environment["AIRLOCK_MCP_VENV"] ?? "/usr/local/share/airlock-test/mcp-venv"

    static func run(_ program: String, _ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(program) \(arguments)")
    }

    static func call(_ name: String, _ arguments: [String: Any]) -> [String: Any] {
        ["tool_calls": [["name": name, "arguments": arguments]]]
    }

    @Test("time and git tools are called through the boundary; a deny rule stops git_commit; airlock tools lists them")
    func timeAndGit() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/python"),
                     "the MCP venv is missing at \(Self.venv); scripts/setup.sh builds it")
        let scene = try RunScene()
        defer { scene.remove() }
        let repo = scene.workspace + "/repo"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try "one\n".write(toFile: repo + "/notes.txt", atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/git", ["init", "-q", "-b", "main"], in: repo)
        try Self.run("/usr/bin/chmod", ["-R", "a+rwX", repo], in: repo)
        try """
            mcp_servers:
              time:
                command: \(Self.venv)/bin/python
                args: ["-m", "mcp_server_time", "--local-timezone", "UTC"]
                env: {PYTHONDONTWRITEBYTECODE: "1"}
              git:
                command: \(Self.venv)/bin/python
                args: ["-m", "mcp_server_git", "--repository", "/workspace/repo"]
                env: {PYTHONDONTWRITEBYTECODE: "1", GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: safe.directory, GIT_CONFIG_VALUE_0: "*"}
                tools: {deny: ["git_reset"]}
            policy:
              rules:
                - {tool: "mcp__git__git_commit", decision: deny, reason: commits need a human}
            """.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([
            Self.call("mcp__time__get_current_time", ["timezone": "Europe/Paris"]),
            Self.call("mcp__git__git_status", ["repo_path": "/workspace/repo"]),
            Self.call("mcp__git__git_commit", ["repo_path": "/workspace/repo", "message": "sneaky"]),
            Self.call("mcp__time__get_current_time", ["timezone": 42]),
            RunScene.submit(),
        ])
        let environment = ["XDG_CONFIG_HOME": scene.root + "/xdg"]
        let outcome = try await scene.run(["--model", model, "--json"], environment: environment)
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let events = outcome.objects.compactMap { $0 }
        let listed = try #require(events.first { $0["type"] as? String == "mcp_tools" }, "\(outcome.stdout)")
        let names = (listed["tools"] as? [String]) ?? []
        #expect(names.contains("mcp__git__git_commit") && !names.contains("mcp__git__git_reset"), "\(names)")
        let results = events.filter { $0["type"] as? String == "tool_result" }
        #expect(results.map { $0["name"] as? String } == ["mcp__time__get_current_time", "mcp__git__git_status"], "\(outcome.stdout)")
        #expect(results.allSatisfy { $0["ok"] as? Bool == true }, "\(results)")
        let denied = events.filter { $0["type"] as? String == "tool_denied" }
        #expect(denied.first?["name"] as? String == "mcp__git__git_commit")
        let rejected = events.filter { $0["type"] as? String == "tool_rejected" }
        #expect((rejected.first?["problem"] as? String)?.contains("must be string, got integer") == true, "\(rejected)")

        let runID = try #require(events.first?["run"] as? String)
        let show = try await scene.command(["show", runID, "--json"])
        #expect(show.stdout.contains("Europe/Paris") && show.stdout.contains("notes.txt"), "results in the ledger")
        #expect(!FileManager.default.fileExists(atPath: repo + "/.git/refs/heads/main"), "no commit was made")
        let verify = try await scene.command(["verify", runID])
        #expect(verify.status == 0, "\(verify.stdout)")

        let tools = try await RunBinary.run(["tools", "--workspace", scene.workspace, "--json"], environment: environment)
        #expect(tools.status == 0, "stderr: \(tools.stderr)")
        let rows = tools.objects.compactMap { $0 }
        #expect(rows.contains { $0["name"] as? String == "mcp__time__convert_time" && $0["server"] as? String == "time" }, "\(tools.stdout.prefix(500))")
    }
}
