import AirlockCore
import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import CAirlockSys
import Foundation
import Glibc

/// `airlock-bench egress-streams`: the two ways the guest's 127.0.0.1 proxy port reaches the
/// harness's egress proxy, side by side in one run with the same guest binary, proxy and
/// upstream: the local tiers' relay to a bound Unix socket (`--egress-relay`) and the pods'
/// streams over the guest's own stdin/stdout channel (`--egress-stream`). The guests run
/// directly on the host (no sandbox, no WebSocket), so only the transport differs.
enum EgressStreamBench {
    static func run(requests: Int, workspace: String) async throws -> String {
        let server = try BlockingHTTPServer()
        defer { server.stop() }
        let gate = try await EgressBench.proxyGate(for: server)
        let socket = gate.attachment.socketOnHost
        let guestPath = try GuestBinary.locate(nil)
        let relay = try await BenchGuest.start(guestPath, workspace: workspace) { ["--egress-relay", "\($0)=\(socket)"] }
        let streams = try await BenchGuest.start(guestPath, workspace: workspace, carryTo: socket) { ["--egress-stream", "\($0)"] }
        defer {
            relay.stop()
            streams.stop()
        }
        let authority = "bench.test:\(server.port)"
        let small = "GET http://\(authority)/small HTTP/1.1\r\nHost: \(authority)\r\n\r\n"
        let bulk = "GET http://\(authority)/bulk HTTP/1.1\r\nHost: \(authority)\r\n\r\n"

        Progress.say("egress-streams: \(requests) small requests: proxy socket direct, socket relay, stream relay")
        var direct: [Double] = [], socketRelay: [Double] = [], streamRelay: [Double] = []
        for _ in 0..<requests {
            direct.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectUnix(socket), send: small) })
            socketRelay.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectTCP(relay.port), send: small) })
            streamRelay.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectTCP(streams.port), send: small) })
        }
        Progress.say("egress-streams: a 64 MiB download through each (3 each)")
        var directBulk: [Double] = [], socketBulk: [Double] = [], streamBulk: [Double] = []
        for _ in 0..<3 {
            directBulk.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectUnix(socket), send: bulk) })
            socketBulk.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectTCP(relay.port), send: bulk) })
            streamBulk.append(try EgressBench.timed { try EgressBench.exchange(EgressBench.connectTCP(streams.port), send: bulk) })
        }
        _ = gate.takeRecords()
        await gate.close()

        let rows = [("proxy socket, no relay", direct), ("relay to a bound socket (local tiers)", socketRelay),
                    ("relay as guest streams (pods)", streamRelay)]
        var lines = ["egress relay transports (\(requests) requests each; 1 KiB answers; ms)",
                     "  " + "series".padding(toLength: 40, withPad: " ", startingAt: 0) + "median      p99"]
        for (label, samples) in rows {
            let series = Series(name: label, samples: samples)
            lines.append("  " + label.padding(toLength: 40, withPad: " ", startingAt: 0)
                         + String(format: "%6.3f   %6.3f", series.median, series.p99))
        }
        let mib = Double(BlockingHTTPServer.bulkBytes) / 1_048_576
        func rate(_ samples: [Double]) -> Double { mib / (Series(name: "r", samples: samples).median / 1000) }
        lines.append(String(format: "  64 MiB download: proxy socket %.0f MiB/s, socket relay %.0f MiB/s, stream relay %.0f MiB/s",
                            rate(directBulk), rate(socketBulk), rate(streamBulk)))
        let smallRatio = ratio(Series(name: "s", samples: streamRelay).median, Series(name: "r", samples: socketRelay).median)
        lines.append(String(format: "  ratios: small request stream/socket %.2f×; 64 MiB download time stream/socket %.2f×",
                            smallRatio, ratio(rate(socketBulk), rate(streamBulk))))
        return lines.joined(separator: "\n")
    }
}

/// An `airlock-guest` started directly on the host with one relay mode on a free loopback
/// port; its channel is a GuestConnection (which carries its streams when asked).
final class BenchGuest: @unchecked Sendable {
    let process = Process()
    let connection: GuestConnection
    let port: Int

    private init(_ guestPath: String, port: Int, workspace: String, carryTo socket: String?, arguments: [String]) throws {
        var toGuest: [Int32] = [-1, -1], fromGuest: [Int32] = [-1, -1]
        guard pipe(&toGuest) == 0, pipe(&fromGuest) == 0 else { throw BenchError("cannot make a pipe") }
        for fd in [toGuest[1], fromGuest[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        self.port = port
        connection = GuestConnection(input: toGuest[1], output: fromGuest[0])
        if let socket { connection.carryStreams(toUnixSocket: socket) }
        process.executableURL = URL(fileURLWithPath: guestPath)
        process.arguments = ["--workspace", workspace] + arguments
        process.standardInput = FileHandle(fileDescriptor: toGuest[0], closeOnDealloc: true)
        process.standardOutput = FileHandle(fileDescriptor: fromGuest[1], closeOnDealloc: true)
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    static func start(_ guestPath: String, workspace: String, carryTo socket: String? = nil,
                      arguments: (Int) -> [String]) async throws -> BenchGuest {
        for _ in 0..<8 {
            let port = Int.random(in: 20000...60000)
            let guest = try BenchGuest(guestPath, port: port, workspace: workspace, carryTo: socket, arguments: arguments(port))
            if await guest.connection.waitForHello(timeout: .seconds(10)) != nil { return guest }
            guest.stop()
        }
        throw BenchError("no free loopback port for the guest's relay")
    }

    func stop() {
        connection.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
