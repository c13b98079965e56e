import AirlockModels
import Foundation
import Metrics

/// The append-only, hash-chained record of one run. Every payload is redacted, then written
/// in its own durable transaction: when `append` returns, the entry is on disk, so the loop
/// can log a decision and only then act on it.
public actor Ledger {
    public nonisolated let run: String
    private let store: any RunStore
    private let redactor: Redactor
    private let clock: @Sendable () -> Date
    private var last: LedgerEntry?

    /// `redactor` defaults to the store's. `clock` is for tests.
    public init(store: any RunStore, run: String, redactor: Redactor? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.run = run
        self.redactor = redactor ?? store.redactor
        self.clock = clock
    }

    /// Appends an entry and returns it as stored. Continues an existing chain (a resumed run).
    @discardableResult
    public func append(_ kind: LedgerKind, _ payload: JSONValue = .object([:])) async throws -> LedgerEntry {
        let began = DispatchTime.now()
        let entry = try await store.appendLedgerEntry(run: run, kind: kind, payload: redactor.redact(payload),
                                                now: clock)
        Metrics.Timer(label: "airlock_ledger_append_seconds").recordInterval(since: began)
        last = entry
        return entry
    }

    /// Appends several entries in one durable transaction (one fsync): the entries that
    /// lead up to one action are written together, before it.
    @discardableResult
    public func append(batch: [(LedgerKind, JSONValue)]) async throws -> [LedgerEntry] {
        let began = DispatchTime.now()
        let entries = try await store.appendLedgerEntries(run: run, items: batch.map { ($0.0, redactor.redact($0.1)) },
                                                    now: clock)
        Metrics.Timer(label: "airlock_ledger_append_seconds").recordInterval(since: began)
        if let entry = entries.last { last = entry }
        return entries
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
