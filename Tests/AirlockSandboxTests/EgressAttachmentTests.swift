import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Synchronization
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// `--network proxy`: the proxy's socket bound in, the guest relaying a loopback port to it,
/// the proxy variables and the per-run CA inside — and nothing of it without the option.
@Suite("Egress attachment")
struct EgressAttachmentTests {
    static let layout = LauncherTests.layouts[0]
    static let ca = "-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n"

    @Test("proxy: socket bound, relay argument, proxy variables, CA bundle on data fds")
    func proxyPlan() {
        let plan = LauncherTests.plan(Self.layout) {
            $0.network = .proxy
            $0.egress = EgressAttachment(socketOnHost: "/run/airlock/egress/abc/proxy.sock", port: 3128,
                                         certificateAuthorityPEM: Self.ca, systemBundlePEM: "SYSTEM\n",
                                         systemBundlePath: "/etc/ssl/certs/ca-certificates.crt")
        }
        let argv = plan.argv
        #expect(LauncherTests.binds(argv).contains { $0.op == "--bind" && $0.source == "/run/airlock/egress/abc/proxy.sock"
            && $0.destination == EgressAttachment.socketInside })
        // The guest's own arguments come after the `--`.
        guard let separator = argv.lastIndex(of: "--") else {
            Issue.record("no -- in \(argv)")
            return
        }
        #expect(Array(argv[(separator + 1)...]) == [BubblewrapLauncher.guestPathInside, "--egress-relay",
                                                     "3128=\(EgressAttachment.socketInside)"])
        #expect(LauncherTests.containsPair(argv, "--setenv", "HTTPS_PROXY"))
        #expect(argv.contains("http://127.0.0.1:3128"))
        #expect(!argv.contains("--share-net"))
        // The CA alone, the bundle, and the bundle over the system path: all read-only data.
        let dataTargets = LauncherTests.binds(argv).filter { $0.op == "--ro-bind-data" }
        for target in [EgressAttachment.caInside, EgressAttachment.bundleInside, "/etc/ssl/certs/ca-certificates.crt"] {
            guard let bind = dataTargets.first(where: { $0.destination == target }), let fd = Int32(bind.source) else {
                Issue.record("no data bind for \(target)")
                continue
            }
            let text = String(decoding: plan.dataFiles[fd] ?? [], as: UTF8.self)
            #expect(text.contains("TESTCA"))
            if target != EgressAttachment.caInside { #expect(text.hasPrefix("SYSTEM\n")) }
        }
    }

    @Test("no network: no socket, no relay, no proxy variables, even with an attachment set")
    func noneIgnoresAttachment() {
        let argv = LauncherTests.plan(Self.layout) {
            $0.network = .none
            $0.egress = EgressAttachment(socketOnHost: "/run/airlock/egress/abc/proxy.sock")
        }.argv
        #expect(!argv.contains("--egress-relay"))
        #expect(!argv.contains(EgressAttachment.socketInside))
        #expect(!argv.contains("HTTP_PROXY"))
        #expect(argv.contains("--unshare-all"))
    }

    @Test("proxy without a socket is a configuration error, before anything starts")
    func proxyNeedsSocket() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        await #expect(throws: SandboxError.self) {
            _ = try await fixture.start { $0.network = .proxy }
        }
    }

    @Test("the guest relays 127.0.0.1:3128 inside to the host socket, both ways, many connections",
          .enabled(if: hasPython, "needs python3 inside the sandbox"))
    func relayRoundTrip() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let echo = try UnixEchoServer()
        defer { echo.stop() }
        let sandbox = try await fixture.start {
            $0.network = .proxy
            $0.egress = EgressAttachment(socketOnHost: echo.path)
        }
        defer { Task { await sandbox.kill() } }
        let script = """
        import os, socket
        assert os.environ["HTTP_PROXY"] == "http://127.0.0.1:3128", os.environ.get("HTTP_PROXY")
        for i in range(5):
            s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
            payload = b"x" * (100000 * (i + 1))
            s.sendall(payload); s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                got += chunk
            assert got == payload, (i, len(got))
            s.close()
        print("relayed")
        """
        let (status, out, err) = try await sandbox.guest.sh("python3 -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))'")
        #expect(status.code == 0, "stderr: \(err)")
        #expect(out.contains("relayed"))
        #expect(echo.connections >= 5)
    }
}

/// A Unix socket server that echoes each connection until the client half-closes.
final class UnixEchoServer: @unchecked Sendable {
    let path: String
    private let directory: String
    private let fd: Int32
    private final class Counter: Sendable { let value = Mutex(0) }
    private let count = Counter()
    var connections: Int { count.value.withLock { $0 } }

    init() throws {
        // A directory of its own under /tmp that the backend may hand to the sandbox user.
        directory = NSTemporaryDirectory() + "airlock-echo-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        path = directory + "/proxy.sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        let listener = fd
        let counter = count
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                counter.value.withLock { $0 += 1 }
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = read(client, &buffer, buffer.count)
                        if n <= 0 { break }
                        var offset = 0
                        while offset < n {
                            let w = buffer.withUnsafeBytes { raw -> Int in
                                guard let base = raw.baseAddress else { return -1 }
                                return write(client, base + offset, n - offset)
                            }
                            if w <= 0 { break }
                            offset += w
                        }
                    }
                    close(client)
                }
            }
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
