import NIOCore
import NIOPosix
import Synchronization

/// The harness's HTTP forward proxy: the sandbox's only way out. See docs/egress.md.
public final class EgressProxy: Sendable {
    let state: ProxyState
    private let listeners = Mutex<[any Channel]>([])

    /// Validates the configuration; creates the per-run CA when any secret is configured.
    public init(configuration: EgressConfiguration) throws {
        state = try ProxyState(configuration: configuration)
    }

    /// PEM of the CA the sandbox must trust for secret hosts; nil without secrets.
    public var certificateAuthorityPEM: String? { state.authority?.certificatePEM }

    /// Listens on a Unix socket, replacing a stale socket file at `unixSocketPath`.
    public func start(unixSocketPath: String) async throws {
        do {
            let channel = try await bootstrap().bind(unixDomainSocketPath: unixSocketPath, cleanupExistingSocketFile: true).get()
            listeners.withLock { $0.append(channel) }
        } catch {
            throw EgressError.listen("\(unixSocketPath): \(error)")
        }
    }

    /// Listens on TCP (tests, debugging); returns the bound port (useful with `port: 0`).
    public func start(host: String, port: Int) async throws -> Int {
        do {
            let channel = try await bootstrap().bind(host: host, port: port).get()
            listeners.withLock { $0.append(channel) }
            return channel.localAddress?.port ?? port
        } catch {
            throw EgressError.listen("\(host):\(port): \(error)")
        }
    }

    /// Tags connections that start from now on (e.g. with the current tool call id).
    public func setTag(_ tag: String?) { state.log.tag = tag }

    /// Finished records, oldest first; each is returned once.
    public func takeRecords() -> [EgressRecord] { state.log.take() }

    public var bytesUsed: Int { state.meter.used }
    public var budgetExhausted: Bool { state.meter.exhausted }

    /// Changes the byte cap while the proxy runs (nil: none). Connections the old cap cut
    /// stay cut; new ones are admitted while under the new cap.
    public func setByteLimit(_ limit: Int?) { state.meter.setLimit(limit) }

    /// Stops listening and closes open connections; their records are finished on return.
    public func shutdown() async {
        let closing = listeners.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in closing { try? await channel.close() }
        for future in state.cutAll(reason: "proxy shut down") { try? await future.get() }
    }

    private func bootstrap() -> ServerBootstrap {
        let state = state
        return ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try state.setUp(channel) }
            }
    }
}
