import NIOCore
import NIOHTTP1
import NIOSSL

/// Checks one HTTP request from the sandbox and forwards it, streaming, to its upstream in
/// origin-form with `Connection: close`; then relays the response and closes. Used for
/// absolute-URI proxy requests and for HTTP seen inside a CONNECT tunnel (plain or TLS).
final class HTTPForwardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum Mode {
        /// A forward-proxy request: the target comes from its absolute `http://` URI.
        case proxy
        /// Inside an admitted CONNECT tunnel to `target`, already resolved to `addresses`.
        case tunnel(EgressTarget, [EgressAddress], tls: Bool)
    }

    private enum State {
        case idle
        case admitting([HTTPServerRequestPart])
        case forwarding(any Channel)
        case done
    }

    private let connection: EgressConnection
    private let mode: Mode
    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// Set at the request's `.end`: parts of a pipelined second request are never sent.
    private var requestComplete = false

    init(connection: EgressConnection, mode: Mode) {
        self.connection = connection
        self.mode = mode
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case let (.idle, .head(head)):
            state = .admitting([])
            begin(head, context: context)
        case (.admitting(var held), _):
            held.append(part)
            state = .admitting(held)
        case let (.forwarding(upstream), .body(buffer)) where !requestComplete:
            upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            if !upstream.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        case let (.forwarding(upstream), .end(trailers)) where !requestComplete:
            requestComplete = true
            upstream.writeAndFlush(HTTPClientRequestPart.end(trailers), promise: nil)
        default:
            // One request per connection: anything after it is dropped.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case let .forwarding(upstream) = state { upstream.flush() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .idle = state, !(error is NIOSSLError), !(error is BoringSSLError) {
            state = .done
            refuse("malformed request: \(error)", status: .badRequest)
        } else {
            if connection.reason == nil, connection.allowed == true { connection.reason = "client error: \(error)" }
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case let .forwarding(upstream) = state {
            upstream.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Request

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let request: ForwardRequest
        switch ForwardRequest.check(head, mode: mode) {
        case let .refused(reason, target):
            if let target { connection.describe(target, method: head.method.rawValue, path: nil, scheme: "http") }
            else {
                connection.host = "?"
                connection.method = head.method.rawValue
            }
            connection.path = String(head.uri.prefix(2048))
            return refuse(reason)
        case let .accepted(accepted):
            request = accepted
        }
        let scheme = if case .tunnel(_, _, tls: true) = mode { "https-intercepted" } else { "http" }
        connection.describe(request.target, method: head.method.rawValue, path: request.path, scheme: scheme)
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        switch mode {
        case .proxy:
            Admission.decide(request.target, state: connection.state, on: context.eventLoop)
                .assumeIsolated().whenSuccess { admission in
                    switch admission {
                    case let .denied(reason): self.refuse(reason)
                    case let .allowed(addresses):
                        self.connection.allow()
                        self.connectUpstream(request, addresses: addresses, tls: false)
                    }
                }
        case let .tunnel(_, addresses, tls):
            connectUpstream(request, addresses: addresses, tls: tls)
        }
    }

    private func connectUpstream(_ request: ForwardRequest, addresses: [EgressAddress], tls: Bool) {
        guard let context, context.channel.isActive else { return }
        let secrets = connection.state.secrets(for: request.target)
        let (head, used) = request.upstreamHead(substituting: secrets)
        connection.secretsUsed = used
        let tlsContext = tls ? connection.state.upstreamTLS : nil
        let serverName = request.target.address == nil ? request.target.hostString : nil
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Upstream.connect(addresses: addresses, port: request.target.port, on: context.eventLoop) { channel in
            let sync = channel.pipeline.syncOperations
            if let tlsContext {
                try sync.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
            }
            try sync.addHandler(HTTPRequestEncoder())
            try sync.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
            try sync.addHandler(UpstreamResponseHandler(forwarder: bound.value))
        }.assumeIsolated().whenComplete { result in
            switch result {
            case let .failure(error):
                self.connection.reason = "upstream connect failed: \(error)"
                self.fail(.badGateway, "could not connect to \(request.target)")
            case let .success(upstream):
                self.connection.upstream = upstream
                guard let context = self.context, context.channel.isActive, case let .admitting(held) = self.state else {
                    upstream.close(promise: nil)
                    return
                }
                self.state = .forwarding(upstream)
                upstream.write(HTTPClientRequestPart.head(head), promise: nil)
                for part in held { self.relayRequest(part, to: upstream) }
                upstream.flush()
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            }
        }
    }

    private func relayRequest(_ part: HTTPServerRequestPart, to upstream: any Channel) {
        guard !requestComplete else { return }
        switch part {
        case .head: break
        case let .body(buffer): upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        case let .end(trailers):
            requestComplete = true
            upstream.write(HTTPClientRequestPart.end(trailers), promise: nil)
        }
    }

    // MARK: Response (called by UpstreamResponseHandler on this loop)

    private var responseStarted = false

    func relayResponse(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        switch part {
        case let .head(head):
            // 1xx (other than the tunnel's own) are dropped: Expect was stripped upstream.
            guard head.status.code >= 200 else { return }
            responseStarted = true
            var response = head
            response.headers = ForwardRequest.strippingHopByHop(head.headers)
            response.headers.replaceOrAdd(name: "Connection", value: "close")
            response.version = .http1_1
            context.write(wrapOutboundOut(.head(response)), promise: nil)
        case let .body(buffer):
            guard responseStarted else { return }
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable, case let .forwarding(upstream) = state {
                upstream.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        case let .end(trailers):
            guard responseStarted else { return }
            state = .done
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    func upstreamReadComplete() { context?.flush() }

    func upstreamWritable(_ writable: Bool) {
        guard writable, let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
    }

    func upstreamClosed(error: (any Error)?) {
        guard case .forwarding = state else { return }
        state = .done
        if connection.reason == nil {
            connection.reason = error.map { "upstream failed: \($0)" } ?? "upstream closed before the response ended"
        }
        if responseStarted {
            context?.close(promise: nil)
        } else {
            fail(.badGateway, "upstream \(connection.host):\(connection.port) closed without a response")
        }
    }

    // MARK: Refusals

    private func refuse(_ reason: String, status: HTTPResponseStatus = .forbidden) {
        connection.deny(reason)
        fail(status, reason)
    }

    private func fail(_ status: HTTPResponseStatus, _ message: String) {
        state = .done
        guard let context else { return }
        let parts = ProxyResponses.parts(status, message, allocator: context.channel.allocator)
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(parts[parts.count - 1])).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
