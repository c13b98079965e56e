import AirlockProtocol
import AirlockStreams
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// The harness end of the protocol: writes request frames to the guest's stdin and routes
/// the frames it answers with to whoever asked.
///
/// The guest is inside the sandbox and may be subverted, so it is treated as untrusted:
/// frames are capped, undecodable or unknown frames are counted and dropped, frames for
/// ids nobody waits on are dropped, and output kept per exec is capped here as well.
public final class GuestConnection: Sendable {
    public enum Direction: String, Sendable { case sent, received }
    /// Sees every frame that crosses (for the ledger): direction, request id, frame type.
    public typealias Observer = @Sendable (Direction, UInt64, String) -> Void

    private struct State {
        var nextID: UInt64 = 1
        var routes: [UInt64: AsyncStream<Response>.Continuation] = [:]
        var hello: Hello?
        var helloWaiter: CheckedContinuation<Hello?, Never>?
        var closed = false
        var violations: [String] = []
        var observer: Observer?
    }

    private let input: Int32
    private let output: Int32
    private let state = Mutex(State())
    /// Held for each frame written; false once the input is closed, so a late writer (a
    /// stream's pump) never writes to a descriptor number that was closed and reused.
    private let writeLock = Mutex(true)
    private let codec = FrameCodec()
    /// The guest's egress streams, once `carryStreams` has said where they go.
    private let streams = Mutex<StreamTable?>(nil)

