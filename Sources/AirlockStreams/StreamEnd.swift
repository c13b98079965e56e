import AirlockProtocol
import CAirlockSys
import Glibc
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One stream's end on one side: a local socket on one hand, frames to and from the peer on
/// the other. The channel's reader hands frames in (`receive`, never blocking); the pump
/// thread (`run`) writes the peer's bytes to the socket, credits them, and sends what the
/// socket gives within the window the peer granted.
final class StreamEnd: Sendable {
    let id: UInt64
    private struct State {
        /// The peer's bytes not yet written to the socket (from `offset`).
        var inbound: [UInt8] = []
        var offset = 0
        /// Bytes received and not yet credited back: never above the window.
        var uncredited = 0
        var peerClosed = false
        /// What this side may still send before more credit comes.
        var sendWindow = StreamFrame.window
        /// Why the stream ended at once (a reset from the peer, the table closing).
        var aborted: String?
        var pending: Int { inbound.count - offset }
    }
    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let send: StreamTable.Send

    init?(id: UInt64, send: @escaping StreamTable.Send) {
        var fds: [Int32] = [-1, -1]
        guard airlock_pipe(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { return nil }
        self.id = id
        self.send = send
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Bytes from the peer held here.
    var buffered: Int { state.withLock { $0.pending } }

    /// A frame from the peer. Returns what the peer did wrong, if anything; such a stream is
    /// reset (both ways) and the caller records the violation.
    func receive(_ frame: StreamFrame) -> String? {
        let fault: String? = state.withLock { state in
            switch frame.kind {
            case .data:
                let count = frame.data?.count ?? 0
                if state.peerClosed { return "stream_data after stream_close on stream \(id)" }
                guard state.uncredited + count <= StreamFrame.window else {
                    return "stream \(id) sent past its window (\(state.uncredited + count) > \(StreamFrame.window) bytes)"
                }
                // Written bytes are dropped before the array could outgrow twice the window
                // (a socket that always has a little pending never empties it).
                if state.offset > 0 && (state.offset == state.inbound.count || state.offset >= StreamFrame.window) {
                    state.inbound.removeFirst(state.offset)
                    state.offset = 0
                }
                state.inbound.append(contentsOf: frame.data ?? Data())
                state.uncredited += count
            case .credit:
                state.sendWindow += frame.bytes ?? 0
                if state.sendWindow > StreamFrame.window { return "stream \(id) credited more than was sent" }
            case .close:
                state.peerClosed = true
            case .reset:
                if state.aborted == nil { state.aborted = frame.reason ?? "reset by the peer" }
            case .open:
                return "stream_open for stream \(id), which is open"
            }
            return nil
        }
        if let fault { abort(fault, tellPeer: true) }
        wake()
        return fault
    }

    /// Ends the stream now: the pump closes its socket at its next turn.
    func abort(_ reason: String, tellPeer: Bool) {
        let first = state.withLock { state -> Bool in
            guard state.aborted == nil else { return false }
            state.aborted = reason
            return true
        }
        if first && tellPeer { _ = send(.reset(id, reason)) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Pumps until both directions have finished or the stream is reset; owns and closes `fd`.
    func run(_ fd: Int32) {
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var reading = true
        var shutWrite = false
        var buffer = [UInt8](repeating: 0, count: StreamFrame.maxChunk)
        var sink = [UInt8](repeating: 0, count: 64)
        while true {
            while read(wakeRead, &sink, sink.count) > 0 {}
            if state.withLock({ $0.aborted }) != nil { return }
            guard flushInbound(fd) else { return }
            let (pending, peerClosed, window) = state.withLock { ($0.pending, $0.peerClosed, $0.sendWindow) }
            if !shutWrite && peerClosed && pending == 0 {
                shutdown(fd, Int32(SHUT_WR))
                shutWrite = true
            }
            if !reading && shutWrite { return }

            var events: Int16 = 0
            if reading && window > 0 { events |= Int16(POLLIN) }
            if pending > 0 { events |= Int16(POLLOUT) }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if events != 0 { fds.append(pollfd(fd: fd, events: events, revents: 0)) }
            // Bounded: the loop re-checks its state at least every second.
            let ready = poll(&fds, nfds_t(fds.count), 1000)
            if ready < 0 && errno != EINTR { return }
            guard fds.count > 1, reading, window > 0,
                  fds[1].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, window)) }
            if count > 0 {
                state.withLock { $0.sendWindow -= count }
                guard send(.data(id, Data(buffer[0..<count]))) else { return }
            } else if count == 0 {
                reading = false
                guard send(.close(id)) else { return }
            } else if errno != EAGAIN && errno != EINTR {
                abort("the connection failed: \(String(cString: strerror(errno)))", tellPeer: true)
                return
            }
        }
    }

    /// Writes what the peer sent to the socket as far as it takes it, crediting each write.
    /// False when the socket failed (the stream is then reset).
    private func flushInbound(_ fd: Int32) -> Bool {
        while true {
            let written: Int = state.withLock { state in
                guard state.pending > 0 else { return 0 }
                let count = state.inbound.withUnsafeBytes { bytes in
                    Glibc.send(fd, bytes.baseAddress.map { $0 + state.offset }, state.pending, Int32(MSG_NOSIGNAL))
                }
                if count > 0 {
                    state.offset += count
                    // Before the credit goes out: the peer may answer it at once.
                    state.uncredited -= count
                }
                return count
            }
            if written > 0 {
                guard send(.credit(id, written)) else { return false }
                continue
            }
            if written == 0 || errno == EAGAIN || errno == EINTR { return true }
            abort("the connection failed: \(String(cString: strerror(errno)))", tellPeer: true)
            return false
        }
    }
}
