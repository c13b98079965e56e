import AirlockTestSupport
import AirlockModels
import Foundation
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

/// Every budget stops a run with exit 3 and names itself in `run_finished`; the run's time
/// budget also interrupts a tool call in progress.
@Suite("agent loop budgets", .timeLimit(.minutes(1)))
struct AgentLoopBudgetTests {
    @Test("--max-steps: a two-step script with one step allowed stops with exit 3, budget steps")
    func maxSteps() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let model = try Script.model([Script.shell("echo one > one.txt"), Script.submit()])
        let run = try await fixture.run(model, limits: BudgetLimits(maxSteps: 1))
        #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
        #expect(run.result.exitCode == 3)
        #expect(run.result.budget?.budget == .steps)
        #expect(run.finishedBudget == "steps")
        #expect(run.events.finished?.fields["exit_code"] == .int(3))
        #expect(fixture.file("one.txt") == "one\n", "the step the budget allowed ran")
        #expect(await model.remainingTurns == 1, "no second model call")
    }

    @Test("--max-tokens: usage past the limit stops with exit 3, budget tokens")
    func maxTokens() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let model = try Script.model([Script.shell("true", usage: (80, 40)), Script.submit(usage: (1, 1))])
        let run = try await fixture.run(model, limits: BudgetLimits(maxTokens: 100))
        #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
        #expect(run.result.exitCode == 3)
        #expect(run.finishedBudget == "tokens")
        #expect(run.events.finished?.fields["budget"]?["used"] == .double(120))
        #expect(run.result.usage.totalTokens == 120)
    }

    @Test("--max-cost: a priced model whose spend passes the limit stops with exit 3, budget cost")
    func maxCost() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        // A scripted provider reporting itself as a priced model: $10,000 per Mtok, so
        // 100 + 100 tokens cost $2.
        let spec = ModelSpec(provider: .openai, name: "priced-test")
        let model = try Script.model([Script.shell("true", usage: (100, 100)), Script.submit(usage: (1, 1))], spec: spec)
        let prices = PriceTable.builtin.merging(PriceTable(prices: [
            "openai:priced-test": PriceTable.Price(inputPerMTok: 10_000, outputPerMTok: 10_000),
        ]))
        let run = try await fixture.run(model, limits: BudgetLimits(maxCostUSD: 1)) { $0.prices = prices }
        #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
        #expect(run.result.exitCode == 3)
        #expect(run.finishedBudget == "cost")
        #expect(abs(run.result.usage.costUSD - 2) < 1e-9)
        let record = try #require(try await run.store.run(id: run.result.runID))
        #expect(abs(record.costUSD - 2) < 1e-9)
    }

    @Test("--timeout: time that runs out during a slow model call stops with exit 3, budget time")
    func timeoutDuringModelCall() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let model = try Script.model([["delay_ms": 20_000, "text": "too late"]])
        let started = ContinuousClock.now
        let run = try await fixture.run(model, limits: BudgetLimits(timeout: .milliseconds(700)))
        #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
        #expect(run.result.exitCode == 3)
        #expect(run.finishedBudget == "time")
        // A hang guard, not a timing claim: uninterrupted, the call would take 20 s.
        #expect(ContinuousClock.now - started < .seconds(16), "the model call was not interrupted")
    }

    @Test("--timeout mid-call: the call and its children are killed and the run ends exit 3 within ~1 s")
    func timeoutKillsTheCall() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let marker = "30.\(Int.random(in: 100_000...999_999))"
        let model = try Script.model([
            // A background child, one in its own session (out of the call's process group),
            // and the call's own foreground process.
            Script.shell("sleep \(marker) & setsid sleep \(marker) & sleep \(marker); wait"),
            Script.submit("should never get here"),
        ])
        let seen = Watcher(marker)
        // Long enough that the sandbox is up and the call running when it ends, even with
        // the whole suite starting sandboxes on two cores.
        let timeout = Duration.seconds(10)
        let started = ContinuousClock.now
        // One step allowed too, and used up by the time the clock runs out: the budget that
        // ended the run is still time.
        let run = try await fixture.run(model, limits: BudgetLimits(maxSteps: 1, timeout: timeout))
        let elapsed = ContinuousClock.now - started
        seen.stop()

        #expect(await seen.sawIt, "the sleeps never ran, so nothing was interrupted")
        #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
        #expect(run.result.exitCode == 3)
        #expect(run.finishedBudget == "time")
        // The one timing assertion: the deadline, plus the allowed second, plus margin.
        // (Generous: the whole suite shares two cores; the sleeps would have run 30 s.)
        #expect(elapsed < timeout + .seconds(5), "the run ended \(elapsed) after it started")
        #expect(HostProcesses.matching("sleep \(marker)").isEmpty, "a process of the call survived")
        #expect(await model.remainingTurns == 1)

        let calls = try await run.store.toolCalls(run: run.result.runID)
        #expect(calls.first?.status == .timedOut)
        let results = try await run.store.ledgerEntries(run: run.result.runID).filter { $0.kind == .toolResult }
        #expect(results.last?.payload["status"]?.stringValue == "killed")
    }

    @Test("--call-timeout: the call times out, the model is told, and the run goes on to submit")
    func callTimeout() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let marker = "30.\(Int.random(in: 100_000...999_999))"
        let model = RecordingModel(try Script.model([
            Script.shell("sleep \(marker)"),
            Script.shell("echo after > after.txt"),
            Script.submit("went on"),
        ]))
        let run = try await fixture.run(model, limits: BudgetLimits(callTimeout: .seconds(1)))
        #expect(run.result.outcome == .submitted, "\(run.result.reason)")
        #expect(run.result.exitCode == 0)
        #expect(run.result.answer == "went on")
        let told = try #require(model.lastToolResult(1))
        #expect(told.content.contains("timed out"), "\(told.content)")
        #expect(told.isError)
        #expect(fixture.file("after.txt") == "after\n")
        #expect(HostProcesses.matching("sleep \(marker)").isEmpty)
        let calls = try await run.store.toolCalls(run: run.result.runID)
        #expect(calls.first?.status == .timedOut)
    }

    @Test("--call-timeout holds even when the call stops the guest: the sandbox is killed and replaced, the run goes on")
    func callTimeoutWithAStoppedGuest() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        // The command runs as the guest's uid, so it can SIGSTOP the guest (its parent):
        // the guest can then no longer enforce the call's timeout, the harness must.
        let model = RecordingModel(try Script.model([
            Script.shell("kill -STOP $PPID; sleep 1"),
            Script.shell("echo after > after.txt"),
            Script.submit("went on"),
        ]))
        let run = try await fixture.run(model, limits: BudgetLimits(callTimeout: .seconds(1)), limit: .seconds(20))
        #expect(run.result.outcome == .submitted, "\(run.result.reason)")
        let told = try #require(model.lastToolResult(1))
        #expect(told.isError && told.content.contains("timed out"), "\(told.content)")
        #expect(fixture.file("after.txt") == "after\n", "a fresh sandbox ran the next call")
        #expect(run.ledgerKinds.contains("sandbox_replaced"))
        let calls = try await run.store.toolCalls(run: run.result.runID)
        #expect(calls.first?.status == .timedOut)
    }
}

/// Polls the host's /proc for a marker while a run goes on.
final class Watcher: Sendable {
    private let task: Task<Bool, Never>

    init(_ marker: String) {
        task = Task.detached {
            while !Task.isCancelled {
                if !HostProcesses.matching("sleep \(marker)").isEmpty { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
    }

    func stop() { task.cancel() }

    var sawIt: Bool {
        get async { await task.value }
    }
}
