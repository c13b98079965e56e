import Synchronization

/// Counts every byte to and from the sandbox across all connections against `maxBytes`.
final class EgressMeter: Sendable {
    let limit: Int?
    private let state = Mutex<(used: Int, exhausted: Bool)>((0, false))

    init(limit: Int?) { self.limit = limit }

    var used: Int { state.withLock { $0.used } }
    var exhausted: Bool { state.withLock { $0.exhausted } }

    enum Charge { case within, exhausted, crossedNow }

    /// Adds `bytes`. `.crossedNow` is returned exactly once, to the charge that reached the
    /// limit, so one caller cuts everything.
    func charge(_ bytes: Int) -> Charge {
        state.withLock { state in
            state.used += bytes
            guard let limit, state.used >= limit else { return .within }
            if state.exhausted { return .exhausted }
            state.exhausted = true
            return .crossedNow
        }
    }
}
