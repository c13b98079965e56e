import AirlockExec
import AirlockProtocol
import ArgumentParser
import Foundation

@main
struct Airlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "An agent harness that lives outside the sandbox.",
        discussion: """
        The harness (model calls, tool-call validation, budgets, ledger, sandbox lifecycle) runs \
        in this process; everything the model asks for runs in a disposable bubblewrap sandbox \
        with its own namespaces, seccomp filter and cgroup limits, reached only through a \
        narrow JSON protocol. See README.md and DESIGN.md.
        """,
        version: ProductVersion.description,
        subcommands: [RunCommand.self, ResumeCommand.self, ReplayCommand.self, ExecCommand.self, RunsCommand.self, ShowCommand.self,
                      VerifyCommand.self, ExportCommand.self, KeygenCommand.self, PolicyCommand.self, ApproveCommand.self, DenyCommand.self,
                      DoctorCommand.self, ServeCommand.self, ImageCommand.self,
                      SchemaCommand.self, ConfigCommand.self, ToolsCommand.self,
                      SubmitCommand.self, WorkerCommand.self, StopCommand.self, BatchCommand.self, GcCommand.self]
    )

    /// Usage errors exit 2 (DESIGN.md §3), not ArgumentParser's 64.
    static func main() async {
        StandardStreams.openClosed()
        // `exec` is the command run once per sandbox, so its start-up counts: parsed as a
        // root of its own it skips building all 23 commands and ArgumentParser's probe for
        // --generate-completion-script, about 2 ms of each `airlock exec` (measured).
        let arguments = Array(CommandLine.arguments.dropFirst())
        let execOnly = arguments.first == ExecCommand._commandName
        if execOnly, let invocation = ExecFastPath.parse(Array(arguments.dropFirst())) {
            Foundation.exit(await ExecRunner(invocation, backend: SandboxTiers.backend(invocation.tier)).run())
        }
        let root: any ParsableCommand.Type = execOnly ? ExecCommand.self : Airlock.self
        do {
            var command = try root.parseAsRoot(execOnly ? Array(arguments.dropFirst()) : arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            // A command's own status (every `airlock exec` ends here). ArgumentParser's
            // exit(withError:) would first build a help generator for the command stack to
            // word a message there is none of: about 2 ms of each `exec` (measured).
            Foundation.exit(code.rawValue)
        } catch {
            if root.exitCode(for: error) == .validationFailure {
                var message = root.fullMessage(for: error)
                // ArgumentParser's hint leaves out the super-command's name.
                if execOnly { message = message.replacingOccurrences(of: "See 'exec ", with: "See 'airlock exec ") }
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(2)
            }
            root.exit(withError: error)
        }
    }
}
