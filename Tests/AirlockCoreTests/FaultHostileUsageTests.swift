import AirlockModels
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

/// A hostile model server reporting absurd token counts. Found while writing the fault
/// suite: `BudgetUsage.totalTokens` and `charge` add with trapping `+`, so usage of
/// Int.max crashed the harness (SIGILL) mid-run and left its ledger without an end. Fixed:
/// `Usage` clamps each count and budgets add without overflow.
@Suite("Fault injection: hostile usage")
struct FaultHostileUsageTests {
    @Test("fault: the model server reports Int.max tokens")
    func hugeUsage() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let huge = OpenAIStream.shell("call_1", "true", usage: (Int.max, 1))
        try await TestHTTPServer.with([huge, OpenAIStream.submit("call_2")]) { server in
            let run = try await fixture.run(Providers.openAI(server), limits: BudgetLimits(maxTokens: 1000))
            #expect(run.result.outcome == .budgetExceeded, "\(run.result.reason)")
            #expect(run.result.exitCode == 3)
            #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
        }
    }
}
