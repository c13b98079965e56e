import Glibc

/// Ties a pod's `guest` container to its `main` container: the `guest` container idles with
/// `--until-main-ends`, listening on an abstract Unix socket (the pod's containers share one
/// network namespace); `main`'s idle pid 1 connects and holds the connection. When `main`'s
/// pid 1 dies, the connection closes and the `guest` container exits, so the pod ends as a
/// one-container pod would (phase Failed, its sandbox torn down, execs into it refused)
/// instead of living on with a dead `main`. Only the first connection counts: `main`'s pid 1
/// makes it before any command runs there. A command that connects later changes nothing;
/// the worst a hostile one can do is end the `guest` container early, which loses nothing.
public enum PodCompanion {
    static let name = "airlock-guest-main"

    /// The `guest` container: returns once `main`'s pid 1 has come and gone. When the socket
    /// cannot be had, it never returns (the container idles, as without the tie).
    public static func waitForMainToEnd() {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { idleForever() }
        let bound = withAddress { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 4) == 0 else { idleForever() }
        var connection: Int32 = -1
        while connection < 0 {
            connection = accept(listener, nil, nil)
            if connection < 0 && errno != EINTR { idleForever() }
        }
        close(listener)
        var byte: UInt8 = 0
        while true {
            let count = read(connection, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
        }
    }

    /// `main`'s pid 1: connects (retrying for a few seconds: the `guest` container's process
    /// may not listen yet) and keeps the connection for its whole life. Nothing to connect
    /// to (a guest image from before the tie) is fine.
    public static func announce() {
        for _ in 0..<100 {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { return }
            if withAddress({ connect(descriptor, $0, $1) }) == 0 { return }
            close(descriptor)
            usleep(50_000)
        }
    }

    /// `@airlock-guest-main`: an abstract address (a leading NUL, no file anywhere).
    static func withAddress(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path[0] = 0
            for (index, byte) in bytes.enumerated() where index + 1 < path.count { path[index + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    static func idleForever() -> Never {
        while true { pause() }
    }
}
