import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `read_only: true` on a declared tool lets `resume` run a call again that was in flight
/// when the harness died; without it the outcome is reported unknown.
@Suite("declared tools and resume", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct DeclaredToolResumeTests {
    static func config(readOnly: Bool) -> String {
        """
        tools:
          - name: count_lines
            description: Count the lines of a file.
            input_schema: {type: object, properties: {path: {type: string}}, required: [path], additionalProperties: false}
            argv: ["wc", "-l", "--", "{path}"]
            read_only: \(readOnly)
        """
    }

    @Test("killed during a declared tool's call: re-run on resume when read-only, reported unknown otherwise", arguments: [true, false])
    func resumeHonoursReadOnly(readOnly: Bool) async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let environment = ["XDG_CONFIG_HOME": scene.root + "/xdg"]
        try Self.config(readOnly: readOnly).write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        let model = try scene.script([
            RunScene.shell("printf 'a\\nb\\n' > r.txt"),
            ["tool_calls": [["name": "count_lines", "arguments": ["path": "r.txt"]]]],
            RunScene.submit("counted"),
        ])
        let harness = try scene.harness(["run", "count", "--model", model, "--workspace", scene.workspace],
                                        environment: environment.merging(["AIRLOCK_FAULT_KILL_AT": "tool_result:2"]) { $1 })
        defer { harness.cleanUp() }
        let end = await harness.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "\(harness.stderr)")
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        let resumed = try await RunBinary.run(["resume", runID, "--state-dir", scene.stateDir], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let results = try await scene.ledger(runID).filter { $0["kind"] as? String == "tool_result" }.compactMap { $0["payload"] as? [String: Any] }
        #expect(results.count == 2, "\(results)")
        if readOnly {
            #expect(!results.contains { $0["status"] as? String == "interrupted" }, "\(results)")
            #expect((results.last?["content"] as? String)?.contains("2 r.txt") == true, "the re-run count: \(results)")
        } else {
            #expect(results.last?["status"] as? String == "interrupted", "\(results)")
        }
    }
}
