import Synchronization

/// Counts a store's committed write transactions (each one durable: an fsync of SQLite's
/// WAL, a WAL flush of PostgreSQL), shared by every copy of the store (`fenced`,
/// `withRedactor`). Tests and `airlock-bench` read it to count what a step costs.
public final class CommitCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    public var value: Int { count.load(ordering: .relaxed) }

    /// Called by a store once a write transaction committed.
    public func committed() { count.add(1, ordering: .relaxed) }
}
