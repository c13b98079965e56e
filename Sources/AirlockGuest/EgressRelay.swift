import CAirlockSys
import Glibc

/// Gives programs in the sandbox an ordinary HTTP proxy on the sandbox's own loopback by
/// relaying each TCP connection to the harness's proxy socket bound into the sandbox. The
/// relay decides nothing: every check happens in the harness, which the sandbox cannot
/// reach any other way (its network namespace has no route).
public struct EgressRelay: Sendable {
    public let port: Int
    public let socketPath: String

    /// Parses the guest's `--egress-relay PORT=SOCKET` argument.
    public init?(argument: String) {
        guard let separator = argument.firstIndex(of: "="),
              let port = Int(argument[..<separator]), (1...65535).contains(port)
        else { return nil }
        let path = String(argument[argument.index(after: separator)...])
        guard path.hasPrefix("/") else { return nil }
        self.port = port
        self.socketPath = path
    }

    /// Binds the listener now (so a failure ends the guest before it greets the harness)
    /// and serves connections on a thread of their own. Returns the errno on failure.
    public func start() -> Int32? {
        let listener = airlock_listen_loopback(Int32(port))
        guard listener >= 0 else { return errno }
        let path = socketPath
        GuestThread.start {
            while true {
                let client = airlock_accept(listener)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { continue }
                    return
                }
                GuestThread.start { Self.relay(client: client, socketPath: path) }
            }
        }
        return nil
    }

    /// Copies bytes both ways until both sides have finished, passing half-closes on.
    private static func relay(client: Int32, socketPath: String) {
        let upstream = airlock_connect_unix(socketPath)
        guard upstream >= 0 else {
            close(client)
            return
        }
        defer {
            close(client)
            close(upstream)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Directions still open: client → upstream, upstream → client.
        var open = [true, true]
        let pairs: [(from: Int32, to: Int32)] = [(client, upstream), (upstream, client)]
        while open[0] || open[1] {
            var fds = pairs.indices.filter { open[$0] }.map {
                pollfd(fd: pairs[$0].from, events: Int16(POLLIN), revents: 0)
            }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            for entry in fds where entry.revents != 0 {
                guard let index = pairs.firstIndex(where: { $0.from == entry.fd }) else { continue }
                let pair = pairs[index]
                let count = buffer.withUnsafeMutableBytes { read(pair.from, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 {
                    open[index] = false
                    shutdown(pair.to, Int32(SHUT_WR))
                    // A reset or error on one side ends the other too.
                    if count < 0 { return }
                    continue
                }
                guard writeAll(pair.to, buffer, count: count) else { return }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let written = buffer.withUnsafeBytes {
                write(fd, $0.baseAddress.map { $0 + offset }, count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
