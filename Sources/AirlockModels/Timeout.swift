/// Runs `operation` but gives up after `limit`. AsyncHTTPClient's own deadline stops at
/// the response head, so a stalled stream needs this outer bound.
func withTimeout<T: Sendable>(_ limit: Duration,
                              _ operation: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: TimeoutOutcome<T>.self) { group in
        group.addTask { .finished(try await operation()) }
        group.addTask {
            try await Task.sleep(for: limit)
            return .timedOut
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        switch first {
        case .finished(let value): return value
        case .timedOut:
            throw AttemptFailure.transport("request timed out after \(limit)")
        }
    }
}

private enum TimeoutOutcome<T: Sendable>: Sendable {
    case finished(T)
    case timedOut
}
