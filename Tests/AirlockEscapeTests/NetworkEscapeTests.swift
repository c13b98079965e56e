import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Attacks on the network: the sandbox has its own namespace with loopback only and no
/// route, so the host's loopback listeners and every outside address are out of reach.
/// Every target is a listener this test opened on the host's loopback.
@Suite("Escape: network")
struct NetworkEscapeTests {
    @Test("attack: reach a TCP listener on the host's loopback")
    func hostLoopbackTCP() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let server = try LoopbackServer()
        defer { server.close() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh(
            "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port) && echo connected' 2>&1; " +
            "bash -c 'exec 3<>/dev/tcp/localhost/\(server.port) && echo connected' 2>&1", timeoutMs: 10_000)
        #expect(status.code != 0)
        #expect(!out.contains("connected"))
        #expect(server.acceptedConnections() == 0)
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: reach an abstract Unix socket on the host",
          .enabled(if: hasPython, "needs python3 inside the sandbox"))
    func hostAbstractSocket() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let name = "airlock-escape-" + UUID().uuidString.prefix(8)
        let server = try AbstractSocketServer(name: name)
        defer { server.close() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh("""
            python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0\(name)'); print('connected')" 2>&1
            """, timeoutMs: 10_000)
        #expect(status.code != 0)
        #expect(out.contains("ConnectionRefused") || out.contains("No such file"), "\(out)")
        #expect(server.acceptedConnections() == 0)
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: resolve DNS")
    func resolveDNS() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (status, out, _) = try await sandbox.guest.sh(
            "getent hosts example.com; echo getent=$?; getent ahosts one.one.one.one; echo ahosts=$?", timeoutMs: 30_000)
        #expect(status.code == 0)
        #expect(out.contains("getent=2"), "\(out)")
        #expect(out.contains("ahosts=2"), "\(out)")
        if hasPython {
            let (pyStatus, pyOut, _) = try await sandbox.guest.sh("""
                python3 -c "import socket; print(socket.getaddrinfo('example.com', 443))" 2>&1
                """, timeoutMs: 30_000)
            #expect(pyStatus.code != 0)
            #expect(pyOut.contains("gaierror"), "\(pyOut)")
        }
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: send a packet anywhere (no interface but lo, no route)")
    func noRoute() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh(
            "cat /proc/net/dev | tail -n +3 | cut -d: -f1; cat /proc/net/route | wc -l; " +
            "bash -c 'exec 3<>/dev/tcp/192.0.2.1/80 && echo connected' 2>&1; " +
            "bash -c 'exec 3<>/dev/udp/192.0.2.1/53 && echo -n x >&3 && echo sent' 2>&1", timeoutMs: 10_000)
        let lines = out.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "lo")
        #expect(lines.dropFirst().first == "1", "the routing table is not empty: \(out)")
        #expect(!out.contains("connected") && !out.contains("sent"), "\(out)")
        #expect(out.contains("unreachable"), "\(out)")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }
}
