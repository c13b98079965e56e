import AirlockTestSupport
import Foundation
import Testing

/// A declarative `pytest` tool from airlock.yaml, run for real in the sandbox (pytest is
/// Debian's, in /usr, which the sandbox sees read-only).
@Suite("declared tools", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct DeclaredToolCLITests {
    static let hasPytest: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import pytest"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static let config = """
        tools:
          - name: pytest
            description: Run the tests in one file.
            input_schema:
              type: object
              properties:
                path: {type: string, pattern: "^[A-Za-z0-9_./-]+$"}
                keyword: {type: string}
              required: [path]
              additionalProperties: false
            argv: ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "{keyword}", "--", "{path}"]
            timeout: 60
            read_only: true
            env: {PYTHONDONTWRITEBYTECODE: "1"}
        """

    static func call(_ arguments: [String: Any]) -> [String: Any] {
        ["tool_calls": [["name": "pytest", "arguments": arguments]]]
    }

    @Test("a scripted run calls pytest through the declared tool; bad arguments are refused before anything runs")
    func pytestTool() async throws {
        try #require(Self.hasPytest, "python3-pytest is not installed (scripts/setup.sh installs it)")
        let scene = try RunScene()
        defer { scene.remove() }
        try """
            def test_adds():
                assert 1 + 1 == 2

            def test_breaks():
                assert 1 + 1 == 3
            """.write(toFile: scene.workspace + "/test_math.py", atomically: true, encoding: .utf8)
        try Self.config.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([
            Self.call(["path": "test_math.py", "keyword": "adds"]),
            Self.call(["path": "test_math.py", "keyword": "breaks"]),
            Self.call(["path": "test_math.py; touch pwned"]),
            Self.call(["path": "test_math.py", "keyword": "--rootdir=/"]),
            RunScene.submit(),
        ])
        let outcome = try await scene.run(["--model", model, "--json", "--max-format-errors", "5"],
                                          environment: ["XDG_CONFIG_HOME": scene.root + "/xdg"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let events = outcome.objects.compactMap { $0 }
        let results = events.filter { $0["type"] as? String == "tool_result" && $0["name"] as? String == "pytest" }
        #expect(results.map { $0["ok"] as? Bool } == [true, false], "\(outcome.stdout)")
        #expect(results.map { $0["exit_code"] as? Int } == [0, 1])
        let rejected = events.filter { $0["type"] as? String == "tool_rejected" }.compactMap { $0["problem"] as? String }
        #expect(rejected.count == 2, "\(outcome.stdout)")
        #expect(rejected.first?.contains("must match the pattern") == true, "\(rejected)")
        #expect(rejected.last?.contains("begins with '-'") == true, "\(rejected)")
        #expect(!FileManager.default.fileExists(atPath: scene.workspace + "/pwned"))

        let runID = try #require(events.first?["run"] as? String)
        let show = try await scene.command(["show", runID, "--json"])
        #expect(show.stdout.contains("1 passed"), "the pytest output is in the ledger: \(show.stdout.prefix(2000))")

        let tools = try await RunBinary.run(["tools", "--workspace", scene.workspace, "--json"],
                                            environment: ["XDG_CONFIG_HOME": scene.root + "/xdg"])
        #expect(tools.status == 0, "stderr: \(tools.stderr)")
        let names = tools.objects.compactMap { $0?["name"] as? String }
        #expect(names == ["shell", "read_file", "write_file", "edit_file", "list_files", "submit", "pytest"])
    }

    @Test("a policy rule on a declared tool's name denies it")
    func policyDeniesDeclaredTool() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        try (Self.config + """

            policy:
              rules:
                - {tool: "pyt*", decision: deny, reason: no tests today}
            """).write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([Self.call(["path": "x.py", "keyword": "k"]), RunScene.submit()])
        let outcome = try await scene.run(["--model", model, "--json"], environment: ["XDG_CONFIG_HOME": scene.root + "/xdg"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let denied = outcome.objects.compactMap { $0 }.filter { $0["type"] as? String == "tool_denied" }
        #expect(denied.first?["reason"] as? String == "no tests today", "\(outcome.stdout)")
    }
}
