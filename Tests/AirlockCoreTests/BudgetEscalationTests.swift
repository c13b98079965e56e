import AirlockModels
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockCore
import AirlockBubblewrap
@testable import AirlockStoreSQLite

/// `on_budget_exhausted: ask` in the loop, with a real sandbox and a real SQLite ledger.
@Suite("Budget escalation")
struct BudgetEscalationTests {
    static var turns: [[String: Any]] { [Script.shell("echo one > one.txt"), Script.shell("echo two > two.txt"),
                        Script.shell("echo three > three.txt"), Script.submit()] }

    func run(_ approver: any Approver, action: Policy.BudgetAction = .ask,
             limits: BudgetLimits = BudgetLimits(maxSteps: 1)) async throws -> (LoopFixture, LoopRun) {
        let fixture = try LoopFixture()
        let store = try fixture.store()
        var configuration = fixture.configuration(ModelSpec(provider: .script, name: "inline.json"), limits: limits)
        configuration.policy.onBudgetExhausted = action
        let events = EventRecorder()
        let loop = AgentLoop(configuration: configuration, model: try Script.model(Self.turns), backend: BubblewrapBackend(),
                             store: store, approver: approver, onEvent: events.handler)
        let result = try await withLimit(.seconds(30)) { try await loop.run() }
        return (fixture, LoopRun(result: result, events: events, store: store))
    }

    @Test("extended once, refused the second time: one more step ran, exit 3, the ledger says who and the new limit")
    func extendThenRefuse() async throws {
        let approver = ScriptedApprover([ApprovalAnswer(.extend, by: "alice", amount: 1),
                                         ApprovalAnswer(.deny, reason: "enough", by: "bob")])
        let (fixture, run) = try await run(approver)
        defer { fixture.remove() }
        #expect(run.result.exitCode == 3)
        #expect(run.result.reason.contains("bob did not extend it: enough"), "\(run.result.reason)")
        #expect(fixture.file("one.txt") != nil && fixture.file("two.txt") != nil)
        #expect(fixture.file("three.txt") == nil)
        #expect(approver.requests.map(\.call) == ["budget-1", "budget-2"])
        #expect(approver.requests.first?.budget?.budget == .steps)
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        let extended = entries.filter { $0.kind == .budgetExtended }
        #expect(extended.count == 1)
        #expect(extended.first?.payload["by"]?.stringValue == "alice")
        #expect(extended.first?.payload["limit"] == .double(2))
        let kinds = run.ledgerKinds
        let at = try #require(kinds.firstIndex(of: "budget_extended"))
        #expect(kinds[at - 1] == "approval_answered" && kinds[at + 1] == "model_request", "\(kinds)")
        #expect(entries.filter { $0.kind == .approvalAnswered }.compactMap { $0.payload["by"]?.stringValue } == ["alice", "bob"])
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }

    @Test("the deny approver: the question is asked and recorded, nothing is extended, exit 3")
    func denyApprover() async throws {
        let (fixture, run) = try await run(DenyApprover())
        defer { fixture.remove() }
        #expect(run.result.exitCode == 3)
        #expect(run.finishedBudget == "steps")
        #expect(fixture.file("two.txt") == nil)
        let kinds = run.ledgerKinds
        #expect(kinds.contains("approval_requested") && kinds.contains("approval_answered"))
        #expect(!kinds.contains("budget_extended"))
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }

    @Test("terminate at a budget question ends the run with exit 4; an extension without an amount is refused")
    func terminateAndBadAmount() async throws {
        let (fixture, run) = try await run(ScriptedApprover([ApprovalAnswer(.terminate, by: "carol")]))
        defer { fixture.remove() }
        #expect(run.result.exitCode == 4)
        let (other, zero) = try await self.run(ScriptedApprover([ApprovalAnswer(.extend, by: "dave", amount: 0)]))
        defer { other.remove() }
        #expect(zero.result.exitCode == 3)
        #expect(!zero.ledgerKinds.contains("budget_extended"))
    }

    @Test("without the option the budget stops the run and nobody is asked")
    func stopIsTheDefault() async throws {
        let approver = ScriptedApprover([ApprovalAnswer(.extend, by: "alice", amount: 5)])
        let (fixture, run) = try await run(approver, action: .stop)
        defer { fixture.remove() }
        #expect(run.result.exitCode == 3)
        #expect(approver.requests.isEmpty)
    }

