import CAirlockSys
import Glibc
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Input for an interactive exec, handed from the frame reader to the exec's poll loop.
/// The reader never blocks on the child: it appends here and wakes the loop through a
/// pipe; the loop writes to the child when the child can take it.
final class StdinFeed: Sendable {
    /// Input not yet taken by the loop, capped so a harness cannot grow the guest without bound.
    static let maxPending = 64 * 1024 * 1024
    private let state = Mutex<(pending: Data, closed: Bool)>((Data(), false))
    let wakeRead: Int32
    private let wakeWrite: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        guard airlock_pipe(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { return nil }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// False when the input was already closed or is over the cap.
    func append(_ data: Data, close closing: Bool) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed, state.pending.count + data.count <= Self.maxPending else { return false }
            state.pending.append(data)
            if closing { state.closed = true }
            return true
        }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        return accepted
    }

    /// Everything appended since the last take, and whether input has ended.
    func take() -> (Data, Bool) {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &sink, sink.count) > 0 {}
        return state.withLock { state in
            defer { state.pending = Data() }
            return (state.pending, state.closed)
        }
    }
}
