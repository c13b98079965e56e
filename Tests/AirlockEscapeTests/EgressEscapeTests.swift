import AirlockCore
import AirlockProtocol
@testable import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Synchronization
import Testing
@testable import AirlockSandboxHost

/// Attacks on the egress proxy from inside a real sandbox with `--network proxy`: every
/// trick a client can put in a request line, a Host header or a CONNECT to reach something
/// other than the one allowed destination. The forbidden target is a listener this test
/// opened on the host's loopback; the allowed one is the test's own HTTP server.
@Suite("Escape: egress proxy", .enabled(if: hasPython, "needs python3 inside the sandbox"))
struct EgressEscapeTests {
    /// Sends each raw request on its own connection to the proxy inside and prints the
    /// first line of each answer (or how the connection ended).
    static let sender = #"""
    import json, socket, sys
    results = []
    for raw in json.load(open("/workspace/attacks.json")):
        sock = socket.create_connection(("127.0.0.1", 3128), timeout=10)
        sock.sendall(raw.encode("latin1"))
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except Exception as error:
            data += repr(error).encode()
        results.append(data.split(b"\r\n")[0].decode("latin1") or "<closed>")
        sock.close()
    print(json.dumps(results))
    """#

    @Test("attack: reach a forbidden loopback port through the proxy with literals, encodings, userinfo, CONNECT, Host tricks and pipelining")
    func proxyTricks() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let forbidden = try LoopbackServer()
        defer { forbidden.close() }
        try await TestHTTPServer.with([.json(#"{"ok":1}"#), .json(#"{"ok":2}"#), .json(#"{"ok":3}"#)]) { allowed in
            let a = allowed.port, b = Int(forbidden.port)
            var settings = EgressSettings(allowHosts: ["allowed.test:\(a)"])
            settings.resolve = ["allowed.test": ["127.0.0.1"]]
            let gate = try await EgressGate.open(settings, secretValues: [:], maxBytes: nil)
            let attacks = [
                "GET http://127.0.0.1:\(b)/ HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                "GET http://localhost:\(b)/ HTTP/1.1\r\nHost: localhost:\(b)\r\n\r\n",
                "GET http://allowed.test:\(b)/ HTTP/1.1\r\nHost: allowed.test:\(b)\r\n\r\n",
                "GET http://allowed.test:\(a)@127.0.0.1:\(b)/ HTTP/1.1\r\nHost: allowed.test:\(a)\r\n\r\n",
                "GET http://0x7f000001:\(b)/ HTTP/1.1\r\nHost: 0x7f000001:\(b)\r\n\r\n",
                "GET http://0177.0.0.1:\(b)/ HTTP/1.1\r\nHost: 0177.0.0.1:\(b)\r\n\r\n",
                "GET http://2130706433:\(b)/ HTTP/1.1\r\nHost: 2130706433:\(b)\r\n\r\n",
                "GET http://[::1]:\(b)/ HTTP/1.1\r\nHost: [::1]:\(b)\r\n\r\n",
                "GET http://[::ffff:127.0.0.1]:\(b)/ HTTP/1.1\r\nHost: [::ffff:127.0.0.1]:\(b)\r\n\r\n",
                "CONNECT 127.0.0.1:\(b) HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                "CONNECT [::1]:\(b) HTTP/1.1\r\nHost: [::1]:\(b)\r\n\r\n",
                "CONNECT localhost:\(b) HTTP/1.1\r\nHost: localhost:\(b)\r\n\r\n",
                "CONNECT allowed.test:\(b) HTTP/1.1\r\nHost: allowed.test:\(b)\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                "GET http://allowed.test:\(a)/ HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                "GET ftp://127.0.0.1:\(b)/ HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                // Pipelined: an honest request, then one for the forbidden port on the same connection.
                "GET http://allowed.test:\(a)/first HTTP/1.1\r\nHost: allowed.test:\(a)\r\n\r\n"
                    + "GET http://127.0.0.1:\(b)/second HTTP/1.1\r\nHost: 127.0.0.1:\(b)\r\n\r\n",
                // The control: an honest request, which must work for the refusals to mean anything.
                "GET http://ALLOWED.test.:\(a)/control HTTP/1.1\r\nHost: ALLOWED.test.:\(a)\r\nConnection: close\r\n\r\n",
            ]
            let sandbox = try await fixture.start {
                $0.network = .proxy
                $0.egress = gate.attachment
            }
            try fixture.write("attacks.json", String(decoding: try JSONSerialization.data(withJSONObject: attacks), as: UTF8.self))
            let (status, out, err) = try await sandbox.guest.python(Self.sender)
            await sandbox.kill()
            await gate.close()
            #expect(status.code == 0, "stderr: \(err)")
            let answers = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String] ?? []
            try #require(answers.count == attacks.count, "answers: \(out) \(err)")
            for (attack, answer) in zip(attacks.dropLast(2), answers) {
                #expect(!answer.contains(" 200"), "not refused: \(attack.prefix(60)) → \(answer)")
            }
            #expect(answers.last?.contains(" 200") == true, "the honest request failed: \(answers.last ?? "")")
            #expect(forbidden.acceptedConnections() == 0, "the forbidden port was reached")
            #expect(!allowed.requests.contains { $0.uri.contains("second") }, "the pipelined request was forwarded")
            let records = gate.takeRecords()
            #expect(records.filter { !$0.allowed }.count >= attacks.count - 2, "every refusal is recorded: \(records.count)")
            #expect(records.contains { $0.allowed && $0.path == "/control" })
        }
        try await fixture.expectHarnessAlive()
    }

    @Test("attack: spend the harness's file descriptors by holding hundreds of proxy connections open")
    func connectionFlood() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        try await TestHTTPServer.with([.json(#"{"after":"flood"}"#)]) { allowed in
            var settings = EgressSettings(allowHosts: ["allowed.test:\(allowed.port)"])
            settings.resolve = ["allowed.test": ["127.0.0.1"]]
            let gate = try await EgressGate.open(settings, secretValues: [:], maxBytes: nil)
            let sandbox = try await fixture.start {
                $0.network = .proxy
                $0.egress = gate.attachment
            }
            // Only sockets from sandboxes count: other tests run in this process at the same time.
            let before = Self.foreignSockets()
            let peak = Mutex(before)
            let watcher = Task {
                while !Task.isCancelled {
                    let now = Self.foreignSockets()
                    peak.withLock { $0 = max($0, now) }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            // 400 connections held for two seconds, then an honest request.
            let (status, out, err) = try await sandbox.guest.python("""
                import socket, time, urllib.request
                held = []
                for _ in range(400):
                    try:
                        held.append(socket.create_connection(("127.0.0.1", 3128), timeout=5))
                    except Exception:
                        break
                time.sleep(2)
                for s in held:
                    s.close()
                time.sleep(0.5)
                print(len(held), urllib.request.urlopen("http://allowed.test:\(allowed.port)/after", timeout=10).status)
                """)
            watcher.cancel()
            await sandbox.kill()
            await gate.close()
            #expect(status.code == 0, "stderr: \(err)")
            #expect(out.hasSuffix(" 200\n"), "an honest request after the flood: \(out)")
            let grown = peak.withLock { $0 } - before
            #expect(grown < 300, "the harness opened \(grown) descriptors for the sandbox's connections")
            #expect(grown > 100, "the count sees the held connections (else the bound above proves nothing): \(grown)")
            #expect(gate.takeRecords().contains { $0.reason?.contains("too many open connections") == true })
        }
    }

    /// Open sockets of this (the harness's) process that live in another network namespace:
    /// the connections the proxy accepted from sandboxes (an accepted Unix socket belongs to
    /// the connecting side's namespace, so it is in none of this namespace's tables).
    static func foreignSockets() -> Int {
        var local = Set<String>()
        for table in ["unix", "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "netlink", "packet"] {
            // Read to the end: String(contentsOfFile:) stops at the first page of a /proc file.
            guard let data = try? FileHandle(forReadingAtPath: "/proc/net/" + table)?.readToEnd() else { continue }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // The inode column: 7th in unix, 9th in packet, 10th in the others.
                let column = table == "unix" ? 6 : table == "packet" ? 8 : 9
                if fields.count > column { local.insert(String(fields[column])) }
            }
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.count { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return false }
            return !local.contains(String(target.dropFirst(8).dropLast()))
        }
    }

    @Test("attack: use the proxy without being allowed anything: the sandbox of a run without --allow-host has no proxy at all")
    func noProxyWithoutNetwork() async throws {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (_, out, _) = try await sandbox.guest.sh(
            "test -e \(EgressAttachment.socketInside) && echo socket; env | grep -i _proxy; " +
            "bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128 && echo connected' 2>&1", timeoutMs: 10_000)
        #expect(!out.contains("socket"))
        #expect(!out.lowercased().contains("http_proxy"))
        #expect(!out.contains("connected"))
        await sandbox.kill()
    }
}
