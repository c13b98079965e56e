import Synchronization

/// Counts a store's committed write transactions, and among them the synced ones (an fsync
/// of SQLite's WAL, a WAL flush of PostgreSQL), shared by every copy of the store (`fenced`,
/// `withRedactor`). Tests and `airlock-bench` read it to count what a step costs.
public final class CommitCounter: Sendable {
    private let count = Atomic<Int>(0)
    private let syncedCount = Atomic<Int>(0)

    public init() {}

    public var value: Int { count.load(ordering: .relaxed) }
    /// Commits that were made durable before they returned.
    public var synced: Int { syncedCount.load(ordering: .relaxed) }

    /// Called by a store once a write transaction committed.
    public func committed(synced: Bool = true) {
        count.add(1, ordering: .relaxed)
        if synced { syncedCount.add(1, ordering: .relaxed) }
    }
}
