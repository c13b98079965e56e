import AirlockModels
import Foundation

/// Where a batch stands, read from the store alone (so `batch show` says the same as the
/// process that ran it): each run's outcome, duration and reason, and the totals.
public struct BatchSummary: Sendable {
    /// One run of the batch.
    public struct Item: Sendable {
        public var index: Int
        public var run: RunRecord
        /// From the run's first ledger entry to its `run_finished`, if it finished.
        public var seconds: Double?
        /// `run_finished`'s reason, if any.
        public var reason: String?

        /// `submitted`, `answered`, … for a finished run; else its status (`queued`, `running`, …).
        public var state: String { run.status == .finished ? (run.outcome ?? "failed") : run.status.rawValue }
        public var succeeded: Bool { run.status == .finished && ["submitted", "answered"].contains(run.outcome ?? "") }
    }

    /// The exit code of `airlock batch` when some run did not submit or answer.
    public static let someFailedExitCode: Int32 = 10

    public var batch: BatchRecord
    public var items: [Item]

    public static func load(store: any RunStore, batch: BatchRecord) async throws -> BatchSummary {
        var items: [Item] = []
        for (index, run) in try await store.batchRuns(batch: batch.id).enumerated() {
            var item = Item(index: index, run: run, seconds: nil, reason: nil)
            if run.status == .finished {
                let entries = try await store.ledgerEntries(run: run.id)
                if let first = entries.first, let end = entries.last(where: { $0.kind == .runFinished }) {
                    item.seconds = Double(LedgerSpans.nanos(end.time) &- LedgerSpans.nanos(first.time)) / 1e9
                    item.reason = end.payload["reason"]?.stringValue
                }
            }
            items.append(item)
        }
        return BatchSummary(batch: batch, items: items)
    }

    public var finished: Int { items.filter { $0.run.status == .finished }.count }
    public var succeeded: Int { items.filter(\.succeeded).count }
    public var allSucceeded: Bool { !items.isEmpty && items.allSatisfy(\.succeeded) }
    public var exitCode: Int32 { allSucceeded ? 0 : Self.someFailedExitCode }
    public var inputTokens: Int { items.reduce(0) { $0 + $1.run.inputTokens } }
    public var outputTokens: Int { items.reduce(0) { $0 + $1.run.outputTokens } }
    public var costUSD: Double { items.reduce(0) { $0 + $1.run.costUSD } }

    /// Runs by state (`submitted`: 28, `budget_exceeded`: 1, …), most first.
    public var byState: [(state: String, count: Int)] {
        Dictionary(grouping: items, by: \.state).map { ($0.key, $0.value.count) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.state < $1.state }
    }

    /// The `p`-th percentile (0...1, nearest rank) of the finished runs' durations.
    public func durationPercentile(_ p: Double) -> Double? {
        let sorted = items.compactMap(\.seconds).sorted()
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    public var failures: [Item] { items.filter { $0.run.status == .finished && !$0.succeeded } }

    public var json: JSONValue {
        var states: [String: JSONValue] = [:]
        for (state, count) in byState { states[state] = .int(count) }
        return .object([
            "batch": .string(batch.id), "source": .string(batch.source), "runs": .int(items.count),
            "finished": .int(finished), "succeeded": .int(succeeded), "outcomes": .object(states),
            "median_s": durationPercentile(0.5).map(JSONValue.double) ?? .null,
            "p95_s": durationPercentile(0.95).map(JSONValue.double) ?? .null,
            "input_tokens": .int(inputTokens), "output_tokens": .int(outputTokens), "cost_usd": .double(costUSD),
            "exit_code": .int(Int(exitCode)),
            "failures": .array(failures.map { item in
                .object(["index": .int(item.index), "run": .string(item.run.id), "outcome": .string(item.state),
                         "reason": .string(item.reason ?? "")])
            }),
            "items": .array(items.map { item in
                .object(["index": .int(item.index), "run": .string(item.run.id), "state": .string(item.state),
                         "seconds": item.seconds.map(JSONValue.double) ?? .null, "steps": .int(item.run.steps),
                         "input_tokens": .int(item.run.inputTokens), "output_tokens": .int(item.run.outputTokens),
                         "cost_usd": .double(item.run.costUSD), "reason": item.reason.map(JSONValue.string) ?? .null])
            }),
        ])
    }
}
