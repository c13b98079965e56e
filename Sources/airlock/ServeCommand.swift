import AirlockCore
import AirlockPrometheus
import AirlockServe
import ArgumentParser
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A web page for runs, transcripts and pending approvals, with approve / deny buttons.",
        discussion: """
        Runs started with --approver web wait for an answer; this page lists them (Approvals), \
        shows every run's transcript, budget use and ledger status (Runs), and answers with \
        Approve, Approve rule or Deny (with a reason). An answer is recorded in the run's ledger \
        as web:<your user>@<client address>; a run whose harness died takes it when resumed.

        Security: it listens on 127.0.0.1 and answers only requests addressed to a loopback \
        name. Any other --host needs --token (or AIRLOCK_SERVE_TOKEN); then every request must \
        send Authorization: Bearer TOKEN, or open /?token=TOKEN once, which sets an HttpOnly, \
        SameSite=Strict cookie. POSTs need the page's CSRF token (X-Airlock-CSRF header, from \
        GET /api/session) unless they carry the bearer token, and cross-site requests are refused.

        Metrics: GET /metrics answers in the Prometheus text format (behind the same checks): \
        runs by state and outcome, model calls and tokens by model, tool calls by tool and \
        status with latency, sandbox starts by backend with start time, approvals pending, \
        egress bytes — a fold of every run's ledger in the state directory. See \
        docs/observability.md.

        JSON API (docs/api.md): GET /api/runs, /api/runs/RUN, /api/runs/RUN/events (SSE), \
        /api/pending[?run=RUN], /api/session; POST /api/runs (submit), /api/runs/RUN/cancel; \
        POST /api/approve {"run","call","rule"?}, POST /api/deny {"run","call","reason"?,"terminate"?}.
        """)

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = ServeConfiguration.defaultPort

    @Option(name: .long, help: ArgumentHelp("Address to listen on. Anything but loopback requires --token.", valueName: "addr"))
    var host: String = "127.0.0.1"

    @Option(name: .long, help: ArgumentHelp("Secret every request must present (default: $AIRLOCK_SERVE_TOKEN).", valueName: "token"))
    var token: String?

    @OptionGroup var state: StateOptions

    @OptionGroup(title: "Diagnostics") var log: LogOptions

    func run() async throws {
        try await Output.guarded {
            let logger = log.logger("airlock.serve")
            let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
            let token = self.token ?? ProcessInfo.processInfo.environment["AIRLOCK_SERVE_TOKEN"]
            let configuration = ServeConfiguration(host: host, port: port, token: token, user: user)
            if let problem = configuration.problem { throw CLIError(problem, code: 2) }
            let store = try await state.open()
            let follower = LedgerMetricsFollower(store: store)
            let metrics = MetricsEndpoint.bootstrap(refresh: { try await follower.refresh() })
            let app = ServeApp(configuration: configuration, store: store, submitter: APISubmitter(),
                               metrics: metrics).application { bound in
                logger.info("serving", metadata: ["port": "\(bound)", "host": "\(configuration.host)"])
                var shown = configuration
                shown.port = bound
                Output.line("airlock serve: \(shown.displayURL) (state \(store.location))")
                if configuration.token != nil {
                    Output.line("open \(shown.displayURL)?token=TOKEN once in a browser, or send Authorization: Bearer TOKEN")
                }
            }
            do {
                try await app.runService()
            } catch {
                throw CLIError("cannot serve on \(host):\(port): \(error)", code: 1)
            }
        }
    }
}
