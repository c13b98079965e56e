import ArgumentParser

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
        subcommands: [RunCommand.self, ExecCommand.self, RunsCommand.self, ShowCommand.self,
                      VerifyCommand.self, ExportCommand.self, KeygenCommand.self, DoctorCommand.self]
    )
}
