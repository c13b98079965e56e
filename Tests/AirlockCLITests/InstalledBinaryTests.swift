import AirlockTestSupport
import Foundation
import Testing

/// The binary `scripts/install.sh` installs: scripts/test.sh installs one into a temporary
/// prefix and names it in AIRLOCK_INSTALLED_PREFIX (AIRLOCK_TEST_INSTALL=0 skips that).
/// Where scripts/test.sh installed `airlock`, if it did.
enum InstalledAirlock {
    static let prefix = ProcessInfo.processInfo.environment["AIRLOCK_INSTALLED_PREFIX"]
}

@Suite("installed airlock", .enabled(if: InstalledAirlock.prefix != nil,
                                     "AIRLOCK_INSTALLED_PREFIX is not set (scripts/test.sh sets it after scripts/install.sh)"))
struct InstalledBinaryTests {
    static var prefix: String? { InstalledAirlock.prefix }
    static var command: String { (prefix ?? "/nonexistent") + "/bin/airlock" }

    /// Runs the installed command with nothing but a plain PATH in its environment, from `directory`.
    func airlock(_ arguments: [String], in directory: String, limit: Duration = .seconds(60)) async throws -> RunBinary.Outcome {
        let process = try AirlockProcess(arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": directory],
                                         executable: Self.command, cleanEnvironment: true, workingDirectory: directory)
        defer { process.cleanUp() }
        if !(await process.waitForExit(limit: limit)) { Issue.record("airlock \(arguments) did not finish within \(limit)") }
        return RunBinary.Outcome(status: process.status, stdout: process.stdout, stderr: process.stderr)
    }

    /// What `ldd` prints of `path`, stdout and stderr together.
    static func ldd(_ path: String) throws -> String {
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [path]
        let pipe = Pipe()
        ldd.standardOutput = pipe
        ldd.standardError = pipe
        try ldd.run()
        let said = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        return said
    }

    @Test("the installed command needs no Swift library at run time and prints its version and the protocol's")
    func standsAlone() async throws {
        let libraries = try Self.ldd((Self.prefix ?? "") + "/lib/airlock/airlock")
        #expect(libraries.contains("libc.so"), "ldd printed: \(libraries)")
        #expect(!libraries.contains("swift") && !libraries.contains("Foundation") && !libraries.contains("not found"), "\(libraries)")
        let directory = NSTemporaryDirectory() + "airlock-installed-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let version = try await airlock(["--version"], in: directory)
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("airlock ") && version.stdout.contains("(guest protocol "), "\(version.stdout)")
    }

    @Test("the installed command is the fully static airlock-exec, and runs exec in a sandbox by itself")
    func commandIsTheFront() async throws {
        let prefix = Self.prefix ?? "/nonexistent"
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: prefix + "/bin/airlock")
        #expect(target == "../lib/airlock/airlock-exec")
        // ldd has no libraries to name for a static executable (and says so on stderr).
        let said = try Self.ldd(prefix + "/lib/airlock/airlock-exec")
        #expect(said.contains("not a dynamic executable"), "ldd printed: \(said)")
        let directory = NSTemporaryDirectory() + "airlock-installed-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Not the directory itself: it is $HOME here, which is never handed to the sandbox user.
        try FileManager.default.createDirectory(atPath: directory + "/ws", withIntermediateDirectories: true)
        chmod(directory + "/ws", 0o755)
        let exec = try await airlock(["exec", "--workspace", "ws", "--json", "--", "sh", "-c", "echo inside; exit 5"],
                                     in: directory)
        #expect(exec.status == 5, "stderr: \(exec.stderr)")
        #expect(exec.stdout == "inside\n")
        #expect(exec.stderr.contains("\"backend\":\"bwrap\""), "\(exec.stderr)")
    }

    @Test("the demo from another directory: the scripted agent fixes the failing test in a bwrap sandbox, the ledger verifies")
    func runsTheDemo() async throws {
        let root = NSTemporaryDirectory() + "airlock-installed-" + UUID().uuidString.prefix(8)
        let workspace = root + "/ws"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = checkout.appendingPathComponent("examples/fix-test")
        try FileManager.default.copyItem(atPath: example.appendingPathComponent("workspace").path, toPath: workspace)
        try FileManager.default.copyItem(atPath: example.appendingPathComponent("script.json").path, toPath: root + "/script.json")
        chmod(root, 0o755)
        chmod(workspace, 0o755)
        let run = try await airlock(["run", "Fix the failing test in this project", "--model", "script:script.json",
                                     "--workspace", "ws", "--state-dir", "state", "--sandbox", "bwrap",
                                     "--max-steps", "10", "--json"], in: root, limit: .seconds(120))
        #expect(run.status == 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        let finished = run.objects.compactMap { $0 }.last
        #expect(finished?["type"] as? String == "run_finished" && finished?["exit_code"] as? Int == 0, "\(String(describing: finished))")
        #expect(run.stdout.contains("\"type\":\"sandbox_started\""), "the run used a real sandbox")
        let verify = try await airlock(["verify", "latest", "--state-dir", "state"], in: root)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }
}
