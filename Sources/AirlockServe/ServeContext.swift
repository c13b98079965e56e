import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the client's address, which goes
/// into the identity recorded with an answer.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String
    /// Set by `ServeGuard` when the request carried `Authorization: Bearer`, which a browser
    /// never adds on its own, so such a request needs no CSRF token.
    public var bearerAuthenticated = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
