import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Everything the connections of one proxy share: policy, resolver, CA, meter, records and
/// the registry of open connections (so the budget and shutdown can cut them).
final class ProxyState: Sendable {
    struct Open: Sendable {
        let channel: any Channel
        let connection: NIOLoopBound<EgressConnection>
    }

    let configuration: EgressConfiguration
    let resolver: EgressResolver
    let authority: CertificateAuthority?
    let upstreamTLS: NIOSSLContext?
    let meter: EgressMeter
    let log = RecordLog()
    private let open = Mutex<[ObjectIdentifier: Open]>([:])

    init(configuration: EgressConfiguration) throws {
        for secret in configuration.secrets {
            func fail(_ reason: String) -> EgressError { .invalidSecret(name: secret.name, reason: reason) }
            guard !secret.value.isEmpty else { throw fail("empty value") }
            guard secret.placeholder.utf8.count >= 16 else { throw fail("placeholder shorter than 16 bytes") }
            guard !secret.placeholder.contains(secret.value), !secret.value.contains(secret.placeholder) else {
                throw fail("placeholder and value overlap")
            }
            guard !secret.placeholder.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw fail("placeholder contains a line break")
            }
            guard !secret.hosts.isEmpty else { throw fail("no hosts") }
        }
        self.configuration = configuration
        resolver = try EgressResolver(overrides: configuration.resolve)
        meter = EgressMeter(limit: configuration.maxBytes)
        if configuration.secrets.isEmpty {
            authority = nil
            upstreamTLS = nil
        } else {
            authority = try CertificateAuthority()
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.applicationProtocols = ["http/1.1"]
            do {
                let extra = try configuration.upstreamTrustRootsPEM.flatMap {
                    try NIOSSLCertificate.fromPEMBytes(Array($0.utf8))
                }
                if !extra.isEmpty { tls.additionalTrustRoots = [.certificates(extra)] }
                upstreamTLS = try NIOSSLContext(configuration: tls)
            } catch {
                throw EgressError.certificateAuthority("upstream trust roots: \(error)")
            }
        }
    }

    /// Builds the pipeline of a freshly accepted sandbox connection.
    func setUp(_ channel: any Channel) throws {
        let connection = EgressConnection(state: self, channel: channel, tag: log.tag)
        let key = ObjectIdentifier(connection)
        let admitted = open.withLock { open -> Bool in
            guard open.count < configuration.maxConnections else { return false }
            open[key] = Open(channel: channel, connection: NIOLoopBound(connection, eventLoop: channel.eventLoop))
            return true
        }
        guard admitted else {
            connection.host = "-"
            connection.method = "-"
            connection.deny("too many open connections through the proxy (limit \(configuration.maxConnections))")
            channel.close(promise: nil)
            return
        }
        // A connection that never says where it goes is closed; one that did is left alone
        // (a long download or an idle keep-alive tunnel is the client's business).
        let deadline = configuration.firstRequestTimeout
        channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount.nanoseconds(Int64(deadline.components.seconds) * 1_000_000_000
                                                                                   + deadline.components.attoseconds / 1_000_000_000)) {
            if connection.host.isEmpty { channel.close(promise: nil) }
        }
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            connection.closed()
            _ = self.open.withLock { $0.removeValue(forKey: key) }
        }
        try channel.pipeline.syncOperations.addHandlers([
            ByteCountingHandler(connection: connection),
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .fireError)),
            ProxyFrontHandler(connection: connection),
        ])
    }

    /// Closes every open connection with `reason` on its record; returns when all are closed.
    func cutAll(reason: String) -> [EventLoopFuture<Void>] {
        let all = open.withLock { Array($0.values) }
        return all.map { entry in
            let bound = entry.connection
            entry.channel.eventLoop.execute { bound.value.cut(reason: reason) }
            return entry.channel.closeFuture
        }
    }

    func secrets(for target: EgressTarget) -> [EgressSecret] {
        configuration.secrets.filter { $0.applies(to: target) }
    }
}
