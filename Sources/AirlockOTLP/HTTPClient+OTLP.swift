import AsyncHTTPClient

extension HTTPClient {
    /// The exporter's client. It does not retry connection establishment itself (its default
    /// would keep a request to a dead collector pending until its deadline): the exporter
    /// retries on its own schedule, so a collector that is down fails fast and costs nothing.
    public static let otlp: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            certificateVerification: .fullVerification,
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(5)),
            connectionPool: .seconds(60),
            backgroundActivityLogger: nil)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
