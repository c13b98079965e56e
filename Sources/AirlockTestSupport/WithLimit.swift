import Synchronization

/// A body that did not finish within its limit.
public struct LimitExceeded: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "did not finish within \(limit)" }
}

/// Runs `body`, failing after `limit`: a hang becomes a test failure.
///
/// The limit holds even when `body` ignores cancellation (a thread blocked in a system call,
/// a continuation never resumed): the body runs in its own task, which is cancelled and left
/// behind, and the caller gets `LimitExceeded` on time. A task group would wait for it.
public func withLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = Outcome<T>()
    let work = Task { outcome.finish(await Result(catching: { try await body() })) }
    let timer = Task {
        try await Task.sleep(for: limit)
        outcome.finish(.failure(LimitExceeded(limit: limit)))
        work.cancel()
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.value
    } onCancel: {
        work.cancel()
    }
}

/// The first of the body's result and the timer's failure, handed to one waiter.
private final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<T, any Error>?)>((nil, nil))

    func finish(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<T, any Error>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
