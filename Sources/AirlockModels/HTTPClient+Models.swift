import AsyncHTTPClient

extension HTTPClient {
    /// The client every provider shares unless given another. A global that is never shut
    /// down (and so never deinitialised with open connections) cannot crash at exit.
    /// Unlike `HTTPClient.shared` it has no read timeout: a model may think silently for
    /// minutes, and each attempt is bounded by `requestTimeout` instead. Connecting gets
    /// 10 s, since the pool keeps retrying a refused connection until then.
    public static let models: HTTPClient = {
        let configuration = HTTPClient.Configuration(
            certificateVerification: .fullVerification,
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10)),
            connectionPool: .seconds(60),
            backgroundActivityLogger: nil)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                          configuration: configuration)
    }()
}
