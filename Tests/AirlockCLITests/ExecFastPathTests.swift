import ArgumentParser
import Testing
import AirlockExec
@testable import airlock

/// `airlock exec`'s fast path (argv read without ArgumentParser) against `ExecCommand`, the
/// declaration users see in --help: for what the fast path takes, both must mean the same;
/// everything else it must leave to ExecCommand.
@Suite("exec fast path")
struct ExecFastPathTests {
    /// What ArgumentParser makes of `arguments` (those after `exec`).
    private func declared(_ arguments: [String]) throws -> ExecInvocation {
        let parsed = try ExecCommand.parseAsRoot(arguments)
        let command = try #require(parsed as? ExecCommand)
        return command.invocation
    }

    @Test("the forms it takes mean what ExecCommand makes of them", arguments: [
        ["--", "/bin/true"],
        ["--json", "--", "sh", "-c", "echo hi"],
        ["--workspace", "/tmp/w", "--", "ls", "-la"],
        ["--sandbox", "bwrap", "--", "true"],
        ["--sandbox", "landlock", "--workspace", "/srv/x", "--", "true"],
        ["--sandbox", "oci", "--", "true"], ["--sandbox", "gvisor", "--", "true"], ["--sandbox", "auto", "--", "true"],
        ["--memory", "512M", "--pids", "128", "--cpus", "0.5", "--timeout", "30s", "--", "make", "test"],
        ["--memory", "1GiB", "--tmp-size", "16m", "--timeout", "1500ms", "--", "x"],
        ["--timeout", "2", "--cpus", "2", "--", "x"],
        ["--env", "A=1", "--env", "B=", "--env", "C=x=y", "--", "env"],
        ["--env", "A=1", "--json", "--env", "A=2", "--", "env"],
        ["--", "--json", "--memory", "1M"],
        ["--", "-x"],
    ])
    func agrees(_ arguments: [String]) throws {
        let fast = try #require(ExecFastPath.parse(arguments), "the fast path declined \(arguments)")
        #expect(fast == (try declared(arguments)))
    }

    @Test("everything else goes to ExecCommand", arguments: [
        [], ["--"], ["--json"], ["--help"], ["-h"], ["--version"], ["ls"], ["--json", "--json", "--", "x"],
        ["--memory", "1M", "--memory", "2M", "--", "x"],
        ["--memory=1M", "--", "x"], ["--workspace"], ["--workspace", "--", "x"],
        ["--memory", "lots", "--", "x"], ["--pids", "0", "--", "x"], ["--pids", "many", "--", "x"],
        ["--cpus", "0", "--", "x"], ["--cpus", "-1", "--", "x"], ["--timeout", "0s", "--", "x"],
        ["--env", "NOEQUALS", "--", "x"], ["--sandbox", "kubernetes", "--", "x"], ["--sandbox", "vm", "--", "x"],
        ["--image", "alpine", "--", "x"], ["--image-root", "copy", "--", "x"], ["--network", "proxy", "--", "x"],
        ["--allow-host", "pypi.org", "--", "x"], ["--state-dir", "/tmp/s", "--", "x"], ["--runsc", "/bin/runsc", "--", "x"],
        ["--namespace", "n", "--", "x"], ["--unknown", "1", "--", "x"], ["-m", "1M", "--", "x"],
    ])
    func declines(_ arguments: [String]) {
        #expect(ExecFastPath.parse(arguments) == nil)
    }

    @Test("what it declines as invalid, ExecCommand rejects too", arguments: [
        [], ["--"], ["--memory", "lots", "--", "x"], ["--pids", "0", "--", "x"], ["--cpus", "0", "--", "x"],
        ["--timeout", "0s", "--", "x"], ["--env", "NOEQUALS", "--", "x"], ["--sandbox", "vm", "--", "x"],
        ["--unknown", "1", "--", "x"], ["ls"],
    ])
    func rejectedByBoth(_ arguments: [String]) {
        #expect(ExecFastPath.parse(arguments) == nil)
        #expect(throws: (any Error).self) { try declared(arguments) }
    }

    @Test("each option it reads is one ExecCommand documents")
    func optionsExist() {
        let help = ExecCommand.helpMessage(columns: 200)
        for option in ["--workspace", "--sandbox", "--memory", "--pids", "--cpus", "--timeout", "--tmp-size", "--env", "--json"] {
            #expect(help.contains(option + " ") || help.contains(option + "\n"), "\(option) is not in exec --help")
        }
    }
}
