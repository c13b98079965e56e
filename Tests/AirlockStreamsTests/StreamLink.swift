import AirlockProtocol
import AirlockStreams
import Foundation
import Glibc
import Synchronization

/// Two stream tables joined the way the guest and the harness are: each side's frames go as
/// lines through a real pipe and are read back in odd-sized pieces (so frames are split and
/// joined again by `LineReader`), decoded by `FrameCodec` and delivered to the other side.
final class StreamLink: Sendable {
    let guest: StreamTable
    let host: StreamTable
    private let writeEnds: [Int32]
    let violations = Mutex<[String]>([])
    let frames = Mutex<[String: Int]>([:])

    init(connect: @escaping StreamTable.Connect) {
        var toHost: [Int32] = [-1, -1], toGuest: [Int32] = [-1, -1]
        _ = pipe(&toHost)
        _ = pipe(&toGuest)
        writeEnds = [toHost[1], toGuest[1]]
        let guestLock = Mutex(()), hostLock = Mutex(())
        let codec = FrameCodec()
        let (guestOut, hostOut) = (toHost[1], toGuest[1])
        guest = StreamTable(send: { frame in guestLock.withLock { _ in Self.writeAll(guestOut, codec.encode(stream: frame)) } })
        host = StreamTable(send: { frame in hostLock.withLock { _ in Self.writeAll(hostOut, codec.encode(stream: frame)) } },
                           connect: connect)
        let (guest, host) = (guest, host)
        pump(from: toHost[0], piece: 777) { line in
            guard case .success(let frame) = codec.decode(ResponseFrame.self, from: line), case .stream(let stream) = frame.response else {
                return "undecodable frame to the host"
            }
            self.count(stream.kind)
            return host.deliver(stream)
        }
        pump(from: toGuest[0], piece: 4093) { line in
            guard case .success(let frame) = codec.decode(RequestFrame.self, from: line), case .stream(let stream) = frame.request else {
                return "undecodable frame to the guest"
            }
            self.count(stream.kind)
            return guest.deliver(stream)
        }
    }

    private func count(_ kind: StreamFrame.Kind) {
        frames.withLock { $0[kind.rawValue, default: 0] += 1 }
    }

    private func pump(from fd: Int32, piece: Int, deliver: @escaping @Sendable ([UInt8]) -> String?) {
        let thread = Thread { [self] in
            var reader = LineReader()
            var buffer = [UInt8](repeating: 0, count: piece)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                for item in reader.feed(buffer[0..<count]) {
                    guard case .line(let line) = item else { continue }
                    if let fault = deliver(line) { violations.withLock { $0.append(fault) } }
                }
            }
            Glibc.close(fd)
        }
        thread.start()
    }

    /// Ends both tables and the pipes (the reader threads then end).
    func close() {
        guest.closeAll()
        host.closeAll()
        for fd in writeEnds { Glibc.close(fd) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }
}

/// Socket helpers with deadlines: nothing here waits without bound.
enum Sockets {
    static func pair() -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        return (fds[0], fds[1])
    }

    /// Reads until end of file, an error or the deadline; returns the bytes and whether the
    /// end was seen.
    static func readToEnd(_ fd: Int32, within limit: Duration) -> (bytes: [UInt8], ended: Bool) {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return (bytes, true) }
            bytes += buffer[0..<count]
        }
        return (bytes, false)
    }

    /// Writes everything, waiting at most `limit` for room; false when time ran out.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        var offset = 0
        while offset < bytes.count {
            guard ContinuousClock.now < deadline else { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let count = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 65536), Int32(MSG_NOSIGNAL)) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<(count + 7) / 8).map { _ in generator.next() }
        return Array(words.withUnsafeBytes { Array($0) }.prefix(count))
    }

    /// Polls a condition until it holds or the limit passes.
    static func eventually(within limit: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
