import AirlockProtocol
import Glibc
import Synchronization

/// The streams one side of the guest channel carries. The guest `open`s one per connection
/// accepted on its loopback relay; the harness, told by `stream_open`, `connect`s to its
/// local service (the egress proxy's socket) and pumps the bytes. Both sides run the same
/// pump (`StreamEnd`), one thread per stream, at most `StreamFrame.maxStreams` at once.
public final class StreamTable: Sendable {
    /// Writes one frame to the peer (whole, never interleaved with other frames); false
    /// when the channel is gone.
    public typealias Send = @Sendable (StreamFrame) -> Bool
    /// Opens the local socket for a stream the peer opened; a negative value refuses it.
    public typealias Connect = @Sendable () -> Int32

    private struct State {
        var ends: [UInt64: StreamEnd] = [:]
        var nextID: UInt64 = 1
        var closed = false
        var opened = 0
    }
    private let send: Send
    private let connect: Connect?
    private let state = Mutex(State())

    /// `connect` is set on the side that accepts streams (the harness); nil on the side
    /// that opens them (the guest), which refuses a `stream_open` from its peer.
    public init(send: @escaping Send, connect: Connect? = nil) {
        self.send = send
        self.connect = connect
    }

    /// Streams open now.
    public var count: Int { state.withLock { $0.ends.count } }
    /// Streams opened since the start.
    public var opened: Int { state.withLock { $0.opened } }
    /// The peer's bytes held for all streams (each stream's share is at most the window).
    public var bufferedBytes: Int { state.withLock { $0.ends.values.reduce(0) { $0 + $1.buffered } } }

    /// Carries a connection accepted here as a new stream; takes `fd`. False (and `fd`
    /// closed) when the table is full or closed, or the peer cannot be told.
    @discardableResult
    public func open(_ fd: Int32) -> Bool {
        let end = state.withLock { state -> StreamEnd? in
            guard !state.closed, state.ends.count < StreamFrame.maxStreams,
                  let end = StreamEnd(id: state.nextID, send: send) else { return nil }
            state.nextID += 1
            state.ends[end.id] = end
            state.opened += 1
            return end
        }
        guard let end else {
            close(fd)
            return false
        }
        guard send(.open(end.id)), OSThread.start({ [self] in
            end.run(fd)
            remove(end.id)
        }) else {
            remove(end.id)
            close(fd)
            return false
        }
        return true
    }

    /// A stream frame from the peer, handled without blocking. Returns what the peer did
    /// wrong, if anything (the caller records it); the stream concerned is reset.
    public func deliver(_ frame: StreamFrame) -> String? {
        guard frame.kind == .open else {
            // Frames for a stream that has just ended are normal (they crossed its reset).
            guard let end = state.withLock({ $0.ends[frame.stream] }) else { return nil }
            return end.receive(frame)
        }
        guard let connect else {
            _ = send(.reset(frame.stream, "only the guest opens streams"))
            return "stream_open from the harness"
        }
        let outcome = state.withLock { state -> Result<StreamEnd, StreamRefusal> in
            if state.closed { return .failure(.closed) }
            if state.ends[frame.stream] != nil { return .failure(.duplicate) }
            guard state.ends.count < StreamFrame.maxStreams else { return .failure(.full) }
            guard let end = StreamEnd(id: frame.stream, send: send) else { return .failure(.full) }
            state.ends[end.id] = end
            state.opened += 1
            return .success(end)
        }
        switch outcome {
        case .failure(let refusal):
            _ = send(.reset(frame.stream, refusal.message))
            return refusal == .duplicate ? "stream_open for stream \(frame.stream), which is open" : nil
        case .success(let end):
            // The connect runs on the stream's thread: the channel's reader never waits on it.
            let started = OSThread.start { [self] in
                let fd = connect()
                if fd < 0 {
                    end.abort("cannot reach the local service: \(String(cString: strerror(errno)))", tellPeer: true)
                } else {
                    end.run(fd)
                }
                remove(end.id)
            }
            if !started {
                end.abort("no thread for the stream", tellPeer: true)
                remove(end.id)
            }
            return nil
        }
    }

    /// Resets every stream and refuses new ones (the channel ended or the sandbox is going).
    /// The pumps close their sockets within a second.
    public func closeAll() {
        let ends = state.withLock { state -> [StreamEnd] in
            state.closed = true
            defer { state.ends.removeAll() }
            return Array(state.ends.values)
        }
        for end in ends { end.abort("the sandbox channel closed", tellPeer: false) }
    }

    private func remove(_ id: UInt64) {
        state.withLock { _ = $0.ends.removeValue(forKey: id) }
    }

    private enum StreamRefusal: Error, Equatable {
        case closed, duplicate, full
        var message: String {
            switch self {
            case .closed: "the channel is closing"
            case .duplicate: "the stream is already open"
            case .full: "too many streams open (at most \(StreamFrame.maxStreams))"
            }
        }
    }
}