    /// Takes ownership of both descriptors.
    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
        OSThread.start(name: "airlock-guest-reader") { [self] in readLoop() }
    }

    public func setObserver(_ observer: Observer?) {
        state.withLock { $0.observer = observer }
    }

    /// Protocol violations seen so far (malformed, oversized or unknown frames).
    public var violations: [String] { state.withLock { $0.violations } }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits for the guest's greeting; nil when the guest ended first or time ran out.
    package func waitForHello(timeout: Duration) async -> Hello? {
        let waiter = Task {
            try? await Task.sleep(for: timeout)
            let pending = state.withLock { state -> CheckedContinuation<Hello?, Never>? in
                defer { state.helloWaiter = nil }
                return state.helloWaiter
            }
            pending?.resume(returning: nil)
        }
        defer { waiter.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Hello?? in
                if let hello = state.hello { return .some(hello) }
                if state.closed { return .some(nil) }
                state.helloWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Sends a request; the stream yields every frame answering it and ends after the final
    /// one. A guest that dies mid-request yields a `guest_died` error frame.
    public func send(_ request: Request) -> (id: UInt64, responses: AsyncStream<Response>) {
        let (stream, continuation) = AsyncStream<Response>.makeStream(bufferingPolicy: .unbounded)
        let (id, closed, observer) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            if !state.closed { state.routes[id] = continuation }
            return (id, state.closed, state.observer)
        }
        if closed {
            continuation.yield(.error(ErrorFrame(code: "guest_died", message: "the sandbox is gone")))
            continuation.finish()
            return (id, stream)
        }
        observer?(.sent, id, request.type)
        if !write(RequestFrame(id: id, request: request)) {
            finish(id, with: .error(ErrorFrame(code: "guest_died", message: "cannot write to the guest")))
        }
        return (id, stream)
    }

    /// Ends the wait for request `id`'s answer here, without a word to the guest: its stream
    /// finishes. Frames the guest still sends for it are dropped.
    func stopWaiting(_ id: UInt64) {
        state.withLock { $0.routes[id] }?.finish()
    }

    /// Asks the guest to cancel a running exec (it sends TERM, then KILL after the grace).
    public func cancel(_ id: UInt64) {
        let cancelID = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        _ = write(RequestFrame(id: cancelID, request: .cancel(CancelRequest(target: id))))
    }

    /// Input for a running interactive exec (`ExecRequest.interactive`); `close` sends EOF.
    /// Not answered unless refused. False when the guest cannot be written to.
    @discardableResult
    public func writeStdin(_ target: UInt64, _ data: Data, close: Bool = false) -> Bool {
        let frameID = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return write(RequestFrame(id: frameID, request: .stdin(StdinRequest(target: target, data: data.isEmpty ? nil : data,
                                                                            close: close ? true : nil))))
    }

    /// Carries the guest's egress streams (a guest started with `--egress-stream`): each
    /// `stream_open` becomes a connection to the Unix socket at `path`, the egress proxy's,
    /// pumped both ways until either end closes. Call before the guest can open one.
    public func carryStreams(toUnixSocket path: String) {
        let table = StreamTable(send: { [weak self] frame in self?.write(stream: frame) ?? false },
                                connect: { airlock_connect_unix(path) })
        streams.withLock { $0 = table }
        if isClosed { table.closeAll() }
    }

    /// Egress streams open now (0 without `carryStreams`).
    public var openStreams: Int { streams.withLock { $0 }?.count ?? 0 }

    /// Closes the guest's stdin: a well-behaved guest exits. Its streams end with it.
    public func close() {
        streams.withLock { $0 }?.closeAll()
        writeLock.withLock { open in
            if open { _ = Glibc.close(input) }
            open = false
        }
    }

    private func write(stream frame: StreamFrame) -> Bool {
        writeBytes(codec.encode(stream: frame))
    }

    private func write(_ frame: RequestFrame) -> Bool {
        guard let bytes = try? codec.encode(frame) else { return false }
        return writeBytes(bytes)
    }

    private func writeBytes(_ bytes: [UInt8]) -> Bool {
        writeLock.withLock { open in
            guard open else { return false }
            return bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let count = Glibc.write(input, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { return false }
                    offset += count
                }
                return true
            }
        }
    }

    private func finish(_ id: UInt64, with response: Response) {
        let route = state.withLock { $0.routes.removeValue(forKey: id) }
        route?.yield(response)
        route?.finish()
    }

    private func readLoop() {
        // A little headroom over the guest's own cap for the JSON envelope.
        var reader = LineReader(maxLineBytes: ProtocolVersion.maxFrameBytes * 2)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            for item in reader.feed(buffer[0..<count]) {
                switch item {
                case .oversized(let size): violation("oversized frame of \(size) bytes")
                case .line(let line): route(line)
                }
            }
        }
        Glibc.close(output)
        streams.withLock { $0 }?.closeAll()
        let (routes, waiter) = state.withLock { state in
            state.closed = true
            defer { state.routes.removeAll(); state.helloWaiter = nil }
            return (state.routes, state.helloWaiter)
        }
        waiter?.resume(returning: nil)
        for (_, route) in routes {
            route.yield(.error(ErrorFrame(code: "guest_died", message: "the sandbox ended during the call")))
            route.finish()
        }
    }

    private func route(_ line: [UInt8]) {
        if let stream = codec.decodeStreamData(line) {
            routeStream(stream)
            return
        }
        guard case .success(let frame) = codec.decode(ResponseFrame.self, from: line) else {
            violation("undecodable frame")
            return
        }
        if case .stream(let stream) = frame.response {
            routeStream(stream)
            return
        }
        if case .hello(let hello) = frame.response {
            let (waiter, repeated) = state.withLock { state -> (CheckedContinuation<Hello?, Never>?, Bool) in
                guard state.hello == nil else { return (nil, true) }
                state.hello = hello
                defer { state.helloWaiter = nil }
                return (state.helloWaiter, false)
            }
            // Only the first greeting counts; a guest that greets again is misbehaving.
            if repeated { violation("repeated hello frame") }
            waiter?.resume(returning: hello)
            return
        }
        let (route, observer) = state.withLock { state in
            let route = frame.response.isFinal ? state.routes.removeValue(forKey: frame.id) : state.routes[frame.id]
            return (route, state.observer)
        }
        guard let route else {
            // Error frames about our own malformed requests carry id 0; anything else
            // for an id nobody waits on is a guest misbehaving.
            if frame.id != 0 { violation("frame for unknown request id \(frame.id)") }
            return
        }
        observer?(.received, frame.id, frame.response.type)
        route.yield(frame.response)
        if frame.response.isFinal { route.finish() }
    }

    /// Stream frames skip the observer: they are egress bytes, which the proxy records.
    private func routeStream(_ frame: StreamFrame) {
        guard let table = streams.withLock({ $0 }) else {
            if frame.kind == .open {
                _ = write(stream: .reset(frame.stream, "this sandbox has no egress"))
                violation("stream_open from a guest that was given no egress")
            }
            return
        }
        if let fault = table.deliver(frame) { violation(fault) }
    }

    private func violation(_ text: String) {
        state.withLock { state in
            if state.violations.count < 100 { state.violations.append(text) }
        }
    }
}
