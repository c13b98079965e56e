import Synchronization

/// Runs `body` against a deadline and returns at the first of the two, without waiting for
/// the loser: a body that ignores cancellation cannot hold the caller past the deadline.
enum Race {
    static func run(timeout: Duration, timedOut: any Error & Sendable,
                    _ body: @escaping @Sendable () async throws -> Void) async -> Result<Void, any Error> {
        await run(timeout: timeout, timedOut: timedOut) { _ in try await body() }
    }

    /// The same, and `body` may end the race early with success by calling the closure it is
    /// given (its own work then goes on, cancelled, in the background).
    static func run(timeout: Duration, timedOut: any Error & Sendable,
                    _ body: @escaping @Sendable (_ settle: @escaping @Sendable () -> Void) async throws -> Void) async -> Result<Void, any Error> {
        let once = Mutex<CheckedContinuation<Result<Void, any Error>, Never>?>(nil)
        let finish: @Sendable (Result<Void, any Error>) -> Void = { result in
            once.withLock { continuation in
                continuation?.resume(returning: result)
                continuation = nil
            }
        }
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        let result = await withCheckedContinuation { continuation in
            once.withLock { $0 = continuation }
            work = Task {
                do { try await body { finish(.success(())) }; finish(.success(())) } catch { finish(.failure(error)) }
            }
            timer = Task {
                try? await Task.sleep(for: timeout)
                finish(.failure(timedOut))
            }
        }
        work?.cancel()
        timer?.cancel()
        return result
    }
}
