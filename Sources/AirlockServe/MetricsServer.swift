import AirlockPrometheus
import Hummingbird
import Logging

/// `/metrics` alone, for processes that are not `airlock serve` (`airlock worker
/// --metrics-port`). The same guard as serve: loopback without a token, a bearer token
/// (or the token cookie) for anything else.
public struct MetricsServer: Sendable {
    public let configuration: ServeConfiguration
    public let endpoint: MetricsEndpoint

    public init(configuration: ServeConfiguration, endpoint: MetricsEndpoint) {
        self.configuration = configuration
        self.endpoint = endpoint
    }

    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in })
        -> Application<RouterResponder<ServeContext>> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: ServeGuard(configuration: configuration))
        MetricsRoute.register(endpoint, on: router)
        var logger = Logger(label: "airlock.metrics")
        logger.logLevel = .warning
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
