/// Races an operation against the run's deadline: whichever ends first wins and the other
/// is cancelled. A budget the agent cannot evade has to interrupt work in progress, not
/// only be checked between steps.
enum Deadline {
    enum Raced<T: Sendable>: Sendable {
        case value(T)
        case expired
    }

    static func race<T: Sendable>(_ deadline: ContinuousClock.Instant?,
                                  _ operation: @escaping @Sendable () async -> T) async -> Raced<T> {
        guard let deadline else { return .value(await operation()) }
        if deadline <= .now { return .expired }
        return await withTaskGroup(of: Raced<T>?.self) { group in
            group.addTask { .value(await operation()) }
            group.addTask {
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return nil }
                return .expired
            }
            var outcome: Raced<T> = .expired
            while let next = await group.next() {
                if let next {
                    outcome = next
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }
}
