import AirlockCore
import AirlockPrometheus
import Hummingbird
import Logging
import NIOCore

/// `airlock serve`: builds the router (guard, pages, API) and the Hummingbird application.
public struct ServeApp: Sendable {
    public let configuration: ServeConfiguration
    public let data: ServeData
    /// `/metrics` (Prometheus text), behind the same guard as every other route.
    public let metrics: MetricsEndpoint?
    /// Queues runs for `POST /api/runs`; without one the route answers 501.
    public let submitter: (any RunSubmitter)?

    public init(configuration: ServeConfiguration, store: any RunStore, submitter: (any RunSubmitter)? = nil,
                metrics: MetricsEndpoint? = nil) {
        self.configuration = configuration
        self.data = ServeData(store: store)
        self.submitter = submitter
        self.metrics = metrics
    }

    public func router() -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: ServeGuard(configuration: configuration))
        ServePages(configuration: configuration, data: data).register(on: router)
        ServeAPI(configuration: configuration, data: data).register(on: router)
        if let metrics { MetricsRoute.register(metrics, on: router) }
        ServeRunsAPI(configuration: configuration, data: data, submitter: submitter).register(on: router)
        return router
    }

    /// The server; `onListening` gets the bound port (the chosen one when asked for port 0).
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in })
        -> Application<RouterResponder<ServeContext>> {
        var logger = Logger(label: "airlock.serve")
        logger.logLevel = .warning
        return Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
