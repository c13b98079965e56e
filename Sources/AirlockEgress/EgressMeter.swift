import Synchronization

/// Counts every byte to and from the sandbox across all connections against `maxBytes`.
final class EgressMeter: Sendable {
    private let state: Mutex<(used: Int, exhausted: Bool, limit: Int?)>

    init(limit: Int?) { state = Mutex((0, false, limit)) }

    var limit: Int? { state.withLock { $0.limit } }

    /// A new limit (an approver extended the budget): under it, new connections pass again.
    func setLimit(_ limit: Int?) {
        state.withLock { state in
            state.limit = limit
            state.exhausted = limit.map { state.used >= $0 } ?? false
        }
    }

    var used: Int { state.withLock { $0.used } }
    var exhausted: Bool { state.withLock { $0.exhausted } }

    enum Charge { case within, exhausted, crossedNow }

    /// Adds `bytes`. `.crossedNow` is returned exactly once, to the charge that reached the
    /// limit, so one caller cuts everything.
    func charge(_ bytes: Int) -> Charge {
        state.withLock { state in
            state.used += bytes
            guard let limit = state.limit, state.used >= limit else { return .within }
            if state.exhausted { return .exhausted }
            state.exhausted = true
            return .crossedNow
        }
    }
}
