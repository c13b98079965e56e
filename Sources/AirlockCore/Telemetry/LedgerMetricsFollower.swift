import Foundation
import Metrics

/// Keeps LedgerMetrics up to date with a store: on each `refresh` (a scrape), it reads the
/// entries appended since the last one, run by run, and sets the gauges that describe now
/// (runs by state and outcome, approvals pending). Finished runs read to their end are
/// not asked again.
public actor LedgerMetricsFollower {
    private let store: any RunStore
    private var fold = LedgerMetrics()
    private var cursors: [String: Int] = [:]
    private var done: Set<String> = []
    private var seenStates: Set<[String]> = []

    public init(store: any RunStore) { self.store = store }

    public func refresh() async throws {
        let runs = try await store.runs()
        var byState: [[String]: Int] = [:]
        var pending = 0
        for run in runs {
            byState[[run.status.rawValue, run.outcome ?? "none"], default: 0] += 1
            if run.status == .paused { pending += (try? await store.pendingApprovals(run: run.id).count) ?? 0 }
            guard !done.contains(run.id) else { continue }
            var cursor = cursors[run.id] ?? 0
            while true {
                let entries = try await store.ledgerEntries(run: run.id, after: cursor, limit: 1000)
                for entry in entries { fold.add(entry) }
                cursor = entries.last?.seq ?? cursor
                if entries.count < 1000 { break }
            }
            cursors[run.id] = cursor
            if run.status == .finished { done.insert(run.id); cursors[run.id] = nil }
        }
        // A state no run is in any more reads 0, not its last count.
        for key in seenStates where byState[key] == nil { byState[key] = 0 }
        for (key, count) in byState {
            seenStates.insert(key)
            Gauge(label: "airlock_runs", dimensions: [("state", key[0]), ("outcome", key[1])]).record(count)
        }
        Gauge(label: "airlock_approvals_pending").record(pending)
    }
}
