import AirlockSandbox
import ArgumentParser

/// `--sandbox` and `--runsc`, shared by `run` and `exec` (docs/tiers.md).
struct SandboxOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Isolation tier: auto (default: the strongest that works here, see `airlock doctor`), bwrap, oci (crun, else runc), gvisor (runsc) or landlock (no namespaces; works inside containers).",
        valueName: "tier"))
    var sandbox: String?

    @Option(name: .long, help: ArgumentHelp("The runsc binary for --sandbox gvisor (default: $RUNSC, else runsc on PATH).", valueName: "path"))
    var runsc: String?

    func validate() throws {
        guard let sandbox else { return }
        guard SandboxTier(rawValue: sandbox) != nil else {
            throw ValidationError("--sandbox \(sandbox) is not a tier; use one of: \(SandboxTier.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Unset (no flag, no config `sandbox:`) means auto.
    var tier: SandboxTier { sandbox.flatMap(SandboxTier.init(rawValue:)) ?? .auto }

    func backend() -> any SandboxBackend { SandboxTiers.backend(tier, runsc: runsc) }
}
