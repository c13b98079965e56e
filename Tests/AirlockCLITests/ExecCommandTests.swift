import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// The built `airlock` executable, run as a user would run it.
struct AirlockCLI {
    static let path = AirlockProcess.binaryPath
    static var available: Bool { path != nil }

    struct Outcome {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
    }

    /// A started `airlock` whose output goes to files.
    typealias Running = AirlockProcess

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Outcome {
        try await Running(arguments, environment: environment).finish()
    }
}

extension AirlockProcess {
    /// Waits for the exit (killing it after `limit`: a hang is a failure, not a timing
    /// assertion), then removes its files.
    func finish(limit: Duration = .seconds(90)) async -> AirlockCLI.Outcome {
        if !(await waitForExit(limit: limit)) {
            Issue.record("airlock \(process.arguments ?? []) did not finish; killed it")
        }
        defer { cleanUp() }
        return AirlockCLI.Outcome(status: status, reason: reason, stdout: stdout, stderr: stderr)
    }
}

/// A workspace under /tmp, which the sandbox's uid can reach.
struct CLIWorkspace {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "airlock-cli-ws-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func exec(_ command: [String], options: [String] = [], environment: [String: String] = [:]) async throws -> AirlockCLI.Outcome {
        try await AirlockCLI.run(["exec", "--workspace", path] + options + ["--"] + command, environment: environment)
    }
}

let hasPython3 = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

