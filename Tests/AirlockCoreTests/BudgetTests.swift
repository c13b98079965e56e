import AirlockModels
import Foundation
import Testing
@testable import AirlockCore

@Suite struct BudgetTests {
    @Test func noLimitsNeverStop() {
        var usage = BudgetUsage()
        usage.charge(Usage(inputTokens: 1_000_000, outputTokens: 1_000_000), cost: 100)
        #expect(BudgetCheck.check(usage, against: BudgetLimits()) == nil)
    }

    @Test func stepsRunOutOnReachingTheLimit() throws {
        var usage = BudgetUsage()
        let limits = BudgetLimits(maxSteps: 2)
        usage.charge(Usage(inputTokens: 10, outputTokens: 5), cost: nil)
        #expect(BudgetCheck.check(usage, against: limits) == nil)
        usage.charge(nil, cost: nil)
        let exceeded = try #require(BudgetCheck.check(usage, against: limits))
        #expect(exceeded.budget == .steps)
        #expect(exceeded.limit == 2 && exceeded.used == 2)
        #expect(exceeded.message == "step budget reached: 2 of 2 steps used")
        #expect(usage.inputTokens == 10 && usage.totalTokens == 15)
    }

    @Test func tokensAndCostRunOutOncePassed() throws {
        var usage = BudgetUsage()
        usage.charge(Usage(inputTokens: 600, outputTokens: 400), cost: 0.25)
        #expect(BudgetCheck.check(usage, against: BudgetLimits(maxTokens: 1000)) == nil)
        usage.charge(Usage(inputTokens: 1, outputTokens: 0), cost: 0.01)
        let tokens = try #require(BudgetCheck.check(usage, against: BudgetLimits(maxTokens: 1000)))
        #expect(tokens.budget == .tokens && tokens.used == 1001)
        let cost = try #require(BudgetCheck.check(usage, against: BudgetLimits(maxCostUSD: 0.25)))
        #expect(cost.budget == .cost)
        #expect(cost.message.contains("$0.2600 spent, limit $0.2500"))
    }

    @Test func timeRunsOutAgainstTheInjectedClock() throws {
        let start = ContinuousClock.now
        let usage = BudgetUsage(started: start)
        let limits = BudgetLimits(timeout: .seconds(30))
        #expect(BudgetCheck.check(usage, against: limits, now: start.advanced(by: .seconds(29))) == nil)
        let exceeded = try #require(BudgetCheck.check(usage, against: limits, now: start.advanced(by: .seconds(31))))
        #expect(exceeded.budget == .time && exceeded.limit == 30 && exceeded.used == 31)
        #expect(exceeded.payload["budget"] == .string("time"))
    }

    @Test func callTimeoutCapsTheModelsRequest() {
        let limits = BudgetLimits(callTimeout: .seconds(60))
        #expect(limits.effectiveCallTimeout(requestedSeconds: 10) == .seconds(10))
        #expect(limits.effectiveCallTimeout(requestedSeconds: 600) == .seconds(60))
        #expect(limits.effectiveCallTimeout(requestedSeconds: nil) == .seconds(60))
        #expect(BudgetLimits().effectiveCallTimeout(requestedSeconds: nil) == nil)
    }
}

@Suite struct PriceTableTests {
    @Test func builtinPricesAndDateSuffixes() throws {
        let table = PriceTable.builtin
        let usage = Usage(inputTokens: 1_000_000, outputTokens: 500_000)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "gpt-4o"), usage: usage) == 7.5)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "gpt-4o-2024-08-06"), usage: usage) == 7.5)
        #expect(table.cost(for: ModelSpec(provider: .anthropic, name: "claude-sonnet-4-5-20250929"), usage: usage) == 10.5)
        #expect(table.cost(for: ModelSpec(provider: .script, name: "turns.json"), usage: usage) == 0)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "my-local-model"), usage: usage) == nil)
    }

    @Test func overridesFromAFile() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let file = dir.url.appendingPathComponent("prices.json")
        try Data(#"{"prices": {"openai:gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 2}, "openai:local": {"input_per_mtok": 0, "output_per_mtok": 0.5}}}"#.utf8).write(to: file)
        let table = try PriceTable.loading(overridesFrom: file)
        let usage = Usage(inputTokens: 2_000_000, outputTokens: 2_000_000)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "gpt-4o"), usage: usage) == 6)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "local"), usage: usage) == 1)
        #expect(table.cost(for: ModelSpec(provider: .openai, name: "gpt-4o-mini"), usage: usage) != nil)
        try Data(#"{"prices": {"x": {"input_per_mtok": "cheap"}}}"#.utf8).write(to: file)
        #expect(throws: (any Error).self) { try PriceTable.loading(overridesFrom: file) }
    }

    @Test func missingPriceMessageExplainsTheFix() {
        let message = PriceTable.missingPriceMessage(for: ModelSpec(provider: .openai, name: "local"), priceFile: "~/.config/airlock/prices.json")
        #expect(message.contains("--max-cost is set"))
        #expect(message.contains(#"{"prices": {"openai:local": {"input_per_mtok""#))
        #expect(message.contains("~/.config/airlock/prices.json"))
    }
}
