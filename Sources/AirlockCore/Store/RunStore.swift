import AirlockModels
import Foundation

/// Where runs, tool calls, approvals and the ledger live. The core depends on this
/// interface only; `AirlockStoreSQLite` (one file, the embedded default) and
/// `AirlockStorePostgres` (shared by harness replicas) implement it, and only the `airlock`
/// executable picks one.
///
/// Every write call is one durable transaction: when it returns, what it wrote survives a
/// crash of the harness. `commit` groups what the loop writes between two actions (ledger
/// entries, tool call rows, the run's counters) into one. A store made with `fenced(_:)` refuses every write to the fenced
/// run once another harness has claimed it since (`StoreError.fenced`), checked inside the
/// write's own transaction.
public protocol RunStore: Sendable {
    /// Applied to everything written: ledger payloads, tool call arguments and results,
    /// run tasks and configs.
    var redactor: Redactor { get }
    /// This machine's directory for local files (run locks, workspace snapshots). Never
    /// mounted into a sandbox.
    var stateDirectory: URL { get }
    /// Where the data lives, for messages (a path, or a URL without its password).
    var location: String { get }

    func createRun(task: String, model: String, workspace: String, config: JSONValue, now: Date) async throws -> RunRecord
    /// Reads, changes and writes back a run in one transaction; `updated_at` is set, and
    /// `finished_at` too when the status becomes `finished`.
    func updateRun(_ id: String, now: Date, _ change: @Sendable (inout RunRecord) -> Void) async throws -> RunRecord
    func run(id: String) async throws -> RunRecord?
    /// Runs, newest first.
    func runs(limit: Int?) async throws -> [RunRecord]
    /// The run whose id is `reference`, else the only run whose id starts with it.
    func resolveRun(_ reference: String) async throws -> RunRecord

    /// Appends entries in one transaction, chained to the run's last stored entry (read
    /// inside the transaction, so two writers never fork the chain). Payloads must already
    /// be redacted; `Ledger` does that.
    func appendLedgerEntries(run: String, items: [(LedgerKind, JSONValue)],
                             now: @Sendable () -> Date) async throws -> [LedgerEntry]
    /// Applies `writes` to `run` in one durable transaction (fenced like every write) and
    /// returns the ledger entries as stored: what the loop writes between two actions.
    func commit(run: String, _ writes: RunWrites, now: @Sendable () -> Date) async throws -> [LedgerEntry]
    /// True when `commit` never suspends (it blocks instead, as SQLite does), so a cancelled
    /// caller cannot cut it short: `Ledger` then calls it in place rather than in a task of
    /// its own, which saves every commit a thread hand-off.
    var commitsInPlace: Bool { get }
    /// Write transactions this store (and its fenced and redacting copies) committed.
    var commits: CommitCounter { get }
    /// A run's entries with `seq > after`, in seq order, as stored.
    func ledgerEntries(run: String, after: Int) async throws -> [LedgerEntry]

    /// Records a tool call as proposed (arguments redacted); recording it again starts its row afresh.
    func recordToolCall(run: String, step: Int, call: ToolCall, status: ToolCallStatus, now: Date) async throws -> ToolCallRecord
    func updateToolCall(run: String, callID: String, status: ToolCallStatus, result: String?, exitCode: Int?,
                        finished: Bool, now: Date) async throws -> ToolCallRecord
    func toolCall(run: String, callID: String) async throws -> ToolCallRecord?
    /// A run's tool calls in the order they were proposed.
    func toolCalls(run: String) async throws -> [ToolCallRecord]

    /// Answers a pending approval from anywhere. The first answer stands; false when the
    /// call already had one.
    /// `amount`: with `extend`, how much to add to the budget that ran out.
    func answerApproval(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                        amount: Double?, by: String, now: Date) async throws -> Bool
    func approvalAnswer(run: String, call: String) async throws -> ApprovalAnswer?

    /// Queues a run for a worker (status `queued`, no ledger yet). `request` is what the
    /// worker needs to rebuild the run; `needs` the environment variables it must have.
    func submitRun(task: String, model: String, workspace: String, config: JSONValue,
                   request: JSONValue, needs: [String], now: Date) async throws -> RunRecord
    /// Claims one run in one statement: the oldest queued run, or a held run whose lease
    /// expired (on the database's clock), whose needs `available` covers. Bumps its epoch.
    func claimRun(worker: String, available: Set<String>, lease: Duration) async throws -> RunClaim?
    /// Extends a claim's lease (database time). `.lost` once another harness claimed it.
    func renewLease(_ claim: RunClaim, lease: Duration) async throws -> LeaseRenewal
    /// A local harness's hold on the run it drives, in a store other machines share: the
    /// lease is set without a worker, so workers never take the run over, but `runs`,
    /// `resume` and `serve` on any machine see that a live harness drives it.
    func holdRun(_ run: String, lease: Duration) async throws
    /// True when other machines may read this store (PostgreSQL): a local run's lock file
    /// is then not enough to tell whether its harness lives.
    var sharedAcrossMachines: Bool { get }
    /// Hands a claimed run back unfinished: queued again, for any worker, right away.
    func releaseRun(_ claim: RunClaim) async throws
    /// The queued request of a run (nil for a run started with `airlock run`).
    func queuedRequest(run: String) async throws -> QueuedRequest?
    /// Records who asked a run to stop and why. The first request stands; false if the run
    /// was already finished or asked.
    func requestStop(run: String, by: String, reason: String, now: Date) async throws -> Bool
    func stopRequest(run: String) async throws -> StopRequest?
    /// A worker's heartbeat: which environment variables it can serve.
    func registerWorker(name: String, available: Set<String>) async throws
    /// Workers seen within `within`.
    func liveWorkers(within: Duration) async throws -> [WorkerInfo]

    /// Stores a batch and queues all its runs in one transaction (tagged with the batch and
    /// their index), so a batch exists whole or not at all. Queued batch runs are claimed
    /// only through `claimBatchRun`, never by `claimRun` (a worker).
    func createBatch(source: String, options: JSONValue, runs: [BatchRunRequest], now: Date) async throws -> BatchRecord
    /// The batch whose id is `reference`, else the only one whose id starts with it.
    func resolveBatch(_ reference: String) async throws -> BatchRecord
    /// Batches, newest first.
    func batches(limit: Int?) async throws -> [BatchRecord]
    /// A batch's runs in the order of its file.
    func batchRuns(batch: String) async throws -> [RunRecord]
    /// Claims one run of the batch, as `claimRun` does: the first queued one, or a held one
    /// whose lease expired — or, with `reclaim`, held by any other holder (the caller knows
    /// the batch's previous process is dead).
    func claimBatchRun(batch: String, worker: String, lease: Duration, reclaim: Bool) async throws -> RunClaim?

    /// This store (the same database and connections) redacting with `redactor` instead.
    func withRedactor(_ redactor: Redactor) -> any RunStore

    /// This store, refusing writes to `fence.run` unless the run's epoch is still `fence.epoch`.
    func fenced(_ fence: RunFence) -> any RunStore
}
