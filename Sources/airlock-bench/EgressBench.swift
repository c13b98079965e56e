import AirlockCore
import AirlockProtocol
import AirlockSandbox
import CAirlockSys
import Foundation
import Glibc
import AirlockBubblewrap

/// `airlock-bench egress`: what the proxy costs a request, side by side in one run with the
/// same request made directly: small requests (latency) and one large download
/// (throughput) from this process, then whole requests from a program inside a sandbox
/// (relay + proxy) against the same program on the host going direct.
enum EgressBench {
    static func run(requests: Int, workspace: String) async throws -> String {
        let server = try BlockingHTTPServer()
        defer { server.stop() }
        let gate = try await proxyGate(for: server)
        let socket = gate.attachment.socketOnHost
        let authority = "bench.test:\(server.port)"

        Progress.say("egress: \(requests) small requests direct, through the proxy, and through a CONNECT tunnel")
        var direct: [Double] = [], proxied: [Double] = [], tunneled: [Double] = []
        let small = "GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        let absolute = "GET http://\(authority)/small HTTP/1.1\r\nHost: \(authority)\r\n\r\n"
        for _ in 0..<requests {
            direct.append(try timed { try exchange(connectTCP(server.port), send: small) })
            proxied.append(try timed { try exchange(connectUnix(socket), send: absolute) })
            tunneled.append(try timed { try tunnel(socket, authority: authority) })
        }
        _ = gate.takeRecords()

        Progress.say("egress: a 64 MiB download, direct and through the proxy (3 each)")
        var directBulk: [Double] = [], proxiedBulk: [Double] = []
        let bulk = "GET /bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        let bulkAbsolute = "GET http://\(authority)/bulk HTTP/1.1\r\nHost: \(authority)\r\n\r\n"
        for _ in 0..<3 {
            directBulk.append(try timed { try exchange(connectTCP(server.port), send: bulk) })
            proxiedBulk.append(try timed { try exchange(connectUnix(socket), send: bulkAbsolute) })
        }
        _ = gate.takeRecords()

        Progress.say("egress: \(requests) requests by python3 inside a sandbox through the relay, and on the host direct")
        let script = """
        import socket, sys, time
        host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        request = ("GET %s HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n" % (path, sys.argv[5])).encode()
        for _ in range(n):
            t = time.perf_counter()
            s = socket.create_connection((host, port))
            s.sendall(request)
            while s.recv(65536):
                pass
            s.close()
            print("%.4f" % ((time.perf_counter() - t) * 1000))
        """
        try script.write(toFile: workspace + "/egress-bench.py", atomically: true, encoding: .utf8)
        chmod(workspace + "/egress-bench.py", 0o644)
        let hostRun = try runPython(["/usr/bin/python3", workspace + "/egress-bench.py", "127.0.0.1", String(server.port),
                                     "/small", String(requests), "127.0.0.1"])
        var configuration = SandboxConfiguration(workspace: workspace)
        configuration.network = .proxy
        configuration.egress = gate.attachment
        let sandbox = try await BubblewrapBackend().start(configuration)
        let inside = try await sandbox.guest.exec(ExecRequest(argv: [
            "python3", "/workspace/egress-bench.py", "127.0.0.1", "3128", "http://\(authority)/small", String(requests), authority,
        ]))
        await sandbox.kill()
        await gate.close()
        let sandboxRun = String(decoding: inside.stdout, as: UTF8.self).split(separator: "\n").compactMap { Double($0) }

        let rows = [
            ("small request, direct (this process)", Series(name: "direct", samples: direct)),
            ("small request, proxy (absolute URI)", Series(name: "proxy", samples: proxied)),
            ("small request, proxy (CONNECT tunnel)", Series(name: "tunnel", samples: tunneled)),
            ("python3 on the host, direct", Series(name: "host-python", samples: hostRun)),
            ("python3 in a sandbox, relay + proxy", Series(name: "sandbox-python", samples: sandboxRun)),
        ]
        var lines = ["egress proxy (\(requests) requests each; 1 KiB answers; ms)",
                     "  " + "series".padding(toLength: 40, withPad: " ", startingAt: 0) + "median      p99"]
        for (label, series) in rows {
            lines.append("  " + label.padding(toLength: 40, withPad: " ", startingAt: 0)
                         + String(format: "%6.3f   %6.3f", series.median, series.p99))
        }
        let mib = Double(BlockingHTTPServer.bulkBytes) / 1_048_576
        let directRate = mib / (Series(name: "d", samples: directBulk).median / 1000)
        let proxyRate = mib / (Series(name: "p", samples: proxiedBulk).median / 1000)
        lines.append(String(format: "  64 MiB download: direct %.0f MiB/s, proxy %.0f MiB/s (%.2f× the direct time)",
                            directRate, proxyRate, ratio(directRate, proxyRate)))
        lines.append(String(format: "  ratios (median): proxy/direct %.2f×, tunnel/direct %.2f×, sandbox python/host python %.2f×",
                            ratio(rows[1].1.median, rows[0].1.median), ratio(rows[2].1.median, rows[0].1.median),
                            ratio(rows[4].1.median, rows[3].1.median)))
        return lines.joined(separator: "\n")
    }

