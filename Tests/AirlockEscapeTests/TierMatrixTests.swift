import AirlockLandlock
import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// One attack of the matrix: a program run inside the sandbox, and a host-side check of
/// whether it got through. Every attack aims only at targets the test made (a file, a
/// listener, a `sleep` process) so a failing sandbox harms nothing else.
struct Attack: Sendable, CustomTestStringConvertible {
    let name: String
    /// Per tier when not `.blocked`, with the reason the tier does not stop it.
    let exceptions: @Sendable (MatrixTier) -> Expected?
    let attempt: @Sendable (AttackScene) async throws -> Bool

    var testDescription: String { name }

    func expected(on tier: MatrixTier) -> Expected { exceptions(tier) ?? .blocked }
}

/// What an attack works with: the sandbox, the host targets, and a victim process.
struct AttackScene: Sendable {
    let sandbox: any Sandbox
    let targets: MatrixTargets
    let victim: pid_t
    let victimMarker: String
    let victimSecret: String

    /// Runs a python program in the workspace; stdout.
    func python(_ program: String) async throws -> String {
        let name = "attack-\(UInt32.random(in: 0...UInt32.max)).py"
        let written = try await sandbox.guest.call(.writeFile(WriteFileRequest(path: name, content: Data(program.utf8))))
        #expect(written == .ok)
        let result = try await sandbox.guest.exec(ExecRequest(argv: ["python3", name], timeoutMs: 30_000))
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// A raw call through ctypes: prints `ret errno`; true when it succeeded.
    func syscallSucceeds(_ body: String) async throws -> Bool {
        let out = try await python(Syscall.probe(body))
        let parsed = Syscall.result(out)
        return (parsed?.ret ?? -1) >= 0
    }
}

/// Landlock's signal and abstract-socket scoping arrived in ABI 6 (Linux 6.12).
let landlockScopes = LandlockBackend.abi >= 6

enum Attacks {
    static let all: [Attack] = [
        Attack(name: "overwrite a host file outside the workspace", exceptions: { _ in nil }) { scene in
            _ = try await scene.python("open('\(scene.targets.target)', 'w').write('pwned\\n')")
            return (try? String(contentsOfFile: scene.targets.target, encoding: .utf8)) != "untouched\n"
        },
        Attack(name: "read a host file outside the workspace", exceptions: { _ in nil }) { scene in
            let out = try await scene.python("print(open('\(scene.targets.secret)').read())")
            return out.contains(scene.targets.secretText)
        },
        Attack(name: "TCP connect to a host loopback listener", exceptions: { _ in nil }) { scene in
            let server = try LoopbackServer()
            defer { close(server.fd) }
            _ = try await scene.python("""
                import socket
                try: socket.create_connection(('127.0.0.1', \(server.port)), timeout=3); print('connected')
                except Exception as e: print('refused', e)
                """)
            return server.acceptedConnections() > 0
        },
        Attack(name: "UDP datagram to a host loopback socket", exceptions: { _ in nil }) { scene in
            let (fd, port) = try udpSocket()
            defer { close(fd) }
            _ = try await scene.python("""
                import socket
                try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', \(port))); print('sent')
                except Exception as e: print('refused', e)
                """)
            usleep(200_000)
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) > 0
        },
        Attack(name: "connect to a host abstract Unix socket", exceptions: { tier in
            tier == .landlock && !landlockScopes
                ? .notStopped("abstract sockets live in the network namespace, which this tier shares; Landlock scopes them only from ABI 6 (Linux 6.12)")
                : nil
        }) { scene in
            let name = "airlock-matrix-" + UUID().uuidString.prefix(8)
            let server = try AbstractSocketServer(name: String(name))
            defer { close(server.fd) }
            _ = try await scene.python("""
                import socket
                s = socket.socket(socket.AF_UNIX)
                try: s.connect('\\0\(name)'); print('connected')
                except Exception as e: print('refused', e)
                """)
            return server.acceptedConnections() > 0
        },
        Attack(name: "connect to a host pathname Unix socket open to all", exceptions: { tier in
            tier == .landlock
                ? .notStopped("Landlock (ABI 7) does not govern connect(2) to a pathname socket; only file permissions (the sandbox's own uid) stand in the way")
                : nil
        }) { scene in
            let server = try PathSocketServer(path: scene.targets.directory + "/s.sock")
            defer { close(server.fd) }
            _ = try await scene.python("""
                import socket
                s = socket.socket(socket.AF_UNIX)
                try: s.connect('\(server.path)'); print('connected')
                except Exception as e: print('refused', e)
                """)
            return server.acceptedConnections() > 0
        },
        Attack(name: "see a host process of the sandbox's uid in /proc", exceptions: { tier in
            tier == .landlock ? .notStopped("no pid namespace: /proc lists every host process, and command lines of the sandbox's uid are readable") : nil
        }) { scene in
            let out = try await scene.python("""
                import glob
                for path in glob.glob('/proc/[0-9]*/cmdline'):
                    try:
                        if b'\(scene.victimMarker)' in open(path, 'rb').read(): print('seen')
                    except Exception: pass
                """)
            return out.contains("seen")
        },
        Attack(name: "read the environment of a host process of the sandbox's uid", exceptions: { _ in nil }) { scene in
            let out = try await scene.python("""
                try: print(open('/proc/\(scene.victim)/environ', 'rb').read().decode('latin1'))
                except Exception as e: print('refused', e)
                """)
            return out.contains(scene.victimSecret)
        },
        Attack(name: "SIGKILL a host process of the sandbox's uid", exceptions: { tier in
            tier == .landlock && !landlockScopes
                ? .notStopped("without a pid namespace a same-uid process can be signalled; Landlock scopes signals only from ABI 6 (Linux 6.12)")
                : nil
        }) { scene in
            _ = try await scene.python("""
                import os
                try: os.kill(\(scene.victim), 9); print('sent')
                except Exception as e: print('refused', e)
                """)
            usleep(100_000)
            return !HostProcesses.isAlive(scene.victim) || (try? String(contentsOfFile: "/proc/\(scene.victim)/stat", encoding: .utf8))?.contains(") Z") == true
        },
        Attack(name: "ptrace-attach to a host process", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.ptrace(16, \(scene.victim), 0, 0)")
        },
        Attack(name: "unshare a user namespace", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.unshare(0x10000000)")
        },
        Attack(name: "mount a tmpfs", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.mount(b'none', b'.', b'tmpfs', 0, None)")
        },
        Attack(name: "io_uring_setup", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.syscall(425, 1, ctypes.create_string_buffer(120))")
        },
        Attack(name: "add_key to a kernel keyring", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.syscall(248, b'user', b'airlock', b'x', 1, -3)")
        },
        Attack(name: "bpf(BPF_MAP_CREATE)", exceptions: { _ in nil }) { scene in
            try await scene.syscallSucceeds("libc.syscall(321, 0, ctypes.create_string_buffer(bytes([2,0,0,0, 4,0,0,0, 4,0,0,0, 1,0,0,0]) + bytes(112)), 128)")
        },
    ]

