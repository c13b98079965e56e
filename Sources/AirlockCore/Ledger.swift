import AirlockModels
import Foundation
import Metrics

/// The append-only, hash-chained record of one run. Every payload is redacted, then written
/// durably: when `append` returns, the entry is on disk, so the loop can log a decision and
/// only then act on it.
///
/// Writes that allow no action by themselves (a model's response, a tool's result, the
/// run's counters, tool call rows) are `stage`d instead: kept in order and committed with
/// the next `append` (or `flush`) in the same transaction, so the entries leading up to one
/// action cost one fsync. A harness killed before that commit loses only staged writes,
/// which is what it would lose had it died a moment earlier: nothing was acted on yet.
public actor Ledger {
    public nonisolated let run: String
    private let store: any RunStore
    private let redactor: Redactor
    private let clock: @Sendable () -> Date
    private var last: LedgerEntry?
    /// Staged writes, committed with the next append.
    private var pending = RunWrites()
    /// Whether a commit is under way; callers arriving meanwhile wait in `waiting`, in order,
    /// and each is handed the turn when the one before it ends.
    private var committing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// `redactor` defaults to the store's. `clock` is for tests.
    public init(store: any RunStore, run: String, redactor: Redactor? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.run = run
        self.redactor = redactor ?? store.redactor
        self.clock = clock
    }

    /// Appends an entry (with everything staged before it) and returns it as stored.
    /// Continues an existing chain (a resumed run).
    @discardableResult
    public func append(_ kind: LedgerKind, _ payload: JSONValue = .object([:])) async throws -> LedgerEntry {
        let entries = try await append(batch: [(kind, payload)])
        guard let entry = entries.last else { throw StoreError.internalError("no entry appended") }
        return entry
    }

    /// Appends several entries, after everything staged, in one durable transaction (one
    /// fsync): the entries that lead up to one action are written together, before it.
    @discardableResult
    public func append(batch: [(LedgerKind, JSONValue)]) async throws -> [LedgerEntry] {
        try await commit(adding: batch.map { ($0.0, redactor.redact($0.1)) })
    }

    /// Appends an entry that allows no action (with everything staged) in a transaction that
    /// is written but not fsync'd: a killed harness keeps it; a power loss before the next
    /// `append` may drop it, and only it, since that append's fsync covers it. The loop uses
    /// it for the entries before a model call, which is the harness's own work, not an action.
    public func write(_ kind: LedgerKind, _ payload: JSONValue) async throws {
        _ = try await commit(adding: [(kind, redactor.redact(payload))], synced: false)
    }

    /// Keeps entries to be committed with the next append.
    public func stage(_ batch: [(LedgerKind, JSONValue)]) {
        pending.ledger += batch.map { ($0.0, redactor.redact($0.1)) }
    }

    /// Keeps store writes (tool call rows, the run's row) to be committed with the next append.
    public func stage(_ writes: RunWrites) {
        var writes = writes
        writes.ledger = writes.ledger.map { ($0.0, redactor.redact($0.1)) }
        pending.append(writes)
    }

    /// Forgets what is staged: for a run whose end could not be written, which must not
    /// have its row marked finished by a later commit.
    public func discardStaged() {
        pending = RunWrites()
    }

    /// Commits what is staged, if anything.
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        _ = try await commit(adding: [])
    }

    /// Commits the staged writes followed by `items`, and returns the entries of `items` as
    /// stored. One commit at a time: a caller arriving while another's is in flight (the
    /// actor is re-entered across the await) waits, so staged writes are taken exactly once
    /// and the chain's order is the order of the calls. A failed commit's staged writes are
    /// put back in front, for the next one.
    private func commit(adding items: [(LedgerKind, JSONValue)], synced: Bool = true) async throws -> [LedgerEntry] {
        if committing { await withCheckedContinuation { waiting.append($0) } }
        committing = true
        defer { if waiting.isEmpty { committing = false } else { waiting.removeFirst().resume() } }
        let staged = pending
        var writes = staged
        writes.ledger += items
        writes.synced = synced
        pending = RunWrites()
        let began = DispatchTime.now()
        let entries: [LedgerEntry]
        do {
            if store.commitsInPlace {
                entries = try await store.commit(run: run, writes, now: clock)
            } else {
                entries = try await Task { [store, run, clock] in try await store.commit(run: run, writes, now: clock) }.value
            }
        } catch {
            var restored = staged
            restored.append(pending)
            pending = restored
            throw error
        }
        Metrics.Timer(label: "airlock_ledger_append_seconds").recordInterval(since: began)
        if let entry = entries.last { last = entry }
        return Array(entries.dropFirst(staged.ledger.count))
    }

    @discardableResult
    public func append(kind: LedgerKind, payload: JSONValue) async throws -> LedgerEntry {
        try await append(kind, payload)
    }

    /// The last entry this actor appended, if any.
    public var lastEntry: LedgerEntry? { last }

    public func entries() async throws -> [LedgerEntry] {
        try await store.ledgerEntries(run: run)
    }

    public func verify() async throws -> VerifyReport {
        try await store.verifyLedger(run: run)
    }
}
