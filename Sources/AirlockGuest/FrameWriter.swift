import AirlockProtocol
import Glibc
import Synchronization

/// Writes response frames to one fd. Several requests run at once; the lock keeps each
/// frame's bytes together on the wire.
public final class FrameWriter: Sendable {
    private let fd: Int32
    private let lock = Mutex(())
    private let codec = FrameCodec()

    public init(fd: Int32) { self.fd = fd }

    /// Sends a frame; a dead harness is not this process's problem to report, so write
    /// errors end quietly (the guest exits on stdin EOF).
    public func send(_ id: UInt64, _ response: Response) {
        guard let bytes = try? codec.encode(ResponseFrame(id: id, response: response)) else { return }
        _ = writeWhole(bytes)
    }

    /// Sends a frame of an egress stream; false when the harness's end is gone.
    public func send(stream frame: StreamFrame) -> Bool {
        writeWhole(codec.encode(stream: frame))
    }

    /// One frame's bytes, all of them, before any other frame's.
    private func writeWhole(_ bytes: [UInt8]) -> Bool {
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += written
                }
                return true
            }
        }
    }

    public func fail(_ id: UInt64, _ code: String, _ message: String) {
        send(id, .error(ErrorFrame(code: code, message: message)))
    }
}
