import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockBubblewrap

/// One matrix attack written for the busybox image: shell, or `/bin/airlock-probe` where
/// busybox has no tool for it. Same target, same host-side check as the python form.
struct ImageAttack: Sendable {
    /// Per column when not `.blocked`, with the reason the column does not stop it.
    let exceptions: @Sendable (ImageColumn) -> Expected?
    let attempt: @Sendable (AttackScene) async throws -> Bool

    func expected(on column: ImageColumn) -> Expected { exceptions(column) ?? .blocked }
}

/// The image form of every attack in `Attacks.all`, by name. Every image column keeps the
/// tier's namespaces and seccomp filter (only the userland changes), so every attack is
/// expected blocked on both; `everyAttackHasAnImageForm` fails when an attack is added
/// without one here.
enum ImageAttacks {
    static let all: [String: ImageAttack] = [
        "overwrite a host file outside the workspace": ImageAttack(exceptions: { _ in nil }) { scene in
            _ = try await scene.shell("echo pwned > \(scene.targets.target)")
            return (try? String(contentsOfFile: scene.targets.target, encoding: .utf8)) != "untouched\n"
        },
        "read a host file outside the workspace": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.shell("cat \(scene.targets.secret)").contains(scene.targets.secretText)
        },
        "TCP connect to a host loopback listener": ImageAttack(exceptions: { _ in nil }) { scene in
            let server = try LoopbackServer()
            defer { close(server.fd) }
            _ = try await scene.shell("nc -w 3 127.0.0.1 \(server.port) </dev/null")
            return server.acceptedConnections() > 0
        },
        "UDP datagram to a host loopback socket": ImageAttack(exceptions: { _ in nil }) { scene in
            let (fd, port) = try Attacks.udpSocket()
            defer { close(fd) }
            _ = try await scene.probeSucceeds("udp", String(port))
            usleep(200_000)
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) > 0
        },
        "connect to a host abstract Unix socket": ImageAttack(exceptions: { _ in nil }) { scene in
            let name = "airlock-matrix-" + UUID().uuidString.prefix(8)
            let server = try AbstractSocketServer(name: String(name))
            defer { close(server.fd) }
            _ = try await scene.probeSucceeds("abstract", String(name))
            return server.acceptedConnections() > 0
        },
        "connect to a host pathname Unix socket open to all": ImageAttack(exceptions: { _ in nil }) { scene in
            let server = try PathSocketServer(path: scene.targets.directory + "/s.sock")
            defer { close(server.fd) }
            _ = try await scene.probeSucceeds("unix", server.path)
            return server.acceptedConnections() > 0
        },
        "see a host process of the sandbox's uid in /proc": ImageAttack(exceptions: { _ in nil }) { scene in
            // The marker is split so this script's own command line (sh -c …) does not hold it.
            let marker = scene.victimMarker
            let half = marker.index(marker.startIndex, offsetBy: marker.count / 2)
            let out = try await scene.shell("""
                a='\(marker[..<half])'; b='\(marker[half...])'
                for f in /proc/[0-9]*/cmdline; do
                  c=$(tr '\\0' ' ' < $f 2>/dev/null); case "$c" in *"$a$b"*) echo seen;; esac
                done; true
                """)
            return out.contains("seen")
        },
        "read the environment of a host process of the sandbox's uid": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.shell("cat /proc/\(scene.victim)/environ").contains(scene.victimSecret)
        },
        "SIGKILL a host process of the sandbox's uid": ImageAttack(exceptions: { _ in nil }) { scene in
            _ = try await scene.shell("kill -9 \(scene.victim)")
            usleep(100_000)
            return !HostProcesses.isAlive(scene.victim)
                || (try? String(contentsOfFile: "/proc/\(scene.victim)/stat", encoding: .utf8))?.contains(") Z") == true
        },
        "ptrace-attach to a host process": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("ptrace", String(scene.victim))
        },
        "unshare a user namespace": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("unshare-user")
        },
        "mount a tmpfs": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("mount-tmpfs")
        },
        "io_uring_setup": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("io_uring")
        },
        "add_key to a kernel keyring": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("add_key")
        },
        "bpf(BPF_MAP_CREATE)": ImageAttack(exceptions: { _ in nil }) { scene in
            try await scene.probeSucceeds("bpf")
        },
    ]
}

