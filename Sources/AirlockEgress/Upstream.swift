import NIOCore
import NIOPosix

/// Connections from the proxy to the checked addresses, never to a re-resolved name.
enum Upstream {
    struct NoAddress: Error, CustomStringConvertible { var description: String { "no address to connect to" } }

    static let connectTimeout = TimeAmount.seconds(10)

    /// Tries `addresses` in order; the first that connects wins. `setUp` runs on the new
    /// channel's event loop, which is `eventLoop`, so handlers can share loop-bound state.
    static func connect(addresses: [EgressAddress], port: Int, on eventLoop: any EventLoop,
                        setUp: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        guard let first = addresses.first else {
            return eventLoop.makeFailedFuture(NoAddress())
        }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try setUp(channel) }
            }
        let attempt: EventLoopFuture<any Channel>
        do {
            attempt = bootstrap.connect(to: try socketAddress(first, port: port))
        } catch {
            attempt = eventLoop.makeFailedFuture(error)
        }
        let rest = Array(addresses.dropFirst())
        return attempt.flatMapError { error in
            rest.isEmpty ? eventLoop.makeFailedFuture(error) : connect(addresses: rest, port: port, on: eventLoop, setUp: setUp)
        }
    }

    static func socketAddress(_ address: EgressAddress, port: Int) throws -> SocketAddress {
        try SocketAddress(ipAddress: address.description, port: port)
    }
}
