import AirlockCore
import Foundation
import PostgresNIO
import Synchronization

/// The run store on PostgreSQL, shared by every harness replica that names the same
/// database (`--database postgres://…` or `AIRLOCK_DATABASE_URL`).
///
/// Durability: each write is one transaction committed with the server's default
/// `synchronous_commit = on` (the WAL is flushed before COMMIT returns). A write that fails
/// because the connection dropped before COMMIT was sent is retried with backoff for up to
/// `retryWindow` (PostgreSQL restarted, a network blip); one that fails during COMMIT is not,
/// because it may have landed, and the caller sees the error.
public struct PostgresStore: RunStore {
    public let url: PostgresURL
    public let redactor: Redactor
    public let stateDirectory: URL
    let client: PostgresClient
    let runner: ClientRunner
    let fence: RunFence?
    let logger: Logger
    public let commits: CommitCounter
    /// How long a write keeps retrying a lost connection.
    public var retryWindow: Duration = .seconds(30)

    public var location: String { url.display }

    /// Connects, checks the server and applies the migrations the schema lacks (under an
    /// advisory lock, so replicas starting together apply each one once). Errors are
    /// `StoreError`s whose text names the fix.
    public static func open(url text: String, stateDirectory: URL, redactor: Redactor = Redactor()) async throws -> PostgresStore {
        let url: PostgresURL
        do { url = try PostgresURL(text) } catch { throw StoreError.unavailable("\(error)") }
        var logger = Logger(label: "airlock.postgres")
        logger.logLevel = .critical
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(),
                                                              id: 1, logger: logger)
        } catch {
            throw PostgresFailure.describe(error, url: url)
        }
        do {
            try await PostgresSchema.migrate(connection, logger: logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            if let error = error as? StoreError { throw error }
            throw PostgresFailure.describe(error, url: url)
        }
        let client = PostgresClient(configuration: try url.clientConfiguration(), backgroundLogger: logger)
        return PostgresStore(url: url, redactor: redactor, stateDirectory: stateDirectory, client: client,
                             runner: ClientRunner(client), fence: nil, logger: logger, commits: CommitCounter())
    }

    public func fenced(_ fence: RunFence) -> any RunStore {
        PostgresStore(url: url, redactor: redactor, stateDirectory: stateDirectory, client: client,
                      runner: runner, fence: fence, logger: logger, commits: commits, retryWindow: retryWindow)
    }

    public func withRedactor(_ redactor: Redactor) -> any RunStore {
        PostgresStore(url: url, redactor: redactor, stateDirectory: stateDirectory, client: client,
                      runner: runner, fence: fence, logger: logger, commits: commits, retryWindow: retryWindow)
    }

    init(url: PostgresURL, redactor: Redactor, stateDirectory: URL, client: PostgresClient, runner: ClientRunner,
         fence: RunFence?, logger: Logger, commits: CommitCounter, retryWindow: Duration = .seconds(30)) {
        self.url = url
        self.redactor = redactor
        self.stateDirectory = stateDirectory
        self.client = client
        self.runner = runner
        self.fence = fence
        self.logger = logger
        self.commits = commits
        self.retryWindow = retryWindow
    }

    /// One transaction on a pooled connection, retried while the connection is what failed
    /// and COMMIT was not yet sent.
    func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await attempt(.transaction, body)
    }

    /// A read: its statements run without BEGIN/COMMIT (two round trips saved), retried
    /// whenever the connection failed.
    func read<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await attempt(.read, body)
    }

    /// One write statement, atomic on its own: no BEGIN/COMMIT; retried only when no
    /// connection could be had, since once sent it may have committed.
    func statement<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await attempt(.statement, body)
    }

    enum Mode { case transaction, read, statement }

    private func attempt<T: Sendable>(_ mode: Mode, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + retryWindow
        var delay = Duration.milliseconds(50)
        while true {
            let committing = Flag()
            do {
                return try await client.withConnection { connection in
                    switch mode {
                    case .read: return try await body(connection)
                    case .statement:
                        committing.set()
                        let value = try await body(connection)
                        commits.committed()
                        return value
                    case .transaction: break
                    }
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let value = try await body(connection)
                        committing.set()
                        try await connection.query("COMMIT", logger: logger)
                        commits.committed()
                        return value
                    } catch {
                        if !committing.isSet { _ = try? await connection.query("ROLLBACK", logger: logger) }
                        throw error
                    }
                }
            } catch {
                guard !committing.isSet, PostgresFailure.isTransient(error), ContinuousClock.now + delay < deadline else {
                    if error is StoreError { throw error }
                    throw PostgresFailure.describe(error, url: url)
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// Inside a write: locks the run's row (serialising writers of one run) and refuses the
    /// write when this store is fenced on it and the epoch moved.
    func lockRun(_ run: String, _ connection: PostgresConnection) async throws {
        let rows = try await connection.rows("SELECT epoch FROM runs WHERE id = \(run) FOR UPDATE", logger)
        guard let fence, fence.run == run else { return }
        let epoch = try rows.first?["epoch"].decode(Int.self) ?? -1
        guard epoch == fence.epoch else { throw StoreError.fenced(run: run, epoch: fence.epoch) }
    }
}

/// Keeps the client's connection pool running for as long as a store uses it.
final class ClientRunner: Sendable {
    private let task: Task<Void, Never>

    init(_ client: PostgresClient) {
        task = Task { await client.run() }
    }

    deinit { task.cancel() }
}

/// A one-way flag shared with a closure.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

extension PostgresConnection {
    /// All rows of a query, each addressable by column name.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }
}

extension PostgresStore {
    /// For `airlock-bench`: `count` single-INSERT transactions on a scratch table, through
    /// the same pool and transaction path as the store, per second.
    public func rawBaseline(count: Int) async throws -> Double {
        try await transaction { connection in
            try await connection.query("CREATE TABLE IF NOT EXISTS bench_raw (i BIGINT, payload TEXT)", logger: logger)
        }
        let began = ContinuousClock.now
        for index in 0..<count {
            try await transaction { connection in
                try await connection.query("INSERT INTO bench_raw VALUES (\(index), 'a ledger entry of typical size')", logger: logger)
            }
        }
        let elapsed = ContinuousClock.now - began
        try await transaction { connection in try await connection.query("DROP TABLE bench_raw", logger: logger) }
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
