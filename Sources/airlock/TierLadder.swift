import AirlockExec
import AirlockLandlock
import AirlockOCI
import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import Foundation

/// `airlock doctor`'s ladder: each tier tried for real (a sandbox started, /bin/true run in
/// it), with its version, its start time, or why it fails here and the fix.
struct TierCheck: Encodable {
    var tier: String
    var works: Bool
    var version: String?
    var detail: String
    var fix: String?
    /// Whether `auto` tries it.
    var inAuto: Bool

    enum CodingKeys: String, CodingKey {
        case tier, works, version, detail, fix
        case inAuto = "in_auto"
    }

    static func ladder(workspace: String, runsc: String?) async -> [TierCheck] {
        var checks: [TierCheck] = []
        for tier in [SandboxTier.gvisor, .bwrap, .oci, .landlock] {
            checks.append(await check(tier, workspace: workspace, runsc: runsc))
        }
        return checks
    }

    static func check(_ tier: SandboxTier, workspace: String, runsc: String?) async -> TierCheck {
        let backend = SandboxTiers.backend(tier, runsc: runsc)
        let inAuto = SandboxTier.ladder.contains(tier)
        if let missing = missingPiece(tier, runsc: runsc) {
            return TierCheck(tier: tier.rawValue, works: false, detail: missing.detail, fix: missing.fix, inAuto: inAuto)
        }
        do {
            let sandbox = try await backend.start(SandboxConfiguration(workspace: workspace))
            let result: ExecResult
            do {
                result = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/true"], timeoutMs: 10_000))
            } catch {
                await sandbox.kill()
                throw error
            }
            await sandbox.kill()
            let ok = result.status.code == 0
            return TierCheck(tier: tier.rawValue, works: ok, version: backend.version,
                             detail: ok ? String(format: "started in %.1f ms, /bin/true exited 0", sandbox.startMilliseconds)
                                 : "/bin/true exited \(result.status.shellStatus)",
                             fix: nil, inAuto: inAuto)
        } catch let error as SandboxError {
            return TierCheck(tier: tier.rawValue, works: false, version: backend.version,
                             detail: error.message.split(separator: "\n").prefix(3).joined(separator: " "),
                             fix: error.fix, inAuto: inAuto)
        } catch {
            return TierCheck(tier: tier.rawValue, works: false, version: backend.version, detail: "\(error)", fix: nil,
                             inAuto: inAuto)
        }
    }

    /// What is missing before a start is even worth trying.
    static func missingPiece(_ tier: SandboxTier, runsc: String?) -> (detail: String, fix: String)? {
        switch tier {
        case .auto: return nil
        case .bwrap:
            return ExecutableLookup.find("bwrap") == nil ? ("bwrap not found", "apt-get install -y bubblewrap") : nil
        case .oci:
            return OCIRuntime.preferred() == nil ? ("neither crun nor runc found", "apt-get install -y crun (or runc)") : nil
        case .gvisor:
            let found = runsc.map { access($0, X_OK) == 0 } ?? (OCIRuntime.find(.runsc) != nil)
            return found ? nil : ("runsc not found", "apt-get install -y runsc (Debian), or a current release from gvisor.dev with --runsc PATH / $RUNSC")
        case .landlock:
            return LandlockBackend.abi == 0 ? ("this kernel offers no Landlock", LandlockBackend.unavailableFix) : nil
        case .kubernetes:
            return ("not tried by the local ladder", "airlock doctor --sandbox kubernetes checks a cluster")
        }
    }
}