/// Every attack of the matrix again, inside an image sandbox (the busybox test image as the
/// whole userland). Needs no python: the image forms are busybox shell and the probe.
@Suite("escape matrix: every attack × image-root tiers", .enabled(if: access("/bin/busybox", X_OK) == 0,
       "the test image is built from /bin/busybox (busybox-static; scripts/setup.sh installs it)"),
       .timeLimit(.minutes(3)))
struct ImageMatrixTests {
    @Test("every matrix attack has an image form")
    func everyAttackHasAnImageForm() {
        for attack in Attacks.all {
            #expect(ImageAttacks.all[attack.name] != nil, "no image form for \(attack.name)")
        }
        #expect(ImageAttacks.all.count == Attacks.all.count, "an image form names no matrix attack")
    }

    @Test("the probe really makes the calls (unconfined, on the host)")
    func theProbeWorksUnconfined() throws {
        // A probe that always failed would make every blocked cell pass: on the host,
        // outside any sandbox, unshare(CLONE_NEWUSER) must succeed.
        let bytes = try ImageProbe.binary.get()
        let path = NSTemporaryDirectory() + "airlock-probe-host-" + UUID().uuidString.prefix(8)
        defer { unlink(path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        // Another test's fork may briefly hold the new file open for writing (ETXTBSY).
        var process = Process()
        let pipe = Pipe()
        for attempt in 1...50 {
            process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["unshare-user"]
            process.standardOutput = pipe
            do { try process.run(); break } catch where attempt < 50 { usleep(100_000) }
        }
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(Syscall.result(out)?.ret == 0, "probe output: \(out)")
    }

    @Test("attack × image tier", arguments: Attacks.all.map(\.name), ImageColumn.allCases)
    func attack(_ name: String, column: ImageColumn) async throws {
        if let reason = await MatrixHost.shared.unavailable(column.tier) {
            print("SKIP [\(name) × \(column.rawValue)]: the tier does not run here: \(reason)")
            return
        }
        let attack = try #require(ImageAttacks.all[name], "no image form for \(name)")
        let backend = try #require(column.tier.backend())
        let image = try ImageScene()
        defer { image.remove() }
        let targets = try MatrixTargets()
        defer { targets.remove() }
        let workspace = "/tmp/airlock-matrix-ws-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        var configuration = SandboxConfiguration(workspace: workspace)
        configuration.root = image.root(column.writable)
        let sandbox = try await backend.start(configuration)
        // The userland really is the image: no python, the probe present.
        let userland = try await sandbox.guest.exec(ExecRequest(shell: "cat /etc/os-release; test -e /usr/bin/python3 && echo HOST-USR"))
        #expect(String(decoding: userland.stdout, as: UTF8.self).contains("airlock-test-busybox"))
        #expect(!String(decoding: userland.stdout, as: UTF8.self).contains("HOST-USR"))
        try await TierMatrixTests.strike(sandbox, workspace: workspace, targets: targets, attempt: attack.attempt,
                                         expected: attack.expected(on: column), cell: "[\(column.rawValue)] \(name)")
    }
}

/// The image cells can fail: a bwrap image sandbox with its seccomp filter removed
/// (test-only weakening) lets the probe's add_key through, and the check sees it.
@Suite("escape matrix: a weakened image sandbox is caught", .enabled(if: access("/bin/busybox", X_OK) == 0,
       "the test image is built from /bin/busybox"), .timeLimit(.minutes(1)))
struct WeakenedImageMatrixTests {
    @Test("without seccomp, add_key from the image's probe succeeds")
    func addKeyGetsThroughWithoutSeccomp() async throws {
        if let reason = await MatrixHost.shared.unavailable(.bwrap) {
            print("SKIP: the bwrap tier does not run here: \(reason)")
            return
        }
        let image = try ImageScene()
        defer { image.remove() }
        let workspace = "/tmp/airlock-matrix-weak-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        var configuration = SandboxConfiguration(workspace: workspace)
        configuration.root = image.root(.copy)
        configuration.weakenings = [.noSeccomp]
        let sandbox = try await BubblewrapBackend().start(configuration)
        let scene = AttackScene(sandbox: sandbox, targets: try MatrixTargets(), victim: 0, victimMarker: "", victimSecret: "")
        defer { scene.targets.remove() }
        let attack = try #require(ImageAttacks.all["add_key to a kernel keyring"])
        let reached = try await attack.attempt(scene)
        await sandbox.kill()
        #expect(reached, "with the filter gone add_key succeeds, so the blocked cell is the filter's doing")
    }
}
