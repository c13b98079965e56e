import AirlockProtocol
import AirlockStreams
import CAirlockSys
import Glibc

/// The sandbox's HTTP proxy on its own loopback when the sandbox has no socket of the
/// harness bound in (a pod): each accepted connection becomes a stream over the guest's
/// own channel, and the harness connects it to its egress proxy. Like `EgressRelay`, it
/// decides nothing; every check happens in the harness.
public struct StreamRelay: Sendable {
    public let port: Int

    /// Parses the guest's `--egress-stream PORT` argument.
    public init?(argument: String) {
        guard let port = Int(argument), (1...65535).contains(port) else { return nil }
        self.port = port
    }

    /// Binds the listener now (so a failure ends the guest before it greets the harness),
    /// then accepts on a thread of its own into `streams`. Returns the errno on failure.
    public func start(into streams: StreamTable) -> Int32? {
        let listener = airlock_listen_loopback(Int32(port))
        guard listener >= 0 else { return errno }
        GuestThread.start {
            while true {
                let client = airlock_accept(listener)
                if client < 0 {
                    if errno == EMFILE { usleep(10_000) }
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { continue }
                    return
                }
                // A full table closes the connection: the client sees it refused at once.
                streams.open(client)
            }
        }
        return nil
    }
}
