import Foundation

extension BatchSummary {
    /// The summary as a table for people: outcomes by kind, durations, totals, failures.
    public var table: String {
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.1f s", $0) } ?? "-" }
        var lines = ["batch \(batch.id) · \(batch.source)",
                     "  runs: \(items.count) · finished \(finished) · succeeded \(succeeded)"]
        lines.append("  outcomes:")
        for (state, count) in byState {
            lines.append("    " + state.padding(toLength: 18, withPad: " ", startingAt: 0) + String(count))
        }
        lines.append("  duration: median \(seconds(durationPercentile(0.5))) · p95 \(seconds(durationPercentile(0.95)))")
        lines.append("  tokens: \(inputTokens) in + \(outputTokens) out · cost $" + String(format: "%.4f", costUSD))
        if !failures.isEmpty {
            lines.append("  failures:")
            for item in failures {
                lines.append("    #\(item.index + 1) \(item.run.id) \(item.state): \(item.reason ?? "")")
            }
        }
        let unfinished = items.filter { $0.run.status != .finished }
        if !unfinished.isEmpty {
            lines.append("  not finished: \(unfinished.count) (`airlock batch resume \(batch.id)` runs them)")
        }
        return lines.joined(separator: "\n")
    }
}
