import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A run records its declared tools and MCP servers in `run_started`; `resume` and `replay`
/// use those definitions, not the config files as they are later. The real binary, a real
/// sandbox, mcp-server-time from PyPI.
@Suite("recorded tool definitions: resume and replay", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct RecordedToolsTests {
    static func config(argv: String, time: Bool) -> String {
        var text = """
            tools:
              - name: count_lines
                description: Count the lines of a file.
                input_schema: {type: object, properties: {path: {type: string}}, required: [path], additionalProperties: false}
                argv: \(argv)
                read_only: true

            """
        if time {
            text += """
                mcp_servers:
                  time:
                    command: \(MCPCLITests.venv)/bin/python
                    args: ["-m", "mcp_server_time", "--local-timezone", "UTC"]
                    env: {PYTHONDONTWRITEBYTECODE: "1"}

                """
        }
        return text
    }

    static let original = config(argv: #"["wc", "-l", "--", "{path}"]"#, time: true)
    /// What the config says after the run started: another command, no MCP server.
    static let changed = config(argv: #"["echo", "changed", "{path}"]"#, time: false)
    static var convert: [String: Any] { MCPCLITests.call("mcp__time__convert_time", ["source_timezone": "UTC", "time": "12:00",
                                                                      "target_timezone": "Asia/Tokyo"]) }

    @Test("resume after a kill: the recorded declared tool and MCP server, a note that the config changed")
    func resumeUsesRecordedDefinitions() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MCPCLITests.venv + "/bin/python"),
                     "the MCP venv is missing at \(MCPCLITests.venv); scripts/setup.sh builds it")
        let scene = try RunScene.make()
        defer { scene.remove() }
        let environment = ["XDG_CONFIG_HOME": scene.root + "/xdg"]
        try Self.original.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([
            RunScene.shell("printf 'a\\nb\\n' > r.txt"),
            Self.convert,
            ["tool_calls": [["name": "count_lines", "arguments": ["path": "r.txt"]]]],
            Self.convert,
            RunScene.submit("counted"),
        ])
        let harness = try scene.harness(["run", "count", "--model", model, "--workspace", scene.workspace],
                                        environment: environment.merging(["AIRLOCK_FAULT_KILL_AT": "tool_result:2"]) { $1 })
        defer { harness.cleanUp() }
        let end = await harness.wait()
        // The fault point counts results of calls run by the executor (shell, count_lines), not MCP ones.
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "\(harness.stderr)")
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        let started = try #require(try await scene.ledger(runID).first { $0["kind"] as? String == "run_started" }?["payload"] as? [String: Any])
        let definitions = try #require(started["tool_definitions"] as? [String: Any], "\(started)")
        #expect((definitions["mcp_servers"] as? [String: Any])?["time"] != nil && definitions["tools"] != nil, "\(definitions)")

        try Self.changed.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let resumed = try await RunBinary.run(["resume", runID, "--state-dir", scene.stateDir], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("changed since run \(runID) started") && resumed.stderr.contains("mcp_servers"), "\(resumed.stderr)")
        let results = try await scene.ledger(runID).filter { $0["kind"] as? String == "tool_result" }
            .compactMap { $0["payload"] as? [String: Any] }
        #expect(results.count == 4, "\(results)")
        let contents = results.map { $0["content"] as? String ?? "" }
        // The read-only declared call in flight ran again with the recorded argv, not `echo changed`.
        #expect(contents.contains { $0.contains("2 r.txt") } && !contents.contains { $0.contains("changed") }, "\(contents)")
        // The MCP server the config no longer names still served the call after the resume.
        #expect(contents.last?.contains("Asia/Tokyo") == true && results.last?["is_error"] as? Bool == false, "\(results.last ?? [:])")
    }

    @Test("replay re-runs MCP and declared-tool calls from the recorded definitions")
    func replayRunsRecordedTools() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MCPCLITests.venv + "/bin/python"),
                     "the MCP venv is missing at \(MCPCLITests.venv); scripts/setup.sh builds it")
        let scene = try RunScene()
        defer { scene.remove() }
        let environment = ["XDG_CONFIG_HOME": scene.root + "/xdg"]
        try Self.original.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        try "x\ny\nz\n".write(toFile: scene.workspace + "/three.txt", atomically: true, encoding: .utf8)
        let model = try scene.script([
            Self.convert,
            ["tool_calls": [["name": "count_lines", "arguments": ["path": "three.txt"]]]],
            RunScene.shell("echo 4 >> three.txt"),
            RunScene.submit(),
        ])
        let outcome = try await scene.run(["--model", model, "--json", "--snapshot-workspace"], environment: environment)
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let runID = try #require(outcome.objects.compactMap { $0 }.first?["run"] as? String)

        try Self.changed.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let replay = try await RunBinary.run(["replay", runID, "--json", "--state-dir", scene.stateDir], environment: environment)
        #expect(replay.status == 0, "stdout: \(replay.stdout)\nstderr: \(replay.stderr)")
        let calls = replay.objects.compactMap { $0 }.filter { $0["type"] as? String == "call" }
        #expect(calls.map { $0["tool"] as? String } == ["mcp__time__convert_time", "count_lines", "shell"], "\(replay.stdout)")
        #expect(calls.allSatisfy { $0["same"] as? Bool == true && $0["skipped"] is NSNull }, "\(replay.stdout)")
        #expect((calls.first?["replayed"] as? String)?.contains("Asia/Tokyo") == true, "\(calls.first ?? [:])")
        #expect((calls.dropFirst().first?["replayed"] as? String)?.contains("3 three.txt") == true, "\(calls)")

        // Human output: the calls are replayed, not skipped as before.
        let human = try await RunBinary.run(["replay", runID, "--state-dir", scene.stateDir], environment: environment)
        #expect(human.status == 0 && human.stdout.contains("mcp__time__convert_time: same"), "\(human.stdout)\n\(human.stderr)")
        #expect(human.stderr.contains("changed since run \(runID) started"), "\(human.stderr)")
    }
}
