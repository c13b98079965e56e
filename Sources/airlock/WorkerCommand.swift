import AirlockCore
import AirlockPrometheus
import AirlockServe
import ArgumentParser
import Foundation

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "A harness replica: claims queued runs (`airlock submit`) and runs them.",
        discussion: """
        Claims the oldest queued run whose environment variables this worker has, one \
        statement at a time (PostgreSQL: FOR UPDATE SKIP LOCKED), and runs up to \
        --concurrency of them at once. Each claim holds a lease on the database's clock, \
        renewed every third of --lease; a run whose worker died, froze or lost the network \
        is taken over by another worker once its lease runs out and resumed as \
        `airlock resume` would (a model call in flight is redone; a tool call in flight is not \
        re-run unless read-only, and the model is told). Every claim bumps the run's epoch, and \
        every write checks it: a worker that wakes from a freeze cannot add a ledger entry or \
        start a tool call on a run it lost; it stops that run and kills its sandbox.

        SIGTERM or SIGINT drains: no new claims; runs in progress get --grace to finish, then \
        are handed back (queued for another worker to resume); then the worker exits 0.

        Workers share the database (--database or AIRLOCK_DATABASE_URL; SQLite serves \
        workers on one machine) and need each run's workspace at the same path (a shared \
        file system across machines).

        --metrics-port N serves Prometheus metrics at http://127.0.0.1:N/metrics (0 picks a \
        free port, printed on stderr): airlock_queue_depth (runs waiting, read from the \
        database at each scrape), airlock_lease_takeovers_total (runs this worker took over) \
        and the run metrics of `airlock serve`'s /metrics. Loopback by default; \
        --metrics-host for anything else requires a token (--metrics-token or \
        $AIRLOCK_METRICS_TOKEN, sent as Authorization: Bearer TOKEN).
        """)

    @Option(name: .long, help: "Runs at once.")
    var concurrency: Int = 2

    @Option(name: .long, help: "This worker's name in the ledger and `airlock runs` (default: HOST-PID).")
    var name: String?

    @Option(name: .long, help: "How long a claim lasts without renewal (database time).")
    var lease: DurationValue?

    @Option(name: .long, help: "On SIGTERM, how long runs in progress may take before they are handed back.")
    var grace: DurationValue?

    @Option(name: .long, help: "How often an idle worker looks for a queued run.")
    var poll: DurationValue?

    @Flag(name: .long, help: "One JSON event per line on stdout: every run's events, plus worker_* events.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Keep this many sandboxes of the last claimed run's configuration started ahead for the next runs (a warm pool; a run of another configuration drains it; pods are never pooled: docs/batch.md).", valueName: "n"))
    var warm: Int = 0

    @Option(name: .long, help: ArgumentHelp("Serve /metrics on this port (0 picks a free one).", valueName: "port"))
    var metricsPort: Int?

    @Option(name: .long, help: ArgumentHelp("Address for /metrics. Anything but loopback requires a token.", valueName: "addr"))
    var metricsHost: String = "127.0.0.1"

    @Option(name: .long, help: ArgumentHelp("Secret a /metrics scrape must present (default: $AIRLOCK_METRICS_TOKEN).", valueName: "token"))
    var metricsToken: String?

    @OptionGroup var state: StateOptions

    func validate() throws {
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0...65535") }
        if let lease, lease.duration < .milliseconds(300) { throw ValidationError("--lease must be at least 300ms") }
    }

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let metrics = try startMetrics(store)
            defer { metrics?.cancel() }
            let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
            let worker = Worker(store: store, name: name ?? "\(host)-\(getpid())", concurrency: concurrency,
                                lease: lease?.duration ?? .seconds(15), grace: grace?.duration ?? .seconds(30),
                                poll: poll?.duration ?? .milliseconds(20), json: json,
                                pool: warm > 0 ? WarmPool(size: warm) : nil)
            await worker.run()
            await worker.pool?.shutdown()
        }
    }

    /// The /metrics server, when asked for; it stops with the worker.
    func startMetrics(_ store: any RunStore) throws -> Task<Void, Never>? {
        guard let metricsPort else { return nil }
        let token = metricsToken ?? ProcessInfo.processInfo.environment["AIRLOCK_METRICS_TOKEN"]
        let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        let configuration = ServeConfiguration(host: metricsHost, port: metricsPort, token: token, user: user)
        if configuration.token == nil && !ServeConfiguration.isLoopback(metricsHost) {
            throw CLIError("refusing to serve /metrics on \(metricsHost) without a token: pass --metrics-token TOKEN "
                           + "(or AIRLOCK_METRICS_TOKEN), or keep the default --metrics-host 127.0.0.1", code: 2)
        }
        if let problem = configuration.problem {
            throw CLIError(problem.replacingOccurrences(of: "--token", with: "--metrics-token"), code: 2)
        }
        let follower = LedgerMetricsFollower(store: store)
        let endpoint = MetricsEndpoint.bootstrap(refresh: {
            try await follower.refresh()
            FleetMetrics.recordQueueDepth(try await store.runs(limit: nil).filter { $0.status == .queued }.count)
        })
        let app = MetricsServer(configuration: configuration, endpoint: endpoint).application { bound in
            Output.error("airlock worker: metrics at http://\(configuration.host):\(bound)/metrics")
        }
        let host = metricsHost
        return Task {
            // The worker handles SIGTERM itself (drain); the server just ends with it.
            do { try await app.runService(gracefulShutdownSignals: []) } catch {
                Output.error("airlock worker: cannot serve metrics on \(host):\(metricsPort): \(error)")
            }
        }
    }
}