@Suite("airlock exec", .enabled(if: AirlockCLI.available, "needs the built airlock executable beside the tests"))
struct ExecCommandTests {
    @Test("the command's own exit status")
    func ownStatus() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sh", "-c", "exit 7"])
        #expect(outcome.reason == .exit)
        #expect(outcome.status == 7, "stderr: \(outcome.stderr)")
        let ok = try await workspace.exec(["true"])
        #expect(ok.status == 0, "stderr: \(ok.stderr)")
    }

    @Test("a command's status 64 is its own, not a usage error's 2")
    func status64() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        // 64 is ArgumentParser's code for a validation failure: main once mistook the
        // command's 64 for one and exited 2. Both parsers' paths (--state-dir is left to
        // ArgumentParser) must pass it through.
        for options in [[], ["--state-dir", workspace.path + "/state"]] {
            let outcome = try await workspace.exec(["sh", "-c", "exit 64"], options: options)
            #expect(outcome.status == 64, "options \(options), stderr: \(outcome.stderr)")
            #expect(outcome.stderr.isEmpty, "options \(options)")
        }
    }

    @Test("a timeout exits 124")
    func timeout() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sleep", "10"], options: ["--timeout", "500ms"])
        #expect(outcome.status == 124, "stderr: \(outcome.stderr)")
    }

    @Test("death by signal N exits 128+N")
    func signalled() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sh", "-c", "kill -TERM $$"])
        #expect(outcome.status == 143, "stderr: \(outcome.stderr)")
    }

    @Test("the memory limit's kill exits 137")
    func memoryLimit() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let hog = hasPython3
            ? ["python3", "-c", "b = bytearray(b'x' * (300 << 20)); print(len(b))"]
            : ["sh", "-c", "x=$(head -c 314572800 /dev/zero | tr '\\0' x); echo ${#x}"]
        let outcome = try await workspace.exec(hog, options: ["--memory", "64M"])
        #expect(outcome.status == 137, "stderr: \(outcome.stderr)")
        #expect(!outcome.stdout.contains("314572800"))
    }

    @Test("a sandbox that cannot start exits 125 and says why")
    func cannotStart() async throws {
        let missing = "/nonexistent/dir-" + UUID().uuidString.prefix(8)
        let outcome = try await AirlockCLI.run(["exec", "--workspace", missing, "--", "true"])
        #expect(outcome.status == 125)
        #expect(outcome.stderr.contains(missing), "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("does not exist") || outcome.stderr.contains("No such"), "stderr: \(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("a missing command is a usage error (exit 2)")
    func missingCommand() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let bare = try await AirlockCLI.run(["exec", "--workspace", workspace.path])
        #expect(bare.status == 2, "exit \(bare.status), stderr: \(bare.stderr)")
        #expect(!bare.stderr.isEmpty)
        let dashes = try await AirlockCLI.run(["exec", "--workspace", workspace.path, "--"])
        #expect(dashes.status == 2, "exit \(dashes.status), stderr: \(dashes.stderr)")
        // exec is parsed as a root of its own: its usage still names the whole command.
        #expect(bare.stderr.contains("Usage: airlock exec"), "\(bare.stderr)")
        #expect(bare.stderr.contains("See 'airlock exec --help'"), "\(bare.stderr)")
        let unknown = try await AirlockCLI.run(["exec", "--no-such-option", "--", "true"])
        #expect(unknown.status == 2, "exit \(unknown.status), stderr: \(unknown.stderr)")
        #expect(unknown.stderr.contains("--no-such-option"), "\(unknown.stderr)")
    }

    @Test("--help exits 0 and documents the exit codes")
    func help() async throws {
        let outcome = try await AirlockCLI.run(["exec", "--help"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("USAGE: airlock exec"), "\(outcome.stdout)")
        // The same help through the command tree.
        let viaHelp = try await AirlockCLI.run(["help", "exec"])
        #expect(viaHelp.status == 0)
        #expect(viaHelp.stdout.contains("USAGE: airlock exec"), "\(viaHelp.stdout)")
        #expect(outcome.stdout.contains("124"))
        #expect(outcome.stdout.contains("125"))
        #expect(outcome.stdout.contains("--timeout"))
    }

    @Test("stdout and stderr of the command come through")
    func outputPassesThrough() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sh", "-c", "printf 'a\\nb\\n'; printf 'to-stderr\\n' >&2"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout == "a\nb\n")
        #expect(outcome.stderr.contains("to-stderr"))
        #expect(!outcome.stdout.contains("to-stderr"))
    }

    @Test("stdout streams while the command still runs")
    func outputStreams() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        // The command waits for a file the test creates only after it has seen the first
        // line: the line can only have arrived while the command was still running.
        let running = try AirlockCLI.Running(["exec", "--workspace", workspace.path, "--", "sh", "-c",
                                              "echo streamed-early; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo late"])
        let clock = ContinuousClock()
        let end = clock.now + .seconds(60)
        var seenWhileRunning = false
        while running.process.isRunning && clock.now < end {
            if running.stdout.contains("streamed-early") {
                seenWhileRunning = !running.stdout.contains("late")
                FileManager.default.createFile(atPath: workspace.path + "/go", contents: Data())
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let outcome = await running.finish()
        #expect(seenWhileRunning, "the first line only appeared at exit")
        #expect(outcome.status == 0)
        #expect(outcome.stdout == "streamed-early\nlate\n")
    }

    @Test("--env sets a variable inside")
    func environmentSet() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sh", "-c", "echo \"$A\"; echo \"[${EMPTY-unset}]\""], options: ["--env", "A=B", "--env", "EMPTY="])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout == "B\n[]\n")
    }

    @Test("the airlock process's environment does not leak in")
    func environmentNotInherited() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let secret = "cli-leak-" + UUID().uuidString
        let outcome = try await workspace.exec(["sh", "-c", "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'"],
                                               environment: ["AIRLOCK_CLI_SECRET": secret, "OPENAI_API_KEY": secret])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout.contains("PATH="))
        #expect(!outcome.stdout.contains(secret))
        #expect(!outcome.stdout.contains("AIRLOCK_CLI_SECRET"))
        #expect(!outcome.stdout.contains("OPENAI_API_KEY"))
    }

    @Test("a command that does not exist exits 127")
    func commandNotFound() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["airlock-no-such-command-\(UInt32.random(in: 0...99999))"])
        #expect(outcome.status == 127, "stderr: \(outcome.stderr)")
    }

    @Test("the workspace is the command's cwd and writable")
    func workspaceWritable() async throws {
        let workspace = try CLIWorkspace()
        defer { workspace.remove() }
        let outcome = try await workspace.exec(["sh", "-c", "pwd; echo hi > made.txt"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout == "/workspace\n")
        #expect(FileManager.default.contents(atPath: workspace.path + "/made.txt") == Data("hi\n".utf8))
    }
}

@Suite("airlock doctor", .enabled(if: AirlockCLI.available, "needs the built airlock executable beside the tests"))
struct DoctorCommandTests {
    @Test("doctor finds the bwrap backend on this host")
    func doctorText() async throws {
        let outcome = try await AirlockCLI.run(["doctor"])
        #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stdout.contains("backend: bwrap"))
    }

    @Test("doctor --json is one JSON object")
    func doctorJSON() async throws {
        let outcome = try await AirlockCLI.run(["doctor", "--json"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        #expect(object != nil, "not a JSON object: \(outcome.stdout)")
        #expect(object?["backend"] as? String == "bwrap")
        let checks = object?["checks"] as? [[String: Any]]
        #expect(checks?.isEmpty == false)
        #expect(checks?.allSatisfy { $0["name"] is String && $0["ok"] is Bool } == true)
        let egress = checks?.first { $0["name"] as? String == "egress proxy" }
        #expect(egress?["ok"] as? Bool == true, "the proxy path works inside: \(egress ?? [:])")
    }
}
