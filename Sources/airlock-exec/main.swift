import AirlockBubblewrap
import AirlockExec
import AirlockLandlock
import AirlockSandbox
import AirlockSandboxHost
import FoundationEssentials
import Glibc

// The installed `airlock` command. `airlock exec` on the bwrap and Landlock tiers, in the
// forms ExecFastPath reads, runs here; everything else — every other command, --help,
// images, networks, OCI, gVisor, Kubernetes, any error to word — is handed to the full
// `airlock` beside this executable with the same arguments and environment (execv), so
// users see one command. `--sandbox auto` runs bwrap here; when bwrap cannot start (nothing
// of the command has run then), the full harness walks the whole tier ladder instead.

/// Replaces this process with the full `airlock`; returns only when that cannot be done.
func handOver(_ arguments: [String]) -> Never {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "."
    let full = HostPath.directory(of: exe) + "/airlock"
    withCStringArray([full] + arguments.dropFirst()) { argv in
        _ = execv(full, argv)
    }
    StandardStreams.complain("airlock: cannot run the full harness \(full): \(String(cString: strerror(errno)))")
    exit(127)
}

StandardStreams.openClosed()
let arguments = CommandLine.arguments
guard arguments.count > 1, arguments[1] == "exec", let invocation = ExecFastPath.parse(Array(arguments.dropFirst(2))) else {
    handOver(arguments)
}
let backend: any SandboxBackend
switch invocation.tier {
case .auto, .bwrap:
    var bwrap = BubblewrapBackend()
    bwrap.startTimeout = SandboxTier.startTimeout
    backend = bwrap
case .landlock:
    var landlock = LandlockBackend()
    landlock.startTimeout = SandboxTier.startTimeout
    backend = landlock
case .oci, .gvisor, .kubernetes:
    handOver(arguments)
}
var runner = ExecRunner(invocation, backend: backend)
if invocation.tier == .auto {
    runner.whenStartFails = { _ in handOver(arguments) }
}
// The run goes to the concurrency pool and the main thread waits here. Not `await` at top
// level: async top-level code ends the main thread with pthread_exit (dispatch_main), whose
// forced unwind makes libgcc sort every frame description of this static executable first,
// 1.5 ms of each `exec` (measured).
// (Detached: top-level code is the main actor's, whose queue this thread never drains.)
let ran = runner
Task.detached {
    exit(await ran.run())
}
while true { pause() }
