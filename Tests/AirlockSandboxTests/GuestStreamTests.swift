import AirlockProtocol
import AirlockSandbox
import CAirlockSys
import AirlockTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// The real guest executable with `--egress-stream PORT` (started directly, no sandbox, so
/// no cluster is needed) and the harness's `GuestConnection` carrying its streams to a Unix
/// socket of the test: what a pod does, minus the pod.
@Suite("Guest streams", .enabled(if: guestBinary != nil, "needs the airlock-guest executable beside the tests"),
       .timeLimit(.minutes(1)))
struct GuestStreamTests {
    /// A guest process speaking over pipes to a GuestConnection.
    final class StreamGuest: @unchecked Sendable {
        let process = Process()
        let connection: GuestConnection
        let port: Int

        init(port: Int, workspace: String, carryTo socket: String?) throws {
            var toGuest: [Int32] = [-1, -1], fromGuest: [Int32] = [-1, -1]
            guard pipe(&toGuest) == 0, pipe(&fromGuest) == 0 else { throw POSIXError(.EMFILE) }
            for fd in [toGuest[1], fromGuest[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            self.port = port
            connection = GuestConnection(input: toGuest[1], output: fromGuest[0])
            if let socket { connection.carryStreams(toUnixSocket: socket) }
            process.executableURL = URL(fileURLWithPath: guestBinary ?? "/nonexistent")
            process.arguments = ["--workspace", workspace, "--egress-stream", String(port)]
            process.standardInput = FileHandle(fileDescriptor: toGuest[0], closeOnDealloc: true)
            process.standardOutput = FileHandle(fileDescriptor: fromGuest[1], closeOnDealloc: true)
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Starts a guest on a free loopback port (a busy one makes it exit before greeting).
        static func start(workspace: String, carryTo socket: String?) async throws -> StreamGuest {
            for _ in 0..<8 {
                let guest = try StreamGuest(port: Int.random(in: 20000...60000), workspace: workspace, carryTo: socket)
                if let hello = await guest.connection.waitForHello(timeout: .seconds(10)) {
                    #expect(hello.version == ProtocolVersion.current)
                    return guest
                }
                guest.stop()
            }
            throw POSIXError(.EADDRINUSE)
        }

        func stop() {
            connection.close()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// The test's service behind the harness: a Unix socket that echoes each connection.
    final class UnixEcho: @unchecked Sendable {
        let path: String
        private let listener: Int32

        init(directory: String) throws {
            path = directory + "/service.sock"
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
            let server = self.listener
            Thread.detachNewThread {
                while true {
                    let client = accept(server, nil, nil)
                    if client < 0 { return }
                    Thread.detachNewThread {
                        var buffer = [UInt8](repeating: 0, count: 65536)
                        while true {
                            let count = read(client, &buffer, buffer.count)
                            if count <= 0 { break }
                            var offset = 0
                            while offset < count {
                                let written = buffer[offset..<count].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                                if written <= 0 { break }
                                offset += written
                            }
                        }
                        shutdown(client, Int32(SHUT_WR))
                        close(client)
                    }
                }
            }
        }

        func stop() {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    /// Sends `payload` (from a thread of its own), half-closes, and reads to the end
    /// (bounded); the bytes read back, nil when time ran out or the write failed.
    static func exchange(_ fd: Int32, _ payload: [UInt8], within limit: Duration = .seconds(20)) -> [UInt8]? {
        let wrote = Mutex<Bool?>(nil)
        Thread.detachNewThread {
            var offset = 0
            while offset < payload.count {
                let count = payload[offset...].withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 65536), Int32(MSG_NOSIGNAL)) }
                if count <= 0 { break }
                offset += count
            }
            shutdown(fd, Int32(SHUT_WR))
            wrote.withLock { $0 = offset == payload.count }
        }
        let deadline = ContinuousClock.now + limit
        var back: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count > 0 { back += buffer[0..<count]; continue }
            while wrote.withLock({ $0 }) == nil && ContinuousClock.now < deadline { usleep(1000) }
            return wrote.withLock { $0 } == true ? back : nil
        }
        return nil
    }

    @Test("connections to the guest's loopback port reach the harness's socket as streams: 1 MiB round trip, 8 at once, half-close")
    func relayThroughChannel() async throws {
        let directory = try TemporaryDirectory("airlock-streams")
        defer { directory.remove() }
        let echo = try UnixEcho(directory: directory.path)
        defer { echo.stop() }
        let guest = try await StreamGuest.start(workspace: directory.path, carryTo: echo.path)
        defer { guest.stop() }

        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let fd = Loopback.connect(guest.port)
        try #require(fd >= 0)
        let back = Self.exchange(fd, payload)
        close(fd)
        #expect(back == payload, "\(back?.count ?? -1) of \(payload.count) bytes came back equal")

        // Eight clients at once, each on a thread of its own.
        let outcomes = Mutex<[Int: Bool]>([:])
        for index in 0..<8 {
            Thread.detachNewThread {
                let piece = [UInt8](repeating: UInt8(index), count: 64 << 10 + index)
                let fd = Loopback.connect(guest.port)
                let ok = fd >= 0 && Self.exchange(fd, piece) == piece
                if fd >= 0 { close(fd) }
                outcomes.withLock { $0[index] = ok }
            }
        }
        let deadline = ContinuousClock.now + .seconds(25)
        while outcomes.withLock({ $0.count }) < 8 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let results = outcomes.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        #expect(results.count == 8 && results.allSatisfy { $0 }, "\(results)")
        #expect(guest.connection.violations.isEmpty, "\(guest.connection.violations)")
        // An exec still works beside the streams (frames never interleave mid-line).
        let exec = try await guest.connection.exec(ExecRequest(argv: ["/bin/echo", "beside"]))
        #expect(exec.stdout == Data("beside\n".utf8))
    }

    @Test("the channel closing ends an open stream: the client inside sees its connection end, nothing waits")
    func channelEndEndsStreams() async throws {
        let directory = try TemporaryDirectory("airlock-streams")
        defer { directory.remove() }
        let echo = try UnixEcho(directory: directory.path)
        defer { echo.stop() }
        let guest = try await StreamGuest.start(workspace: directory.path, carryTo: echo.path)
        let fd = Loopback.connect(guest.port)
        try #require(fd >= 0)
        defer { close(fd) }
        _ = send(fd, "ping", 4, Int32(MSG_NOSIGNAL))
        let deadline = ContinuousClock.now + .seconds(5)
        while guest.connection.openStreams == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(guest.connection.openStreams == 1)
        let started = ContinuousClock.now
        guest.stop()
        var buffer = [UInt8](repeating: 0, count: 64)
        var ended = false
        while ContinuousClock.now - started < .seconds(5) {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            if read(fd, &buffer, buffer.count) <= 0 { ended = true; break }
        }
        #expect(ended, "the client's connection ended when the guest's channel closed")
        #expect(guest.connection.openStreams == 0)
    }

    @Test("a guest that opens a stream the harness gave no egress is refused and the violation recorded")
    func streamWithoutEgressRefused() async throws {
        let directory = try TemporaryDirectory("airlock-streams")
        defer { directory.remove() }
        let guest = try await StreamGuest.start(workspace: directory.path, carryTo: nil)
        defer { guest.stop() }
        let fd = Loopback.connect(guest.port)
        try #require(fd >= 0)
        defer { close(fd) }
        let back = Self.exchange(fd, Array("GET / HTTP/1.1\r\n\r\n".utf8), within: .seconds(10))
        #expect(back == [], "the connection was closed without an answer")
        #expect(guest.connection.violations.contains { $0.contains("no egress") }, "\(guest.connection.violations)")
    }
}
