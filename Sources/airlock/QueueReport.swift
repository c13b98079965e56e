import AirlockCore
import Foundation

/// Why queued runs are still queued: no live worker, or none with the variables they need.
enum QueueReport {
    /// Workers seen within this are live (they heartbeat every 2 s).
    static let liveWithin: Duration = .seconds(10)

    static func waiting(_ queued: [RunRecord], in store: any RunStore) async throws -> [String: String] {
        guard !queued.isEmpty else { return [:] }
        let workers = try await store.liveWorkers(within: liveWithin)
        var reasons: [String: String] = [:]
        for run in queued {
            let needs = try await store.queuedRequest(run: run.id)?.needs ?? []
            if workers.isEmpty {
                reasons[run.id] = "no live worker (start one with `airlock worker`)"
                continue
            }
            let served = workers.contains { Set(needs).isSubset(of: Set($0.available)) }
            if !served {
                let missing = needs.filter { name in !workers.contains { $0.available.contains(name) } }
                reasons[run.id] = missing.isEmpty
                    ? "no single live worker has all of \(needs.joined(separator: ", "))"
                    : "no live worker has \(missing.joined(separator: ", ")) in its environment"
            } else {
                reasons[run.id] = "waiting for a free worker"
            }
        }
        return reasons
    }
}
