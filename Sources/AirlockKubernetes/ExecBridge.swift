import AirlockSandbox
import Foundation
import Glibc
import NIOCore

/// Joins a GuestConnection (which speaks over file descriptors) to a long-lived exec stream:
/// what the harness writes to the guest's "stdin" pipe goes out on channel 0; channel 1
/// comes back into the guest's "stdout" pipe, where the connection's line reader reassembles
/// frames split across WebSocket messages. Closing the connection's input ends the stream,
/// and the guest, whose stdin then closes, exits.
final class ExecBridge: Sendable {
    let guest: GuestConnection
    private let input: AsyncStream<Data>
    private let inputContinuation: AsyncStream<Data>.Continuation
    private let toHarness: Int32
    private let stderrTail = StderrTail()

    init() throws(SandboxError) {
        var toGuest: [Int32] = [0, 0]
        var fromGuest: [Int32] = [0, 0]
        guard pipe(&toGuest) == 0 else { throw SandboxError(.startFailed, "cannot make a pipe") }
        guard pipe(&fromGuest) == 0 else {
            close(toGuest[0]); close(toGuest[1])
            throw SandboxError(.startFailed, "cannot make a pipe")
        }
        for fd in toGuest + fromGuest { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        (input, inputContinuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .unbounded)
        toHarness = fromGuest[1]
        guest = GuestConnection(input: toGuest[1], output: fromGuest[0])
        let source = toGuest[0]
        let continuation = inputContinuation
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                continuation.yield(Data(buffer[0..<count]))
            }
            close(source)
            continuation.finish()
        }
        thread.name = "airlock-kube-stdin"
        thread.start()
    }

    /// Runs the exec until its stream ends; then the guest connection sees end of file.
    func run(client: KubeClient, exec: KubeExec, timeout: Duration) async -> ExecExit {
        // Hours long, and its end is the guest protocol's, not the Status: worth a watchdog.
        var exec = exec
        exec.pingPeriod = exec.pingPeriod ?? Self.pingPeriod
        let sink = toHarness
        let tail = stderrTail
        let exit: ExecExit
        do {
            exit = try await client.run(exec, input: input, timeout: timeout) { channel, buffer in
                if channel == 1 {
                    buffer.withUnsafeReadableBytes { bytes in
                        var offset = 0
                        while offset < bytes.count {
                            let count = write(sink, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                            if count < 0 && errno == EINTR { continue }
                            if count <= 0 { return }
                            offset += count
                        }
                    }
                } else {
                    tail.append(buffer)
                }
            }
        } catch {
            exit = .unknown(error.description)
        }
        close(sink)
        inputContinuation.finish()
        return exit
    }

    /// The guest stream's watchdog period.
    static let pingPeriod: Duration = .seconds(10)

    /// The end of what the guest wrote on stderr (shown when it fails to greet).
    var diagnostics: String { stderrTail.text }

    /// Ends the stream: stdin finishes, the exec's WebSocket closes.
    func finish() {
        guest.close()
        inputContinuation.finish()
    }
}

final class StderrTail: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func append(_ buffer: ByteBuffer) {
        lock.withLock {
            bytes.append(contentsOf: buffer.readableBytesView)
            if bytes.count > 4096 { bytes.removeFirst(bytes.count - 4096) }
        }
    }
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}