    @Test("the terminal: a number extends, t terminates, anything else lets the budget stop the run")
    func terminal() async throws {
        #expect(TerminalApprover.parseBudget("250", by: "a") == ApprovalAnswer(.extend, by: "a", amount: 250))
        #expect(TerminalApprover.parseBudget("t", by: "a").decision == .terminate)
        #expect(TerminalApprover.parseBudget("n", by: "a").decision == .deny)
        #expect(TerminalApprover.parseBudget("-3", by: "a").decision == .deny)
        var request = ApprovalRequest(run: "r", call: "budget-1", tool: "budget", summary: "steps", rule: nil, reason: "out")
        request.budget = BudgetExceeded(budget: .steps, limit: 1, used: 1, message: "out")
        let pipe = Pipe(), sink = Pipe()
        pipe.fileHandleForWriting.write(Data("3\n".utf8))
        let answer = await TerminalApprover(input: pipe.fileHandleForReading, output: sink.fileHandleForWriting,
                                            timeout: .seconds(10)).decide(request)
        #expect(answer.decision == .extend && answer.amount == 3)
    }

    /// A run with `turns`, asking `approver` when `limits` run out.
    func run(_ turns: [[String: Any]], _ approver: any Approver, limits: BudgetLimits) async throws -> (LoopFixture, LoopRun) {
        let fixture = try LoopFixture()
        let store = try fixture.store()
        var configuration = fixture.configuration(ModelSpec(provider: .script, name: "inline.json"), limits: limits)
        configuration.policy.onBudgetExhausted = .ask
        let events = EventRecorder()
        let loop = AgentLoop(configuration: configuration, model: try Script.model(turns), backend: BubblewrapBackend(),
                             store: store, approver: approver, onEvent: events.handler)
        let result = try await withLimit(.seconds(40)) { try await loop.run() }
        return (fixture, LoopRun(result: result, events: events, store: store))
    }

    @Test("time runs out under a tool call: the call is killed, the approver extends the time, the run goes on and finishes")
    func timeExtendedAfterKilledCall() async throws {
        let approver = ScriptedApprover([ApprovalAnswer(.extend, by: "alice", amount: 20)])
        let started = ContinuousClock.now
        let (fixture, run) = try await run([Script.shell("sleep 60; echo late > late.txt"),
                                            Script.shell("echo after > after.txt"), Script.submit()],
                                           approver, limits: BudgetLimits(timeout: .seconds(3)))
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0, "\(run.result.reason)")
        #expect(ContinuousClock.now - started < .seconds(30), "the sleeping call was not killed at the deadline")
        #expect(fixture.file("late.txt") == nil)
        #expect(fixture.file("after.txt") == "after\n")
        #expect(approver.requests.map { $0.budget?.budget } == [.time])
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        let killed = entries.first { $0.kind == .toolResult && $0.payload["status"]?.stringValue == "killed" }
        #expect(killed?.payload["reason"]?.stringValue == "run timeout")
        let extended = try #require(entries.first { $0.kind == .budgetExtended })
        #expect(extended.payload["budget"]?.stringValue == "time")
        // The amount counts from the answer: at least the 3 s used plus the 20 granted.
        #expect((AgentLoop.number(extended.payload["limit"]) ?? 0) >= 23)
        #expect(entries.contains { $0.kind == .sandboxKilled && $0.payload["reason"]?.stringValue == "run timeout during a tool call" })
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }

    @Test("time runs out under a model call: the call is cancelled and made again after the extension; a refusal ends the run")
    func timeExtendedAfterCancelledModelCall() async throws {
        let slow = { (turn: [String: Any]) -> [String: Any] in turn.merging(["delay_ms": 60_000]) { $1 } }
        let turns = [slow(Script.shell("echo never > never.txt")), Script.shell("echo redone > redone.txt"), Script.submit()]
        let approver = ScriptedApprover([ApprovalAnswer(.extend, by: "alice", amount: 20)])
        let (fixture, run) = try await run(turns, approver, limits: BudgetLimits(timeout: .seconds(2)))
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0, "\(run.result.reason)")
        #expect(fixture.file("never.txt") == nil)
        #expect(fixture.file("redone.txt") == "redone\n")
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        let failed = entries.filter { $0.kind == .modelResponse && $0.payload["error"] != nil }
        #expect(failed.count == 1 && failed.first?.payload["step"] == .int(1), "\(failed.map(\.payload))")
        #expect(entries.filter { $0.kind == .modelRequest }.compactMap { $0.payload["step"]?.intValue }.prefix(2) == [1, 1])
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)

        let (other, refused) = try await self.run(turns, ScriptedApprover([ApprovalAnswer(.deny, by: "bob")]),
                                                  limits: BudgetLimits(timeout: .seconds(2)))
        defer { other.remove() }
        #expect(refused.result.exitCode == 3)
        #expect(refused.finishedBudget == "time")
        #expect(other.file("redone.txt") == nil)
    }

    @Test("on_budget_exhausted parses; a typo is an error")
    func parses() throws {
        #expect(try PolicyFile.parse("on_budget_exhausted: ask\n").onBudgetExhausted == .ask)
        #expect(try PolicyFile.parse("default: allow\n").onBudgetExhausted == .stop)
        #expect(throws: PolicyFile.Failure.self) { try PolicyFile.parse("on_budget_exhausted: extend\n") }
    }
}
