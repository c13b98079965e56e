import AirlockExec
import AirlockCore
import AirlockProtocol
import AirlockSandbox
import ArgumentParser
import Foundation

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        // `airlock exec` is also parsed as a root of its own (Airlock.main): its help and
        // errors still say `airlock exec`.
        _superCommandName: "airlock",
        abstract: "Run one command in a fresh sandbox and exit with its status.",
        discussion: """
        The command runs in a sandbox of the tier --sandbox picks (default auto: bwrap, else \
        oci, else landlock; docs/tiers.md). With bwrap: every namespace unshared (no network \
        unless --allow-host), \
        seccomp filter, read-only system, tmpfs /tmp, the workspace at /workspace as the only \
        writable host path, an environment built from nothing. Its output streams through. \
        With --json the report names the backend and its version.

        Exit status: the command's own; 124 when --timeout killed it; 125 when the sandbox \
        could not start; 128+N when signal N killed it (137 when the memory limit did).

        Examples:
          airlock exec -- ls -la
          airlock exec --workspace ./proj --memory 512M --pids 128 --timeout 30s -- make test
          airlock exec --image oci:./busybox-layout -- sh -c 'ls /'
          airlock exec --allow-host pypi.org --allow-host files.pythonhosted.org -- pip download six

        With --network proxy, every request through the proxy is printed to stderr as it \
        ends (one JSON object per line with --json).
        """
    )

    @Option(name: .long, help: "Directory mounted read-write at /workspace (default: the current directory).")
    var workspace: String?

    @OptionGroup(title: "Network") var egress: EgressOptions

    @OptionGroup(title: "Sandbox") var sandbox: SandboxOptions

    @OptionGroup(title: "Image") var image: ImageOptions

    @OptionGroup var state: StateOptions

    @Option(name: .long, help: "Memory limit, e.g. 512M (cgroup memory; the command is killed with 137 past it).")
    var memory: ByteSize?

    @Option(name: .long, help: "Most processes and threads at once (cgroup pids).")
    var pids: Int?

    @Option(name: .long, help: "CPU quota in cores, e.g. 0.5 or 2 (cgroup cpu).")
    var cpus: Double?

    @Option(name: .long, help: "Kill the command (SIGTERM, then SIGKILL after 500ms) after this long: 500ms, 30s, 5m.")
    var timeout: DurationValue?

    @Option(name: .long, help: "Size of the tmpfs at /tmp (default 256M).")
    var tmpSize: ByteSize?

    @Option(name: .customLong("env"), help: "Set a variable inside: NAME=VALUE (repeatable). Nothing else is inherited.")
    var environment: [String] = []

    @Flag(name: .long, help: "Print one JSON object with the status and resource usage to stderr at the end.")
    var json = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give a command after --, e.g. airlock exec -- ls") }
        if let pids, pids < 1 { throw ValidationError("--pids must be at least 1") }
        if let cpus, cpus <= 0 { throw ValidationError("--cpus must be positive") }
        for entry in environment where !entry.contains("=") {
            throw ValidationError("--env takes NAME=VALUE, got '\(entry)'")
        }
    }

    /// The parsed flags as plain values (what `ExecFastPath` builds from argv directly).
    var invocation: ExecInvocation {
        ExecInvocation(workspace: workspace, tier: sandbox.tier, memoryBytes: memory?.bytes, pids: pids, cpus: cpus,
                       timeoutMs: timeout?.milliseconds, tmpSizeBytes: tmpSize?.bytes, environment: environment,
                       json: json, command: command)
    }

    func run() async throws {
        let invocation = invocation
        var configuration = invocation.configuration()
        do {
            // On the kubernetes tier --image is a registry reference the cluster pulls.
            if sandbox.tier != .kubernetes {
                configuration.root = try image.root(stateDirectory: state.directory().path, progress: !json)
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("airlock: \(error.description)\n".utf8))
            throw ExitCode(125)
        }
        let settings: EgressSettings?
        do { settings = try egress.settings() } catch let error as CLIError {
            FileHandle.standardError.write(Data("airlock: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        var runner = ExecRunner(invocation, configuration: configuration, backend: sandbox.backend(image: image.image))
        if let settings {
            runner.network = ExecEgress(settings: settings, secretValues: egress.secretValues,
                                        maxBytes: egress.maxEgress?.bytes)
        }
        throw ExitCode(await runner.run())
    }
}