    /// The harness's egress proxy allowing only `bench.test:PORT`, pinned to the loopback server.
    static func proxyGate(for server: BlockingHTTPServer) async throws -> EgressGate {
        var settings = EgressSettings(allowHosts: ["bench.test:\(server.port)"])
        settings.resolve = ["bench.test": ["127.0.0.1"]]
        return try await EgressGate.open(settings, secretValues: [:], maxBytes: nil)
    }

    static func timed(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start).ms
    }

    static func connectTCP(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw BenchError("cannot connect to 127.0.0.1:\(port)") }
        return fd
    }

    static func connectUnix(_ path: String) throws -> Int32 {
        let fd = airlock_connect_unix(path)
        guard fd >= 0 else { throw BenchError("cannot connect to the proxy at \(path)") }
        return fd
    }

    /// Sends `request` and reads until the other side closes; fails on an empty answer.
    static func exchange(_ fd: Int32, send request: String) throws {
        defer { close(fd) }
        try sendAll(fd, request)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            total += count
        }
        guard total > 0 else { throw BenchError("no answer") }
    }

    static func tunnel(_ socket: String, authority: String) throws {
        let fd = try connectUnix(socket)
        try sendAll(fd, "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n")
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) {
            guard read(fd, &byte, 1) == 1 else { close(fd); throw BenchError("the tunnel closed") }
            head.append(byte)
        }
        try exchange(fd, send: "GET /small HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n")
    }

    static func sendAll(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return write(fd, base + offset, bytes.count - offset)
            }
            guard written > 0 else { throw BenchError("write failed") }
            offset += written
        }
    }

    static func runPython(_ argv: [String]) throws -> [Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { Double($0) }
    }
}

/// The benchmark's upstream: a blocking loopback HTTP server, a thread per connection,
/// 1 KiB for `/small` and 64 MiB for `/bulk`, then close.
final class BlockingHTTPServer: @unchecked Sendable {
    static let bulkBytes = 64 * 1024 * 1024
    let port: Int
    private let fd: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard listener >= 0, bound == 0, listen(listener, 512) == 0 else { throw BenchError("cannot listen on loopback") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        fd = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { Self.serve(client) }
            }
        }
    }

    private static func serve(_ client: Int32) {
        defer { close(client) }
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) && head.count < 65536 {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { return }
            head += buffer[0..<count]
            if let end = head.firstRange(of: [13, 10, 13, 10]) { head = Array(head[..<end.upperBound]); break }
        }
        let bulk = String(decoding: head, as: UTF8.self).split(separator: " ").dropFirst().first?.hasSuffix("/bulk") == true
        let size = bulk ? bulkBytes : 1024
        let response = "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\nConnection: close\r\n\r\n"
        try? EgressBench.sendAll(client, response)
        let chunk = [UInt8](repeating: 0x61, count: 256 * 1024)
        var left = size
        while left > 0 {
            let count = min(left, chunk.count)
            let written = chunk.withUnsafeBytes { write(client, $0.baseAddress, count) }
            if written <= 0 { return }
            left -= written
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
