import AirlockTestSupport
import Foundation
import Testing

/// `airlock-exec`, the installed `airlock` command: it runs `exec` itself and hands every
/// other command to the full `airlock` beside it.
enum ExecFront {
    static let path: String? = AirlockCLI.path.map { (($0 as NSString).deletingLastPathComponent as NSString)
        .appendingPathComponent("airlock-exec") }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }

    static func run(_ arguments: [String], executable: String? = nil,
                    environment: [String: String] = [:]) async throws -> AirlockCLI.Outcome {
        try await AirlockProcess(arguments, environment: environment, executable: executable ?? path).finish()
    }
}

@Suite("airlock-exec", .enabled(if: ExecFront.path != nil, "needs the built airlock-exec beside the tests"))
struct ExecFrontTests {
    @Test("runs exec: the command's status, output and the --json report, on bwrap and on Landlock")
    func runsExec() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await ExecFront.run(["exec", "--workspace", workspace.path, "--", "sh", "-c", "echo out; echo err >&2; exit 7"])
        #expect(outcome.status == 7, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout == "out\n")
        #expect(outcome.stderr == "err\n")
        let status64 = try await ExecFront.run(["exec", "--workspace", workspace.path, "--", "sh", "-c", "exit 64"])
        #expect(status64.status == 64, "stderr: \(status64.stderr)")
        let json = try await ExecFront.run(["exec", "--workspace", workspace.path, "--json", "--", "true"])
        #expect(json.status == 0)
        let report = try #require(JSONSerialization.jsonObject(with: Data(json.stderr.utf8)) as? [String: Any], "\(json.stderr)")
        #expect(report["backend"] as? String == "bwrap" && report["exit_code"] as? Int == 0, "\(report)")
        let landlock = try await ExecFront.run(["exec", "--sandbox", "landlock", "--workspace", workspace.path, "--json",
                                                "--", "sh", "-c", "echo landlock"])
        #expect(landlock.status == 0 && landlock.stdout == "landlock\n", "stderr: \(landlock.stderr)")
        #expect(landlock.stderr.contains("\"backend\":\"landlock\""), "\(landlock.stderr)")
    }

    @Test("limits and the timeout apply as in airlock exec")
    func limits() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let timedOut = try await ExecFront.run(["exec", "--workspace", workspace.path, "--timeout", "300ms", "--", "sleep", "10"])
        #expect(timedOut.status == 124, "stderr: \(timedOut.stderr)")
        let env = try await ExecFront.run(["exec", "--workspace", workspace.path, "--env", "GREETING=hello there",
                                           "--", "sh", "-c", "echo \"$GREETING\""])
        #expect(env.stdout == "hello there\n", "stderr: \(env.stderr)")
    }

    @Test("everything else is the full airlock's: --version, help, usage errors")
    func handsOver() async throws {
        let version = try await ExecFront.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("airlock ") && version.stdout.contains("(guest protocol "), "\(version.stdout)")
        let help = try await ExecFront.run(["exec", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Run one command in a fresh sandbox"), "\(help.stdout)")
        let bad = try await ExecFront.run(["exec", "--memory", "lots", "--", "true"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--memory"), "\(bad.stderr)")
    }

    /// Alone in a directory with no full airlock beside it, the front still runs the exec
    /// forms it reads (proof they never reach the full harness), and says so for the rest.
    @Test("alone, it runs exec itself and names the full harness it cannot find for the rest")
    func alone() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let directory = workspace.path + "/bin"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let front = directory + "/airlock-exec"
        try FileManager.default.copyItem(atPath: try #require(ExecFront.path), toPath: front)
        let guest = ((try #require(ExecFront.path)) as NSString).deletingLastPathComponent + "/airlock-guest"
        let ran = try await ExecFront.run(["exec", "--workspace", workspace.path, "--", "sh", "-c", "echo alone"],
                                          executable: front, environment: ["AIRLOCK_GUEST": guest])
        #expect(ran.status == 0 && ran.stdout == "alone\n", "stderr: \(ran.stderr)")
        let version = try await ExecFront.run(["--version"], executable: front, environment: ["AIRLOCK_GUEST": guest])
        #expect(version.status == 127)
        #expect(version.stderr.contains("cannot run the full harness \(directory)/airlock"), "\(version.stderr)")
        // An auto sandbox that cannot start goes to the full harness's tier ladder.
        let noWorkspace = try await ExecFront.run(["exec", "--workspace", workspace.path + "/missing", "--", "true"],
                                                  executable: front, environment: ["AIRLOCK_GUEST": guest])
        #expect(noWorkspace.status == 127, "stderr: \(noWorkspace.stderr)")
        // With the full harness there, that same call fails as `airlock exec` words it.
        let worded = try await ExecFront.run(["exec", "--workspace", workspace.path + "/missing", "--", "true"])
        #expect(worded.status == 125)
        #expect(worded.stderr.contains("does not exist"), "\(worded.stderr)")
    }
}
