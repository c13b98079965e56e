import AirlockModels
import Foundation
import Testing

@testable import AirlockCore
import AirlockBubblewrap
@testable import AirlockStoreSQLite

/// The HTTP API streams a run's events rebuilt from its ledger: they must be the objects the
/// run printed with `--json` while it ran.
@Suite("Ledger events")
struct LedgerEventsTests {
    @Test("events rebuilt from the ledger equal the live --json events: tools, a rejected call, a denied call, the end")
    func rebuiltEqualsLive() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let turns: [[String: Any]] = [
            Script.shell("echo hi > a.txt"),
            Script.turn([["name": "write_file", "arguments": ["path": "b.txt", "content": "four"]]]),
            Script.turn([["name": "read_file", "arguments": ["path": "b.txt"]]]),
            Script.turn([["name": "shell", "arguments": ["nope": 1]]]),
            Script.shell("rm -rf a.txt"),
            Script.submit("all done"),
        ]
        let run = try await fixture.run(try Script.model(turns)) { configuration in
            configuration.policy = (try? PolicyFile.parse("rules:\n  - program: rm\n    decision: deny\n    reason: no deleting\n")) ?? Policy()
        }
        #expect(run.result.exitCode == 0, "\(run.result.reason)")
        let live = run.events.all.map { event -> RunEvent in
            var event = event
            if event.type == "tool_result" { event.fields["budget"] = nil }  // not in the ledger
            return event
        }
        var translator = LedgerEvents()
        let rebuilt = try run.store.ledgerEntries(run: run.result.runID, after: 0).flatMap { translator.events(for: $0) }
        #expect(Set(live.map(\.type)).isSuperset(of: ["run_started", "sandbox_started", "model_request", "model_response",
                                                      "tool_call", "tool_result", "tool_rejected", "tool_denied", "run_finished"]))
        #expect(rebuilt.map(\.type) == live.map(\.type))
        for (one, other) in zip(rebuilt, live) where one != other {
            Issue.record("\(one.type): rebuilt \(one.json.canonicalJSON)\n   live \(other.json.canonicalJSON)")
        }
    }
}