    /// A UDP socket on 127.0.0.1 (non-blocking) and its port.
    static func udpSocket() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }
}

/// Every attack against every tier this host has; the expected outcome per tier is next
/// to each attack above (blocked unless it says why the tier does not stop it). SECURITY.md
/// publishes the same table.
@Suite("escape matrix: every attack × every tier", .enabled(if: hasPython, "the attacks are python3 programs"),
       .timeLimit(.minutes(3)))
struct TierMatrixTests {
    @Test("attack × tier", arguments: Attacks.all, MatrixTier.allCases)
    func attack(_ attack: Attack, tier: MatrixTier) async throws {
        if let reason = await MatrixHost.shared.unavailable(tier) {
            print("SKIP [\(attack.name) × \(tier.rawValue)]: the tier does not run here: \(reason)")
            return
        }
        let backend = try #require(tier.backend())
        let targets = try MatrixTargets()
        defer { targets.remove() }
        let workspace = "/tmp/airlock-matrix-ws-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let sandbox = try await backend.start(SandboxConfiguration(workspace: workspace))
        try await Self.strike(sandbox, workspace: workspace, targets: targets, attempt: attack.attempt,
                              expected: attack.expected(on: tier), cell: "[\(tier.rawValue)] \(attack.name)")
    }

    /// One cell of a matrix: a victim of the sandbox's own host uid (so only the sandbox
    /// stands between), the attack, the sandbox killed, and the outcome the matrix expects.
    static func strike(_ sandbox: any Sandbox, workspace: String, targets: MatrixTargets,
                       attempt: @Sendable (AttackScene) async throws -> Bool, expected: Expected,
                       cell: String) async throws {
        var info = stat()
        _ = stat(workspace, &info)
        let marker = "3000." + String(UInt32.random(in: 100_000...999_999))
        let secret = "victim-secret-" + UUID().uuidString
        let victim = try startVictim(uid: info.st_uid, marker: marker, secret: secret)
        defer {
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
        }
        let scene = AttackScene(sandbox: sandbox, targets: targets, victim: victim.processIdentifier,
                                victimMarker: marker, victimSecret: secret)
        let reached = try await attempt(scene)
        await sandbox.kill()
        switch expected {
        case .blocked:
            #expect(!reached, "\(cell): got through")
        case .notStopped(let why):
            #expect(reached, "\(cell) was expected to get through (\(why)); if the tier now stops it, update the matrix")
        }
    }

    /// A `sleep` of the given uid (the sandbox's own), carrying a secret in its environment.
    static func startVictim(uid: uid_t, marker: String, secret: String) throws -> Process {
        let process = Process()
        if getuid() == 0 && uid != 0 && hasSetpriv {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--", "/bin/sleep", marker]
        } else {
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = [marker]
        }
        process.environment = ["VICTIM_SECRET": secret]
        try process.run()
        usleep(50_000)
        return process
    }
}

/// The matrix's checks can fail: the landlock tier with its seccomp filters removed lets a
/// UDP datagram out (Landlock has no UDP rules; only the AF_UNIX-only filter stops it).
@Suite("escape matrix: a weakened landlock tier is caught", .enabled(if: hasPython, "the attacks are python3 programs"),
       .timeLimit(.minutes(1)))
struct WeakenedLandlockTests {
    @Test("without seccomp, the UDP attack gets through and the check sees it")
    func udpGetsThroughWithoutSeccomp() async throws {
        if let reason = await MatrixHost.shared.unavailable(.landlock) {
            print("SKIP: the landlock tier does not run here: \(reason)")
            return
        }
        let workspace = "/tmp/airlock-matrix-weak-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        var configuration = SandboxConfiguration(workspace: workspace)
        configuration.weakenings = [.noSeccomp]
        let sandbox = try await LandlockBackend().start(configuration)
        let targets = try MatrixTargets()
        defer { targets.remove() }
        let attack = try #require(Attacks.all.first { $0.name.hasPrefix("UDP") })
        let scene = AttackScene(sandbox: sandbox, targets: targets, victim: 0, victimMarker: "", victimSecret: "")
        let reached = try await attack.attempt(scene)
        await sandbox.kill()
        #expect(reached, "with the filters gone the datagram arrives, so the blocked result above is the filter's doing")
    }
}
